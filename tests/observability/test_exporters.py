"""The exporters that ship on this machine, run for real on loopback.

- blackbox_exporter with observability/blackbox/blackbox.yml: the probe module passes on the real
  app's `200 UP`, and fails on `500 DOWN` and on a `200` page that is not `UP`.
- postgres_exporter against the real PostgreSQL fixture: `pg_up` is 1, and 0 on a closed port.
Both also prove that the allow-listed metrics of these exporters exist under those names.
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

from test_app_tooling.process import stop, wait_until_ready
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
