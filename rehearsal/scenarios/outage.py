"""Rehearsal 3: the database is gone for a bounded time.

Both PostgreSQL nodes stop. Every instance answers ``/health`` 500 DOWN while ``/livez`` and
``/readyz`` stay 200 (ADR 0014) and no process restarts; Prometheus, loading the production
rule files, moves the database-unreachable alert to pending (and to firing in the full
rehearsal, where Alertmanager receives it). Then the database returns and everything recovers
by itself.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from rehearsal.base import configs, instances, pair, supervisor
from rehearsal.base.binaries import find_binaries
from rehearsal.base.configs import Binaries
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import Topology
from rehearsal.measure import report
from rehearsal.measure.alerts import alert_state
from rehearsal.measure.load import Load, LoadSpec
from rehearsal.measure.probe import Prober, instance_targets
from rehearsal.measure.probe import down_seconds as down_for
from rehearsal.measure.sizes import RECOVERY_TARGET_SECONDS, Size
from test_app_tooling.process import wait_until


HTTP_OK = 200
WRITER_DOWN = re.compile(r"test_app_db_up\{[^}]*writer[^}]*\}\)?\s*==\s*0")


def database_alert(rules_glob: Path = configs.RULES_GLOB) -> tuple[str, float]:
    """Find the writer's ``test_app_db_up`` alert in the rule files: (name, `for` seconds)."""
    files = sorted(rules_glob.parent.glob(rules_glob.name))
    if not files:
        raise RehearsalError(f"no rule files match {rules_glob}")
    for path in files:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                expr = str(rule.get("expr", ""))
                # The writer being down (`... == 0`), not another alert that reads the gauge.
                if "alert" in rule and WRITER_DOWN.search(expr):
                    return str(rule["alert"]), parse_duration(str(rule.get("for", "0s")))
    raise RehearsalError(f"no alert on test_app_db_up{{target='writer'}} in {rules_glob}")


