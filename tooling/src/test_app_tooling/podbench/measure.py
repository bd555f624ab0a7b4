"""The measurements of `make bench-pod`, each against a running app inside its pod cgroup."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from test_app_tooling.loadgen import run_wrk
from test_app_tooling.podbench import cpus, httperf
from test_app_tooling.podbench.cgroup import PodCgroup
from test_app_tooling.podbench.report import (
    Slo,
    bound,
    capacity,
    cpu_row,
    load_row,
    memory_growth,
    memory_row,
    mib,
    openload_row,
    overload_checks,
    ratio,
    refusal_cost,
    shedder_row,
    step_passes,
)
from test_app_tooling.podbench.shedder import Shedder


KEEPALIVE = "keepalive"  # open model over persistent connections (openload), like the ALB
NEW_CONNECTION = "new-connection"  # open model, a connection per request (httperf)
PROFILES = (KEEPALIVE, NEW_CONNECTION)


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
    pod_cpus: list[int]  # the CPUs the pod is pinned to
    generator_cpus: list[int]  # the CPUs of the generator and PostgreSQL
    pod_cores: float  # the CPU the pod may use: its limit, or its pinned CPUs when fewer
    max_connections: int = 512  # of the persistent-connection generator
    shedder: Shedder | None = None  # a proxy in front: clients' load goes through it

    def url(self, path: str) -> str:
        """Return the loopback URL of `path` on the app's own port (the kubelet's way in)."""
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def client_port(self) -> int:
        """Return the port clients' load goes to: the shedding proxy's, else the app's."""
        return self.shedder.port if self.shedder is not None else self.port


