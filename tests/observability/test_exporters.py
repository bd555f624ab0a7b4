"""The exporters that ship on this machine, run for real on loopback.

- blackbox_exporter with observability/blackbox/blackbox.yml: the probe module passes on the real
  app's `200 UP`, and fails on `500 DOWN` and on a `200` page that is not `UP`.
- postgres_exporter against the real PostgreSQL fixture: `pg_up` is 1, and 0 on a closed port.
- HAProxy (the admission proxy) with the chart's charts/test-app/files/admission-proxy/haproxy.cfg
  in front of a stub app: a refusal, a queue timeout and the app's own 5xx each land in the
  series the availability SLI reads (observability/slo.yaml), and nowhere else.
All three also prove that the allow-listed metrics of these exporters exist under those names.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from test_app_tooling.podbench.shedder import ShedderPlan, chart_config, localize
from test_app_tooling.process import stop, wait_until, wait_until_ready
from test_app_tooling.tools import REPO


BLACKBOX_CONFIG = REPO / "observability" / "blackbox" / "blackbox.yml"
MODULE = "http_health_up"
ALLOW_LIST: dict[str, str] = yaml.safe_load(
    (Path(__file__).resolve().parent / "exporter_metrics.yaml").read_text(encoding="utf-8")
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(tool: Callable[[str], str], *names: str) -> str:
    """Debian prefixes the exporters with `prometheus-`; upstream archives do not."""
    for name in names[:-1]:
        try:
            return tool(name)
        except pytest.fail.Exception:
            continue
    return tool(names[-1])


def _serve(
    command: list[str], ready_url: str, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    wait_until_ready(process, ready_url, log)
    return process


def _samples(text: str) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}


def test_blackbox_config_is_valid(tool):
    binary = _binary(tool, "prometheus-blackbox-exporter", "blackbox_exporter")
    result = subprocess.run(
        [binary, f"--config.file={BLACKBOX_CONFIG}", "--config.check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert MODULE in yaml.safe_load(BLACKBOX_CONFIG.read_text(encoding="utf-8"))["modules"]


@pytest.fixture
def blackbox(tool, tmp_path: Path) -> Iterator[Callable[[str], dict[str, float]]]:
    """Start blackbox_exporter; yields probe(target URL) -> the probe's samples."""
    binary = _binary(tool, "prometheus-blackbox-exporter", "blackbox_exporter")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = _serve(
        [binary, f"--config.file={BLACKBOX_CONFIG}", f"--web.listen-address=127.0.0.1:{port}"],
        f"{url}/-/healthy",
        tmp_path / "blackbox.log",
    )

    def probe(target: str) -> dict[str, float]:
        params = {"module": MODULE, "target": target}
        return _samples(httpx.get(f"{url}/probe", params=params, timeout=10).text)

    try:
        yield probe
    finally:
        stop(process)


class _Stub(http.server.BaseHTTPRequestHandler):
    """Answers /down with 500 DOWN (the app's own form) and /page with a 200 HTML page."""

    def do_GET(self) -> None:
        status, body = {"/down": (500, b"DOWN\n")}.get(self.path, (200, b"<html>ok</html>"))
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.integration
def test_probe_succeeds_on_the_real_apps_health(blackbox, postgres, run_app):
    app = run_app(env=postgres.env())
    assert app.get("/health").text == "UP\n"
    samples = blackbox(f"{app.url}/health")
    blackbox_metrics = {m for m, source in ALLOW_LIST.items() if source == "blackbox_exporter"}
    assert blackbox_metrics <= samples.keys()
    assert samples["probe_success"] == 1
    assert samples["probe_http_status_code"] == 200


@pytest.mark.integration
@pytest.mark.parametrize("path", ["/down", "/page"])
def test_probe_fails_on_down_or_a_page_that_is_not_up(blackbox, stub, path):
    samples = blackbox(f"{stub}{path}")
    assert samples["probe_success"] == 0


@pytest.mark.integration
@pytest.mark.parametrize(("reachable", "expected"), [(True, 1), (False, 0)])
def test_postgres_exporter_reports_pg_up(tool, postgres, tmp_path, reachable, expected):
    binary = _binary(tool, "prometheus-postgres-exporter", "postgres_exporter")
    env = postgres.env(reader=False)
    db_port = env["POSTGRESQL_PORT"] if reachable else str(_free_port())
    dsn = (
        f"postgresql://{env['POSTGRESQL_USER']}:{env['POSTGRESQL_PASSWORD']}@"
        f"{env['POSTGRESQL_HOST']}:{db_port}/{env['POSTGRESQL_DBNAME']}?sslmode=disable"
    )
    port = _free_port()
    process = _serve(
        [binary, f"--web.listen-address=127.0.0.1:{port}"],
        f"http://127.0.0.1:{port}/",
        tmp_path / "postgres-exporter.log",
        env={"PATH": os.environ.get("PATH", ""), "DATA_SOURCE_NAME": dsn},
    )
    try:
        samples = _samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
    finally:
        stop(process)
    postgres_metrics = {m for m, source in ALLOW_LIST.items() if source == "postgres_exporter"}
    assert postgres_metrics <= samples.keys()
    assert samples["pg_up"] == expected


