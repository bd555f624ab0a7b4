"""Rehearsal 1: a rolling update under load, one instance at a time, as Kubernetes does it.

For each instance: start the new process in the free slot, wait until it is ready, put it in
rotation (HAProxy runtime API: ``state ready``), then take the old one out the way a Deployment
does: the balancer stops sending it new requests (``state drain``, as the AWS Load Balancer
Controller deregisters a terminating pod) and it gets SIGTERM at the same moment; it fails
readiness, keeps serving what it has for ``DRAIN_SECONDS`` and exits 0.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from rehearsal import haproxy, report, stack, supervisor
from rehearsal.load import Load, LoadSpec
from rehearsal.sizes import Size
from rehearsal.topology import APP_INSTANCES, SLOTS, Topology, app_program


# Seconds one instance takes besides its drain: start, ready, rise in HAProxy. About 2.5 s on an
# idle 2-CPU machine; the load is sized for a busy one, so it outlasts the rollout.
STEP_OVERHEAD_SECONDS = 8
# The same, as a limit: a step slower than this fails the rehearsal.
STEP_BUDGET_SECONDS = 12


def active_slots(topo: Topology) -> dict[int, str]:
    """Return which slot of each instance runs now."""
    procs = supervisor.status(topo)
    active = {}
    for ordinal in range(1, APP_INSTANCES + 1):
        running = [s for s in SLOTS if procs[app_program(ordinal, s)].state == "RUNNING"]
        if len(running) != 1:
            raise stack.StackError(f"instance {ordinal} must run in exactly one slot: {running}")
        active[ordinal] = running[0]
    return active


def exit_status(topo: Topology, name: str, after_line: int) -> int | None:
    """Exit status supervisord logged for ``name`` after line ``after_line`` of its log."""
    lines = (topo.logs / "supervisord.log").read_text().splitlines()[after_line:]
    for line in lines:
        match = re.search(rf"(?:stopped|exited): {re.escape(name)} \(exit status (\d+)", line)
        if match:
            return int(match.group(1))
    return None


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``check`` until true (an exception counts as false); return the seconds it took."""
    start = time.monotonic()
    last = ""
    while True:
        try:
            if check():
                return time.monotonic() - start
        except Exception as exc:  # noqa: BLE001 - "not yet"
            last = f" (last error: {exc})"
        if time.monotonic() - start > timeout:
            raise stack.StackError(f"timed out after {timeout:g}s waiting for {what}{last}")
        time.sleep(0.05)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200  # noqa: PLR2004
    except httpx.HTTPError:
        return False