def openload(target: Target, path: str, rate: float, seconds: float) -> dict[str, Any]:
    """One open-model run over persistent connections; its JSON summary."""
    command = [
        *(sys.executable, "-m", "test_app_tooling.podbench.openload"),
        *("--port", str(target.client_port), "--path", path, "--rate", f"{rate:.3f}"),
        *("--seconds", str(seconds), "--timeout", str(target.timeout_s)),
        *("--max-connections", str(target.max_connections)),
        *("--percentile", str(target.slo.percentile)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def step(target: Target, rate: float, seconds: float, profile: str = KEEPALIVE) -> dict[str, Any]:
    """One constant offered rate on /health: latency, errors, CPU of pod and generator, memory."""
    group = target.group
    group.reset_peak()
    before, machine, started = group.cpu(), cpus.read(), time.monotonic()
    generator_s: float | None = None
    if profile == KEEPALIVE:
        result = openload(target, "/health", rate, seconds)
        load = openload_row(result, target.slo)
        generator_s = float(result["generator_cpu_s"])
    else:
        load = load_row(
            httperf.run(target.port, "/health", rate, seconds, target.timeout_s), target.slo
        )
    after, machine_after, wall = group.cpu(), cpus.read(), time.monotonic() - started
    usage = cpu_row(before, after, wall)
    row = {
        **load,
        **usage,
        **cpus.machine_row(machine, machine_after, wall, target.pod_cpus,
                           target.generator_cpus, usage["cpu_cores"], generator_s),
        **memory_row(group.memory(), group.memory_bytes),
    }  # fmt: skip
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


def steps(target: Target, plan: StepPlan, profile: str = KEEPALIVE) -> list[dict[str, Any]]:
    """Double the rate until a step fails, then `refine` linear steps from the last pass."""
    rows: list[dict[str, Any]] = []

    def measure(rate: float) -> bool:
        time.sleep(plan.settle)  # let the previous step's queues drain
        row = step(target, rate, plan.seconds, profile)
        rows.append(row)
        progress(
            f"{profile} step {len(rows):2} offered {row['offered_rps']:8.1f}/s served "
            f"{row['served_rps']:8.1f}/s p99 {row['p99_ms']} ms errors {row['errors']} "
            f"pod cpu {row['cpu_cores']} generator {row['generator_cores']} "
            f"others on pod cpu {row['pod_cpus_others']} {'PASS' if row['pass'] else 'FAIL'}"
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


def repetitions(
    target: Target, plan: StepPlan, count: int, profile: str = KEEPALIVE
) -> list[dict[str, Any]]:
    """`count` independent step searches; each with its own capacity."""
    runs = []
    for n in range(1, count + 1):
        progress(f"{profile}: repetition {n} of {count}")
        rows = steps(target, plan, profile)
        runs.append({"steps": rows, "capacity": capacity(rows, target.pod_cores)})
    return runs


def ceiling(target: Target, connections: int, seconds: int) -> dict[str, Any]:
    """/livez (no database) and /health at `connections`, one after the other on one server."""
    rows: dict[str, Any] = {}
    for path in ("/livez", "/health"):
        before, machine, started = target.group.cpu(), cpus.read(), time.monotonic()
        sample = run_wrk(target.url(path), connections, seconds)
        wall = time.monotonic() - started
        usage = cpu_row(before, target.group.cpu(), wall)
        rows[path.strip("/")] = {
            "rps": round(sample.rate),
            "p50_ms": sample.p50_ms,
            "p99_ms": sample.p99_ms,
            "errors": sample.errors,
            "cpu_cores": usage["cpu_cores"],
            "throttled_share": usage["throttled_share"],
            **cpus.machine_row(machine, cpus.read(), wall, target.pod_cpus,
                               target.generator_cpus, usage["cpu_cores"]),
        }  # fmt: skip
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
            response = httpx.get(
                f"http://127.0.0.1:{target.client_port}/health", timeout=target.timeout_s
            )
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


class _Probes(threading.Thread):
    """The kubelet's probes, stricter: /livez and /readyz every second, new connections each."""

    PATHS = ("/livez", "/readyz")

    def __init__(self, target: Target, timeout_s: float) -> None:
        super().__init__(daemon=True)
        self.target, self.timeout_s, self.done = target, timeout_s, threading.Event()
        self.sent = self.answered = 0
        self.slowest_ms = 0.0

    def run(self) -> None:
        while not self.done.is_set():
            for path in self.PATHS:
                self.sent += 1
                started = time.monotonic()
                try:
                    response = httpx.get(self.target.url(path), timeout=self.timeout_s)
                    self.answered += response.status_code == 200
                except httpx.HTTPError:
                    pass
                took = (time.monotonic() - started) * 1000
                self.slowest_ms = max(self.slowest_ms, round(took, 1))
            self.done.wait(1.0)


def overload(  # noqa: PLR0913, PLR0917 - the facts of one overload run
    target: Target,
    capacity_rps: float,
    factor: float,
    seconds: float,
    probe_timeout_s: float,
    memory_limit_mib: float,
    cpu_ms_per_request: float | None = None,
) -> dict[str, Any]:
    """`factor` x capacity on /health over persistent connections; probes; then recovery."""
    group = target.group
    group.reset_peak()
    shedder_before = target.shedder.cpu_seconds() if target.shedder is not None else None
    before, machine, started = group.cpu(), cpus.read(), time.monotonic()
    sampler, probes = _PeakSampler(group), _Probes(target, probe_timeout_s)
    sampler.start()
    probes.start()
    rate = capacity_rps * factor
    results: list[dict[str, Any]] = []
    load = threading.Thread(
        target=lambda: results.append(openload(target, "/health", rate, seconds)),
        daemon=True,  # an interrupted benchmark must not wait for it
    )
    load.start()
    load.join()  # the generator waits up to its timeout for the last answers
    wall = time.monotonic() - started
    after, machine_after = group.cpu(), cpus.read()
    shedder_s = (
        target.shedder.cpu_seconds() - shedder_before
        if target.shedder is not None and shedder_before is not None
        else None
    )
    recovered = recovery(target, good_in_a_row=10, limit_s=60)
    probes.done.set()
    sampler.done.set()
    probes.join()
    sampler.join()
    if not results:
        raise RuntimeError("the overload run produced no result")
    row = openload_row(results[0], target.slo)
    usage = cpu_row(before, after, wall)
    memory = group.memory()
    row.update(
        factor=factor,
        capacity_rps=capacity_rps,
        goodput_share=ratio(row["served_rps"], capacity_rps),
        refused_share=ratio(row["refused_503"], max(1, row["planned"])),
        recovery_s=recovered,
        probes_sent=probes.sent,
        probes_answered=probes.answered,
        probes_slowest_ms=probes.slowest_ms,
        **usage,
        **cpus.machine_row(machine, machine_after, wall, target.pod_cpus,
                           target.generator_cpus, usage["cpu_cores"],
                           float(results[0]["generator_cpu_s"])),
        **memory_row(memory, group.memory_bytes),
        peak_rss_mib=mib(sampler.peak_rss),
        limit_hits=memory.limit_hits,
    )  # fmt: skip
    row["checks"] = overload_checks(row, capacity_rps, memory_limit_mib)
    # What ran out: the pod's CPU (`quota`), or the generator / machine (then the row measured
    # them as much as the pod).
    row["bound"] = bound(row, target.pod_cores)
    row["refusal_cost_share"] = (
        refusal_cost(row, cpu_ms_per_request) if cpu_ms_per_request else None
    )
    row["sent_rps"] = round(row["attempted"] / row["duration_s"], 1)
    if target.shedder is not None and shedder_s is not None:
        row["shedder"] = shedder_row(shedder_s, wall, row, target.shedder.peak_rss_mib())
    else:
        row["shedder"] = None
    progress(
        f"overload {factor:g}x = {rate:.0f}/s: served {row['served_rps']}/s "
        f"({row['goodput_share']} of capacity), refused {row['refused_503']}, p99 served "
        f"{row['p99_ms']} ms, refused p99 {row['refused_p99_ms']} ms, probes "
        f"{probes.answered}/{probes.sent}, recovery {recovered} s, pod cpu {row['cpu_cores']}, "
        f"generator {row['generator_cores']}, bound by {row['bound']}"
    )
    return row


NETSTAT = Path("/proc/net/netstat")


def listen_counters(text: str) -> dict[str, int]:
    """The kernel's listen-queue counters (TcpExt ListenOverflows, ListenDrops) from netstat."""
    lines = [line.split() for line in text.splitlines() if line.startswith("TcpExt:")]
    if len(lines) != 2:
        raise ValueError("/proc/net/netstat: expected a TcpExt header and value line")
    values = dict(zip(lines[0][1:], (int(v) for v in lines[1][1:]), strict=True))
    return {name: values.get(name, 0) for name in ("ListenOverflows", "ListenDrops")}


def burst(target: Target, connections: int) -> dict[str, Any]:
    """`connections` new connections at once on /health, past the listen backlog; recovery.

    The kernel's counters tell whether the accept queue overflowed (a handshake dropped: the
    client retries its SYN after 1 s, then 3 s, or times out).
    """
    before = listen_counters(NETSTAT.read_text())
    command = [
        *(sys.executable, "-m", "test_app_tooling.podbench.openload"),
        *("--port", str(target.port), "--burst", str(connections)),
        *("--timeout", str(target.timeout_s * 4)),  # let SYN retries (1 s, 3 s) be seen
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    result: dict[str, Any] = json.loads(done.stdout)
    after = listen_counters(NETSTAT.read_text())
    result["kernel"] = {name: after[name] - before[name] for name in after}
    result["recovery_s"] = recovery(target, good_in_a_row=10, limit_s=60)
    progress(
        f"burst of {connections} connections: {result['outcomes']}, {result['kernel']}, "
        f"recovery {result['recovery_s']} s"
    )
    return result


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


def profile_counts(raw: str) -> tuple[dict[str, int], dict[str, int]]:
    """Samples per leaf function and per package of the leaf, from py-spy's raw output.

    A raw line is `frame;frame;...;leaf count`, a frame `function (path/file.py:line)`; the
    function keeps its file, the package is the path's first part (`test_app`, `asyncpg`, ...).
    """
    functions: dict[str, int] = {}
    packages: dict[str, int] = {}
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.split(";")[-1]
        name, _, where = leaf.partition(" (")
        path = where.rsplit(":", 1)[0]
        function = f"{name} ({path})" if path else name
        package = path.split("/")[0].removesuffix(".py") if path else name
        functions[function] = functions.get(function, 0) + int(count)
        packages[package] = packages.get(package, 0) + int(count)
    return functions, packages


def profile(target: Target, py_spy: str, seconds: int, top: int = 12) -> dict[str, Any]:
    """Sample every worker with py-spy while wrk loads /health; the leaf frames with most time.

    `--native` would show granian's Rust; without it the Python frames and idle waits show, which
    is the question: how much of a worker's time is the app's Python on /health.
    """
    pids = target.group.pids()
    with tempfile.TemporaryDirectory() as folder:
        outputs = [Path(folder) / f"{pid}.txt" for pid in pids]
        samplers = [
            subprocess.Popen(
                [py_spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
                 "--format", "raw", "--output", str(out), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for pid, out in zip(pids, outputs, strict=True)
        ]  # fmt: skip
        sample = run_wrk(target.url("/health"), 64, seconds)
        for sampler in samplers:
            sampler.wait(timeout=seconds + 30)
        functions: dict[str, int] = {}
        packages: dict[str, int] = {}
        for out in outputs:
            if out.is_file():
                more = profile_counts(out.read_text())
                for into, counted in zip((functions, packages), more, strict=True):
                    for key, count in counted.items():
                        into[key] = into.get(key, 0) + count
    total = sum(functions.values())
    if total == 0:
        raise RuntimeError("py-spy recorded no sample of the workers")

    def ranked(counts: dict[str, int], limit: int) -> list[dict[str, Any]]:
        best = sorted(counts.items(), key=lambda item: -item[1])[:limit]
        return [{"name": key, "share": round(count / total, 3)} for key, count in best]

    progress(f"profile: {total} samples")
    return {
        "tool": "py-spy record --format raw --nonblocking, every process of the pod",
        "seconds": seconds,
        "rps": round(sample.rate),
        "samples": total,
        "packages": ranked(packages, top),
        "functions": ranked(functions, top),
    }
