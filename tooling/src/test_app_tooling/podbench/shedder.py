"""A shedding proxy in front of the pod: HAProxy refuses the excess before the app's Python runs.

The app's own admission control (`MAX_IN_FLIGHT`) answers `503` from Python, which costs the
pod about a third of an answer (ADR 0010): past 2 x its capacity the pod spends most of its CPU
refusing. A proxy with CPU of its own (a sidecar container has its own limit) refuses for the
app instead. This module runs HAProxy that way for `make bench-pod --shedder`:

* at most `connections` requests reach the app at once (`maxconn` of the one server, reused
  keep-alive connections); the others wait in HAProxy's queue;
* a `/health` or `/health/read` request that finds `queue` requests already waiting is answered
  `503 OVERLOADED` with `Retry-After: 1` by HAProxy itself (no byte reaches the app), and one
  that waits longer than `queue_timeout_ms` gets HAProxy's own `503`;
* every other route (`/livez`, `/readyz`, `/metrics`) is passed, never shed nor queued (a
  backend without the bound); the kubelet's probes go to the app's own port anyway.

`cpu_seconds` reads the proxy's CPU from /proc, so a run reports what the refusals cost the
proxy (the sidecar's CPU to size), not only what they saved the pod.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from test_app_tooling.ports import free_port
from test_app_tooling.tools import find_tool


SHED_PATHS = ("/health", "/health/read")


@dataclass(frozen=True)
class ShedderPlan:
    """The proxy's bounds: requests at the app at once, requests waiting, the longest wait."""

    connections: int
    queue: int
    queue_timeout_ms: int

    def __post_init__(self) -> None:
        for name in ("connections", "queue", "queue_timeout_ms"):
            if getattr(self, name) < 1:
                raise ValueError(f"shedder {name}: expected a positive integer")


# The bounds measured in docs/benchmarks/overload-shedder/ (ADR 0010).
SHEDDER = ShedderPlan(connections=32, queue=32, queue_timeout_ms=100)


def config(front_port: int, app_port: int, plan: ShedderPlan, stats: Path | None = None) -> str:
    """Return HAProxy's configuration: listen on `front_port`, shed past `plan`, else pass.

    `stats`: a runtime API socket to read the queue from (`Shedder.queued`).
    """
    paths = " ".join(SHED_PATHS)
    socket_line = f"\n  stats socket {stats}" if stats is not None else ""
    return f"""\
global
  maxconn 8000
  nbthread 1{socket_line}

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 1s
  timeout client 30s
  timeout server 10s
  timeout queue {plan.queue_timeout_ms}ms

frontend web
  bind 127.0.0.1:{front_port}
  acl sheddable path {paths}
  http-request return status 503 content-type text/plain string "OVERLOADED" \
hdr Retry-After 1 if sheddable {{ queue(app) ge {plan.queue} }}
  use_backend app if sheddable
  default_backend direct

backend app
  server app 127.0.0.1:{app_port} maxconn {plan.connections}

backend direct
  server app 127.0.0.1:{app_port}
"""


@dataclass(frozen=True)
class Shedder:
    """A running proxy: the port clients use, and its process."""

    port: int
    pid: int
    plan: ShedderPlan
    stats: Path

    def queued(self) -> int:
        """Requests waiting in the proxy's queue for the app now (runtime API `show stat`)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5)
            conn.connect(str(self.stats))
            conn.sendall(b"show stat\n")
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "app" and row.get("svname") == "BACKEND":
                return int(row["qcur"] or 0)
        raise RuntimeError("haproxy's stats have no row for the app backend")

    def cpu_seconds(self) -> float:
        """The proxy's CPU time so far (user + system), from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def running(app_port: int, plan: ShedderPlan, timeout_s: float = 10.0) -> Iterator[Shedder]:
    """Start HAProxy in front of `app_port` (this process's CPUs); stop it afterwards."""
    haproxy = find_tool("haproxy")
    front = free_port()
    with tempfile.TemporaryDirectory(prefix="test-app-shedder-") as folder:
        cfg = Path(folder) / "haproxy.cfg"
        stats = Path(folder) / "stats.sock"
        cfg.write_text(config(front, app_port, plan, stats))
        checked = subprocess.run(
            [str(haproxy), "-c", "-q", "-f", str(cfg)], capture_output=True, text=True, check=False
        )
        if checked.returncode != 0:
            raise RuntimeError(f"haproxy refused its configuration: {checked.stderr.strip()}")
        log = Path(folder) / "haproxy.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [str(haproxy), "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=err
            )
        try:
            _wait_listening(front, proc, log, timeout_s)
            yield Shedder(front, proc.pid, plan, stats)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = log.read_text(errors="replace").strip()
            raise RuntimeError(f"haproxy exited with {proc.returncode}: {said}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"haproxy did not listen on 127.0.0.1:{port} within {timeout_s} s")
