"""The edge under a real uvicorn: a refused body does not break the keep-alive connection."""

import asyncio
import socket

import httpx
import pytest
import uvicorn

from schema.server import create_app


@pytest.fixture(scope="module")
async def base_url(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_invalid_utf8_is_400_and_the_connection_stays_usable(base_url):
    async with httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_connections=1)) as http:
        bad = await http.post("/graphql", content=b'{"query": "{ __typename \xff }"}',
                              headers={"content-type": "application/json"})
        assert bad.status_code == 400 and bad.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert bad.headers.get("connection") != "close"
        good = await http.post("/graphql", json={"query": "{ __typename }"})
        assert good.json() == {"data": {"__typename": "Query"}}