def parse_duration(text: str) -> float:
    """Prometheus duration (``2m``, ``1h30m``, ``90s``) in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+)(ms|s|m|h|d)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"`for` must be a Prometheus duration like 2m, got {text!r}")
    return float(sum(int(n) * units[u] for n, u in parts))


def in_alertmanager(topo: Topology, name: str) -> bool:
    """Return whether Alertmanager holds an active alert ``name``."""
    alerts: list[dict[str, dict[str, str]]] = httpx.get(
        topo.url("alertmanager", "/api/v2/alerts"), timeout=3
    ).json()
    return any(a["labels"].get("alertname") == name for a in alerts)


@dataclass
class Outage:
    """What the outage did and when (``time.monotonic()`` values)."""

    alert: str
    for_seconds: float
    hold_limit: float
    primary: str
    standby: str
    apps: list[str]
    pids_before: dict[str, int | None]
    pids_after: dict[str, int | None] = field(default_factory=dict)
    t_stop: float = 0.0
    t_pending: float = 0.0
    t_firing: float | None = None
    t_am: float | None = None
    t_back: float = 0.0
    t_up: float = 0.0
    t_resolved: float = 0.0


def _stop_database(
    topo: Topology, run: Outage, size: Size, prober: Prober, rep: report.Report
) -> None:
    """Stop both nodes; wait for DOWN everywhere, then pending (and firing in the full size)."""
    run.t_stop = time.monotonic()
    rep.mark("database stops (both nodes, fast shutdown)")
    for node in (run.standby, run.primary):
        supervisor.stop(topo, node)
    rep.mark("database stopped")
    for name in run.apps:
        prober.wait_for(f"{name} /health", 500, run.t_stop, 30)
    rep.mark("every instance answers /health 500 DOWN")
    alert = run.alert
    wait_until(
        lambda: alert_state(topo, alert) in ("pending", "firing"),
        run.hold_limit,
        f"{alert} pending",
    )
    run.t_pending = time.monotonic()
    rep.mark(f"Prometheus: {alert} pending")
    if size.outage_until_firing:
        wait_until(lambda: alert_state(topo, alert) == "firing", run.hold_limit, f"{alert} firing")
        run.t_firing = time.monotonic()
        rep.mark(f"Prometheus: {alert} firing (rule `for`: {run.for_seconds:g}s)")
        wait_until(lambda: in_alertmanager(topo, alert), 60, f"{alert} in Alertmanager")
        run.t_am = time.monotonic()
        rep.mark(f"Alertmanager: {alert} received")


def _restore_database(
    topo: Topology, bins: Binaries, run: Outage, prober: Prober, rep: report.Report
) -> None:
    """Start both nodes; wait for UP everywhere, the alert to resolve, the pair to be whole."""
    run.t_back = time.monotonic()
    rep.mark("database starts again (both nodes; Patroni elects a leader)")
    supervisor.start(topo, run.primary, run.standby)
    ups = {name: prober.wait_for(f"{name} /health", 200, run.t_back, 60) for name in run.apps}
    run.t_up = max(ups.values())
    rep.mark("every instance answers /health 200 UP")
    wait_until(lambda: alert_state(topo, run.alert) == "inactive", 60, f"{run.alert} to resolve")
    run.t_resolved = time.monotonic()
    rep.mark(f"Prometheus: {run.alert} no longer active")
    run.primary, run.standby = pair.wait_whole(topo, bins, 60)
    rep.mark(f"{run.standby} streams from {run.primary} again")


def _check_alerting(rep: report.Report, run: Outage) -> None:
    """Check the alert's timings against the rule's `for`."""
    alert = run.alert
    rep.check(
        f"{alert} pending after (s)", round(run.t_pending - run.t_stop, 1), "reached", ok=True
    )
    if run.t_firing is not None and run.t_am is not None:
        rep.check(
            f"{alert} firing after (s)",
            round(run.t_firing - run.t_stop, 1),
            f">= rule `for` ({run.for_seconds:g}s)",
            ok=run.t_firing - run.t_stop >= run.for_seconds,
        )
        rep.check("in Alertmanager after (s)", round(run.t_am - run.t_stop, 1), "received", ok=True)


def _record(rep: report.Report, run: Outage, prober: Prober) -> None:
    """Record the checks and numbers of the report."""
    apps = run.apps
    down = {name: round(down_for(prober.of(f"{name} /health")), 2) for name in apps}
    livez_bad, livez_total = prober.failures(apps, "/livez")
    readyz_bad, readyz_total = prober.failures(apps, "/readyz")
    restarted = sum(run.pids_before.get(n) != run.pids_after.get(n) for n in apps)
    rep.check(
        "outage length (s)",
        round(run.t_back - run.t_stop, 1),
        "bounded",
        ok=run.t_back - run.t_stop <= run.hold_limit + 30,
    )
    rep.check(
        "/health DOWN per instance (s)",
        ", ".join(f"{k}: {v}" for k, v in down.items()),
        "DOWN during the outage",
        ok=all(v > 0 for v in down.values()),
    )
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
    rep.check("app processes restarted", restarted, "0 (same pids)", ok=restarted == 0)
    _check_alerting(rep, run)
    rep.check(
        "database back -> every instance UP (s)",
        round(run.t_up - run.t_back, 2),
        f"< {RECOVERY_TARGET_SECONDS:g}",
        ok=run.t_up - run.t_back < RECOVERY_TARGET_SECONDS,
    )
    rep.check(
        "alert resolved after the database returned (s)",
        round(run.t_resolved - run.t_back, 1),
        "resolves",
        ok=True,
    )
    rep.numbers = {
        "alert": run.alert,
        "alert_for_seconds": run.for_seconds,
        "outage_seconds": round(run.t_back - run.t_stop, 2),
        "pending_after_seconds": round(run.t_pending - run.t_stop, 2),
        "firing_after_seconds": round(run.t_firing - run.t_stop, 2) if run.t_firing else None,
        "alertmanager_after_seconds": round(run.t_am - run.t_stop, 2) if run.t_am else None,
        "recovery_seconds": round(run.t_up - run.t_back, 2),
        "resolved_after_seconds": round(run.t_resolved - run.t_back, 2),
        "down_seconds": down,
        "livez_not_200": livez_bad,
        "readyz_not_200": readyz_bad,
        "readyz_polls": readyz_total,
        "pids_before": run.pids_before,
        "pids_after": run.pids_after,
        "scrape_and_eval_interval_seconds": configs.SCRAPE_INTERVAL_SECONDS,
    }


def run(topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:
    """Stop the database for a bounded time; return the report."""
    rep = report.Report("outage", "Database outage", command)
    bins = find_binaries()
    alert, for_seconds = database_alert()
    roles = pair.whole(topo, bins)
    if roles is None:
        raise RehearsalError("no leader with a streaming standby: the pair is not whole")
    primary, standby = roles
    apps = instances.running_apps(topo)
    # Bounded: until pending (ci) or firing (full), never longer than `for` + 90 s.
    hold_limit = for_seconds + 90 if size.outage_until_firing else 60
    outage = Outage(
        alert, for_seconds, hold_limit, primary, standby, apps,
        instances.app_pids(topo),
    )  # fmt: skip
    # A failover just before may have left it pending for an evaluation or two.
    wait_until(
        lambda: alert_state(topo, alert) == "inactive", 60, f"{alert} inactive before the outage"
    )
    spec = LoadSpec.for_seconds(
        topo.url("app-lb", "/health"),
        concurrency=1,
        rate=10,
        seconds=size.baseline_seconds + hold_limit + 20 + size.tail_seconds,
    )
    with Prober(instance_targets(topo, apps), size.probe_interval) as prober:
        load = Load(spec, topo.state_dir / "outage-hey.csv")
        rep.start_clock(load.started_at)
        rep.mark("light load starts on GET /health through HAProxy (10 req/s)")
        time.sleep(size.baseline_seconds)
        _stop_database(topo, outage, size, prober, rep)
        _restore_database(topo, bins, outage, prober, rep)
        time.sleep(size.tail_seconds)
        result = load.stop()
        rep.mark("load ends")
    outage.pids_after = instances.app_pids(topo)
    _record(rep, outage, prober)
    rep.notes.append(
        f"Prometheus scrapes and evaluates every {configs.SCRAPE_INTERVAL_SECONDS}s here; the "
        f"rule and its `for: {for_seconds:g}s` are the production ones "
        "(observability/rules), so pending comes within a few scrapes and firing after `for`."
    )
    png = out_dir / "outage.png"
    probes = {label: prober.of(label) for label in prober.targets}
    spans = [(outage.t_stop - rep.t0, outage.t_back - rep.t0, "database down")]
    report.plot(png, "Database outage (GET /health)", result, list(rep.timeline), spans, probes)
    report.write(rep, out_dir, png)
    return rep