def run(topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:  # noqa: PLR0915
    """Roll every instance under load; return the report."""
    rep = report.Report("rollout", "Rolling update under load", command)
    active = active_slots(topo)
    per_step = STEP_BUDGET_SECONDS + topo.drain_seconds
    expected = APP_INSTANCES * (STEP_OVERHEAD_SECONDS + topo.drain_seconds)
    duration = size.baseline_seconds + expected + size.tail_seconds
    spec = LoadSpec(
        url=topo.url("app-lb", "/health"),
        concurrency=size.concurrency,
        rate=size.rate,
        requests=size.concurrency * size.rate * math.ceil(duration),
    )
    sock = topo.haproxy_sock
    before = haproxy.counters(sock, "app")
    load = Load(spec, topo.state_dir / "rollout-hey.csv")
    t0 = load.started_at

    def mark(text: str) -> float:
        at = time.monotonic() - t0
        rep.timeline.append((round(at, 2), text))
        return at

    mark(f"load starts: {spec.concurrency} workers x {spec.rate} req/s, {spec.requests} requests")
    time.sleep(size.baseline_seconds)
    rollout_start = mark("rollout starts")
    stop_seconds: list[float] = []
    exit_codes: dict[str, int | None] = {}
    for ordinal in range(1, APP_INSTANCES + 1):
        old = app_program(ordinal, active[ordinal])
        new = app_program(ordinal, SLOTS[1 - SLOTS.index(active[ordinal])])
        mark(f"{new}: start")
        supervisor.start(topo, new)
        wait_until(lambda n=new: _ready(topo.url(n, "/readyz")), 30, f"{new} ready")
        mark(f"{new}: /readyz 200")
        haproxy.set_state(sock, "app", new, "ready")
        haproxy.wait_status(sock, "app", new, {"UP"}, 15)
        mark(f"{new}: UP in HAProxy, in rotation")
        running = [
            app_program(n, active[n]) for n in range(1, APP_INSTANCES + 1) if n != ordinal
        ] + [new]
        stack.write_app_targets(topo, [*running, old])
        log_mark = len((topo.logs / "supervisord.log").read_text().splitlines())
        haproxy.set_state(sock, "app", old, "drain")
        mark(f"{old}: drain in HAProxy + SIGTERM")
        started = time.monotonic()
        supervisor.stop(topo, old, timeout=60)  # SIGTERM, then waits for the exit
        stop_seconds.append(time.monotonic() - started)
        mark(f"{old}: exited after {stop_seconds[-1]:.1f}s")
        exit_codes[old] = exit_status(topo, old, log_mark)
        haproxy.set_state(sock, "app", old, "maint")
        stack.write_app_targets(topo, running)
        active[ordinal] = SLOTS[1 - SLOTS.index(active[ordinal])]
    load_covered = load.running()
    rollout_end = mark("rollout done")
    result = load.wait(timeout=duration * 3 + 30)
    mark("load ends")
    after = haproxy.counters(sock, "app")

    before_lat = result.latency_ms(0, rollout_start)
    during_lat = result.latency_ms(rollout_start, rollout_end)
    failed = result.failed()
    rep.check(
        "load ran through the whole rollout",
        "yes" if load_covered else "no: the load ended first",
        "yes",
        ok=load_covered,
    )
    rep.check("requests sent", result.sent, "all answered", ok=result.unanswered == 0)
    rep.check("failed requests (non-2xx or no answer)", failed, "0", ok=failed == 0)
    rep.check(
        "p50 before / during (ms)",
        f"{before_lat['p50']} / {during_lat['p50']}",
        "reported",
        ok=during_lat["count"] > 0,
    )
    rep.check(
        "p99 before / during (ms)",
        f"{before_lat['p99']} / {during_lat['p99']}",
        "reported",
        ok=during_lat["count"] > 0,
    )
    rep.check(
        "rollout duration (s)",
        round(rollout_end - rollout_start, 1),
        f"< {APP_INSTANCES * per_step:g}",
        ok=rollout_end - rollout_start < APP_INSTANCES * per_step,
    )
    rep.check(
        "old instances exited 0 after draining",
        ", ".join(f"{k}: {v}" for k, v in exit_codes.items()),
        "all 0",
        ok=all(v == 0 for v in exit_codes.values()),
    )
    rep.check(
        "drain period respected (s per old instance)",
        ", ".join(f"{s:.1f}" for s in stop_seconds),
        f">= {topo.drain_seconds:g}",
        ok=all(s >= topo.drain_seconds - 0.5 for s in stop_seconds),
    )
    retries = after["wretr"] - before["wretr"]
    redispatches = after["wredis"] - before["wredis"]
    rep.numbers = {
        "requests": result.sent,
        "failed": failed,
        "unanswered": result.unanswered,
        "before": before_lat,
        "during": during_lat,
        "after": result.latency_ms(rollout_end),
        "rollout_seconds": round(rollout_end - rollout_start, 2),
        "stop_seconds": [round(s, 2) for s in stop_seconds],
        "exit_codes": exit_codes,
        "haproxy_retries": retries,
        "haproxy_redispatches": redispatches,
        "drain_seconds": topo.drain_seconds,
        "load": {"concurrency": spec.concurrency, "rate_per_worker": spec.rate},
    }
    rep.notes.append(
        f"HAProxy retried {retries} request(s) and redispatched {redispatches} to another "
        "server during the run (`retry-on conn-failure empty-response response-timeout`)."
    )
    rep.notes.append(
        f"Load: hey, {spec.concurrency} workers at {spec.rate} requests/s each on GET /health "
        "through HAProxy (every request pings the writer)."
    )
    png = out_dir / "rollout.png"
    spans = [(rollout_start, rollout_end, "rollout")]
    events = [(at, text) for at, text in rep.timeline if "SIGTERM" in text or "rotation" in text]
    report.plot(
        png, "Rolling update under load (GET /health through HAProxy)", result, events, spans
    )
    report.write(rep, out_dir, png)
    return rep
