"""The ASGI entry point (granian uses RSGI; ASGI keeps the app portable): in-process.

No database, except the readiness test marked `integration` (real PostgreSQL).
"""

import json

import pytest
from prometheus_client import REGISTRY

from test_app.app import App
from test_app.settings import load_settings
from test_app_tooling.postgres import free_port


async def call(app, method, path, headers=()):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "client": ("127.0.0.1", 5000),
        "headers": [(name.encode(), value.encode()) for name, value in headers],
    }
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


async def test_asgi_logs_the_client_a_trusted_proxy_forwarded(capsys):
    app = App(load_settings({"TRUSTED_PROXIES": "127.0.0.1/32", "ACCESS_LOG": "true"}))
    forwarded = [("x-forwarded-for", "203.0.113.9"), ("x-forwarded-for", "198.51.100.7")]
    await call(app, "GET", "/version", forwarded)
    logged = capsys.readouterr().out
    assert "client=198.51.100.7" in logged, logged
    assert "peer=127.0.0.1" in logged, logged


def ready_gauge() -> float | None:
    return REGISTRY.get_sample_value("test_app_ready")


async def test_a_process_that_never_reached_the_writer_never_becomes_ready():
    env = {
        "POSTGRESQL_HOST": "127.0.0.1",
        "POSTGRESQL_PORT": str(free_port()),  # nothing listens here
        "PING_TIMEOUT_SECONDS": "0.2",
    }
    app = App(load_settings(env))
    await app.startup()
    try:
        assert ready_gauge() == 0, "started, but the writer never answered"
        for _ in range(3):
            status, _, body = await call(app, "GET", "/readyz")
            assert (status, body) == (503, b"NOT READY\n")
            assert ready_gauge() == 0
        status, _, body = await call(app, "GET", "/health")
        assert (status, body) == (500, b"DOWN\n")
    finally:
        await app.shutdown()


@pytest.mark.integration
async def test_ready_from_the_first_answer_until_the_drain(postgres):
    """Ready after the worker's own first ping; the database is not asked again (ADR 0014)."""
    app = App(load_settings(postgres.env()))
    await app.startup()
    try:
        assert ready_gauge() == 1
        pings = REGISTRY.get_sample_value(
            "test_app_db_ping_duration_seconds_count", {"target": "writer"}
        )
        for _ in range(3):
            status, _, body = await call(app, "GET", "/readyz")
            assert (status, body) == (200, b"READY\n")
        assert pings == REGISTRY.get_sample_value(
            "test_app_db_ping_duration_seconds_count", {"target": "writer"}
        ), "/readyz pinged the database after the process was ready"
        app.begin_drain()
        status, headers, body = await call(app, "GET", "/readyz")
        assert (status, body, headers["connection"]) == (503, b"DRAINING\n", "close")
        assert ready_gauge() == 0
    finally:
        await app.shutdown()
