"""The chart's admission proxy in front of the pod: HAProxy refuses before the app's Python runs.

The app's own admission control (`MAX_IN_FLIGHT`) answers `503` from Python, which costs the
pod about a third of an answer (ADR 0010): past 2 x its capacity the pod spends most of its CPU
refusing. The chart's opt-in admission proxy (values `admissionProxy`: a sidecar with a CPU
limit of its own) refuses for the app instead. `make bench-pod --shedder` runs HAProxy with the
configuration the chart renders, not a copy of it (`chart_config`); only the listening and
upstream addresses are moved to this machine's loopback ports (`localize`):

* at most `connections` `/health` and `/health/read` requests reach the app at once (`maxconn`
  of the one server, reused keep-alive connections); the others wait in HAProxy's queue;
* one that finds `queue` requests already waiting is answered `503 OVERLOADED` with
  `Retry-After: 1` by HAProxy itself (no byte reaches the app), and one that waits longer than
  `queue_timeout_ms` gets HAProxy's own `503`;
* every other route (`/livez`, `/readyz`, `/metrics`) is passed, never shed nor queued; the
  kubelet's probes go to the app's own port anyway.

`cpu_seconds` reads the proxy's CPU from /proc, so a run reports what the refusals cost the
proxy (the sidecar's CPU to size), not only what they saved the pod.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from test_app_tooling.helm_render import VALUE_SETS, chart_values, deep_merge, load_values, render
from test_app_tooling.ports import free_port
from test_app_tooling.process import stop
from test_app_tooling.tools import find_tool


CONFIG_KEY = "haproxy.cfg"
APP_UPSTREAM = "127.0.0.1:8080"  # the app's container port, as the chart's configuration has it


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

    def values(self) -> dict[str, Any]:
        """The chart values that set these bounds (and turn the proxy on)."""
        return {
            "admissionProxy": {
                "enabled": True,
                "connections": self.connections,
                "queue": self.queue,
                "queueTimeoutMs": self.queue_timeout_ms,
            }
        }


def chart_plan(value_set: str = "prod") -> ShedderPlan:
    """The bounds the chart's values of `value_set` give the proxy (the bench's defaults)."""
    files, extra = VALUE_SETS[value_set]
    proxy = chart_values(files, extra)["admissionProxy"]
    return ShedderPlan(int(proxy["connections"]), int(proxy["queue"]), int(proxy["queueTimeoutMs"]))


def chart_config(plan: ShedderPlan, value_set: str = "prod") -> str:
    """HAProxy's configuration as the chart renders it for `value_set` with `plan`'s bounds."""
    files, extra = VALUE_SETS[value_set]
    objects = render(load_values(files, deep_merge(extra, plan.values())))
    found = [
        obj["data"][CONFIG_KEY]
        for obj in objects
        if obj.get("kind") == "ConfigMap" and CONFIG_KEY in (obj.get("data") or {})
    ]
    if len(found) != 1:
        raise RuntimeError(
            f"the chart rendered {len(found)} ConfigMaps with `{CONFIG_KEY}`, expected one"
        )
    return str(found[0])


def _replace_once(text: str, pattern: str, replacement: str, what: str) -> str:
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if count != 1:
        raise RuntimeError(f"the proxy's configuration has {count} {what}, expected exactly one")
    return new


def localize(
    text: str, front_port: int, monitor_port: int, app_port: int, stats: Path | None = None
) -> str:
    """Move the chart's configuration onto loopback ports; add a runtime API socket if given.

    The pod's proxy listens on every address of the pod and reaches the app at 127.0.0.1:8080;
    here both frontends listen on 127.0.0.1 and the upstream is `app_port`. Anything else in the
    configuration is run as the chart renders it.
    """
    text = _replace_once(
        text, r"^(frontend web\n  bind ):\d+$", rf"\g<1>127.0.0.1:{front_port}", "web binds"
    )
    text = _replace_once(
        text,
        r"^(frontend monitor\n  bind ):\d+$",
        rf"\g<1>127.0.0.1:{monitor_port}",
        "monitor binds",
    )
    upstreams = text.count(APP_UPSTREAM)
    if upstreams != 2:
        raise RuntimeError(
            f"the proxy's configuration names {APP_UPSTREAM} {upstreams} times, expected 2"
        )
    text = text.replace(APP_UPSTREAM, f"127.0.0.1:{app_port}")
    if stats is not None:
        text = _replace_once(text, r"^global$", f"global\n  stats socket {stats}", "global")
    return text


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

    def peak_rss_mib(self) -> float:
        """The proxy's peak resident memory since it started (VmHWM), in MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"/proc/{self.pid}/status has no VmHWM")

    def cpu_seconds(self) -> float:
        """The proxy's CPU time so far, in seconds, to the nanosecond.

        The scheduler's run time of each of its threads (`/proc/<pid>/task/*/schedstat`), not
        `/proc/<pid>/stat`'s clock ticks: at 100 ticks a second a short run of a fast proxy
        would read as no CPU at all.
        """
        tasks = list(Path(f"/proc/{self.pid}/task").glob("*/schedstat"))
        if not tasks:
            raise RuntimeError(f"/proc/{self.pid}/task has no schedstat: is the proxy running?")
        return sum(int(task.read_text().split()[0]) for task in tasks) / 1e9


@contextlib.contextmanager
def running(app_port: int, plan: ShedderPlan, timeout_s: float = 10.0) -> Iterator[Shedder]:
    """Start the chart's proxy in front of `app_port` (this process's CPUs); stop it afterwards."""
    haproxy = find_tool("haproxy")
    front = free_port()
    text = chart_config(plan)
    with tempfile.TemporaryDirectory(prefix="test-app-shedder-") as folder:
        cfg = Path(folder) / "haproxy.cfg"
        stats = Path(folder) / "stats.sock"
        cfg.write_text(localize(text, front, free_port(), app_port, stats))
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
            stop(proc, timeout=10)


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
