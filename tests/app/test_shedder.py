"""The shedding proxy of `make bench-pod --shedder`: real HAProxy in front of a held upstream.

The upstream answers `/health` only when the test lets it, so the proxy's bound is reached on
purpose: with `connections` requests held at the upstream and `queue` waiting in the proxy, the
next `/health` is answered `503 OVERLOADED` with `Retry-After` by HAProxy itself, at once and
without reaching the upstream, while `/livez` is passed (never shed). Nothing depends on speed:
the requests are held until the test releases them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from test_app_tooling.podbench import shedder
from test_app_tooling.podbench.shedder import ShedderPlan


class _Upstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.release = threading.Event()
        self.seen: list[str] = []
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Upstream

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.seen.append(self.path)
        if self.path == "/health":
            self.server.release.wait(30)
        body = b"UP" if self.path == "/health" else b"OK"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


@pytest.fixture
def upstream() -> Iterator[_Upstream]:
    server = _Upstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def _until(condition: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.02)
    raise AssertionError("the condition did not hold within the time")


def test_past_connections_and_queue_health_is_refused_by_the_proxy(upstream: _Upstream) -> None:
    plan = ShedderPlan(connections=2, queue=2, queue_timeout_ms=20_000)
    port = upstream.server_address[1]
    assert isinstance(port, int)
    with shedder.running(port, plan) as proxy:
        url = f"http://127.0.0.1:{proxy.port}"
        held: list[httpx.Response] = []

        def hold() -> None:
            held.append(httpx.get(url + "/health", timeout=30))

        threads = [threading.Thread(target=hold) for _ in range(4)]  # 2 at the app, 2 queued
        for thread in threads:
            thread.start()
        _until(lambda: upstream.seen.count("/health") == 2)
        _until(lambda: proxy.queued() == 2)  # the other two wait in the proxy, not the upstream
        refused = httpx.get(url + "/health", timeout=5)
        livez = httpx.get(url + "/livez", timeout=5)
        seen_before_release = list(upstream.seen)
        upstream.release.set()
        for thread in threads:
            thread.join(30)
    assert refused.status_code == 503
    assert refused.text == "OVERLOADED"
    assert refused.headers["Retry-After"] == "1"
    assert livez.status_code == 200, "/livez must be passed, never shed"
    assert seen_before_release.count("/health") == 2, "the proxy let more than 2 through"
    assert [r.status_code for r in held] == [200] * 4, "queued requests must be served"
    assert upstream.seen.count("/health") == 4, "the refused request reached the upstream"


def test_below_the_bound_nothing_is_refused(upstream: _Upstream) -> None:
    upstream.release.set()
    port = upstream.server_address[1]
    assert isinstance(port, int)
    with shedder.running(port, ShedderPlan(1, 1, 1000)) as proxy:
        answers = [httpx.get(f"http://127.0.0.1:{proxy.port}/health", timeout=5) for _ in range(20)]
        assert proxy.cpu_seconds() > 0, "20 answers cost the proxy some CPU, to the nanosecond"
        assert 1 < proxy.peak_rss_mib() < 1024, "HAProxy's resident memory, in MiB"
    assert [a.status_code for a in answers] == [200] * 20


def test_the_bench_runs_the_configuration_the_chart_renders() -> None:
    plan = ShedderPlan(32, 64, 150)
    chart = shedder.chart_config(plan)
    assert "server app 127.0.0.1:8080 maxconn 32" in chart
    assert "queue(app) ge 64" in chart
    assert "timeout queue 150ms" in chart
    local = shedder.localize(chart, 18081, 18405, 18080)
    changed = [
        (old, new)
        for old, new in zip(chart.splitlines(), local.splitlines(), strict=True)
        if old != new
    ]
    assert changed == [
        ("  bind :8081", "  bind 127.0.0.1:18081"),
        ("  bind :8405", "  bind 127.0.0.1:18405"),
        ("  server app 127.0.0.1:8080 maxconn 32", "  server app 127.0.0.1:18080 maxconn 32"),
        ("  server app 127.0.0.1:8080", "  server app 127.0.0.1:18080"),
    ], "only the addresses may differ from what the chart renders"


def test_localize_refuses_a_configuration_it_does_not_recognise() -> None:
    chart = shedder.chart_config(ShedderPlan(32, 64, 150))
    with pytest.raises(RuntimeError, match="0 web binds, expected exactly one"):
        shedder.localize(chart.replace("frontend web", "frontend www"), 1, 2, 3)


def test_the_bench_defaults_are_the_chart_values() -> None:
    values = shedder.ShedderPlan(1, 1, 1).values()["admissionProxy"]
    chart = shedder.chart_plan()
    assert set(values) == {"enabled", "connections", "queue", "queueTimeoutMs"}
    rendered = shedder.chart_config(chart)
    assert f"maxconn {chart.connections}" in rendered
    assert f"queue(app) ge {chart.queue}" in rendered


def test_plan_refuses_a_bound_below_one() -> None:
    with pytest.raises(ValueError, match="shedder queue: expected a positive integer"):
        ShedderPlan(connections=4, queue=0, queue_timeout_ms=100)
