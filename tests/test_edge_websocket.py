"""The websocket message size cap (MAX_WS_MESSAGE_BYTES, default 64 KiB)."""

import json

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from schema.server import create_app


@pytest.fixture(scope="module")
def client(settings):
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _receive(ws) -> dict:
    """The app sends its JSON as bytes frames (orjson's encode_json)."""
    message = ws.receive()
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000))
    return json.loads(message.get("text") or message["bytes"])


def _init(ws) -> None:
    ws.send_json({"type": "connection_init", "payload": {}})
    assert _receive(ws)["type"] == "connection_ack"


def test_a_16_mib_message_closes_the_socket(client):
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _init(ws)
        ws.send_text(json.dumps({"type": "ping", "payload": {"x": "a" * (16 * 1024 * 1024)}}))
        with pytest.raises(WebSocketDisconnect) as closed:
            _receive(ws)
        assert closed.value.code == 1009


def test_messages_under_the_cap_are_served(client):
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _init(ws)
        ws.send_text(json.dumps({"type": "ping", "payload": {"x": "a" * 60_000}}))
        assert _receive(ws)["type"] == "pong"
