"""Rehearsal 1: a rolling update under load, one instance at a time, as Kubernetes does it.

For each instance: start the new process in the free slot, wait until it is ready, put it in
rotation (HAProxy runtime API: ``state ready``), then take the old one out the way a Deployment
does: the balancer stops sending it new requests (``state drain``, as the AWS Load Balancer
Controller deregisters a terminating pod) and it gets SIGTERM at the same moment; it fails
readiness, keeps serving what it has for ``DRAIN_SECONDS`` and exits 0.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from rehearsal.base import haproxy, instances, supervisor
from rehearsal.base.topology import APP_INSTANCES, SLOTS, Topology, app_program
from rehearsal.measure import report
from rehearsal.measure.load import Load, LoadResult, LoadSpec
from rehearsal.measure.sizes import Size
from test_app_tooling.process import answers_ok, wait_until


# Seconds one instance takes besides its drain: start, ready, rise in HAProxy. About 2.5 s on an
# idle 2-CPU machine; the load is sized for a busy one, so it outlasts the rollout.
STEP_OVERHEAD_SECONDS = 8
# The same, as a limit: a step slower than this fails the rehearsal.
STEP_BUDGET_SECONDS = 12


def exit_status(topo: Topology, name: str, after_line: int) -> int | None:
    """Exit status supervisord logged for ``name`` after line ``after_line`` of its log."""
    lines = (topo.logs / "supervisord.log").read_text().splitlines()[after_line:]
    for line in lines:
        match = re.search(rf"(?:stopped|exited): {re.escape(name)} \(exit status (\d+)", line)
        if match:
            return int(match.group(1))
    return None


@dataclass
class Rollout:
    """What the rollout did: seconds each old instance took to stop, and its exit status."""

    active: dict[int, str]
    stop_seconds: list[float] = field(default_factory=list)
    exit_codes: dict[str, int | None] = field(default_factory=dict)


def _replace(topo: Topology, ordinal: int, roll: Rollout, rep: report.Report) -> None:
    """Replace one instance: new slot up and in rotation, then the old one drained and stopped."""
    sock = topo.haproxy_sock
    active = roll.active
    old = app_program(ordinal, active[ordinal])
    new = app_program(ordinal, SLOTS[1 - SLOTS.index(active[ordinal])])
    rep.mark(f"{new}: start")
    supervisor.start(topo, new)
    wait_until(lambda: answers_ok(topo.url(new, "/readyz")), 30, f"{new} ready")
    rep.mark(f"{new}: /readyz 200")
    haproxy.set_state(sock, "app", new, "ready")
    haproxy.wait_status(sock, "app", new, {"UP"}, 15)
    rep.mark(f"{new}: UP in HAProxy, in rotation")
    others = [app_program(n, active[n]) for n in range(1, APP_INSTANCES + 1) if n != ordinal]
    running = [*others, new]
    instances.write_app_targets(topo, [*running, old])
    log_mark = len((topo.logs / "supervisord.log").read_text().splitlines())
    haproxy.set_state(sock, "app", old, "drain")
    rep.mark(f"{old}: drain in HAProxy + SIGTERM")
    started = time.monotonic()
    supervisor.stop(topo, old, timeout=60)  # SIGTERM, then waits for the exit
    roll.stop_seconds.append(time.monotonic() - started)
    rep.mark(f"{old}: exited after {roll.stop_seconds[-1]:.1f}s")
    roll.exit_codes[old] = exit_status(topo, old, log_mark)
    haproxy.set_state(sock, "app", old, "maint")
    instances.write_app_targets(topo, running)
    active[ordinal] = SLOTS[1 - SLOTS.index(active[ordinal])]


def _check(  # noqa: PLR0913 - what the checks compare
    rep: report.Report,
    topo: Topology,
    roll: Rollout,
    result: LoadResult,
    window: tuple[float, float],
    *,
    load_covered: bool,
) -> None:
    """Check the rollout: no failed request, latency reported, drain respected."""
    rollout_start, rollout_end = window
    per_step = STEP_BUDGET_SECONDS + topo.drain_seconds
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
        ", ".join(f"{k}: {v}" for k, v in roll.exit_codes.items()),
        "all 0",
        ok=all(v == 0 for v in roll.exit_codes.values()),
    )
    rep.check(
        "drain period respected (s per old instance)",
        ", ".join(f"{s:.1f}" for s in roll.stop_seconds),
        f">= {topo.drain_seconds:g}",
        ok=all(s >= topo.drain_seconds - 0.5 for s in roll.stop_seconds),
    )


def run(topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:
    """Roll every instance under load; return the report."""
    rep = report.Report("rollout", "Rolling update under load", command)
    roll = Rollout(instances.active_slots(topo))
    expected = APP_INSTANCES * (STEP_OVERHEAD_SECONDS + topo.drain_seconds)
    duration = size.baseline_seconds + expected + size.tail_seconds
    spec = LoadSpec.for_seconds(
        topo.url("app-lb", "/health"), size.concurrency, size.rate, duration
    )
    before = haproxy.counters(topo.haproxy_sock, "app")
    load = Load(spec, topo.state_dir / "rollout-hey.csv")
    rep.start_clock(load.started_at)
    rep.mark(
        f"load starts: {spec.concurrency} workers x {spec.rate} req/s, {spec.requests} requests"
    )
    time.sleep(size.baseline_seconds)
    rollout_start = rep.mark("rollout starts")
    for ordinal in range(1, APP_INSTANCES + 1):
        _replace(topo, ordinal, roll, rep)
    load_covered = load.running()
    rollout_end = rep.mark("rollout done")
    result = load.wait(timeout=duration * 3 + 30)
    rep.mark("load ends")
    after = haproxy.counters(topo.haproxy_sock, "app")
    _check(rep, topo, roll, result, (rollout_start, rollout_end), load_covered=load_covered)
    retries = after["wretr"] - before["wretr"]
    redispatches = after["wredis"] - before["wredis"]
    rep.numbers = {
        "requests": result.sent,
        "failed": result.failed(),
        "unanswered": result.unanswered,
        "before": result.latency_ms(0, rollout_start),
        "during": result.latency_ms(rollout_start, rollout_end),
        "after": result.latency_ms(rollout_end),
        "rollout_seconds": round(rollout_end - rollout_start, 2),
        "stop_seconds": [round(s, 2) for s in roll.stop_seconds],
        "exit_codes": roll.exit_codes,
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
