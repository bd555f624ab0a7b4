"""Rehearsal 2: writer failover without restarting the app.

Stop the primary (fast shutdown), promote the standby (``pg_promote``), let the writer endpoint
follow (HAProxy's role checks), and watch every app instance directly: ``/health`` goes DOWN and
comes back UP by itself, ``/livez`` stays 200, no process restarts. Then rebuild the old primary
as the new standby with ``pg_rewind`` (a fresh base backup if rewinding fails), so the topology is
whole again.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from rehearsal import postgres, report, rollout, stack, supervisor
from rehearsal.configs import Binaries
from rehearsal.load import Load, LoadSpec
from rehearsal.probe import Prober
from rehearsal.probe import down_seconds as down_for
from rehearsal.sizes import Size
from rehearsal.topology import APP_INSTANCES, Topology, app_program


RECOVERY_TARGET_SECONDS = 10.0


def app_pids(topo: Topology) -> dict[str, int | None]:
    """Return the pid of every running app instance."""
    return {
        name: proc.pid
        for name, proc in supervisor.status(topo).items()
        if name.startswith("app") and proc.pid
    }


def running_apps(topo: Topology) -> list[str]:
    """Return the running app slots, one per instance."""
    active = rollout.active_slots(topo)
    return [app_program(n, active[n]) for n in range(1, APP_INSTANCES + 1)]


def probe_targets(topo: Topology, apps: list[str]) -> dict[str, str]:
    """Return /health and /livez of each instance, polled directly like a kubelet would."""
    targets = {}
    for name in apps:
        targets[f"{name} /health"] = topo.url(name, "/health")
        targets[f"{name} /livez"] = topo.url(name, "/livez")
    return targets


def rebuild_standby(topo: Topology, bins: Binaries, node: str, primary: str) -> str:
    """Make the stopped ``node`` a streaming standby of ``primary``; return how it was done."""
    postgres.ensure_slot(topo, bins, topo.port(primary), node)
    how = "pg_rewind"
    try:
        postgres.rewind(topo, bins, node, topo.port(primary))
    except postgres.PostgresError as exc:
        how = f"pg_basebackup (pg_rewind failed: {str(exc)[:160]})"
        postgres.base_backup(topo, bins, node, topo.port(primary))
    supervisor.start(topo, node)
    rollout.wait_until(lambda: stack.streaming(topo, bins, primary, node), 60, f"{node} to stream")
    rollout.wait_until(
        lambda: stack.role_of(topo, bins, topo.port("pg-reader")) == f"{node} standby",
        30,
        "the reader endpoint to reach the new standby",
    )
    return how


def run(topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:  # noqa: PLR0915
    """Fail the writer over under light load; return the report."""
    rep = report.Report("failover", "Writer failover", command)
    bins = stack.find_binaries()
    primary = stack.primary_node(topo)
    standby = stack.other(primary)
    if not stack.streaming(topo, bins, primary, standby):
        raise stack.StackError(f"{standby} does not stream from {primary}: the pair is not whole")
    apps = running_apps(topo)
    pids_before = app_pids(topo)
    # Sized for the longest run; stopped as soon as the rehearsal is over.
    duration = size.baseline_seconds + 120 + size.tail_seconds
    spec = LoadSpec(
        url=topo.url("app-lb", "/health"),
        concurrency=2,
        rate=size.rate,
        requests=2 * size.rate * math.ceil(duration),
    )
    with Prober(probe_targets(topo, apps), size.probe_interval) as prober:
        load = Load(spec, topo.state_dir / "failover-hey.csv")
        t0 = load.started_at

        def mark(text: str) -> float:
            at = time.monotonic() - t0
            rep.timeline.append((round(at, 2), text))
            return at

        mark(f"load starts on GET /health through HAProxy ({spec.concurrency}x{spec.rate} req/s)")
        time.sleep(size.baseline_seconds)
        t_stop = time.monotonic()
        mark(f"{primary}: fast shutdown (the primary fails)")
        supervisor.stop(topo, primary)
        mark(f"{primary}: stopped")
        # Promote once the loss is visible everywhere, as a failover manager would after its
        # detection delay; promoting within milliseconds would hide the DOWN window.
        for name in apps:
            prober.wait_for(f"{name} /health", 500, t_stop, 30)
        mark("every instance answers /health 500 DOWN")
        t_promote = time.monotonic()
        postgres.psql(
            topo, bins, topo.port(standby), "SELECT pg_promote(wait => true, wait_seconds => 30)"
        )
        t_promoted = time.monotonic()
        mark(f"{standby}: promoted ({t_promoted - t_promote:.2f}s)")
        rollout.wait_until(
            lambda: stack.role_of(topo, bins, topo.port("pg-writer")) == f"{standby} primary",
            30,
            "the writer endpoint to reach the new primary",
        )
        t_writer = time.monotonic()
        mark(f"writer endpoint reaches {standby}")
        ups = {name: prober.wait_for(f"{name} /health", 200, t_promoted, 60) for name in apps}
        t_up = max(ups.values())
        mark("every instance answers /health 200 UP")
        time.sleep(size.tail_seconds)
        result = load.stop()
        mark("load ends")
    pids_after = app_pids(topo)

    # Rebuild the old primary as the new standby.
    t_rebuild = time.monotonic()
    how = rebuild_standby(topo, bins, primary, standby)
    rebuild_seconds = time.monotonic() - t_rebuild
    mark(f"{primary}: rebuilt with {how} and streaming from {standby} ({rebuild_seconds:.1f}s)")

    down_seconds = {name: round(down_for(prober.of(f"{name} /health")), 2) for name in apps}
    livez_bad = sum(
        1
        for name in apps
        for o in prober.of(f"{name} /livez")
        if o.status != 200  # noqa: PLR2004
    )
    livez_total = sum(len(prober.of(f"{name} /livez")) for name in apps)
    promotion_to_up = t_up - t_promoted
    rep.check(
        "/health DOWN per instance (s)",
        ", ".join(f"{k}: {v}" for k, v in down_seconds.items()),
        "reported (each saw DOWN)",
        ok=all(v > 0 for v in down_seconds.values()),
    )
    rep.check(
        "promotion -> every instance UP (s)",
        round(promotion_to_up, 2),
        f"< {RECOVERY_TARGET_SECONDS:g}",
        ok=promotion_to_up < RECOVERY_TARGET_SECONDS,
    )
    rep.check(
        "app processes restarted",
        sum(pids_before.get(n) != pids_after.get(n) for n in apps),
        "0 (same pids)",
        ok=all(pids_before.get(n) == pids_after.get(n) for n in apps),
    )
    rep.check(
        "/livez answers not 200",
        f"{livez_bad} of {livez_total}",
        "0",
        ok=livez_bad == 0 and livez_total > 0,
    )
    rep.check(
        "topology whole again",
        f"{primary} standby of {standby}",
        "streaming, reader endpoint on the standby",
        ok=True,
    )
    rep.numbers = {
        "stop_to_promoted_seconds": round(t_promoted - t_stop, 2),
        "promotion_seconds": round(t_promoted - t_promote, 2),
        "promoted_to_writer_endpoint_seconds": round(t_writer - t_promoted, 2),
        "promotion_to_up_seconds": round(promotion_to_up, 2),
        "down_seconds": down_seconds,
        "pids_before": pids_before,
        "pids_after": pids_after,
        "livez_not_200": livez_bad,
        "livez_polls": livez_total,
        "load_failed": result.failed(),
        "load_requests": result.sent,
        "rebuild": how,
        "rebuild_seconds": round(rebuild_seconds, 1),
        "new_primary": standby,
    }
    rep.notes.append(
        f"{result.failed()} of {result.sent} requests through HAProxy failed: while the writer is "
        "gone /health answers 500 DOWN (and HAProxy answers 503 once /readyz has failed on "
        "every instance). That is /health doing its job, not an outage of the app."
    )
    rep.notes.append(
        "The app processes were not restarted: same pids before and after, /livez 200 at every "
        f"poll (every {size.probe_interval:g}s, each instance polled directly)."
    )
    png = out_dir / "failover.png"
    probes = {label: prober.of(label) for label in prober.targets if label.endswith("/health")}
    spans = [(t_stop - t0, t_up - t0, "writer lost -> UP")]
    report.plot(png, "Writer failover (GET /health)", result, list(rep.timeline), spans, probes)
    report.write(rep, out_dir, png)
    return rep
