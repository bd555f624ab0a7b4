"""The ASGI entry point (granian uses RSGI; ASGI keeps the app portable): in-process, no DB."""

import json

import pytest

from test_app.app import App
from test_app.settings import load_settings


async def call(app, method, path):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "client": ("127.0.0.1", 5000)}
    await app(scope, receive, send)
    start, body = sent
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, body["body"]


@pytest.fixture
def app():
    return App(load_settings({"GIT_SHA": "abc123"}))


async def test_asgi_routes_without_the_database(app):
    status, headers, body = await call(app, "GET", "/livez")
    assert (status, body) == (200, b"OK\n")
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-length"] == "3"
    status, _, body = await call(app, "GET", "/version")
    assert json.loads(body) == {"version": "1.0.0", "git_sha": "abc123"}
    assert (await call(app, "GET", "/nope"))[0] == 404
    status, headers, _ = await call(app, "DELETE", "/health")
    assert (status, headers["allow"]) == (405, "GET, HEAD")


async def test_asgi_head_has_no_body_and_drain_closes_connections(app):
    status, headers, body = await call(app, "HEAD", "/livez")
    assert (status, body, headers["content-length"]) == (200, b"", "3")
    assert "connection" not in headers
    app.begin_drain()
    status, headers, body = await call(app, "GET", "/readyz")
    assert (status, body, headers["connection"]) == (503, b"DRAINING\n", "close")
