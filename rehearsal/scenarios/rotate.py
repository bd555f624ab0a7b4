"""Rehearsal: the app role's password changes under load; no instance restarts.

The rotation's two steps as production runs them: the role's password changes in PostgreSQL
(Secrets Manager's rotation), then the secret file every instance reads changes (External
Secrets, then the kubelet's atomic volume swap). Open connections keep working; to make every
instance log in again during the run, the rehearsal then ends the idle pooled connections of
the app role, as connection recycling would. Each instance's new login is first refused with the
old password, the instance re-reads its file and logs in with the new one. Target: 0 failed
requests, no restart.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from rehearsal.base import credentials, instances, postgres
from rehearsal.base.binaries import find_binaries
from rehearsal.base.configs import Binaries
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import Topology
from rehearsal.base.waiting import wait_until
from rehearsal.measure import report
from rehearsal.measure.load import Load, LoadResult, LoadSpec
from rehearsal.measure.sizes import Size


# The app's log line when a refused login made it re-read its login files with a new content:
# JSON from the logger of test_app/credentials.py, an event that says the files "changed".
RELOADED_LOGGER = '"logger": "test_app.credentials"'
RELOADED_WORD = "changed"
# Rounds of ending idle connections, and the pause between two: each round races with the
# pool handing a connection out, so the rehearsal ends them only until every instance logged in.
RECYCLE_ROUNDS = 5
RECYCLE_PAUSE_SECONDS = 3.0
TERMINATE_IDLE_APP_CONNECTIONS = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE usename = 'test_app' AND state = 'idle'"
)


@dataclass
class Rotation:
    """What the rotation did and when (``time.monotonic()`` values)."""

    apps: list[str]
    pids_before: dict[str, int | None]
    log_lines: dict[str, int]
    pids_after: dict[str, int | None] = field(default_factory=dict)
    t_rotated: float = 0.0
    t_relogged: float = 0.0
    terminated: int = 0
    reloaded: list[str] = field(default_factory=list)


def _log_lines(topo: Topology, name: str) -> list[str]:
    log = topo.logs / f"{name}.log"
    return log.read_text(errors="replace").splitlines() if log.exists() else []


def _reloaded(topo: Topology, run: Rotation) -> list[str]:
    """Return the instances whose log shows the re-read since the rotation started."""
    return [
        name
        for name in run.apps
        if any(
            RELOADED_LOGGER in line and RELOADED_WORD in line
            for line in _log_lines(topo, name)[run.log_lines[name] :]
        )
    ]


def _rotate(topo: Topology, bins: Binaries, run: Rotation, rep: report.Report) -> None:
    """Change the password, then the file; recycle idle connections until all logged in again."""
    credentials.rotate_app_password(topo, bins, credentials.load_secrets(topo))
    run.t_rotated = time.monotonic()
    rep.mark("test_app: new password in PostgreSQL, then in the secret file")

    for _ in range(RECYCLE_ROUNDS):
        run.terminated += int(
            postgres.psql(topo, bins, topo.port("pg-writer"), TERMINATE_IDLE_APP_CONNECTIONS)
        )
        with contextlib.suppress(RehearsalError):
            wait_until(
                lambda: len(_reloaded(topo, run)) == len(run.apps),
                RECYCLE_PAUSE_SECONDS,
                "every instance to log in again",
            )
            break
    run.reloaded = _reloaded(topo, run)
    run.t_relogged = time.monotonic()
    rep.mark(
        f"{len(run.reloaded)} of {len(run.apps)} instances re-read their file and logged in "
        f"with the new password ({run.terminated} idle connections recycled)"
    )


def _record(rep: report.Report, run: Rotation, result: LoadResult, *, load_covered: bool) -> None:
    """Record the checks and numbers of the report."""
    restarted = sum(run.pids_before.get(n) != run.pids_after.get(n) for n in run.apps)
    rep.check(
        "load ran through the rotation",
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
    rep.check(
        "instances logged in with the new password",
        f"{len(run.reloaded)} of {len(run.apps)}",
        "all",
        ok=sorted(run.reloaded) == sorted(run.apps),
    )
    rep.check("app processes restarted", restarted, "0 (same pids)", ok=restarted == 0)
    rep.numbers = {
        "requests": result.sent,
        "failed": result.failed(),
        "failed_by_type": result.failures_by_type(),
        "unanswered": result.unanswered,
        "relogin_seconds": round(run.t_relogged - run.t_rotated, 2),
        "idle_connections_recycled": run.terminated,
        "reloaded": sorted(run.reloaded),
        "pids_before": run.pids_before,
        "pids_after": run.pids_after,
    }


def run(topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:
    """Rotate the app role's password under load; return the report."""
    rep = report.Report("rotate", "App role password rotation under load", command)
    bins = find_binaries()
    apps = instances.running_apps(topo)
    rotation = Rotation(
        apps,
        instances.app_pids(topo),
        {name: len(_log_lines(topo, name)) for name in apps},
    )
    duration = size.baseline_seconds + 10 + size.tail_seconds
    spec = LoadSpec.for_seconds(
        topo.url("app-lb", "/health"), size.concurrency, size.rate, duration
    )
    load = Load(spec, topo.state_dir / "rotate-hey.csv")
    rep.start_clock(load.started_at)
    rep.mark(f"load starts: {spec.concurrency} workers x {spec.rate} req/s on GET /health")
    time.sleep(size.baseline_seconds)
    _rotate(topo, bins, rotation, rep)
    load_covered = load.running()
    result = load.wait(timeout=duration * 3 + 30)
    rep.mark("load ends")
    rotation.pids_after = instances.app_pids(topo)
    _record(rep, rotation, result, load_covered=load_covered)
    rep.notes.append(
        "PostgreSQL checks a password at login only, so open connections outlive the change; "
        "the idle ones were ended on purpose so that every instance had to log in again "
        "during the run and show that it reads the new password without a restart."
    )
    png = out_dir / "rotate.png"
    spans = [(rotation.t_rotated - rep.t0, rotation.t_relogged - rep.t0, "rotation")]
    report.plot(png, "Password rotation under load (GET /health through HAProxy)", result,
                list(rep.timeline), spans)  # fmt: skip
    report.write(rep, out_dir, png)
    return rep
