"""The "latest results" table of docs/rehearsal.md, rendered from the reports' JSON files.

`make rehearse` rewrites the block between the markers; a test checks that the committed block
matches the committed reports, so the numbers in the guide always come from a real run.
"""

from __future__ import annotations

import json
from pathlib import Path

from test_app_tooling.tools import REPO


GUIDE = REPO / "docs" / "rehearsal.md"
REPORTS = REPO / "docs" / "rehearsal"
BEGIN = "<!-- BEGIN REHEARSAL RESULTS (make rehearse writes this block) -->"
END = "<!-- END REHEARSAL RESULTS -->"


def _load(reports: Path, name: str) -> dict[str, object] | None:
    path = reports / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _rotations(numbers: dict[str, object]) -> str:
    """Say how many rotations ran and whether each kept the previous login."""
    steps = numbers["rotations"]
    assert isinstance(steps, list)  # noqa: S101
    kept = sum(bool(step["previous_login_works"]) for step in steps)
    return (
        f"{len(steps)} rotations (the four steps each), previous login kept {kept} of {len(steps)}"
    )


def _stalls(numbers: dict[str, object]) -> str:
    """Say what each failing rotation did to the alert, e.g. ``wrong-master: firing after 60 s``."""
    stalls = numbers["stalls"]
    assert isinstance(stalls, list)  # noqa: S101
    return "; ".join(
        f"{' then '.join(stall['faults'])}: AWSCURRENT kept, alert firing after "
        f"{stall['firing_after_seconds']} s, resolved {stall['resolved_after_fix_seconds']} s "
        "after the fix"
        for stall in stalls
    )


def _switched(numbers: dict[str, object]) -> str:
    """Say how many instances switched user and to which users."""
    switched = numbers["switched"]
    assert isinstance(switched, dict)  # noqa: S101
    users = sorted({user for seen in switched.values() for user in seen})
    moved = sum(bool(seen) for seen in switched.values())
    return f"{moved} instances switched user (to {', '.join(users) or 'none'})"


def _restarts(numbers: dict[str, dict[str, int]]) -> int:
    before, after = numbers["pids_before"], numbers["pids_after"]
    return sum(before[name] != after.get(name) for name in before)


def _lost(numbers: dict[str, object]) -> str:
    """``; acknowledged rows lost: N of M`` when the report counted rows."""
    if "writes_lost" not in numbers:
        return ""
    return (
        f"; acknowledged rows lost: **{numbers['writes_lost']} of "
        f"{numbers['writes_acknowledged']}**"
    )


def _kinds(failed_by_type: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in failed_by_type.items()) or "0"


# The faults that count acknowledged rows (rehearsal/scenarios/ha_faults.py), as the table says.
HA_FAULTS = {
    "freeze-primary": "primary frozen (SIGSTOP of the node) past `ttl`, writer counting rows",
    "partition-primary": (
        "primary partitioned (its link down), then its zone isolated with its clients, "
        "each past `ttl`, writer counting rows"
    ),
    "dcs-loss": "one etcd member killed, then a majority hung, writer counting rows",
    "wal-full": "primary's WAL volume full, writer counting rows",
}


