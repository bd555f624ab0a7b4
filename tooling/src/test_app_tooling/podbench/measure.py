"""The measurements of `make bench-pod`, each against a running app inside its pod cgroup."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from test_app_tooling.loadgen import run_wrk
from test_app_tooling.podbench import httperf
from test_app_tooling.podbench.cgroup import PodCgroup
from test_app_tooling.podbench.report import (
    Slo,
    cpu_row,
    load_row,
    memory_growth,
    memory_row,
    mib,
    overload_row,
    ratio,
    step_passes,
)


def progress(line: str) -> None:
    """One progress line on standard output, flushed (the benchmark runs for minutes)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Target:
    """The app under test: its port, its cgroup and the SLO to hold."""

    port: int
    group: PodCgroup
    slo: Slo
    timeout_s: float  # the load generator's per-request timeout

    def url(self, path: str) -> str:
        """Return the loopback URL of `path`."""
        return f"http://127.0.0.1:{self.port}{path}"


def step(target: Target, rate: float, seconds: float) -> dict[str, Any]:
    """One constant offered rate on /health: latency, errors, CPU, throttling, memory."""
    group = target.group
    group.reset_peak()
    before, started = group.cpu(), time.monotonic()
    load = httperf.run(target.port, "/health", rate, seconds, target.timeout_s)
    after, wall = group.cpu(), time.monotonic() - started
    row = {
        **load_row(load, target.slo),
        **cpu_row(before, after, wall),
        **memory_row(group.memory(), group.memory_bytes),
    }
    row["pass"] = step_passes(row)
    return row


@dataclass(frozen=True)
class StepPlan:
    """How the offered rate rises: start, seconds per step, bounds and refinement."""

    start: float
    seconds: float
    max_steps: int
    refine: int  # linear steps between the last passing and the first failing rate
    settle: float  # seconds of rest before each step


def steps(target: Target, plan: StepPlan) -> list[dict[str, Any]]:
    """Double the rate until a step fails, then `refine` linear steps from the last pass."""
    rows: list[dict[str, Any]] = []

    def measure(rate: float) -> bool:
        time.sleep(plan.settle)  # let the previous step's queues drain
        row = step(target, rate, plan.seconds)
        rows.append(row)
        progress(
            f"step {len(rows):2} offered {row['offered_rps']:8.1f}/s served "
            f"{row['served_rps']:8.1f}/s p99 {row['p99_ms']} ms errors {row['errors']} "
            f"cpu {row['cpu_cores']} throttled {row['throttled_share']} "
            f"{'PASS' if row['pass'] else 'FAIL'}"
        )
        return bool(row["pass"])

    rate, passed = plan.start, None
    while len(rows) < plan.max_steps and measure(rate):
        passed, rate = rate, rate * 2
    if passed is None or len(rows) >= plan.max_steps:
        return rows
    failed = rate
    for k in range(1, plan.refine + 1):
        if not measure(passed + k * (failed - passed) / (plan.refine + 1)):
            break
    return rows


def ceiling(target: Target, connections: int, seconds: int) -> dict[str, Any]:
    """/livez (no database) and /health at `connections`, one after the other on one server."""
    rows: dict[str, Any] = {}
    for path in ("/livez", "/health"):
        before, started = target.group.cpu(), time.monotonic()
        sample = run_wrk(target.url(path), connections, seconds)
        usage = cpu_row(before, target.group.cpu(), time.monotonic() - started)
        rows[path.strip("/")] = {
            "rps": round(sample.rate),
            "p50_ms": sample.p50_ms,
            "p99_ms": sample.p99_ms,
            "errors": sample.errors,
            "cpu_cores": usage["cpu_cores"],
            "throttled_share": usage["throttled_share"],
        }
        progress(f"ceiling {path}: {sample.rate:.0f}/s p99 {sample.p99_ms} ms")
    return {
        "connections": connections,
        "seconds": seconds,
        **rows,
        "health_over_livez": ratio(rows["health"]["rps"], rows["livez"]["rps"]),
    }


