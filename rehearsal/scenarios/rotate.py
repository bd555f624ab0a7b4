"""Rehearsal: the multi-user rotation under load, on a schedule, watched by the production alert.

Production rotates the app's secret with the project's own function (``rotation/``, package
``test_app_rotation``: the steps of AWS's ``SecretsManagerRDSPostgreSQLRotationMultiUser``):
each rotation gives the *other* user of the pair (``test_app``, ``test_app_clone``) a new
password and makes it current, so the login the instances hold stays valid until the rotation
after next. Here the function's own four steps (createSecret, setSecret, testSecret,
finishSecret, run in Secrets Manager's order by ``test_app_tooling.rotation``) run against a
secret in moto's Secrets Manager (on loopback, the master secret beside it) and the rehearsal's
writer endpoint, every login with the function's pg8000 client over TLS verify-full against the
CA the servers' certificate comes from (no plaintext fallback). After AWSCURRENT moves, the idle
sessions of the user whose password changed end (connection recycling, forced, one instance
out of the balancer at a time) and the user and password files change together (the kubelet's
swap, after External Secrets); an instance refused once re-reads both files and logs in as the
other user.

The rotations then follow a schedule of seconds (``SCHEDULE``) and Prometheus evaluates
``TestAppDatabaseLoginNotRotated`` rendered for that schedule (the production rule,
``test_app_tooling.login_rotation``, installed in ``etc/rules`` for the run). Working rotations
keep it inactive; then rotations fail, first with a wrong master password, then with a CA that
did not sign the server's certificate (TLS refused): every failure must leave AWSCURRENT and the
app's login working and make the alert pending, then firing, within the run. After each fix
the unfinished rotation is reattempted with its token (as Secrets Manager does) and a second
one brings a fresh login: the alert resolves.

Targets: 0 failed requests; every good rotation keeps the previous login working and refuses
the one before it; every instance switched user; no restart; a failure is never reported as
success; the alert stays inactive while rotation works and fires after each failure.
Not rehearsed: the Lambda runtime (tests/infra/test_rotation_function.py calls the packaged
handler with boto3 against moto), Secrets Manager's own scheduler and retries (the rehearsal
calls the steps), External Secrets' delay (up to 12 minutes in production; here the files
change as soon as every instance has moved).
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from rehearsal.base import credentials, haproxy, instances, postgres
from rehearsal.base.binaries import find_binaries
from rehearsal.base.configs import Binaries
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import Topology
from rehearsal.measure import report
from rehearsal.measure.alerts import alert_state, query
from rehearsal.measure.load import Load, LoadResult, LoadSpec
from rehearsal.measure.sizes import Size
from test_app_tooling import login_rotation, rotation
from test_app_tooling.process import WaitTimeoutError, wait_until
from test_app_tooling.tls import Certificates


# The app's log line when a refused login made it re-read its login files with a new content:
# JSON from the logger of test_app/credentials.py, an event that says the files "changed".
RELOADED_LOGGER = '"logger": "test_app.credentials"'
RELOADED_WORD = "changed"
# Rounds of recycling, and how long one instance may take to log in again afterwards.
RECYCLE_ROUNDS = 5
RECYCLE_PAUSE_SECONDS = 2.0
# Ending a session from the server races with a pool handing it out. So one instance at a time
# leaves the balancer (as a draining pod) and, after this pause, its sessions are idle; only
# sessions idle that long end, so the instances still serving keep their busy ones.
DRAIN_SETTLE_SECONDS = 0.5
IDLE_MILLISECONDS = 300
USERS = (credentials.APP_ROLE, rotation.alternate(credentials.APP_ROLE))
_CLIENTS = "backend_type = 'client backend' AND pid <> pg_backend_pid()"

# The rehearsal's rotation schedule: a rotation every 20 s; a working one reaches every instance
# within 20 s (its steps, the recycling, a scrape); the alert waits 5 s more, then `for` 10 s.
SCHEDULE = login_rotation.Schedule(schedule=20, window=20, grace=5, for_=10)
RULES_FILE = "test-app-login-rehearsal.yaml"
MIN_GOOD_ROTATIONS = 4  # on demand, scheduled, and two after each fix
ON_DEMAND_ROTATIONS = 2  # before the schedule: the first creates the clone on a fresh rehearsal
# Scheduled rotations that must keep the alert inactive, and the failures of each stall (the
# full size: one stall per kind; CI: both kinds in one stall).
SCHEDULED_GOOD = {"full": 3, "ci": 1}
STALLS = {"full": (("wrong-master",), ("wrong-ca",)), "ci": (("wrong-master", "wrong-ca"),)}
# What each failure must be reported as (the step and the function's reason).
EXPECTED_ERROR = {
    "wrong-master": "setSecret failed: cannot log in with the master secret",
    "wrong-ca": "setSecret failed: the current login does not work",
}
SECRET_NAME = "test-app-rehearsal/database-app"  # noqa: S105 - a name, not a password
MASTER_NAME = "rds!cluster-rehearsal"
ALERT_POLL_SECONDS = 1.0


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
# The session's TLS as psql -At printed it ("t|TLSv1.3").
TLS_OF_SESSION = (
    "SELECT CASE WHEN ssl THEN 't' ELSE 'f' END || '|' || coalesce(version, '') "
    "FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
)


@dataclass
class AlertWatch:
    """Polls the alert's state in Prometheus; keeps each change as (monotonic time, state)."""

    topo: Topology
    name: str
    changes: list[tuple[float, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Poll until stopped (a thread's target)."""
        while not self._stop.is_set():
            with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                state = alert_state(self.topo, self.name)
                if not self.changes or self.changes[-1][1] != state:
                    self.changes.append((time.monotonic(), state))
            self._stop.wait(ALERT_POLL_SECONDS)

    def stop(self) -> None:
        """End the polling."""
        self._stop.set()

    def states(self, start: float, end: float) -> set[str]:
        """Every state the alert was in between ``start`` and ``end``."""
        before = [s for t, s in self.changes if t <= start]
        inside = {s for t, s in self.changes if start < t <= end}
        return inside | set(before[-1:])

    def first(self, state: str, after: float) -> float | None:
        """When the alert first entered ``state`` (or later, firing for pending) after ``after``."""
        later = {"pending": ("pending", "firing"), "firing": ("firing",)}.get(state, (state,))
        return next((t for t, s in self.changes if t >= after and s in later), None)


@dataclass
class Run:
    """What the rotations did and when (``time.monotonic()`` values)."""

    apps: list[str]
    pids_before: dict[str, int | None]
    log_lines: dict[str, int]
    sm: rotation.SecretsManager
    arn: str
    master_arn: str
    db: rotation.Database
    certs: Certificates
    pids_after: dict[str, int | None] = field(default_factory=dict)
    spans: list[tuple[float, float, str]] = field(default_factory=list)
    steps: list[dict[str, object]] = field(default_factory=list)
    stalls: list[dict[str, Any]] = field(default_factory=list)
    logins: list[dict[str, Any]] = field(default_factory=list)  # AWSCURRENT after each rotation
    terminated: int = 0
    switched: dict[str, list[str]] = field(default_factory=dict)
    provision_changes: list[str] = field(default_factory=list)
    clone_member_of: str = ""
    tls: str = ""
    scheduled_good: tuple[float, float] = (0.0, 0.0)
    good_states: list[str] = field(default_factory=list)
    last_start: float = 0.0
    watch: AlertWatch | None = None


def switched_users(lines: list[str]) -> list[str]:
    """Return the users an instance switched its login to, in order, from its log lines."""
    users = []
    for line in lines:
        if RELOADED_LOGGER in line and RELOADED_WORD in line:
            with contextlib.suppress(ValueError):
                users.append(str(json.loads(line).get("user")))
    return users


def _switched(topo: Topology, run: Run) -> dict[str, list[str]]:
    return {name: switched_users(topo.log_lines(name, run.log_lines[name])) for name in run.apps}


def _on_both_endpoints(topo: Topology, bins: Binaries, sql: str) -> int:
    """Run ``sql`` (one number out) on the writer and the reader; return the sum."""
    ports = (topo.port("pg-writer"), topo.port("pg-reader"))
    return sum(int(postgres.psql(topo, bins, port, sql)) for port in ports)


def _sessions_of(topo: Topology, bins: Binaries, user: str) -> int:
    return _on_both_endpoints(
        topo, bins,
        f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{user}' AND {_CLIENTS}",  # noqa: S608
    )  # fmt: skip


# The secret in moto --------------------------------------------------------------------------


def _create_secrets(topo: Topology, sm: rotation.SecretsManager) -> tuple[str, str]:
    """Create the master secret and the app's secret, shaped as the database stack makes them."""
    secrets = credentials.load_secrets(topo)
    master = sm.call("CreateSecret", Name=MASTER_NAME, SecretString=json.dumps(
        {"username": "postgres", "password": secrets.postgres}))  # fmt: skip
    current = credentials.load_app_secret(topo).current
    app = {
        "engine": "postgres", "host": "127.0.0.1", "port": topo.port("pg-writer"),
        "dbname": "test_app", "username": current.username, "password": current.password,
        "masterarn": master["ARN"], "ssl": True,
    }  # fmt: skip
    arn = sm.call("CreateSecret", Name=SECRET_NAME, SecretString=json.dumps(app))["ARN"]
    return str(arn), str(master["ARN"])


def _current_version(run: Run) -> str | None:
    return next((v for v, s in run.sm.stages(run.arn).items() if "AWSCURRENT" in s), None)


def _keep_secret(topo: Topology, run: Run) -> None:
    """Write the secret's current and previous login back to the state folder (between runs)."""
    current = run.sm.value(run.arn, "AWSCURRENT")
    previous = run.logins[-2] if len(run.logins) > 1 else None
    credentials.save_app_secret(
        topo,
        credentials.AppSecret(
            credentials.Login(current["username"], current["password"]),
            credentials.Login(previous["username"], previous["password"]) if previous else None,
        ),
    )


# One good rotation ----------------------------------------------------------------------------


def _rotate_once(
    topo: Topology, bins: Binaries, run: Run, rep: report.Report, label: str
) -> dict[str, object]:
    """Run the four steps, recycle the rotated user's sessions, swap the files; return the step."""
    started = time.monotonic()
    run.last_start = started
    offsets = {name: len(topo.log_lines(name)) for name in run.apps}
    token = rotation.next_token(run.sm, run.arn)
    reattempt = token in run.sm.stages(run.arn)
    outcome = rotation.rotate(run.sm, run.db, run.arn, token)
    current = run.sm.value(run.arn, "AWSCURRENT")
    run.logins.append(current)
    rotated = str(current["username"])
    held = _sessions_of(topo, bins, rotated)
    rep.mark(
        f"{label}: {', '.join(outcome.steps)} "
        f"({'; '.join(outcome.statements) or 'no SQL needed'}); {rotated} is AWSCURRENT; "
        f"{held} session(s) of {rotated} open"
    )
    if held:
        _recycle(topo, bins, run, rotated, offsets)
    left = _sessions_of(topo, bins, rotated)
    credentials.write_login_files(topo, credentials.Login(rotated, str(current["password"])))
    _keep_secret(topo, run)
    ended = time.monotonic()
    run.spans.append((started, ended, label))
    previous_works = (
        run.db.run(run.logins[-2], "SELECT 1") == [[1]] if len(run.logins) > 1 else None
    )
    two_back = run.logins[-3] if len(run.logins) > 2 else None  # noqa: PLR2004 - two rotations
    two_back_refused = run.db.run(two_back, "SELECT 1") is None if two_back else None
    rep.mark(f"{left} session(s) of {rotated} left with its old password; files: {rotated}")
    step: dict[str, object] = {
        "label": label, "user": rotated, "statements": outcome.statements, "steps": outcome.steps,
        "reattempt": reattempt, "sessions_held": held, "sessions_left": left,
        "previous_login_works": previous_works, "login_before_previous_refused": two_back_refused,
        "seconds": round(ended - started, 2),
    }  # fmt: skip
    run.steps.append(step)
    return step


def _recycle(
    topo: Topology, bins: Binaries, run: Run, rotated: str, offsets: dict[str, int]
) -> None:
    """End the rotated user's sessions, one instance out of the balancer at a time."""

    def moved(name: str) -> bool:
        return bool(switched_users(topo.log_lines(name, offsets[name])))

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
            with contextlib.suppress(WaitTimeoutError):
                wait_until(functools.partial(moved, name), RECYCLE_PAUSE_SECONDS, f"{name} to move")


# The schedule, the alert and the failures ---------------------------------------------------------


@contextlib.contextmanager
def scheduled_rule(topo: Topology) -> Iterator[None]:
    """Load the login-age rule rendered for ``SCHEDULE`` into Prometheus for the block."""
    folder = topo.etc / "rules"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RULES_FILE
    path.write_text(login_rotation.render(SCHEDULE, "rehearsal/scenarios/rotate.py (SCHEDULE)"))
    try:
        _reload_prometheus(topo, loaded=True)
        yield
    finally:
        path.unlink(missing_ok=True)
        _reload_prometheus(topo, loaded=False)


def _reload_prometheus(topo: Topology, *, loaded: bool) -> None:
    httpx.post(topo.url("prometheus", "/-/reload"), timeout=10).raise_for_status()

    def done() -> bool:
        groups = httpx.get(topo.url("prometheus", "/api/v1/rules"), timeout=3).json()
        files = {g["file"] for g in groups["data"]["groups"]}
        return any(f.endswith(RULES_FILE) for f in files) == loaded

    wait_until(done, 30, f"Prometheus to {'load' if loaded else 'drop'} {RULES_FILE}")


def _wait_for_schedule(run: Run) -> None:
    time.sleep(max(0.0, run.last_start + SCHEDULE.schedule - time.monotonic()))


@contextlib.contextmanager
def _fault(run: Run, kind: str) -> Iterator[rotation.Database]:
    """Break rotation one way for the block; yield the database client the function uses."""
    if kind == "wrong-master":
        good = run.sm.value(run.master_arn, "AWSCURRENT")
        wrong = json.dumps({**good, "password": "not-the-master-password"})
        run.sm.call("PutSecretValue", SecretId=run.master_arn, SecretString=wrong)
        try:
            yield run.db
        finally:
            run.sm.call("PutSecretValue", SecretId=run.master_arn, SecretString=json.dumps(good))
    elif kind == "wrong-ca":
        yield rotation.Database(run.certs.other_ca)
    else:
        raise RehearsalError(f"fault {kind!r}: expected one of {', '.join(EXPECTED_ERROR)}")


def _failing_attempt(run: Run, db: rotation.Database, kind: str) -> dict[str, object]:
    """One scheduled rotation that must fail; what it reported and what it left working."""
    version = _current_version(run)
    token = rotation.next_token(run.sm, run.arn)
    run.last_start = time.monotonic()
    try:
        rotation.rotate(run.sm, db, run.arn, token)
        error = ""
    except rotation.RotationError as err:
        error = str(err)
    current = run.sm.value(run.arn, "AWSCURRENT")
    return {
        "fault": kind,
        "token": token,
        "error": error,
        "as_expected": error.startswith(EXPECTED_ERROR[kind]),
        "awscurrent_unchanged": _current_version(run) == version,
        "current_login_works": run.db.run(current, "SELECT 1") == [[1]],
    }


def _stall(
    topo: Topology, bins: Binaries, run: Run, kinds: tuple[str, ...], rep: report.Report
) -> None:
    """Fail scheduled rotations until the alert fires; then fix it and rotate twice."""
    watch = run.watch
    if watch is None:
        raise RehearsalError("no alert watch: a stall runs inside the watched schedule")
    limit = SCHEDULE.threshold + SCHEDULE.for_ + 2 * SCHEDULE.schedule + 30
    stall: dict[str, Any] = {"faults": list(kinds), "attempts": []}
    started = time.monotonic()
    attempt = 0
    while watch.first("firing", started) is None:
        if time.monotonic() - started > limit:
            rep.mark(f"{login_rotation.ALERT} not firing {limit} s into the stall: giving up")
            break
        _wait_for_schedule(run)
        kind = kinds[min(attempt, len(kinds) - 1)]
        with _fault(run, kind) as db:
            tried = _failing_attempt(run, db, kind)
        stall["attempts"].append(tried)
        stall.setdefault("t_first_failure", run.last_start)
        rep.mark(
            f"scheduled rotation with {kind}: {tried['error'] or 'reported SUCCESS'}; "
            f"AWSCURRENT {'unchanged' if tried['awscurrent_unchanged'] else 'MOVED'}"
        )
        attempt += 1
        # Until the next scheduled time, or the alert fires.
        while watch.first("firing", started) is None and (
            time.monotonic() < run.last_start + SCHEDULE.schedule
        ):
            time.sleep(ALERT_POLL_SECONDS / 2)
    first = stall.get("t_first_failure", started)
    stall["t_pending"] = watch.first("pending", first)
    stall["t_firing"] = watch.first("firing", first)
    if stall["t_firing"] is not None:
        rep.mark(f"Prometheus: {login_rotation.ALERT} firing")
    # The fix, then "rotate now" twice: the first reattempts the unfinished rotation's token.
    stall["t_fixed"] = time.monotonic()
    rep.mark(f"fixed ({', '.join(kinds)}): rotate now, twice")
    failed_token = stall["attempts"][-1]["token"] if stall["attempts"] else None
    first_fix = _rotate_once(topo, bins, run, rep, f"after {kinds[-1]}: rotation 1 of 2")
    stall["reattempted_failed_token"] = bool(failed_token) and bool(first_fix["reattempt"])
    _rotate_once(topo, bins, run, rep, f"after {kinds[-1]}: rotation 2 of 2")
    try:
        wait_until(
            lambda: alert_state(topo, login_rotation.ALERT) == "inactive",
            60,
            f"{login_rotation.ALERT} to resolve",
        )
        resolved = time.monotonic()
    except WaitTimeoutError:
        resolved = None
    # The watch polls every second: it may not have seen the change yet.
    stall["t_resolved"] = watch.first("inactive", stall["t_fixed"]) or resolved
    if stall["t_resolved"] is not None:
        rep.mark(f"Prometheus: {login_rotation.ALERT} resolved")
    run.spans.append((first, stall["t_fixed"], f"failing: {', '.join(kinds)}"))
    run.stalls.append(stall)


def _newest_login_seen(topo: Topology) -> bool:
    """Whether Prometheus has seen the login of the latest rotation (younger than a schedule).

    The production rule records each login's first sighting. Until its next scrape Prometheus
    knows only the logins before the rotation: a rule loaded then judges the older login and
    goes pending for one evaluation (seen at full size).
    """
    age = query(topo, f"time() - max({login_rotation.RECORD})")
    return age is not None and age < SCHEDULE.schedule


def _watched(topo: Topology, bins: Binaries, run: Run, size: Size, rep: report.Report) -> None:
    """Scheduled rotations under the rehearsal's rule: good ones, then each stall and its fix."""
    watch = run.watch = AlertWatch(topo, login_rotation.ALERT)
    thread = threading.Thread(target=watch.run, daemon=True)
    wait_until(
        functools.partial(_newest_login_seen, topo),
        3 * SCHEDULE.schedule,
        "Prometheus to see the login of the latest rotation",
    )
    with scheduled_rule(topo):
        rep.mark(
            f"Prometheus loads {login_rotation.ALERT} for a rotation every "
            f"{SCHEDULE.schedule} s (pending past {SCHEDULE.threshold} s, for {SCHEDULE.for_} s)"
        )
        thread.start()
        try:
            start = time.monotonic()
            for number in range(1, SCHEDULED_GOOD[size.name] + 1):
                _wait_for_schedule(run)
                _rotate_once(topo, bins, run, rep, f"scheduled rotation {number}")
            _wait_for_schedule(run)
            run.scheduled_good = (start, time.monotonic())
            run.good_states = sorted(watch.states(*run.scheduled_good))
            rep.mark(f"{login_rotation.ALERT} while rotation worked: {', '.join(run.good_states)}")
            for kinds in STALLS[size.name]:
                _stall(topo, bins, run, kinds, rep)
        finally:
            watch.stop()
            thread.join(timeout=10)


# Report ------------------------------------------------------------------------------------


def _check_rotations(rep: report.Report, run: Run) -> None:
    """Check the good rotations: the four steps, no session left, the previous login kept."""
    four = all(s["steps"] == list(rotation.STEPS) for s in run.steps)
    rep.check(
        "good rotations (the four steps each)",
        len(run.steps),
        f">= {MIN_GOOD_ROTATIONS}",
        ok=len(run.steps) >= MIN_GOOD_ROTATIONS and four,
    )
    left = [int(str(s["sessions_left"])) for s in run.steps]
    rep.check("sessions left with a rotated-away password", sum(left), "0", ok=not any(left))
    kept = [s["previous_login_works"] for s in run.steps if s["previous_login_works"] is not None]
    rep.check(
        "previous login works after each rotation",
        f"{sum(map(bool, kept))} of {len(kept)}",
        "all",
        ok=bool(kept) and all(kept),
    )
    gone = [
        s["login_before_previous_refused"]
        for s in run.steps
        if s["login_before_previous_refused"] is not None
    ]
    rep.check(
        "login from two rotations back refused",
        f"{sum(map(bool, gone))} of {len(gone)}",
        "all",
        ok=bool(gone) and all(gone),
    )
    rep.check(
        "TLS of the function's sessions (verify-full, pg_stat_ssl)",
        run.tls.replace("|", " ") or "none",
        "ssl on",
        ok=run.tls.startswith("t|"),
    )


def _seconds(end: float | None, start: float | None) -> float | None:
    return round(end - start, 2) if end is not None and start is not None else None


def check_stall(rep: report.Report, stall: dict[str, Any]) -> None:
    """Check one stall: each failure reported as such, nothing moved, the alert fired, resolved."""
    alert = login_rotation.ALERT
    what = " then ".join(stall["faults"])
    attempts = stall["attempts"]
    reported = sorted({str(a["error"] or "SUCCESS") for a in attempts})
    rep.check(
        f"{what}: every failing rotation reported as failed in setSecret",
        "; ".join(reported) or "no attempt",
        "RotationError in setSecret",
        ok=bool(attempts) and all(a["as_expected"] for a in attempts),
    )
    kept = bool(attempts) and all(
        a["awscurrent_unchanged"] and a["current_login_works"] for a in attempts
    )
    rep.check(
        f"{what}: AWSCURRENT unchanged, current login works",
        "yes" if kept else "no",
        "yes",
        ok=kept,
    )
    limit = SCHEDULE.threshold + SCHEDULE.for_
    firing = _seconds(stall["t_firing"], stall.get("t_first_failure"))
    rep.check(
        f"{what}: {alert} firing after the first failure (s)",
        "never" if firing is None else firing,
        f"<= {limit} (threshold + for)",
        ok=firing is not None and firing <= limit,
    )
    pending_to_firing = _seconds(stall["t_firing"], stall["t_pending"])
    rep.check(
        f"{what}: pending -> firing (s)",
        "n/a" if pending_to_firing is None else pending_to_firing,
        f">= rule `for` ({SCHEDULE.for_} s, polled every {ALERT_POLL_SECONDS:g} s)",
        ok=pending_to_firing is not None
        and pending_to_firing >= SCHEDULE.for_ - ALERT_POLL_SECONDS,
    )
    resolved = _seconds(stall["t_resolved"], stall["t_fixed"])
    rep.check(
        f"{what}: fixed -> resolved (s)",
        "never" if resolved is None else resolved,
        "resolves after the reattempt and one more rotation",
        ok=resolved is not None and stall["reattempted_failed_token"],
    )


def _check_alerting(rep: report.Report, run: Run) -> None:
    rep.check(
        f"{login_rotation.ALERT} while scheduled rotations worked",
        ", ".join(run.good_states) or "none",
        "inactive",
        ok=run.good_states == ["inactive"],
    )
    if not run.stalls:
        rep.check("failing rotations rehearsed", 0, ">= 1", ok=False)
    for stall in run.stalls:
        check_stall(rep, stall)


def _record(rep: report.Report, run: Run, result: LoadResult, *, load_covered: bool) -> None:
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
    _check_rotations(rep, run)
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
    _check_alerting(rep, run)

    rep.numbers = {
        "requests": result.sent,
        "failed": result.failed(),
        "failed_by_type": result.failures_by_type(),
        "unanswered": result.unanswered,
        "schedule": {
            "schedule_seconds": SCHEDULE.schedule,
            "window_seconds": SCHEDULE.window,
            "grace_seconds": SCHEDULE.grace,
            "for_seconds": SCHEDULE.for_,
            "threshold_seconds": SCHEDULE.threshold,
        },
        "tls": run.tls,
        "rotations": run.steps,
        "alert_while_good": run.good_states,
        "stalls": [
            {
                "faults": s["faults"],
                "attempts": [{k: v for k, v in a.items() if k != "token"} for a in s["attempts"]],
                "pending_after_seconds": _seconds(s["t_pending"], s.get("t_first_failure")),
                "firing_after_seconds": _seconds(s["t_firing"], s.get("t_first_failure")),
                "resolved_after_fix_seconds": _seconds(s["t_resolved"], s["t_fixed"]),
                "reattempted_failed_token": s["reattempted_failed_token"],
            }
            for s in run.stalls
        ],
        "idle_connections_recycled": run.terminated,
        "switched": run.switched,
        "provision_changes": run.provision_changes,
        "clone_member_of": run.clone_member_of,
        "pids_before": run.pids_before,
        "pids_after": run.pids_after,
    }


def _prepare(topo: Topology, sm: rotation.SecretsManager) -> Run:
    apps = instances.running_apps(topo)
    arn, master_arn = _create_secrets(topo, sm)
    certs = credentials.server_certificates(topo)
    db = rotation.Database(certs.ca)
    run = Run(
        apps, instances.app_pids(topo), {name: len(topo.log_lines(name)) for name in apps},
        sm, arn, master_arn, db, certs,
    )  # fmt: skip
    current = sm.value(arn, "AWSCURRENT")
    run.logins.append(current)
    rows = db.run(current, TLS_OF_SESSION)
    run.tls = str(rows[0][0]) if rows else ""
    if not run.tls:
        raise RehearsalError("the app's login does not open a TLS session verified by the CA")
    return run


def run(topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:
    """Rotate the app's login with AWS's steps under load, then fail it; return the report."""
    rep = report.Report(
        "rotate", "AWS multi-user rotation under load, watched by its alert", command
    )
    bins = find_binaries()
    budget = (
        ON_DEMAND_ROTATIONS * 10
        + (SCHEDULED_GOOD[size.name] + 1) * SCHEDULE.schedule
        + len(STALLS[size.name]) * (SCHEDULE.threshold + SCHEDULE.for_ + 3 * SCHEDULE.schedule + 60)
    )
    duration = size.baseline_seconds + budget + size.tail_seconds
    spec = LoadSpec.for_seconds(
        topo.url("app-lb", "/health"), size.concurrency, size.rate, duration
    )
    with rotation.moto_server() as sm:
        state = _prepare(topo, sm)
        load = Load(spec, topo.state_dir / "rotate-hey.csv")
        rep.start_clock(load.started_at)
        rep.mark(
            f"load starts: {spec.concurrency} workers x {spec.rate} req/s on GET /health; "
            f"secret in moto, TLS {state.tls.replace('|', ' ')} verified by the CA"
        )
        try:
            time.sleep(size.baseline_seconds)
            for number in range(1, ON_DEMAND_ROTATIONS + 1):
                _rotate_once(topo, bins, state, rep, f"rotation {number}")
            _watched(topo, bins, state, size, rep)
            time.sleep(size.tail_seconds)
        except BaseException:
            with contextlib.suppress(Exception):
                load.stop()
            raise
        load_covered = load.running()
        result = load.stop()
    rep.mark("load ends")
    state.switched = _switched(topo, state)
    state.pids_after = instances.app_pids(topo)
    # The next release's hook: the same step, now with the clone the rotation created.
    state.provision_changes = credentials.provision_app_role(
        topo, bins, credentials.load_secrets(topo)
    )
    state.clone_member_of = postgres.psql(topo, bins, topo.port("pg-writer"), CLONE_MEMBERSHIP)
    _record(rep, state, result, load_covered=load_covered)
    rep.notes += [
        (
            "Secrets Manager is moto (on loopback); the four steps are the rotation function's "
            "own (test_app_rotation, as AWS's SecretsManagerRDSPostgreSQLRotationMultiUser "
            "performs them), every login with its pg8000 client over TLS verify-full against the "
            "rehearsal's CA and no plaintext fallback. The rehearsal calls the steps on its "
            "schedule in place of Secrets Manager and Lambda."
        ),
        (
            f"The alert is production's rule rendered for a rotation every {SCHEDULE.schedule} s "
            "(observability/login-rotation.yaml has 30 days): pending past "
            f"{SCHEDULE.threshold} s, firing {SCHEDULE.for_} s later; Prometheus evaluates "
            "every 5 s."
        ),
        (
            "PostgreSQL checks a password at login only, so open connections outlive a rotation; "
            "the idle sessions of the rotated user were ended on purpose so that every instance "
            "holding it had to log in again during the run, each instance in turn out of the "
            f"balancer for {DRAIN_SETTLE_SECONDS} s while its sessions idle for "
            f"{IDLE_MILLISECONDS} ms ended. External Secrets' delay is not waited for: the "
            "files change as soon as every instance moved."
        ),
    ]
    png = out_dir / "rotate.png"
    # Only the stalls are named on the plot: the rotations are seconds apart (see the timeline).
    spans = [
        (s - rep.t0, e - rep.t0, label if label.startswith("failing") else "")
        for s, e, label in state.spans
    ]
    title = "AWS multi-user rotation under load, then failing rotations (GET /health via HAProxy)"
    report.plot(png, title, result, list(rep.timeline), spans)
    report.write(rep, out_dir, png)
    return rep
