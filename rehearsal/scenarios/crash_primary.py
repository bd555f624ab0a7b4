"""Rehearsal: the primary's postmaster is killed (``kill -9``) under load; nobody steps in.

Patroni on the crashed node sees PostgreSQL gone within one loop and, configured to fail over
rather than restart in place (``primary_start_timeout: 0``), releases the leader key; Patroni
on the other node promotes its standby. HAProxy's writer endpoint follows (``GET /primary``),
the app instances reconnect by themselves, and the crashed node comes back as a standby of the
new primary (``pg_rewind``). Measured: time to promotion, /health DOWN per instance and through
the balancer, failed requests by type, app restarts (none).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from rehearsal.base import instances, pair, postgres
from rehearsal.base.binaries import find_binaries
from rehearsal.base.configs import Binaries
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import Topology
from rehearsal.measure import report
from rehearsal.measure.load import Load, LoadResult, LoadSpec
from rehearsal.measure.probe import (
    Prober,
    instance_targets,
    promotion_label,
    promotion_target,
    recovered_at,
)
from rehearsal.measure.probe import down_seconds as down_for
from rehearsal.measure.sizes import Size
from rehearsal.measure.writes import Writer, record_writes, writer_dsn
from test_app_tooling.process import wait_until


# /health through the balancer UP again within this many seconds of the crash.
BALANCER_TARGET_SECONDS = 30.0
BALANCER = "balancer /health"
HTTP_OK = 200


@dataclass
class Crash:
    """What the crash did and when (``time.monotonic()`` values)."""

    primary: str
    standby: str
    apps: list[str]
    pids_before: dict[str, int | None]
    pids_after: dict[str, int | None] = field(default_factory=dict)
    postmaster: int = 0
    t_kill: float = 0.0
    t_promoted: float = 0.0
    t_writer: float = 0.0
    t_up: float = 0.0
    t_balancer_up: float | None = None
    log_line: int = 0  # lines of the crashed node's log before the crash
    rejoin: str = ""
    t_rejoined: float = 0.0


def _crash(topo: Topology, bins: Binaries, run: Crash, prober: Prober, rep: report.Report) -> None:
    """Kill the postmaster; wait for the promotion, the writer endpoint and every instance UP."""
    pid = postgres.postmaster_pid(topo, run.primary)
    if pid is None:
        raise RehearsalError(f"{run.primary} has no postmaster.pid: is it running?")
    run.postmaster = pid
    run.t_kill = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    rep.mark(f"{run.primary}: kill -9 of the postmaster (pid {pid})")
    run.t_promoted = prober.wait_for(promotion_label(run.standby), HTTP_OK, run.t_kill, 90)
    rep.timeline.append((round(run.t_promoted - rep.t0, 2), f"{run.standby}: promoted by Patroni"))
    wait_until(
        lambda: pair.role_of(topo, bins, topo.port("pg-writer")) == f"{run.standby} primary",
        30,
        "the writer endpoint to reach the new primary",
    )
    run.t_writer = time.monotonic()
    rep.mark(f"writer endpoint reaches {run.standby}")
    ups = {
        name: prober.wait_for(f"{name} /health", HTTP_OK, run.t_promoted, 60) for name in run.apps
    }
    run.t_up = max(ups.values())
    rep.timeline.append((round(run.t_up - rep.t0, 2), "every instance answers /health 200 UP"))


def _rejoin(topo: Topology, bins: Binaries, run: Crash, rep: report.Report) -> None:
    """Wait for Patroni to bring the crashed node back as a standby of the new primary."""
    wait_until(
        lambda: pair.streaming(topo, bins, run.standby, run.primary),
        120,
        f"{run.primary} to rejoin as a standby",
    )
    run.t_rejoined = time.monotonic()
    run.rejoin = pair.rejoined_how(topo, run.primary, run.log_line)
    rep.mark(f"{run.primary}: rejoined by Patroni ({run.rejoin}), streaming from {run.standby}")


def _record(rep: report.Report, run: Crash, prober: Prober, result: LoadResult) -> None:
    """Record the checks and numbers of the report."""
    apps = run.apps
    down = {name: round(down_for(prober.of(f"{name} /health")), 2) for name in apps}
    livez_bad, livez_total = prober.failures(apps, "/livez")
    readyz_bad, readyz_total = prober.failures(apps, "/readyz")
    restarted = sum(run.pids_before.get(n) != run.pids_after.get(n) for n in apps)
    balancer_up = None if run.t_balancer_up is None else run.t_balancer_up - run.t_kill
    rep.check(
        "kill -9 -> standby promoted by Patroni (s)",
        round(run.t_promoted - run.t_kill, 2),
        "automatic (no manual step)",
        ok=run.t_promoted > run.t_kill,
    )
    rep.check(
        "kill -9 -> /health through the balancer UP again (s)",
        "never DOWN" if balancer_up is None else round(balancer_up, 2),
        f"< {BALANCER_TARGET_SECONDS:g}",
        ok=balancer_up is not None and balancer_up < BALANCER_TARGET_SECONDS,
    )
    rep.check(
        "/health DOWN per instance (s)",
        ", ".join(f"{k}: {v}" for k, v in down.items()),
        "reported",
        ok=all(v >= 0 for v in down.values()),
    )
    rep.check(
        "failed requests through the balancer, by type",
        ", ".join(f"{k}: {v}" for k, v in result.failures_by_type().items()) or "none",
        "the app's own answers (500 DOWN), no 503 from the balancer",
        ok="HTTP 503" not in result.failures_by_type(),
    )
    rep.check("app processes restarted", restarted, "0 (same pids)", ok=restarted == 0)
    rep.check(
        "/livez answers not 200",
        f"{livez_bad} of {livez_total}",
        "0",
        ok=livez_bad == 0 and livez_total > 0,
    )
    rep.check(
        "/readyz answers not 200",
        f"{readyz_bad} of {readyz_total}",
        "0 (readiness is the instance's, not the database's: ADR 0014)",
        ok=readyz_bad == 0 and readyz_total > 0,
    )
    rep.check(
        "crashed node back as a standby (s after the kill)",
        f"{round(run.t_rejoined - run.t_kill, 1)} ({run.rejoin})",
        "rejoins by itself",
        ok=run.t_rejoined > run.t_kill,
    )
    rep.numbers = {
        "crashed_primary": run.primary,
        "new_primary": run.standby,
        "kill_to_promoted_seconds": round(run.t_promoted - run.t_kill, 2),
        "kill_to_writer_endpoint_seconds": round(run.t_writer - run.t_kill, 2),
        "kill_to_every_instance_up_seconds": round(run.t_up - run.t_kill, 2),
        "kill_to_balancer_up_seconds": None if balancer_up is None else round(balancer_up, 2),
        "down_seconds": down,
        "failed_by_type": result.failures_by_type(),
        "load_failed": result.failed(),
        "load_requests": result.sent,
        "livez_not_200": livez_bad,
        "livez_polls": livez_total,
        "readyz_not_200": readyz_bad,
        "readyz_polls": readyz_total,
        "pids_before": run.pids_before,
        "pids_after": run.pids_after,
        "rejoin": run.rejoin,
        "kill_to_rejoined_seconds": round(run.t_rejoined - run.t_kill, 1),
    }


def run(topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:
    """Kill the primary's postmaster under load; return the report."""
    rep = report.Report("crash-primary", "Primary crash (kill -9 of the postmaster)", command)
    bins = find_binaries()
    roles = pair.whole(topo, bins)
    if roles is None:
        raise RehearsalError("no leader with a streaming standby: the pair is not whole")
    primary, standby = roles
    apps = instances.running_apps(topo)
    crash = Crash(
        primary, standby, apps, instances.app_pids(topo), log_line=len(topo.log_lines(primary))
    )
    targets = {
        **instance_targets(topo, apps),
        BALANCER: topo.url("app-lb", "/health"),
        **promotion_target(topo, standby),
    }
    spec = LoadSpec.for_seconds(
        topo.url("app-lb", "/health"),
        concurrency=2,
        rate=size.rate,
        seconds=size.baseline_seconds + 150 + size.tail_seconds,
    )
    with Prober(targets, size.probe_interval) as prober, Writer(writer_dsn(topo)) as writer:
        load = Load(spec, topo.state_dir / "crash-primary-hey.csv")
        rep.start_clock(load.started_at)
        rep.mark(
            f"load starts on GET /health through HAProxy ({spec.concurrency}x{spec.rate} req/s)"
        )
        time.sleep(size.baseline_seconds)
        _crash(topo, bins, crash, prober, rep)
        time.sleep(size.tail_seconds)
        result = load.stop()
        rep.mark("load ends")
    crash.t_balancer_up = recovered_at(prober.of(BALANCER), crash.t_kill)
    if crash.t_balancer_up is not None:
        rep.timeline.append(
            (round(crash.t_balancer_up - rep.t0, 2), "/health through the balancer UP again")
        )
    crash.pids_after = instances.app_pids(topo)
    _rejoin(topo, bins, crash, rep)
    rep.timeline.sort()
    _record(rep, crash, prober, result)
    # Looked up once the pair is whole again: what the crash and the rejoin kept.
    record_writes(rep, writer.result())
    rep.notes.append(
        "Nobody promotes by hand: Patroni detects the crash within one loop "
        "(`loop_wait`), fails over instead of restarting the crashed primary in place "
        "(`primary_start_timeout: 0`), and rejoins the old primary with pg_rewind."
    )
    rep.notes.append(
        "While the writer is gone, every instance stays ready (/readyz does not depend on the "
        "database after the first answer, ADR 0014), so the balancer keeps routing to them: "
        "clients get the app's `500 DOWN`, not the balancer's 503."
    )
    png = out_dir / "crash-primary.png"
    probes = {
        label: prober.of(label)
        for label in prober.targets
        if label.endswith(("/health", "/primary"))
    }
    spans = [(crash.t_kill - rep.t0, crash.t_up - rep.t0, "kill -9 -> every instance UP")]
    report.plot(
        png, "Primary crash: kill -9 of the postmaster (GET /health)", result,
        list(rep.timeline), spans, probes,
    )  # fmt: skip
    report.write(rep, out_dir, png)
    return rep