class _PeakSampler(threading.Thread):
    """Polls the group's anonymous memory (RSS) until stopped; keeps the maximum."""

    def __init__(self, group: PodCgroup) -> None:
        super().__init__(daemon=True)
        self.group, self.peak_rss, self.done = group, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.peak_rss = max(self.peak_rss, self.group.memory().rss_bytes)


def recovery(target: Target, good_in_a_row: int, limit_s: float) -> float | None:
    """Measure the seconds until /health answers well again.

    The result is the time from now to the first of `good_in_a_row` consecutive probes that
    answer 200 within the SLO threshold (one new connection each, every 0.1 s).
    """
    started, streak_start, streak = time.monotonic(), 0.0, 0
    while (sent := time.monotonic()) - started < limit_s:
        try:
            response = httpx.get(target.url("/health"), timeout=target.timeout_s)
            good = (
                response.status_code == 200
                and (time.monotonic() - sent) * 1000 <= target.slo.threshold_ms
            )
        except httpx.HTTPError:
            good = False
        if good:
            streak_start, streak = (sent if streak == 0 else streak_start), streak + 1
            if streak >= good_in_a_row:
                return round(streak_start - started, 2)
        else:
            streak = 0
        time.sleep(max(0.0, 0.1 - (time.monotonic() - sent)))
    return None


def overload(target: Target, rate: float, factor: float, seconds: float) -> dict[str, Any]:
    """`rate` (about `factor` x capacity) on /health for `seconds`; then the recovery time."""
    group = target.group
    group.reset_peak()
    before, started_cpu = group.cpu(), time.monotonic()
    sampler = _PeakSampler(group)
    sampler.start()
    results: list[httperf.LoadResult] = []
    load = threading.Thread(
        target=lambda: results.append(
            httperf.run(target.port, "/health", rate, seconds, target.timeout_s)
        ),
        daemon=True,  # an interrupted benchmark must not wait for it
    )
    started = time.monotonic()
    load.start()
    time.sleep(max(0.0, seconds - (time.monotonic() - started)))  # the offered load ends here
    recovered = recovery(target, good_in_a_row=10, limit_s=120)
    load.join()
    sampler.done.set()
    sampler.join()
    if not results:
        raise RuntimeError("the overload run produced no httperf result")
    row = overload_row(results[0], target.slo, factor, recovered)
    row.update(cpu_row(before, group.cpu(), time.monotonic() - started_cpu))
    memory = group.memory()
    row.update(
        memory_row(memory, group.memory_bytes),
        peak_rss_mib=mib(sampler.peak_rss),
        limit_hits=memory.limit_hits,
    )
    progress(
        f"overload {rate:.0f}/s: error share {row['error_share']}, p99 served "
        f"{row['p99_ms']} ms, peak RSS {row['peak_rss_mib']} MiB, recovery {recovered} s"
    )
    return row


def memory_soak(target: Target, requests: int, connections: int, chunk_s: int) -> dict[str, Any]:
    """Serve `requests` on /health in wrk runs of `chunk_s`; RSS after each run."""
    group = target.group
    group.reset_peak()
    served, samples = 0, [{"requests": 0, **memory_row(group.memory(), group.memory_bytes)}]
    while served < requests:
        sample = run_wrk(target.url("/health"), connections, chunk_s)
        if sample.requests <= 0:
            raise RuntimeError("wrk served no request; the memory soak cannot progress")
        served += sample.requests
        samples.append({"requests": served, **memory_row(group.memory(), group.memory_bytes)})
        progress(f"soak: {served:,} requests, RSS {samples[-1]['rss_mib']} MiB")
    return {
        "requests": served,
        "connections": connections,
        "samples": samples,
        "peak_mib": max(s["peak_mib"] for s in samples),
        "rss_growth_mib": memory_growth(samples),
    }
