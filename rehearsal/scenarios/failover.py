"""Rehearsal 2: writer failover without restarting the app.

Stop the primary's node (Patroni shuts PostgreSQL down and hands the leader key over; the other
node's Patroni promotes its standby), let the writer endpoint follow (HAProxy checks Patroni's
``/primary``), and watch every app instance directly: ``/health`` goes DOWN and comes back UP by
itself, ``/livez`` stays 200, no process restarts. Then start the old node again: Patroni rejoins
it as the new standby (with ``pg_rewind`` when its history diverged), so the topology is whole.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rehearsal.base import instances, pair, supervisor
from rehearsal.base.binaries import find_binaries
from rehearsal.base.configs import Binaries
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import Topology
from rehearsal.measure import report
from rehearsal.measure.load import Load, LoadResult, LoadSpec
from rehearsal.measure.probe import Prober, instance_targets, promotion_label, promotion_target
from rehearsal.measure.probe import down_seconds as down_for
from rehearsal.measure.sizes import RECOVERY_TARGET_SECONDS, Size
from rehearsal.measure.writes import Writer, record_writes, writer_dsn
from test_app_tooling.process import wait_until


HTTP_OK = 200


@dataclass
class Failover:
    """What the failover did and when (``time.monotonic()`` values)."""

    primary: str
    standby: str
    apps: list[str]
    pids_before: dict[str, int | None]
    pids_after: dict[str, int | None] = field(default_factory=dict)
    t_stop: float = 0.0
    t_stopped: float = 0.0
    t_promoted: float = 0.0
    t_writer: float = 0.0
    t_up: float = 0.0
    rebuild: str = ""
    rebuild_seconds: float = 0.0


def _fail_over(
    topo: Topology, bins: Binaries, run: Failover, prober: Prober, rep: report.Report
) -> None:
    """Stop the primary's node; Patroni promotes the standby; wait for every instance UP."""
    run.t_stop = time.monotonic()
    rep.mark(f"{run.primary}: node stops (Patroni: fast shutdown, leader key released)")
    supervisor.stop(topo, run.primary)
    run.t_stopped = time.monotonic()
    rep.mark(f"{run.primary}: stopped")
    run.t_promoted = prober.wait_for(promotion_label(run.standby), 200, run.t_stop, 60)
    rep.timeline.append((round(run.t_promoted - rep.t0, 2), f"{run.standby}: promoted by Patroni"))
    wait_until(
        lambda: pair.role_of(topo, bins, topo.port("pg-writer")) == f"{run.standby} primary",
        30,
        "the writer endpoint to reach the new primary",
    )
    run.t_writer = time.monotonic()
    rep.mark(f"writer endpoint reaches {run.standby}")
    ups = {name: prober.wait_for(f"{name} /health", 200, run.t_promoted, 60) for name in run.apps}
    run.t_up = max(ups.values())
    rep.mark("every instance answers /health 200 UP")


def _rebuild(topo: Topology, bins: Binaries, run: Failover, rep: report.Report) -> None:
    """Start the old primary's node again: Patroni rejoins it as the new standby."""
    t_rebuild = time.monotonic()
    run.rebuild = pair.rejoin(topo, bins, run.primary, run.standby)
    run.rebuild_seconds = time.monotonic() - t_rebuild
    rep.mark(
        f"{run.primary}: rejoined by Patroni ({run.rebuild}), streaming from {run.standby} "
        f"({run.rebuild_seconds:.1f}s)"
    )


def _record(rep: report.Report, run: Failover, prober: Prober, result: LoadResult) -> None:
    """Record the checks and numbers of the report."""
    apps = run.apps
    down_seconds = {name: round(down_for(prober.of(f"{name} /health")), 2) for name in apps}
    livez_bad, livez_total = prober.failures(apps, "/livez")
    promotion_to_up = run.t_up - run.t_promoted
    restarted = sum(run.pids_before.get(n) != run.pids_after.get(n) for n in apps)
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
    rep.check("app processes restarted", restarted, "0 (same pids)", ok=restarted == 0)
    rep.check(
        "/livez answers not 200",
        f"{livez_bad} of {livez_total}",
        "0",
        ok=livez_bad == 0 and livez_total > 0,
    )
    rep.check(
        "topology whole again",
        f"{run.primary} standby of {run.standby}",
        "streaming, reader endpoint on the standby",
        ok=True,
    )
    rep.numbers = {
        "stop_to_promoted_seconds": round(run.t_promoted - run.t_stop, 2),
        "node_stop_seconds": round(run.t_stopped - run.t_stop, 2),
        "promoted_to_writer_endpoint_seconds": round(run.t_writer - run.t_promoted, 2),
        "promotion_to_up_seconds": round(promotion_to_up, 2),
        "down_seconds": down_seconds,
        "pids_before": run.pids_before,
        "pids_after": run.pids_after,
        "livez_not_200": livez_bad,
        "livez_polls": livez_total,
        "load_failed": result.failed(),
        "load_requests": result.sent,
        "rebuild": run.rebuild,
        "rebuild_seconds": round(run.rebuild_seconds, 1),
        "new_primary": run.standby,
    }


def run(topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:
    """Fail the writer over under light load; return the report."""
    rep = report.Report("failover", "Writer failover", command)
    bins = find_binaries()
    roles = pair.whole(topo, bins)
    if roles is None:
        raise RehearsalError("no leader with a streaming standby: the pair is not whole")
    primary, standby = roles
    apps = instances.running_apps(topo)
    failover = Failover(primary, standby, apps, instances.app_pids(topo))
    # Sized for the longest run; stopped as soon as the rehearsal is over.
    spec = LoadSpec.for_seconds(
        topo.url("app-lb", "/health"),
        concurrency=2,
        rate=size.rate,
        seconds=size.baseline_seconds + 120 + size.tail_seconds,
    )
    targets = {
        **instance_targets(topo, apps),
        **promotion_target(topo, standby),
    }
    with Prober(targets, size.probe_interval) as prober, Writer(writer_dsn(topo)) as writer:
        load = Load(spec, topo.state_dir / "failover-hey.csv")
        rep.start_clock(load.started_at)
        rep.mark(
            f"load starts on GET /health through HAProxy ({spec.concurrency}x{spec.rate} req/s)"
        )
        time.sleep(size.baseline_seconds)
        _fail_over(topo, bins, failover, prober, rep)
        time.sleep(size.tail_seconds)
        result = load.stop()
        rep.mark("load ends")
    failover.pids_after = instances.app_pids(topo)
    _rebuild(topo, bins, failover, rep)
    _record(rep, failover, prober, result)
    record_writes(rep, writer.result())
    rep.notes.append(
        f"{result.failed()} of {result.sent} requests through HAProxy failed: while the writer is "
        "gone /health answers 500 DOWN (every instance stays ready, ADR 0014, so HAProxy keeps "
        "routing to them and clients see the app's answer). That is /health doing its job, "
        "not an outage of the app."
    )
    rep.notes.append(
        "The app processes were not restarted: same pids before and after, /livez 200 at every "
        f"poll (every {size.probe_interval:g}s, each instance polled directly)."
    )
    png = out_dir / "failover.png"
    probes = {
        label: prober.of(label)
        for label in prober.targets
        if label.endswith(("/health", "/primary"))
    }
    spans = [(failover.t_stop - rep.t0, failover.t_up - rep.t0, "writer lost -> UP")]
    report.plot(png, "Writer failover (GET /health)", result, list(rep.timeline), spans, probes)
    report.write(rep, out_dir, png)
    return rep
