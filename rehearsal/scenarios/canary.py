"""Rehearsal: canary releases judged by the chart's own analysis, under steady load.

HAProxy's weights play the ALB's weighted target groups and this module plays the Argo Rollouts
controller: the new version starts in each instance's free slot, takes 5 -> 25 -> 50 -> 100 %
of the requests (the chart's Rollout steps and pauses), and from the first step on the chart's
AnalysisTemplate metrics are measured against the rehearsal's Prometheus every interval (after
the initial delay), judged by their own conditions and counted against their limits. A Failed
analysis aborts: weights back to the stable version, the canary stopped.

Two releases under the same load: (a) good, the repository's build, promoted to 100 %;
(b) ready but bad, a build with a deliberate defect (rehearsal/measure/canary.py: every tenth
/health answer is a 500) installed in a folder only the canary's processes import. Then the
same bad build by today's rolling update, held as long as the canary release ran, for the
comparison.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rehearsal.base import configs, haproxy, instances, supervisor
from rehearsal.base.topology import SLOTS, Topology, app_program
from rehearsal.measure import canary as parts
from rehearsal.measure import report
from rehearsal.measure.alerts import query
from rehearsal.measure.load import Load, LoadResult, LoadSpec
from rehearsal.measure.sizes import Size
from test_app_tooling import analysis
from test_app_tooling.process import answers_ok, wait_until


NAMESPACE = "test-app"
# The analysis' time scale per size (the chart's values, set at render time like --set would).
TIMES = {"full": ("20s", "10s", "40s"), "ci": ("15s", "10s", "30s")}
# Availability budget of the SLO (observability/slo.yaml): for the budget arithmetic.
BUDGET_PERIOD_SECONDS = 30 * 86400
FULL = 100  # percent: the last step
FAILED_SHARE_TARGET = 0.01  # fewer than 1 % of all requests during the bad release fail


@dataclass
class Release:
    """One canary release: what happened and when (seconds on the report's clock)."""

    name: str
    pod_hash: str
    weights: list[tuple[float, int]] = field(default_factory=list)
    measurements: list[tuple[float, str, float | None, str]] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0
    outcome: str = ""
    canary_requests: int = 0


def _wait_ready(topo: Topology, name: str) -> None:
    url = topo.url(name, "/readyz")
    wait_until(lambda: answers_ok(url), 60, f"{name} ready")


def _other(slot: str) -> str:
    return SLOTS[1 - SLOTS.index(slot)]


def _start_defective(topo: Topology, name: str, build: Path) -> subprocess.Popen[bytes]:
    env = os.environ | configs.app_environment(topo, topo.port(name), name.split("-")[1])
    env["PYTHONPATH"] = str(build)
    log = (topo.logs / f"{name}-defective.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "test_app"], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def _start_canary(
    topo: Topology, canary: list[str], build: Path | None
) -> dict[str, subprocess.Popen[bytes]]:
    """Start the new version in each free slot, ready and UP in HAProxy at weight 0."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name in canary:
        if build is None:
            supervisor.start(topo, name)
        else:
            procs[name] = _start_defective(topo, name, build)
    for name in canary:
        _wait_ready(topo, name)
        haproxy.set_state(topo.haproxy_sock, "app", name, "ready")
        parts.set_weights(topo, {name: 0})
        haproxy.wait_status(topo.haproxy_sock, "app", name, {"UP"}, 15)
    return procs


def _measure_due(  # noqa: PLR0913, PLR0917 - one pass of the controller's loop
    topo: Topology,
    rep: report.Report,
    rel: Release,
    run: analysis.AnalysisRun,
    args: dict[str, str],
    next_due: dict[str, float],
) -> str:
    """Take every measurement that is due; return the analysis' phase."""
    now = time.monotonic()
    for metric in run.metrics:
        if now >= next_due[metric.name]:
            value = query(topo, analysis.fill(metric.query, args))
            outcome = metric.judge(value)
            run.record(metric, outcome)
            rel.measurements.append((round(now - rep.t0, 2), metric.name, value, outcome))
            next_due[metric.name] = now + metric.interval
    return run.phase()


def _steps(
    topo: Topology,
    rep: report.Report,
    chart: parts.ChartAnalysis,
    rel: Release,
    pools: tuple[list[str], list[str]],
) -> bool:
    """Move the weights step by step while the analysis runs; return whether it aborted."""
    stable, canary = pools
    args = {"namespace": NAMESPACE, "canary-hash": rel.pod_hash, "window": chart.interval}
    run = analysis.AnalysisRun(chart.metrics)
    next_due: dict[str, float] = {}
    for weight in chart.weights:
        parts.set_weights(topo, dict.fromkeys(stable, 100 - weight) | dict.fromkeys(canary, weight))
        rel.weights.append((rep.mark(f"{rel.name}: weight {weight} %"), weight))
        if not next_due:  # startingStep 1: the analysis runs from the first pause on
            started = time.monotonic()
            next_due = {m.name: started + m.initial_delay for m in chart.metrics}
        hold_until = time.monotonic() + (chart.pause_seconds if weight < FULL else 0)
        while True:
            phase = _measure_due(topo, rep, rel, run, args, next_due)
            if phase in {"Failed", "Inconclusive"}:
                rep.mark(f"{rel.name}: analysis {phase}: ABORT, weights back to stable")
                return True
            if time.monotonic() >= hold_until:
                break
            time.sleep(0.2)
    return False


def _release(  # noqa: PLR0913, PLR0917 - the parts of one release
    topo: Topology,
    rep: report.Report,
    chart: parts.ChartAnalysis,
    rel: Release,
    build: Path | None,
    stable: list[str],
) -> list[str]:
    """Run one canary release; return the app slots running afterwards."""
    canary = [app_program(int(s[3]), _other(s.split("-")[1])) for s in stable]
    rel.start = rep.mark(f"{rel.name}: canary starts ({'defective build' if build else 'good'})")
    parts.set_weights(topo, dict.fromkeys(stable, 100))
    procs = _start_canary(topo, canary, build)
    parts.write_targets(topo, stable, canary, rel.pod_hash)
    aborted = _steps(topo, rep, chart, rel, (stable, canary))
    for name in canary:
        rel.canary_requests += parts.health_requests(topo.url(name, "/metrics"))
    if aborted:
        parts.set_weights(topo, dict.fromkeys(stable, 100) | dict.fromkeys(canary, 0))
        rel.weights.append((rep.mark(f"{rel.name}: aborted, 0 % canary"), 0))
        rel.outcome = "aborted"
        leaving, staying = canary, stable
    elif procs:
        # A defective build got through (the analysis missed it): record it, then put the
        # stable version back so the next steps run on the repository's build.
        rel.outcome = "promoted"
        parts.set_weights(topo, dict.fromkeys(stable, 100) | dict.fromkeys(canary, 0))
        rep.mark(f"{rel.name}: PROMOTED the defective build; reverted by hand")
        leaving, staying = canary, stable
    else:
        rel.outcome = "promoted"
        rep.mark(f"{rel.name}: promoted, the canary is the stable version")
        leaving, staying = stable, canary
    rel.end = time.monotonic() - rep.t0
    for name in leaving:
        haproxy.set_state(topo.haproxy_sock, "app", name, "drain")
    for name in leaving:
        if name in procs:
            procs[name].terminate()
            procs[name].wait(timeout=60)
        else:
            supervisor.stop(topo, name, timeout=60)
        haproxy.set_state(topo.haproxy_sock, "app", name, "maint")
    parts.set_weights(topo, dict.fromkeys(staying, 1))
    instances.write_app_targets(topo, staying)
    return staying


def _rolling_bad(
    topo: Topology, rep: report.Report, build: Path, stable: list[str], hold: float
) -> tuple[float, float, list[str]]:
    """Today's rolling update of the bad build, held ``hold`` s, then rolled back."""
    start = rep.mark("rolling update of the defective build starts")
    procs = {}
    for old in stable:
        new = app_program(int(old[3]), _other(old.split("-")[1]))
        procs[new] = _start_defective(topo, new, build)
        _wait_ready(topo, new)
        haproxy.set_state(topo.haproxy_sock, "app", new, "ready")
        haproxy.wait_status(topo.haproxy_sock, "app", new, {"UP"}, 15)
        haproxy.set_state(topo.haproxy_sock, "app", old, "drain")
        supervisor.stop(topo, old, timeout=60)
        haproxy.set_state(topo.haproxy_sock, "app", old, "maint")
    time.sleep(max(0.0, hold - (time.monotonic() - rep.t0 - start)))
    rep.mark("rolling update: a person rolls back")
    for new, proc in procs.items():
        old = app_program(int(new[3]), _other(new.split("-")[1]))
        supervisor.start(topo, old)
        _wait_ready(topo, old)
        haproxy.set_state(topo.haproxy_sock, "app", old, "ready")
        haproxy.wait_status(topo.haproxy_sock, "app", old, {"UP"}, 15)
        haproxy.set_state(topo.haproxy_sock, "app", new, "drain")
        proc.terminate()
        proc.wait(timeout=60)
        haproxy.set_state(topo.haproxy_sock, "app", new, "maint")
    end = rep.mark("rolling update rolled back")
    instances.write_app_targets(topo, stable)
    return start, end, stable


def _share(result: LoadResult, start: float, end: float) -> tuple[int, int]:
    window = [s for s in result.samples if start <= s.offset < end]
    return sum(1 for s in window if not 200 <= s.status < 300), len(window)  # noqa: PLR2004


def run(topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:  # noqa: PLR0915
    """Release a good and a bad build as canaries, and the bad one by rolling update."""
    rep = report.Report("canary", "Canary releases judged by the SLO analysis", command)
    interval, delay, pause = TIMES[size.name]
    chart = parts.chart_analysis(topo.url("prometheus", ""), interval, delay, pause)
    build = parts.defective_build(topo.state_dir / "canary-builds")
    release_seconds = (len(chart.weights) - 1) * chart.pause_seconds
    duration = size.baseline_seconds + 2.5 * release_seconds + 90 + size.tail_seconds
    spec = LoadSpec.for_seconds(
        topo.url("app-lb", "/health"), size.concurrency, size.rate, duration
    )
    load = Load(spec, topo.state_dir / "canary-hey.csv")
    rep.start_clock(load.started_at)
    rep.mark(f"load starts: {spec.concurrency} workers x {spec.rate} req/s")
    time.sleep(size.baseline_seconds)
    stable = instances.running_apps(topo)
    pids_before = {n: instances.app_pids(topo).get(n) for n in stable}
    good = Release("good release", "canary-good")
    stable = _release(topo, rep, chart, good, None, stable)
    bad = Release("bad release", "canary-bad")
    pids_mid = {n: instances.app_pids(topo).get(n) for n in stable}
    stable = _release(topo, rep, chart, bad, build, stable)
    pids_after = {n: instances.app_pids(topo).get(n) for n in stable}
    roll_start, roll_end, stable = _rolling_bad(topo, rep, build, stable, bad.end - bad.start)
    time.sleep(size.tail_seconds)
    result = load.stop()  # its requests are budgeted generously: never wait them out
    rep.mark("load ends")
    good_failed, good_total = _share(result, good.start, good.end)
    bad_failed, bad_total = _share(result, bad.start, bad.end)
    roll_failed, roll_total = _share(result, roll_start, roll_end)
    first_bad = next(
        (s.offset for s in result.samples if s.offset >= bad.start and not 200 <= s.status < 300),  # noqa: PLR2004
        None,
    )
    abort_at = next((t for t, w in bad.weights if w == 0), None)
    first_step = bad.weights[0][0] if bad.weights else bad.start
    interval_s = chart.metrics[0].interval
    rate = bad_total / max(bad.end - bad.start, 1e-9)
    budget = 0.005 * rate * BUDGET_PERIOD_SECONDS
    rep.check("good release", good.outcome, "promoted", ok=good.outcome == "promoted")
    rep.check("good release: failed requests", good_failed, "0", ok=good_failed == 0)
    rep.check("bad release", bad.outcome, "aborted", ok=bad.outcome == "aborted")
    took = None if abort_at is None else round(abort_at - first_step, 1)
    rep.check(
        "bad release: first bad step to abort (s)",
        took,
        f"<= {2 * interval_s:g} (two analysis intervals)",
        ok=took is not None and took <= 2 * interval_s + 5,
    )
    share = bad_failed / max(bad_total, 1)
    rep.check(
        "bad release: share of all requests failed",
        f"{share:.2%}",
        "< 1 %",
        ok=share < FAILED_SHARE_TARGET,
    )
    restarted = sum(1 for n in pids_mid if pids_mid[n] != pids_after.get(n))
    rep.check("bad release: stable processes restarted", restarted, "0", ok=restarted == 0)
    rep.numbers = {
        "requests": result.sent,
        "analysis": {"interval": interval, "initial_delay": delay, "pause": pause},
        "weights": chart.weights,
        "good": {
            "outcome": good.outcome,
            "failed": good_failed,
            "requests": good_total,
            "seconds": round(good.end - good.start, 1),
            "canary_requests": good.canary_requests,
        },
        "bad": {
            "outcome": bad.outcome,
            "failed": bad_failed,
            "requests": bad_total,
            "failed_share": round(share, 5),
            "canary_requests": bad.canary_requests,
            "first_bad_request_to_abort_seconds": None
            if first_bad is None or abort_at is None
            else round(abort_at - first_bad, 1),
            "first_bad_step_to_abort_seconds": took,
            "budget_consumed": round(bad_failed / budget, 6),
            "measurements": bad.measurements,
        },
        "rolling_update": {
            "failed": roll_failed,
            "requests": roll_total,
            "failed_share": round(roll_failed / max(roll_total, 1), 5),
            "budget_consumed": round(roll_failed / budget, 6),
            "seconds": round(roll_end - roll_start, 1),
        },
        "pids_before": pids_before,
        "stable_pids_during_bad_release": {"before": pids_mid, "after": pids_after},
    }
    rep.notes.append(
        f"Analysis: the chart's AnalysisTemplate rendered with interval {interval}, "
        f"initialDelay {delay} and pauses of {pause} (prod: 1m, 30s, 2m); "
        f"defective build: {parts.DEFECT_SHARE:.0%} of its /health answers are 500."
    )
    rep.notes.append(
        "Error budget consumed: failed requests over the 30-day availability budget at the "
        "measured request rate (0.5 % of all requests in 30 days)."
    )
    bad_n, roll_n = rep.numbers["bad"], rep.numbers["rolling_update"]
    assert isinstance(bad_n, dict)  # noqa: S101
    assert isinstance(roll_n, dict)  # noqa: S101
    rep.notes.append(
        f"Canary vs today's rolling update of the same defective build, over "
        f"{bad.end - bad.start:.0f} s and {roll_end - roll_start:.0f} s: failed "
        f"{bad_failed} of {bad_total} requests ({share:.2%}) vs {roll_failed} of {roll_total} "
        f"({roll_n['failed_share']:.2%}); budget consumed {bad_n['budget_consumed']:.4%} vs "
        f"{roll_n['budget_consumed']:.4%}; {bad.canary_requests} requests reached the canary; "
        f"first bad request to abort {bad_n['first_bad_request_to_abort_seconds']} s. The "
        "rolling update is rolled back after as long as the canary ran; in production it stays "
        "until the burn alert fires and a person rolls back (minutes: docs/observability.md)."
    )
    png = out_dir / "canary.png"
    availability = chart.metrics[0]
    ratios = [
        (at, value)
        for rel in (good, bad)
        for at, name, value, _ in rel.measurements
        if name == availability.name and value is not None
    ]
    roll_weights = [(roll_start, 0), (roll_start + 0.01, FULL), (roll_end, 0)]
    parts.plot(
        png,
        "Canary releases under load: weights, the analysis' error ratio, failures, latency",
        result,
        [(0.0, 0), *good.weights, (good.end, 0), *bad.weights, *roll_weights],
        ratios,
        float(availability.success.rsplit(" ", 1)[1]),
        [t for t, text in rep.timeline if "ABORT" in text],
    )
    report.write(rep, out_dir, png)
    return rep
