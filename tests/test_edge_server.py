"""The edge under a real uvicorn: a refused body does not break the keep-alive connection."""


import httpx
import pytest

from tests.servers import free_port, serving


@pytest.fixture(scope="module")
async def base_url(settings):
    async with serving(settings.model_copy(update={"port": free_port()})) as url:
        yield url


async def test_invalid_utf8_is_400_and_the_connection_stays_usable(base_url):
    async with httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_connections=1)) as http:
        bad = await http.post("/graphql", content=b'{"query": "{ __typename \xff }"}',
                              headers={"content-type": "application/json"})
        assert bad.status_code == 400 and bad.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert bad.headers.get("connection") != "close"
        good = await http.post("/graphql", json={"query": "{ __typename }"})
        assert good.json() == {"data": {"__typename": "Query"}}
