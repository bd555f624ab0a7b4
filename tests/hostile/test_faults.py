"""Process faults against a real instance: killed, stopped, unbindable, interrupted, outages.

Whatever breaks, no process of the service is left serving unmanaged, failures are one JSON
line, and a database outage is logged once per state change.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from test_app_tooling.app import app_command
from test_app_tooling.hostile import hold_idle, label_sweep, send_requests
from test_app_tooling.ports import free_port
from test_app_tooling.process import children, wait_children


if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.integration, pytest.mark.hostile]

SILENCE = 10.0  # test_app.lifeline.SILENCE_SECONDS


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Poll until none of `pids` runs or `timeout` passes; return those still running."""
    deadline = time.monotonic() + timeout
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_no_process_survives_a_sigkill_of_the_main_process(postgres, run_app):
    app = run_app({**postgres.env(), "WORKERS": "2"})
    workers = wait_children(app.proc.pid, 2)
    assert len(workers) == 2
    os.kill(app.proc.pid, signal.SIGKILL)
    app.proc.wait(timeout=5)
    try:
        assert wait_gone(workers, timeout=5) == []
    finally:
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    # Nothing listens on the port any more, so a replacement binds it alone. Like any server it
    # sets SO_REUSEADDR (the killed processes' closed connections may linger in TIME_WAIT), and
    # it allows the kernel a moment to close the sockets of processes that have just exited.
    assert port_bindable(app.port, timeout=10)


