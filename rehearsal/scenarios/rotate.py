"""Rehearsal: the app's login rotates twice with alternating users, under load, no restart.

Production rotates the app's secret with AWS's multi-user function: each rotation gives the
*other* user of the pair (``test_app``, ``test_app_clone``) a new password and makes it current,
so the login the instances hold stays valid until the rotation after next. The first rotation
creates ``test_app_clone`` WITH LOGIN and grants it ``test_app``. Two rotations run here, each as
production orders it: the function's SQL on the writer (``credentials.rotate_app_secret``), then
the idle sessions of the user whose password changed end (connection recycling, forced so that
every instance holding that user logs in again during the run; one instance at a time leaves the
balancer meanwhile, so that no session ends while a pool hands it out), then the user and password
files change together (the kubelet's swap, after External Secrets). The rotation that changes
the password of the user the instances hold makes each of them be refused once, re-read both
files and log in as the other user. Targets: 0 failed requests, no session left with a
rotated-away password, every instance switched user, no restart, and the provisioning step
finds both users least-privileged.

Not rehearsed: Secrets Manager's API and staging labels, Lambda, the schedule, and External
Secrets' delay (up to 12 minutes in production; here the files change right after the
recycling, so the instances switch to the login that was current before the rotation).
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from rehearsal.base import credentials, haproxy, instances, postgres
from rehearsal.base.binaries import find_binaries
from rehearsal.base.configs import Binaries
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import Topology
from rehearsal.measure import report
from rehearsal.measure.load import Load, LoadResult, LoadSpec
from rehearsal.measure.sizes import Size
from test_app_tooling.process import wait_until


# The app's log line when a refused login made it re-read its login files with a new content:
# JSON from the logger of test_app/credentials.py, an event that says the files "changed".
RELOADED_LOGGER = '"logger": "test_app.credentials"'
RELOADED_WORD = "changed"
ROTATIONS = 2
ROTATION_SECONDS = 12  # load time budgeted per rotation
# Rounds of recycling, and how long one instance may take to log in again afterwards.
RECYCLE_ROUNDS = 5
RECYCLE_PAUSE_SECONDS = 2.0
# Ending a session from the server races with a pool handing it out. So one instance at a time
# leaves the balancer (as a draining pod) and, after this pause, its sessions are idle; only
# sessions idle that long end, so the instances still serving keep their busy ones.
DRAIN_SETTLE_SECONDS = 0.5
IDLE_MILLISECONDS = 300
USERS = (credentials.APP_ROLE, credentials.APP_ROLE + credentials.CLONE_SUFFIX)
_CLIENTS = "backend_type = 'client backend' AND pid <> pg_backend_pid()"


def terminate_idle_sql(user: str) -> str:
    """Return the SQL that ends ``user``'s idle sessions and counts them."""
    if user not in USERS:
        raise RehearsalError(f"user {user!r}: expected one of {', '.join(USERS)}")
    return (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "  # noqa: S608 - checked
        f"WHERE usename = '{user}' AND state = 'idle' AND {_CLIENTS} "
        f"AND state_change < now() - interval '{IDLE_MILLISECONDS} milliseconds'"
    )


CLONE_MEMBERSHIP = (
    "SELECT string_agg(DISTINCT r.rolname, ',') FROM pg_auth_members m "  # noqa: S608 - constants
    "JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member "
    f"WHERE u.rolname = '{USERS[1]}'"
)


@dataclass
class Rotation:
    """What the rotations did and when (``time.monotonic()`` values)."""

    apps: list[str]
    pids_before: dict[str, int | None]
    log_lines: dict[str, int]
    pids_after: dict[str, int | None] = field(default_factory=dict)
    spans: list[tuple[float, float]] = field(default_factory=list)
    steps: list[dict[str, object]] = field(default_factory=list)
    terminated: int = 0
    switched: dict[str, list[str]] = field(default_factory=dict)
    provision_changes: list[str] = field(default_factory=list)
    clone_member_of: str = ""


