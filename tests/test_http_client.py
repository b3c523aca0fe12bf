"""The shared HTTP client's transport (app/payments/gateway.py `_Pools`): its connections spread
over several pools, each request through the least busy one, so as many requests at once as
there are connections never wait for one, and every response, answered or failed, gives its
connection back."""

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.payments.gateway import _Pools
from tests.servers import _uvicorn, free_port


async def _slow(request: Request) -> JSONResponse:
    await asyncio.sleep(0.3)
    assert request.client is not None
    return JSONResponse({"port": request.client.port})


async def test_as_many_requests_as_connections_never_wait_and_connections_come_back():
    transport = _Pools(max_connections=10, pools=10)            # one connection per pool
    async with _uvicorn(Starlette(routes=[Route("/", _slow)]), free_port(), "warning") as url, \
            httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5, pool=0.1)) as http:
        rounds = []
        for _ in range(2):      # a pool of one waited 0.3 s for its connection: PoolTimeout
            answers = await asyncio.gather(*(http.get(url + "/") for _ in range(10)))
            rounds.append({a.json()["port"] for a in answers})
            assert transport._in_flight == [0] * 10
        assert len(rounds[0]) == 10 and rounds[1] == rounds[0]   # ten connections, kept alive and reused
        unreachable = f"http://127.0.0.1:{free_port()}/"
        failed = await asyncio.gather(*(http.get(unreachable) for _ in range(3)), return_exceptions=True)
        assert all(isinstance(f, httpx.ConnectError) for f in failed) and transport._in_flight == [0] * 10
