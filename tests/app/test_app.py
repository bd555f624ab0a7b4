"""The ASGI entry point (granian uses RSGI; ASGI keeps the app portable): in-process.

No database, except the readiness test marked `integration` (real PostgreSQL).
"""

import asyncio
import json

import pytest
from prometheus_client import REGISTRY

from test_app.app import App
from test_app.settings import load_settings
from test_app_tooling.ports import free_port


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


# -- admission control: past MAX_IN_FLIGHT requests in flight, the database routes get 503 ---
# A writer whose pings wait until released holds the requests in flight: the test, not this
# machine's speed, decides how many there are.

BOUND = 3


class HeldTarget:
    """A writer whose pings wait for `release`; counts every ping it is asked for."""

    name = "writer"

    def __init__(self) -> None:
        self.pings = 0
        self.release = asyncio.Event()
        self.holding_bound = asyncio.Event()  # BOUND pings are waiting

    async def ping(self) -> bool:
        self.pings += 1
        if self.pings >= BOUND:
            self.holding_bound.set()
        await self.release.wait()
        return True

    def publish_pool_metrics(self) -> None:
        """No pool."""


def shed_sample(route: str) -> float | None:
    return REGISTRY.get_sample_value("test_app_http_shed_requests_total", {"route": route})


def shed(route: str) -> float:
    return shed_sample(route) or 0.0


@pytest.fixture
def held() -> tuple[App, HeldTarget]:
    app = App(load_settings({"MAX_IN_FLIGHT": str(BOUND)}))
    target = HeldTarget()
    app.writer = app.reader = target  # type: ignore[assignment]
    app.reached_writer = True
    return app, target


async def test_past_the_bound_health_is_shed_at_once_without_a_ping(held):
    app, target = held
    before = {route: shed(route) for route in ("/health", "/health/read")}
    waiting = [asyncio.create_task(call(app, "GET", "/health")) for _ in range(BOUND)]
    await asyncio.wait_for(target.holding_bound.wait(), timeout=5)
    assert target.pings == BOUND
    for path in ("/health", "/health/read", "/health"):
        status, headers, body = await call(app, "GET", path)
        assert (status, body) == (503, b"OVERLOADED\n"), path
        assert headers["retry-after"] == "1"
        assert headers["cache-control"] == "no-store"
    assert target.pings == BOUND, "a shed request asked the database"
    assert shed("/health") == before["/health"] + 2
    assert shed("/health/read") == before["/health/read"] + 1
    target.release.set()
    assert [(await task)[0] for task in waiting] == [200] * BOUND
    assert (await call(app, "GET", "/health"))[0] == 200  # below the bound again


async def test_probes_and_metrics_are_never_shed(held):
    app, target = held
    waiting = [asyncio.create_task(call(app, "GET", "/health")) for _ in range(BOUND)]
    await asyncio.wait_for(target.holding_bound.wait(), timeout=5)
    for path, expected in (("/livez", b"OK\n"), ("/readyz", b"READY\n")):
        for _ in range(3):
            assert (await call(app, "GET", path))[::2] == (200, expected), path
    status, _, body = await call(app, "GET", "/metrics")
    assert status == 200
    assert b'test_app_http_shed_requests_total{route="/health"}' in body
    target.release.set()
    await asyncio.gather(*waiting)


async def test_the_bound_defaults_to_300_and_the_shed_series_exist_from_the_start():
    app = App(load_settings({}))
    assert app.settings.max_in_flight == 300
    for route in ("/health", "/health/read"):
        assert shed_sample(route) is not None, route