def _log_lines(topo: Topology, name: str) -> list[str]:
    log = topo.logs / f"{name}.log"
    return log.read_text(errors="replace").splitlines() if log.exists() else []


def switched_users(lines: list[str]) -> list[str]:
    """Return the users an instance switched its login to, in order, from its log lines."""
    users = []
    for line in lines:
        if RELOADED_LOGGER in line and RELOADED_WORD in line:
            with contextlib.suppress(ValueError):
                users.append(str(json.loads(line).get("user")))
    return users


def _switched(topo: Topology, run: Rotation) -> dict[str, list[str]]:
    return {
        name: switched_users(_log_lines(topo, name)[run.log_lines[name] :]) for name in run.apps
    }


def _on_both_endpoints(topo: Topology, bins: Binaries, sql: str) -> int:
    """Run ``sql`` (one number out) on the writer and the reader; return the sum."""
    ports = (topo.port("pg-writer"), topo.port("pg-reader"))
    return sum(int(postgres.psql(topo, bins, port, sql)) for port in ports)


def _sessions_of(topo: Topology, bins: Binaries, user: str) -> int:
    return _on_both_endpoints(
        topo, bins,
        f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{user}' AND {_CLIENTS}",  # noqa: S608
    )  # fmt: skip


def _rotate_once(topo: Topology, bins: Binaries, run: Rotation, rep: report.Report) -> None:
    """One rotation: the function's SQL, recycled connections of the rotated user, the files."""
    started = time.monotonic()
    offsets = {name: len(_log_lines(topo, name)) for name in run.apps}
    step = credentials.rotate_app_secret(topo, bins)
    rotated = step.pending.username
    held = _sessions_of(topo, bins, rotated)
    rep.mark(
        f"rotation {len(run.steps) + 1}: {'; '.join(step.statements) or 'no SQL needed'}; "
        f"{rotated} is current; {held} session(s) of {rotated} open"
    )

    if held:
        _recycle(topo, bins, run, rotated, offsets)
    left = _sessions_of(topo, bins, rotated)
    credentials.write_login_files(topo, step.pending)
    run.spans.append((started, time.monotonic()))
    rep.mark(f"{left} session(s) of {rotated} left with its old password; files: {rotated}")
    run.steps.append(
        {"user": rotated, "statements": step.statements, "sessions_held": held,
         "sessions_left": left}
    )  # fmt: skip


def _recycle(
    topo: Topology, bins: Binaries, run: Rotation, rotated: str, offsets: dict[str, int]
) -> None:
    """End the rotated user's sessions, one instance out of the balancer at a time."""

    def moved(name: str) -> bool:
        return bool(switched_users(_log_lines(topo, name)[offsets[name] :]))

    for _ in range(RECYCLE_ROUNDS):
        waiting = [name for name in run.apps if not moved(name)]
        if not waiting and not _sessions_of(topo, bins, rotated):
            return
        for name in waiting or run.apps:
            haproxy.set_state(topo.haproxy_sock, "app", name, "drain")
            try:
                time.sleep(DRAIN_SETTLE_SECONDS)
                run.terminated += _on_both_endpoints(topo, bins, terminate_idle_sql(rotated))
            finally:
                haproxy.set_state(topo.haproxy_sock, "app", name, "ready")
            with contextlib.suppress(RehearsalError):
                wait_until(functools.partial(moved, name), RECYCLE_PAUSE_SECONDS, f"{name} to move")


