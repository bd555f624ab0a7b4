"""Rehearsal 3: the database is gone for a bounded time.

Both PostgreSQL nodes stop. Every instance answers ``/health`` 500 DOWN while ``/livez`` stays
200 and no process restarts; Prometheus, loading the production rule files, moves the
database-unreachable alert to pending (and to firing in the full rehearsal, where Alertmanager
receives it). Then the database returns and everything recovers by itself.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import httpx
import yaml

from rehearsal import configs, report, rollout, stack, supervisor
from rehearsal.failover import RECOVERY_TARGET_SECONDS, app_pids, probe_targets, running_apps
from rehearsal.load import Load, LoadSpec
from rehearsal.probe import Prober
from rehearsal.probe import down_seconds as down_for
from rehearsal.sizes import Size
from rehearsal.topology import PG_NODES, Topology


def database_alert(rules_glob: Path = configs.RULES_GLOB) -> tuple[str, float]:
    """Find the writer's ``test_app_db_up`` alert in the rule files: (name, `for` seconds)."""
    files = sorted(rules_glob.parent.glob(rules_glob.name))
    if not files:
        raise stack.StackError(f"no rule files match {rules_glob}")
    for path in files:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                expr = str(rule.get("expr", ""))
                if "alert" in rule and "test_app_db_up" in expr and "writer" in expr:
                    return rule["alert"], parse_duration(str(rule.get("for", "0s")))
    raise stack.StackError(f"no alert on test_app_db_up{{target='writer'}} in {rules_glob}")


