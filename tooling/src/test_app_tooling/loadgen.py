"""The benchmarks' load generators and app runner: wrk, pgbench, and the app started until healthy.

Shared by `scripts/bench.py` (the /health vs pgbench benchmark) and the pod benchmark
(`test_app_tooling.podbench`). Each run returns a `Sample`; a tool whose output lacks a figure
raises `ValueError` naming the figure, never a half-filled sample.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from test_app_tooling.postgres import PASSWORD


@dataclass
class Sample:
    """One measured run."""

    tool: str
    connections: int
    rate: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    requests: int = 0  # completed requests (wrk) or transactions (pgbench)


def _find(pattern: str, text: str, what: str) -> str:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise ValueError(f"no {what} in the tool's output:\n{text}")
    return match.group(1)


def parse_ms(value: str) -> float:
    """A wrk latency (`812.00us`, `3.53ms`, `1.20s`, `1m`) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, connections: int, duration: int) -> Sample:
    """Closed-model load with wrk: `connections` keep-alive connections for `duration` s."""
    threads = min(connections, 2)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(_find(r"Requests/sec:\s+([\d.]+)", out, "Requests/sec"))
    p50 = parse_ms(_find(r"^\s+50%\s+(\S+)", out, "50th percentile"))
    p99 = parse_ms(_find(r"^\s+99%\s+(\S+)", out, "99th percentile"))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(n) for n in match.groups())
    requests = int(_find(r"(\d+) requests in", out, "request count"))
    path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
    return Sample(f"wrk /{path}", connections, rate, p50, p99, errors, requests)


def run_pgbench(port: int, connections: int, duration: int, script: Path) -> Sample:
    """Pgbench running `script` against the loopback server on `port` (the ceiling)."""
    out = subprocess.run(
        ["pgbench", "-n", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-M", "simple",
         "-f", str(script), "-c", str(connections), "-j", str(min(connections, 2)),
         "-T", str(duration), "postgres"],
        capture_output=True, text=True, check=True, env={**os.environ, "PGPASSWORD": PASSWORD},
    ).stdout  # fmt: skip
    tps = float(_find(r"tps = ([\d.]+)", out, "tps"))
    failed = re.search(r"number of failed transactions: (\d+)", out)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    errors, processed = (int(m.group(1)) if m else 0 for m in (failed, done))
    return Sample("pgbench SELECT 1", connections, tps, None, None, errors, processed)


def app_command(server: str, python: str, workers: int) -> list[str]:
    """The command that serves the app with `server` (granian as shipped, or uvicorn)."""
    if server == "granian":
        return [python, "-m", "test_app"]
    return [python, "-m", "uvicorn", "test_app.app:create_app", "--factory", "--host",
            "127.0.0.1", "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning"]  # fmt: skip


def start_app(
    cmd: list[str], env: dict[str, str], port: int
) -> tuple[subprocess.Popen[bytes], float]:
    """Start the app and wait for its first `200` on /health; returns it and the seconds taken."""
    started = time.monotonic()
    proc = subprocess.Popen([*cmd, "--port", str(port)] if "uvicorn" in cmd else cmd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    with httpx.Client() as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the app exited with {proc.returncode}")
            try:
                if client.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    return proc, time.monotonic() - started
            except httpx.TransportError:
                time.sleep(0.002)


def rss_mib(pid: int) -> float:
    """Resident memory of one process in MiB (0.0 when /proc has no VmRSS line)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
