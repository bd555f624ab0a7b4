"""Start, outage, hang, drain: the process lifecycle with real signals and a real PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Self

import httpx
import pytest

from test_app_tooling.ports import free_port
from test_app_tooling.process import children


pytestmark = pytest.mark.integration


def env_for(cluster, **extra):
    return {**cluster.env(reader=False), **{k: str(v) for k, v in extra.items()}}


def test_startup_gives_up_after_the_window_with_one_clear_line(run_app):
    port = free_port()  # nothing listens here
    env = {
        "POSTGRESQL_HOST": "127.0.0.1",
        "POSTGRESQL_PORT": str(port),
        "POSTGRESQL_DBNAME": "orders",
        "POSTGRESQL_PASSWORD": "x",
        "STARTUP_TIMEOUT_SECONDS": "1.5",
    }
    started = time.monotonic()
    app = run_app(env, wait_ready=False)
    code = app.wait(timeout=15)
    elapsed = time.monotonic() - started
    assert code == 1
    assert 1.5 <= elapsed < 6, elapsed
    errors = [json.loads(line) for line in app.log.splitlines() if '"error"' in line]
    assert len(errors) == 1
    message = errors[0]["event"]
    assert f"127.0.0.1:{port}" in message
    assert "'orders'" in message
    assert "within 1.5s" in message
    assert "Connect" in message or "refused" in message.lower()


def test_startup_retries_until_the_database_arrives(solo, run_app):
    solo.primary.stop()
    app = run_app(env_for(solo, STARTUP_TIMEOUT_SECONDS=20), wait_ready=False)
    time.sleep(1.5)
    assert app.proc.poll() is None, "still waiting inside the window"
    with pytest.raises(httpx.TransportError):
        app.get("/livez", timeout=0.5)  # never serves before the first successful ping
    solo.primary.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if app.get("/health", timeout=1).text == "UP\n":
                break
        except httpx.TransportError:
            time.sleep(0.1)
    assert app.get("/health").text == "UP\n"


def test_database_outage_turns_health_down_then_up_without_a_restart(solo, run_app):
    app = run_app(env_for(solo, WORKERS=2))
    pid = app.proc.pid
    assert app.get("/health").status_code == 200
    solo.primary.stop()
    try:
        down = app.get("/health")
        assert (down.status_code, down.text) == (500, "DOWN\n")
        # Readiness is the pod's, not the database's (ADR 0014): every worker stays ready.
        ready = [(r.status_code, r.text) for r in (app.get("/readyz") for _ in range(10))]
        assert ready == [(200, "READY\n")] * 10
        assert app.get("/livez").status_code == 200
        metrics = app.get("/metrics").text
        assert re.search(r'test_app_db_up\{target="writer"\} 0\.0', metrics)
        assert re.search(r"^test_app_ready 1\.0$", metrics, re.MULTILINE)
    finally:
        solo.primary.start()
    deadline = time.monotonic() + 10
    while app.get("/health").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert app.get("/health").text == "UP\n"
    assert app.get("/livez").status_code == 200
    assert app.proc.poll() is None
    assert app.proc.pid == pid


def _postgres_pids(datadir: Path) -> list[int]:
    postmaster = int((datadir / "postmaster.pid").read_text().split()[0])
    return [postmaster, *children(postmaster)]


def test_a_hung_database_gives_down_quickly_not_a_hung_request(solo, run_app):
    app = run_app(env_for(solo, PING_TIMEOUT_SECONDS=0.5))
    assert app.get("/health").status_code == 200
    pids = _postgres_pids(solo.primary.datadir)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = app.get("/health", timeout=10)
        elapsed = time.monotonic() - started
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    assert (response.status_code, response.text) == (500, "DOWN\n")
    assert elapsed < 2, elapsed
    deadline = time.monotonic() + 10
    while app.get("/health").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert app.get("/health").status_code == 200


class Load:
    """Threads sending /health requests over keep-alive connections, counting failures."""

    def __init__(self, url: str, threads: int = 4) -> None:
        self.url = url
        self.ok = 0
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while not self.stop.is_set():
                try:
                    response = client.get("/health")
                except httpx.HTTPError as err:
                    self.failures.append(repr(err))
                    continue
                if response.status_code == 200:
                    self.ok += 1
                else:
                    self.failures.append(str(response.status_code))

    def __enter__(self) -> Self:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_with_requests_in_flight(postgres, run_app, workers):
    drain = 2.0
    app = run_app({**postgres.env(), "DRAIN_SECONDS": str(drain), "WORKERS": str(workers)})
    with Load(app.url) as load:
        time.sleep(0.5)
        before = load.ok
        sent = time.monotonic()
        app.signal(signal.SIGTERM)
        # Keep the load on until just before the drain ends, however slow the machine is.
        threading.Timer(drain - 0.4, load.stop.set).start()
        time.sleep(0.2)
        readiness = [app.get("/readyz").status_code for _ in range(5)]
        load.stop.wait()
    assert readiness == [503] * 5, "readiness fails at once"
    assert load.ok > before, "requests kept being served during the drain"
    assert load.failures == []
    code = app.wait(timeout=drain + 10)
    assert code == 0
    assert time.monotonic() - sent < drain + 5, "exits well inside a grace period"
    assert "drain period over" in app.log


def test_several_workers_share_one_metrics_view(postgres, run_app):
    app = run_app({**postgres.env(), "WORKERS": "2"})
    with httpx.Client(base_url=app.url) as client:
        for _ in range(40):
            assert client.get("/health").status_code == 200
    for _ in range(5):  # every scrape, whichever worker answers, shows the sum
        text = app.get("/metrics").text
        match = re.search(
            r'test_app_http_requests_total\{method="GET",route="/health",status="200"\} ([\d.]+)',
            text,
        )
        assert match
        assert float(match.group(1)) == 40