def port_bindable(port: int, timeout: float) -> bool:
    """Whether a new listener can bind `port` on loopback within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                if time.monotonic() > deadline:
                    return False
            else:
                return True
        time.sleep(0.1)


def test_a_stopped_worker_ends_the_process(postgres, run_app):
    app = run_app({**postgres.env(), "WORKERS": "2"})
    workers = wait_children(app.proc.pid, 2)
    os.kill(workers[0], signal.SIGSTOP)
    try:
        status = app.wait(timeout=SILENCE + 30)
    finally:
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert status == 1
    events = [line["event"] for line in json_lines(app.log)]
    assert "worker unresponsive: killed it, the process exits for a replacement" in events
    assert "a worker exited unexpectedly" in events
    assert wait_gone(workers, timeout=5) == []


def test_a_stalled_stdout_blocks_neither_requests_nor_the_watchdog(postgres, run_app):
    """The log reader stops: requests are answered, lines dropped and counted, and a frozen
    worker is still killed and the process still exits, all while nobody reads stdout."""
    read_end, write_end = os.pipe()  # 64 KiB of buffer, never read until the end
    try:
        env = {**postgres.env(), "WORKERS": "2", "ACCESS_LOG": "true"}
        app = run_app(env, output=write_end)
        os.close(write_end)
        failed = 0
        with httpx.Client(base_url=app.url, timeout=5) as client:
            for _ in range(4000):  # 1 MB of access log: more than the pipe and both queues hold
                try:
                    failed += client.get("/version").status_code != 200
                except httpx.TransportError:
                    failed += 1
                if failed > 5:  # blocked on stdout: no need to wait for all of them
                    break
            # each worker publishes its count within a second; either may answer a scrape
            deadline = time.monotonic() + 5
            while (dropped := log_lines_dropped(client.get("/metrics").text)) == 0:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        assert failed == 0
        assert dropped > 0
        workers = wait_children(app.proc.pid, 2)
        os.kill(workers[0], signal.SIGSTOP)
        try:
            status = app.wait(timeout=SILENCE + 30)
        finally:
            for pid in workers:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        assert status == 1
        os.set_blocking(read_end, False)
        written = b""
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(read_end, 65536):
                written += chunk
        json_lines(written.decode())  # whole lines only: none cut or interleaved
    finally:
        os.close(read_end)


def log_lines_dropped(metrics_text: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith("test_app_log_lines_dropped_total "):
            return float(line.split()[1])
    return 0.0


def test_a_low_open_file_limit_lowers_the_connection_bound_and_says_so(postgres, run_app):
    command = ["prlimit", "--nofile=256:256", "--", *app_command()]
    app = run_app({**postgres.env(), "WORKERS": "2"}, command=command)
    (warning,) = [
        line
        for line in json_lines(app.log)
        if str(line["event"]).startswith("the open-file limit is below the connection limit")
    ]
    assert warning["open_file_limit"] == 256
    assert 0 < int(warning["connections_per_worker"]) < 256  # type: ignore[call-overload]
    with hold_idle(app.port, 600):  # more than both workers may hold: the rest wait, no EMFILE
        assert app.get("/livez", timeout=10).status_code == 200
    assert app.proc.poll() is None


def test_sighup_respawns_nothing_and_counts_nothing_twice(postgres, run_app):
    app = run_app({**postgres.env(), "WORKERS": "2", "POOL_MAX_SIZE": "4"})
    workers = sorted(wait_children(app.proc.pid, 2))
    for _ in range(3):
        app.signal(signal.SIGHUP)
        time.sleep(0.5)
    time.sleep(4)  # granian respawned the first worker at once and the next 3.5 s later
    assert sorted(wait_children(app.proc.pid, 2)) == workers
    assert app.proc.poll() is None
    metrics = app.get("/metrics").text
    assert 'test_app_db_pool_max_size{target="writer"} 8.0' in metrics, metrics
    events = [line["event"] for line in json_lines(app.log)]
    assert events.count("SIGHUP ignored: restart the process to change its configuration") == 3


def test_a_healthy_instance_is_not_killed_by_its_watchdog(postgres, run_app):
    app = run_app({**postgres.env(), "WORKERS": "2"})
    deadline = time.monotonic() + SILENCE + 3
    while time.monotonic() < deadline:
        assert app.get("/livez").status_code == 200
        time.sleep(0.5)
    assert app.proc.poll() is None


def bind_failure(app) -> dict[str, object]:
    status = app.wait(timeout=30)
    lines = json_lines(app.log)  # every line is JSON: a traceback would fail here
    errors = [line for line in lines if line["level"] == "error"]
    assert len(errors) == 1, app.log
    assert "Traceback" not in app.log
    return {"status": status, "error": errors[0]["event"]}


def test_port_in_use_is_one_line(postgres, run_app):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        app = run_app({**postgres.env(), "PORT": str(port)}, wait_ready=False)
        failure = bind_failure(app)
    assert failure["status"] == 1
    assert failure["error"] == (
        f"cannot listen on HOST=127.0.0.1 PORT={port}: Address already in use"
    )


def test_an_address_not_on_this_host_is_one_line(postgres, run_app):
    app = run_app({**postgres.env(), "HOST": "10.99.99.99"}, wait_ready=False)
    failure = bind_failure(app)
    assert failure["status"] == 1
    assert str(failure["error"]).startswith("cannot listen on HOST=10.99.99.99 PORT=")
    assert str(failure["error"]).endswith("Cannot assign requested address")


def test_a_host_that_is_not_an_address_is_one_line(postgres, run_app):
    app = run_app({**postgres.env(), "HOST": "not-an-address"}, wait_ready=False)
    failure = bind_failure(app)
    assert failure["status"] == 2
    assert "HOST='not-an-address': expected an IPv4 or IPv6 address" in str(failure["error"])


@pytest.mark.parametrize(
    "host", ["db..example.com", "a" * 64 + ".example.com", "d\u00e9j\u00e0.db"]
)
def test_a_database_host_the_resolver_cannot_encode_is_one_line(postgres, run_app, host):
    app = run_app({**postgres.env(), "POSTGRESQL_HOST": host}, wait_ready=False)
    failure = bind_failure(app)
    assert failure["status"] == 2
    assert f"POSTGRESQL_HOST={host!r}: expected a non-empty host name" in str(failure["error"])


def test_sigint_while_waiting_for_the_database_is_one_line(run_app):
    env = {
        "POSTGRESQL_HOST": "127.0.0.1",
        "POSTGRESQL_PORT": str(free_port()),  # nothing listens here
        "POSTGRESQL_PASSWORD": "x",
        "STARTUP_TIMEOUT_SECONDS": "30",
    }
    app = run_app(env, wait_ready=False)
    time.sleep(1.5)  # well inside the startup window
    app.signal(signal.SIGINT)
    assert app.wait(timeout=10) == 130
    assert "Traceback" not in app.log
    assert json_lines(app.log)[-1]["event"] == "interrupted while waiting for PostgreSQL"


def run_folders(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"test-app-run-{pid}-*"))


def test_a_killed_instance_leaves_no_folder_behind_the_next_start(postgres, run_app):
    killed = run_app({**postgres.env(), "WORKERS": "2"})
    workers = wait_children(killed.proc.pid, 2)
    (folder,) = run_folders(killed.proc.pid)
    os.kill(killed.proc.pid, signal.SIGKILL)
    killed.proc.wait(timeout=5)
    assert wait_gone(workers, timeout=5) == []
    assert folder.exists()  # nobody could clean up
    run_app(postgres.env())
    assert not folder.exists()


def test_a_database_outage_is_logged_once_per_transition(solo, run_app):
    app = run_app({**solo.env(reader=False), "WORKERS": "1", "ACCESS_LOG": "false"})
    assert app.get("/health").status_code == 200
    solo.primary.stop()
    try:
        for _ in range(20):
            assert app.get("/health").status_code == 500
    finally:
        solo.primary.start()
    deadline = time.monotonic() + 15
    while app.get("/health").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    for _ in range(20):
        assert app.get("/health").status_code == 200
    lines = json_lines(app.log)
    down = [line for line in lines if line["event"] == "database down"]
    up = [line for line in lines if line["event"] == "database up again"]
    assert len(down) == 1, down
    assert len(up) == 1, up
    assert down[0]["level"] == "warning"
    assert down[0]["target"] == "writer"
    assert down[0]["cause"]
    assert float(up[0]["down_seconds"]) > 0  # type: ignore[arg-type]


def test_past_max_in_flight_health_is_shed_and_the_probes_answer(solo, run_app):
    """End to end through granian: the database hangs, 20 /health requests wait for it, the
    rest are shed with 503 and Retry-After, and the probes and /metrics still answer."""
    env = {**solo.env(reader=False), "MAX_IN_FLIGHT": "20", "PING_TIMEOUT_SECONDS": "3"}
    app = run_app({**env, "WORKERS": "1", "ACCESS_LOG": "false"})
    assert app.get("/health").status_code == 200
    postmaster = int((solo.primary.datadir / "postmaster.pid").read_text().split()[0])
    frozen = [postmaster, *children(postmaster)]
    answers: list[tuple[int, str | None]] = []

    def health() -> None:
        response = httpx.get(app.url + "/health", timeout=10)
        answers.append((response.status_code, response.headers.get("retry-after")))

    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        threads = [threading.Thread(target=health) for _ in range(60)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(answers) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        probes = [app.get(path).status_code for path in ("/livez", "/readyz", "/metrics")]
        for thread in threads:
            thread.join()
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    assert probes == [200, 200, 200]
    assert Counter(answers) == {(503, "1"): 40, (500, None): 20}
    shed = [
        line
        for line in app.get("/metrics").text.splitlines()
        if line.startswith('test_app_http_shed_requests_total{route="/health"}')
    ]
    assert shed == ['test_app_http_shed_requests_total{route="/health"} 40.0']


TERMINATE_APP_BACKENDS = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    " WHERE application_name = 'test-app'"
)


def test_backends_terminated_under_load_give_up_or_down_never_a_bare_500(solo, run_app):
    """The server ends the app's pooled connections again and again while /health is requested.

    asyncpg reports some of these as `InternalClientError`; every answer must still be the
    contract's `200 UP` or `500 DOWN`, and the pool must recover. Bounded: 5 s, 4 clients.
    """
    app = run_app({**solo.env(reader=False), "WORKERS": "1", "POOL_MIN_SIZE": "4"})
    answers: Counter[tuple[int, str]] = Counter()
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=app.url, timeout=5) as http:
            while not stop.is_set():
                response = http.get("/health")
                answers[response.status_code, response.text] += 1

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    terminated = 0
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            terminated += int(solo.primary.sql(TERMINATE_APP_BACKENDS))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert terminated > 0, "no backend of the app was terminated: nothing was tested"
    assert sum(answers.values()) > 0
    assert set(answers) <= {(200, "UP\n"), (500, "DOWN\n")}, answers
    for _ in range(5):  # the pool replaced what the server ended
        assert (app.get("/health").status_code, app.get("/health").text) == (200, "UP\n")
    assert "Traceback" not in app.log


def test_a_refused_password_is_retried_in_the_window_and_logged_at_once(postgres, run_app):
    env = {**postgres.env(), "POSTGRESQL_PASSWORD": "wrong", "STARTUP_TIMEOUT_SECONDS": "3"}
    app = run_app(env, wait_ready=False)
    assert app.wait(timeout=30) == 1
    lines = json_lines(app.log)
    waits = [line for line in lines if line["event"] == "waiting for PostgreSQL"]
    assert len(waits) == 1, waits  # several attempts, one line per kind of cause
    assert waits[0]["level"] == "warning"
    assert "password authentication failed" in str(waits[0]["cause"])
    first_error = next(i for i, line in enumerate(lines) if line["level"] == "error")
    assert lines.index(waits[0]) < first_error
    # ADR 0013: retried for the whole window, not failed fast.
    assert "within 3s" in str(lines[-1]["event"])


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `folder` (the tests run as root), unmounted on exit."""
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path) -> None:
    """Write zeros into `folder` until its filesystem is full."""
    with (folder / "filler").open("wb") as filler, contextlib.suppress(OSError):
        while True:
            filler.write(b"\0" * 65536)
            filler.flush()


def test_a_full_tmp_after_start_kills_no_worker(postgres, run_app, tmp_path):
    with small_tmpfs(tmp_path / "tmp", "16m") as tmp:
        app = run_app({**postgres.env(), "WORKERS": "2", "TMPDIR": str(tmp)})
        fill(tmp)
        assert shutil.disk_usage(tmp).free < 64 * 1024
        # Every label combination a client can choose writes new samples, on new pages.
        requests = label_sweep()
        assert send_requests(app.port, requests * 3) == 3 * len(requests)
        assert app.get("/livez").status_code == 200
        assert app.proc.poll() is None, app.log
        app.stop()


def test_no_room_for_the_metrics_files_is_one_line_at_start(postgres, run_app, tmp_path):
    with small_tmpfs(tmp_path / "tmp", "4m") as tmp:  # 2 workers need 10 MiB
        app = run_app({**postgres.env(), "WORKERS": "2", "TMPDIR": str(tmp)}, wait_ready=False)
        failure = bind_failure(app)
    assert failure["status"] == 1
    assert str(failure["error"]).startswith(f"not enough space for the metrics files in {tmp}/")