def render(reports: Path = REPORTS) -> str:
    """Markdown table of the latest full-size results."""
    rows = ["| rehearsal | result | measured | report |", "| --- | --- | --- | --- |"]
    rollout = _load(reports, "rollout")
    if rollout:
        n = rollout["numbers"]
        assert isinstance(n, dict)  # noqa: S101 - JSON shape written by report.write
        rows.append(
            f"| rolling update under load | {'passed' if rollout['passed'] else '**failed**'} | "
            f"{n['requests']} requests, **{n['failed']} failed**; p50 {n['before']['p50']} ms "
            f"before / {n['during']['p50']} ms during, p99 {n['before']['p99']} ms before / "
            f"{n['during']['p99']} ms during; 3 instances replaced in {n['rollout_seconds']} s "
            f"(drain {n['drain_seconds']:g} s each) | [rollout](rehearsal/rollout.md) |"
        )
    failover = _load(reports, "failover")
    if failover:
        n = failover["numbers"]
        assert isinstance(n, dict)  # noqa: S101
        down = n["down_seconds"]
        rows.append(
            f"| writer failover | {'passed' if failover['passed'] else '**failed**'} | "
            f"/health DOWN {min(down.values())}-{max(down.values())} s per instance; "
            f"promoted by Patroni {n['stop_to_promoted_seconds']} s after the stop; "
            f"promotion -> UP **{n['promotion_to_up_seconds']} s** (target < 10 s); "
            f"app restarts {_restarts(n)}; /livez not 200: {n['livez_not_200']} of "
            f"{n['livez_polls']} polls; old primary back as a standby ({n['rebuild']}) in "
            f"{n['rebuild_seconds']} s{_lost(n)} | [failover](rehearsal/failover.md) |"
        )
    crash = _load(reports, "crash-primary")
    if crash:
        n = crash["numbers"]
        assert isinstance(n, dict)  # noqa: S101
        rows.append(
            f"| primary crash (`kill -9` of the postmaster) | "
            f"{'passed' if crash['passed'] else '**failed**'} | "
            f"promoted by Patroni after {n['kill_to_promoted_seconds']} s; /health through the "
            f"balancer UP after **{n['kill_to_balancer_up_seconds']} s** (target < 30 s); "
            f"failed requests {_kinds(n['failed_by_type'])} of {n['load_requests']}; "
            f"app restarts {_restarts(n)}; old primary back as a standby ({n['rejoin']}) "
            f"{n['kill_to_rejoined_seconds']} s after the kill{_lost(n)} "
            "| [crash-primary](rehearsal/crash-primary.md) |"
        )
    kill = _load(reports, "kill-instance")
    if kill:
        n = kill["numbers"]
        assert isinstance(n, dict)  # noqa: S101
        rows.append(
            f"| app instance killed (SIGKILL) under load | "
            f"{'passed' if kill['passed'] else '**failed**'} | "
            f"{n['requests']} requests, **{n['failed']} failed**; replaced by supervisord and "
            f"in rotation {n['kill_to_in_rotation_seconds']} s after the kill; HAProxy "
            f"redispatched {n['haproxy_redispatches']} "
            "| [kill-instance](rehearsal/kill-instance.md) |"
        )
    rotate = _load(reports, "rotate")
    if rotate:
        n = rotate["numbers"]
        assert isinstance(n, dict)  # noqa: S101
        rows.append(
            f"| AWS multi-user rotation (moto, TLS verify-full) under load, then failing ones | "
            f"{'passed' if rotate['passed'] else '**failed**'} | "
            f"{n['requests']} requests, **{n['failed']} failed**; "
            f"{_rotations(n)}; {_switched(n)}; app restarts {_restarts(n)}; "
            f"`TestAppDatabaseLoginNotRotated` {', '.join(n['alert_while_good'])} while rotation "
            f"worked; {_stalls(n)} | [rotate](rehearsal/rotate.md) |"
        )
    for name, what in HA_FAULTS.items():
        fault = _load(reports, name)
        if not fault:
            continue
        n = fault["numbers"]
        assert isinstance(n, dict)  # noqa: S101
        dcs = (
            f"; failed requests with one etcd member down: **{n['failed_member_down']}**, "
            f"with a majority hung: **{n['failed_majority_hung']}**"
            if "failed_member_down" in n
            else f"; failed requests {_kinds(n['failed_by_type'])} of {n['load_requests']}"
        )
        rows.append(
            f"| {what} | {'passed' if fault['passed'] else '**failed**'} | "
            f"acknowledged rows lost: **{n['writes_lost']} of {n['writes_acknowledged']}**; "
            f"two servers acknowledging: {n['acknowledging_server_overlap_seconds']} s; "
            f"primary {n['primary_before']} -> {n['primary_after']}{dcs} "
            f"| [{name}](rehearsal/{name}.md) |"
        )
    canary = _load(reports, "canary")
    if canary:
        n = canary["numbers"]
        assert isinstance(n, dict)  # noqa: S101
        good, bad, roll = n["good"], n["bad"], n["rolling_update"]
        rows.append(
            f"| canary releases judged by the SLO analysis | "
            f"{'passed' if canary['passed'] else '**failed**'} | "
            f"good build {good['outcome']} with **{good['failed']} failed**; defective build "
            f"{bad['outcome']} {bad['first_bad_step_to_abort_seconds']} s after its first step, "
            f"{bad['failed_share']:.2%} of requests failed ({bad['canary_requests']} reached it); "
            f"the same build by rolling update: {roll['failed_share']:.2%} failed "
            "| [canary](rehearsal/canary.md) |"
        )
    outage = _load(reports, "outage")
    if outage:
        n = outage["numbers"]
        assert isinstance(n, dict)  # noqa: S101
        firing = (
            f", firing after {n['firing_after_seconds']} s (`for: {n['alert_for_seconds']:g}s`), "
            f"in Alertmanager after {n['alertmanager_after_seconds']} s"
            if n.get("firing_after_seconds")
            else ""
        )
        rows.append(
            f"| database outage ({n['outage_seconds']} s) | "
            f"{'passed' if outage['passed'] else '**failed**'} | "
            f"`{n['alert']}` pending after {n['pending_after_seconds']} s{firing}; "
            f"every instance UP {n['recovery_seconds']} s after the database returned; "
            f"/livez not 200: {n['livez_not_200']}; app restarts {_restarts(n)} "
            "| [outage](rehearsal/outage.md) |"
        )
    return "\n".join(rows)


def block(reports: Path = REPORTS) -> str:
    """Return the whole block, markers included."""
    return f"{BEGIN}\n{render(reports)}\n{END}"


def update_guide(guide: Path = GUIDE, reports: Path = REPORTS) -> None:
    """Rewrite the results block of the guide from the reports."""
    text = guide.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < 0:
        raise ValueError(f"{guide} lacks the markers {BEGIN!r} and {END!r}")
    guide.write_text(text[:start] + block(reports) + text[end + len(END) :])