QUEUE_TIMEOUT_MS = 3000


class _SlowApp(http.server.BaseHTTPRequestHandler):
    """/health waits until the test releases it; /health/read answers the app's own 500."""

    arrived = threading.Event()
    release = threading.Event()

    def do_GET(self) -> None:
        if self.path == "/health":
            type(self).arrived.set()
            type(self).release.wait(timeout=10)
            status, body = 200, b"UP\n"
        else:
            status, body = 500, b"DOWN\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _admission_proxy_config(port: int, metrics_port: int, app_port: int) -> str:
    """The chart's rendered configuration with one request at the app and a queue of one.

    The queue timeout is long (3 s), so that the queued request is still waiting when the test
    sends the one to be refused, however slow the machine.
    """
    plan = ShedderPlan(connections=1, queue=1, queue_timeout_ms=QUEUE_TIMEOUT_MS)
    return localize(chart_config(plan), port, metrics_port, app_port)


def _labelled(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


@pytest.mark.integration
def test_admission_proxy_counts_what_the_availability_sli_reads(tool, tmp_path):
    _SlowApp.arrived.clear()
    _SlowApp.release.clear()
    app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowApp)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    port, metrics_port = _free_port(), _free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(_admission_proxy_config(port, metrics_port, app.server_address[1]))
    proxy = _serve(
        [tool("haproxy"), "-db", "-f", str(config)],
        f"http://127.0.0.1:{metrics_port}/healthz",
        tmp_path / "haproxy.log",
    )
    url, metrics = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics"

    def sample(name: str, **labels: str) -> float:
        return _labelled(httpx.get(metrics, timeout=10).text)[(name, frozenset(labels.items()))]

    answers: dict[str, httpx.Response] = {}

    def get(key: str) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: answers.__setitem__(key, httpx.get(f"{url}/health", timeout=10))
        )
        thread.start()
        return thread

    try:
        # The app's own 500, forwarded: HAProxy's backend and its server `app` both count it.
        assert httpx.get(f"{url}/health/read", timeout=10).status_code == 500
        # One /health holds the one connection, the next waits in the queue (and times out),
        # the third finds the queue full and is refused by HAProxy itself.
        held = get("held")
        assert _SlowApp.arrived.wait(timeout=10)
        queued = get("queued")
        wait_until(
            lambda: sample("haproxy_backend_current_queue", proxy="app") == 1,
            10,
            "a /health in the queue",
        )
        refused = httpx.get(f"{url}/health", timeout=10)
        queued.join(timeout=10)
        _SlowApp.release.set()
        held.join(timeout=10)
        text = httpx.get(metrics, timeout=10).text
    finally:
        _SlowApp.release.set()
        stop(proxy)
        app.shutdown()
        app.server_close()
    assert (refused.status_code, refused.text) == (503, "OVERLOADED")
    assert answers["queued"].status_code == 503
    assert answers["queued"].elapsed.total_seconds() >= QUEUE_TIMEOUT_MS / 1000
    assert answers["held"].status_code == 200
    samples = _labelled(text)
    haproxy_metrics = {m for m, source in ALLOW_LIST.items() if source.startswith("haproxy")}
    assert haproxy_metrics <= {name for name, _ in samples}

    def value(name: str, **labels: str) -> float:
        return samples[(name, frozenset(labels.items()))]

    # The SLI's terms: refusals of /health, and HAProxy's own 5xx in backend app (the backend's
    # 5xx, the app's 500 and the queue timeout, minus its server's, the app's 500 alone).
    assert value("haproxy_backend_http_requests_total", proxy="shed_health") == 1
    assert value("haproxy_backend_http_requests_total", proxy="shed_health_read") == 0
    backend_5xx = value("haproxy_backend_http_responses_total", proxy="app", code="5xx")
    server_5xx = value("haproxy_server_http_responses_total", proxy="app", server="app", code="5xx")
    assert (backend_5xx, server_5xx) == (2, 1)