def parse_duration(text: str) -> float:
    """Prometheus duration (``2m``, ``1h30m``, ``90s``) in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    parts = re.findall(r"(\d+)(ms|s|m|h|d)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"`for` must be a Prometheus duration like 2m, got {text!r}")
    return sum(int(n) * units[u] for n, u in parts)


def alert_state(topo: Topology, name: str) -> str:
    """State of alert ``name`` in Prometheus: inactive, pending or firing."""
    data = httpx.get(topo.url("prometheus", "/api/v1/alerts"), timeout=3).json()
    states = [a["state"] for a in data["data"]["alerts"] if a["labels"].get("alertname") == name]
    if "firing" in states:
        return "firing"
    return "pending" if "pending" in states else "inactive"


def in_alertmanager(topo: Topology, name: str) -> bool:
    """Return whether Alertmanager holds an active alert ``name``."""
    alerts = httpx.get(topo.url("alertmanager", "/api/v2/alerts"), timeout=3).json()
    return any(a["labels"].get("alertname") == name for a in alerts)


def run(topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:  # noqa: PLR0915
    """Stop the database for a bounded time; return the report."""
    rep = report.Report("outage", "Database outage", command)
    bins = stack.find_binaries()
    alert, for_seconds = database_alert()
    primary = stack.primary_node(topo)
    standby = stack.other(primary)
    apps = running_apps(topo)
    pids_before = app_pids(topo)
    # A failover just before may have left it pending for an evaluation or two.
    rollout.wait_until(
        lambda: alert_state(topo, alert) == "inactive", 60, f"{alert} inactive before the outage"
    )
    # Bounded: until pending (ci) or firing (full), never longer than `for` + 90 s.
    hold_limit = for_seconds + 90 if size.outage_until_firing else 60
    duration = size.baseline_seconds + hold_limit + 20 + size.tail_seconds
    spec = LoadSpec(
        url=topo.url("app-lb", "/health"), concurrency=1, rate=10, requests=10 * math.ceil(duration)
    )
    with Prober(probe_targets(topo, apps), size.probe_interval) as prober:
        load = Load(spec, topo.state_dir / "outage-hey.csv")
        t0 = load.started_at

        def mark(text: str) -> float:
            at = time.monotonic() - t0
            rep.timeline.append((round(at, 2), text))
            return at

        mark("light load starts on GET /health through HAProxy (10 req/s)")
        time.sleep(size.baseline_seconds)
        t_stop = time.monotonic()
        mark("database stops (both nodes, fast shutdown)")
        for node in (standby, primary):
            supervisor.stop(topo, node)
        mark("database stopped")
        for name in apps:
            prober.wait_for(f"{name} /health", 500, t_stop, 30)
        mark("every instance answers /health 500 DOWN")
        rollout.wait_until(
            lambda: alert_state(topo, alert) in ("pending", "firing"),
            hold_limit,
            f"{alert} pending",
        )
        t_pending = time.monotonic()
        mark(f"Prometheus: {alert} pending")
        t_firing = None
        t_am = None
        if size.outage_until_firing:
            rollout.wait_until(
                lambda: alert_state(topo, alert) == "firing", hold_limit, f"{alert} firing"
            )
            t_firing = time.monotonic()
            mark(f"Prometheus: {alert} firing (rule `for`: {for_seconds:g}s)")
            rollout.wait_until(lambda: in_alertmanager(topo, alert), 60, f"{alert} in Alertmanager")
            t_am = time.monotonic()
            mark(f"Alertmanager: {alert} received")
        t_back = time.monotonic()
        mark("database starts again")
        for node in (primary, standby):
            supervisor.start(topo, node)
        ups = {name: prober.wait_for(f"{name} /health", 200, t_back, 60) for name in apps}
        t_up = max(ups.values())
        mark("every instance answers /health 200 UP")
        rollout.wait_until(
            lambda: alert_state(topo, alert) == "inactive", 60, f"{alert} to resolve"
        )
        t_resolved = time.monotonic()
        mark(f"Prometheus: {alert} no longer active")
        rollout.wait_until(
            lambda: stack.streaming(topo, bins, primary, standby), 60, "the standby to stream"
        )
        mark(f"{standby} streams from {primary} again")
        time.sleep(size.tail_seconds)
        result = load.stop()
        mark("load ends")
    pids_after = app_pids(topo)

    down = {name: round(down_for(prober.of(f"{name} /health")), 2) for name in apps}
    livez_bad = sum(1 for n in apps for o in prober.of(f"{n} /livez") if o.status != 200)  # noqa: PLR2004
    livez_total = sum(len(prober.of(f"{n} /livez")) for n in apps)
    rep.check(
        "outage length (s)",
        round(t_back - t_stop, 1),
        "bounded",
        ok=t_back - t_stop <= hold_limit + 30,
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
        "app processes restarted",
        sum(pids_before.get(n) != pids_after.get(n) for n in apps),
        "0 (same pids)",
        ok=all(pids_before.get(n) == pids_after.get(n) for n in apps),
    )
    rep.check(f"{alert} pending after (s)", round(t_pending - t_stop, 1), "reached", ok=True)
    if size.outage_until_firing and t_firing is not None and t_am is not None:
        rep.check(
            f"{alert} firing after (s)",
            round(t_firing - t_stop, 1),
            f">= rule `for` ({for_seconds:g}s)",
            ok=t_firing - t_stop >= for_seconds,
        )
        rep.check("in Alertmanager after (s)", round(t_am - t_stop, 1), "received", ok=True)
    rep.check(
        "database back -> every instance UP (s)",
        round(t_up - t_back, 2),
        f"< {RECOVERY_TARGET_SECONDS:g}",
        ok=t_up - t_back < RECOVERY_TARGET_SECONDS,
    )
    rep.check(
        "alert resolved after the database returned (s)",
        round(t_resolved - t_back, 1),
        "resolves",
        ok=True,
    )
    rep.numbers = {
        "alert": alert,
        "alert_for_seconds": for_seconds,
        "outage_seconds": round(t_back - t_stop, 2),
        "pending_after_seconds": round(t_pending - t_stop, 2),
        "firing_after_seconds": round(t_firing - t_stop, 2) if t_firing else None,
        "alertmanager_after_seconds": round(t_am - t_stop, 2) if t_am else None,
        "recovery_seconds": round(t_up - t_back, 2),
        "resolved_after_seconds": round(t_resolved - t_back, 2),
        "down_seconds": down,
        "livez_not_200": livez_bad,
        "pids_before": pids_before,
        "pids_after": pids_after,
        "scrape_and_eval_interval_seconds": configs.SCRAPE_INTERVAL_SECONDS,
    }
    rep.notes.append(
        f"Prometheus scrapes and evaluates every {configs.SCRAPE_INTERVAL_SECONDS}s here; the "
        f"rule and its `for: {for_seconds:g}s` are the production ones "
        "(observability/rules), so pending comes within a few scrapes and firing after `for`."
    )
    png = out_dir / "outage.png"
    probes = {label: prober.of(label) for label in prober.targets}
    spans = [(t_stop - t0, t_back - t0, "database down")]
    report.plot(png, "Database outage (GET /health)", result, list(rep.timeline), spans, probes)
    report.write(rep, out_dir, png)
    return rep


__all__ = ["PG_NODES", "run"]