def _record(rep: report.Report, run: Rotation, result: LoadResult, *, load_covered: bool) -> None:
    """Record the checks and numbers of the report."""
    restarted = sum(run.pids_before.get(n) != run.pids_after.get(n) for n in run.apps)
    rep.check(
        "load ran through the rotations",
        "yes" if load_covered else "no: the load ended first",
        "yes",
        ok=load_covered,
    )
    rep.check("requests sent", result.sent, "all answered", ok=result.unanswered == 0)
    rep.check(
        "failed requests (non-2xx or no answer)",
        ", ".join(f"{k}: {v}" for k, v in result.failures_by_type().items()) or "0",
        "0",
        ok=result.failed() == 0,
    )
    for number, step in enumerate(run.steps, 1):
        rep.check(
            f"rotation {number}: sessions of {step['user']} left with the old password",
            step["sessions_left"],
            "0",
            ok=step["sessions_left"] == 0,
        )
    moved = [name for name, users in run.switched.items() if users]
    rep.check(
        "instances that switched user after a refused login",
        f"{len(moved)} of {len(run.apps)}",
        "all",
        ok=sorted(moved) == sorted(run.apps),
    )
    rep.check("app processes restarted", restarted, "0 (same pids)", ok=restarted == 0)
    rep.check(
        "test-app-db-role afterwards (least privilege of both users)",
        "; ".join(run.provision_changes) or "no change",
        "no change",
        ok=not run.provision_changes,
    )
    rep.numbers = {
        "requests": result.sent,
        "failed": result.failed(),
        "failed_by_type": result.failures_by_type(),
        "unanswered": result.unanswered,
        "rotations": run.steps,
        "rotation_seconds": [round(end - start, 2) for start, end in run.spans],
        "idle_connections_recycled": run.terminated,
        "switched": run.switched,
        "provision_changes": run.provision_changes,
        "clone_member_of": run.clone_member_of,
        "pids_before": run.pids_before,
        "pids_after": run.pids_after,
    }


def run(topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:
    """Rotate the app's login twice with alternating users under load; return the report."""
    rep = report.Report("rotate", "App login rotation with alternating users under load", command)
    bins = find_binaries()
    apps = instances.running_apps(topo)
    rotation = Rotation(
        apps,
        instances.app_pids(topo),
        {name: len(_log_lines(topo, name)) for name in apps},
    )
    duration = size.baseline_seconds + ROTATIONS * ROTATION_SECONDS + size.tail_seconds
    spec = LoadSpec.for_seconds(
        topo.url("app-lb", "/health"), size.concurrency, size.rate, duration
    )
    load = Load(spec, topo.state_dir / "rotate-hey.csv")
    rep.start_clock(load.started_at)
    rep.mark(f"load starts: {spec.concurrency} workers x {spec.rate} req/s on GET /health")
    time.sleep(size.baseline_seconds)
    for _ in range(ROTATIONS):
        _rotate_once(topo, bins, rotation, rep)
    load_covered = load.running()
    rotation.switched = _switched(topo, rotation)
    result = load.wait(timeout=duration * 3 + 30)
    rep.mark("load ends")
    rotation.pids_after = instances.app_pids(topo)
    # The next release's hook: the same step, now with the clone the rotation created.
    rotation.provision_changes = credentials.provision_app_role(
        topo, bins, credentials.load_secrets(topo)
    )
    rotation.clone_member_of = postgres.psql(topo, bins, topo.port("pg-writer"), CLONE_MEMBERSHIP)
    _record(rep, rotation, result, load_covered=load_covered)
    rep.notes.append(
        "PostgreSQL checks a password at login only, so open connections outlive a rotation; "
        "the idle sessions of the rotated user were ended on purpose so that every instance "
        "holding it had to log in again during the run. Ending a session from the server "
        "races with a pool handing it out at that instant (production recycles connections "
        "from the client side), so each instance in turn left the balancer for "
        f"{DRAIN_SETTLE_SECONDS} s while its sessions idle for {IDLE_MILLISECONDS} ms ended, "
        "and only the rotated user's. External Secrets' delay is not waited for: the files "
        "change as soon as every instance moved."
    )
    png = out_dir / "rotate.png"
    spans = [
        (s - rep.t0, e - rep.t0, f"rotation {i}") for i, (s, e) in enumerate(rotation.spans, 1)
    ]
    title = "Login rotation with alternating users under load (GET /health through HAProxy)"
    report.plot(png, title, result, list(rep.timeline), spans)
    report.write(rep, out_dir, png)
    return rep
