"""GraphiQL works with no internet: the page loads only this app's assets, the editor renders in
headless Chromium with every other host unreachable, a query runs, a subscription delivers.

The browser tests need Debian's chromium (`apt-get install -y chromium`) and skip without it;
they drive it over the Chrome DevTools protocol with the `websockets` client already in `dev`.
"""

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import re
import shutil
import subprocess
import uuid
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import httpx
import pytest
from websockets.asyncio.client import connect

from app.config import Settings
from app.events import CHANNEL_PREFIX, Event
from tests.servers import free_port, serving

WAIT = 20  # seconds; a 3.5 MB script on a loaded 2-core machine, never reached when things work
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH: `apt-get install -y chromium` to run the GraphiQL browser test")


@pytest.fixture(scope="module")
def settings(database_url, services) -> Settings:
    return Settings(env="test", database_url=database_url, redis_url=services[1], log_level="WARNING",
                    response_cache_seconds=0, host="127.0.0.1", port=free_port())


@pytest.fixture(scope="module")
async def server(settings):
    async with serving(settings) as base_url:
        yield base_url


async def test_page_references_only_local_pinned_assets(server):
    async with httpx.AsyncClient(base_url=server) as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "GraphiQL" in page.text
        tags = re.findall(r'(?:src|href)="([^"]+)"\s+integrity="([^"]+)"', page.text)
        assert len(tags) == 6
        for url, integrity in tags:
            assert url.startswith("/static/graphiql/"), url
            asset = await http.get(url)
            assert asset.status_code == 200, url
            digest = base64.b64encode(hashlib.sha384(asset.content).digest()).decode()
            assert integrity == f"sha384-{digest}", url
        assert not re.search(r'(?:src|href)="(?:https?:)?//', page.text)


async def test_websocket_messages_are_text_frames(server):
    """Browsers' graphql-ws client (GraphiQL's subscriptions) rejects binary frames."""
    async with connect(server.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        ack = await asyncio.wait_for(ws.recv(), WAIT)
    assert isinstance(ack, str) and json.loads(ack)["type"] == "connection_ack"


class DevTools:
    """A Chrome DevTools protocol session on one page; events seen are kept in `events`."""

    _ids = itertools.count(1)  # one counter per connection, shared by its sessions

    def __init__(self, ws, session_id: str | None = None) -> None:
        self.ws, self.session_id, self.events = ws, session_id, []

    async def send(self, method: str, **params) -> dict:
        call_id = next(self._ids)
        message = {"id": call_id, "method": method, "params": params}
        if self.session_id:
            message["sessionId"] = self.session_id
        await self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
            if reply.get("id") == call_id and reply.get("sessionId") == self.session_id:
                assert "error" not in reply, reply
                return reply["result"]
            self.events.append(reply)

    async def evaluate(self, expression: str):
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str):
        for _ in range(WAIT * 10):
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.1)
        body = await self.evaluate("document.body.innerText.slice(0, 300)")
        raise AssertionError(f"{what} never happened; the page shows: {body!r}")

    def urls(self) -> list[str]:
        """Every URL the page asked for: documents, scripts, styles, fetches and websockets."""
        return [e["params"]["request"]["url"] if e["method"] == "Network.requestWillBeSent" else e["params"]["url"]
                for e in self.events if e.get("method") in ("Network.requestWillBeSent", "Network.webSocketCreated")]


@contextlib.asynccontextmanager
async def chromium_page(tmp_path):
    """Headless Chromium (flags of the machine notes) that can resolve no host but 127.0.0.1."""
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(WAIT * 10):
            if port_file.exists() and len(lines := port_file.read_text().split()) == 2:
                break
            assert proc.poll() is None, "chromium exited"
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("chromium never opened its DevTools port")
        async with connect(f"ws://127.0.0.1:{lines[0]}{lines[1]}", max_size=None) as ws:
            browser = DevTools(ws)
            target = (await browser.send("Target.createTarget", url="about:blank"))["targetId"]
            session = await browser.send("Target.attachToTarget", targetId=target, flatten=True)
            page = DevTools(ws, session["sessionId"])
            await page.send("Network.enable")
            await page.send("Runtime.enable")
            yield page
    finally:
        proc.terminate()
        proc.wait(10)


_RESPONSE = "(document.querySelector('.graphiql-response .CodeMirror') || {CodeMirror: {getValue: () => ''}})" \
            ".CodeMirror.getValue()"
_RUN = "document.querySelector('.graphiql-execute-button').click(), true"


@needs_chromium
async def test_graphiql_renders_and_runs_a_query_and_a_subscription_offline(server, db, redis, tokens, tmp_path):
    async with chromium_page(tmp_path) as page:
        await page.send("Page.navigate", url=f"{server}/graphql?" + urlencode({"q": "{ regions { code } }"}, quote_via=quote))
        await page.wait_for("!!document.querySelector('.graphiql-query-editor .CodeMirror')", "the editor rendering")
        await page.evaluate(_RUN)
        answer = json.loads(await page.wait_for(f"{_RESPONSE}.includes('regions') && {_RESPONSE}", "the query's answer"))
        assert len(answer["data"]["regions"]) == await db.fetchval("SELECT count(*) FROM regions")

        # Subscriptions go over graphql-ws with the headers editor's token as connection params.
        marker = uuid.uuid4().hex
        query = "subscription { productEvents { type payload } }"
        headers = json.dumps({"authorization": f"Bearer {tokens['admin']}"})
        await page.send("Page.navigate", url=f"{server}/graphql?" + urlencode({"q": query, "headers": headers}, quote_via=quote))
        await page.wait_for("!!document.querySelector('.graphiql-execute-button')", "the editor rendering again")
        await page.evaluate(_RUN)
        probe = Event(0, "product", "TEST_PROBE", None, {"probe": marker},
                      datetime.now(UTC).isoformat()).to_json()
        for _ in range(WAIT * 5):
            await redis.publish(CHANNEL_PREFIX + "product", probe)
            if marker in await page.evaluate(_RESPONSE):
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"no event reached GraphiQL: {await page.evaluate(_RESPONSE)!r}")

        await page.evaluate("1")  # collect the last network events
        urls = page.urls()
    assert any(u.startswith("ws://127.0.0.1") for u in urls), urls
    outside = [u for u in urls if not u.startswith((server, "ws://127.0.0.1", "data:", "about:"))]
    assert outside == []
