"""The login-age alert, rendered from the rotation schedule it watches.

`TestAppDatabaseLoginNotRotated` pages when the newest database login any pod uses is older than
two rotation periods plus the time a working rotation takes to reach the pods (`window`) plus
`grace`. Rotation alternates two users and a pod takes a new login only when its own is changed,
so a working rotation never lets a login get older than two periods plus the window; a stalled
one (a failing function, rotation turned off, External Secrets stuck) does.

A login's age is how long Prometheus has seen it in use, not anything a pod knows: the app
exports `test_app_db_login_info{user, fingerprint}` and the recording rule `RECORD` keeps, per
namespace and login, the time it was first seen, reading its own previous value (within
`LOOKBACK`) so that pods coming and going under one login keep it. A new pod gets a freshly
written secret volume, so anything read from the files (their modification time) would restart
the clock at every deploy. The since time lives in Prometheus' storage: losing that data restarts
the clock (the alert is late by up to what was lost), and so does a gap longer than `LOOKBACK`
(no evaluation, or no pod reporting the login). That restart is not silent: `CLOCK` records, per
namespace, when Prometheus last started counting from nothing (no since time of the namespace
within `LOOKBACK` while a pod reports a login: the first deploy, a gap, lost storage), carried
the same way, and `RESET_ALERT` opens a ticket for `RESET_NOTICE` seconds after it: the age alert
cannot fire before the threshold has passed again, so rotation must be checked in Secrets Manager
meanwhile. A rotation (a new login while the namespace is watched) does not restart it.

Production's schedule is `observability/login-rotation.yaml` (`observability/generate.py` writes
`observability/rules/test-app-login.yaml` from it and copies it into the chart). The rehearsal
renders the SAME rule with a schedule of seconds, so a failed rotation pages within its run.
Durations are Prometheus durations (`30d`, `1h`, `15s`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from test_app_tooling import fields
from test_app_tooling.fields import FieldError


ALERT = "TestAppDatabaseLoginNotRotated"
RECORD = "test_app:db_login_current_since:timestamp"
RESET_ALERT = "TestAppDatabaseLoginAgeReset"
CLOCK = "test_app:db_login_clock_started:timestamp"
# How long the reset alert stays active after the clock restarted (one ticket, not a page).
RESET_NOTICE = 3600
INFO = "test_app_db_login_info"
LOGIN_LABELS = "namespace, user, fingerprint"
# How long a login's since time outlives the last sample showing it in use: a Prometheus outage
# or a namespace without pods shorter than this keeps it. A login never comes back after it is
# replaced (a rotation always sets a new password: a new fingerprint), so long is safe.
LOOKBACK = "1d"
GROUP = "test-app-login-rotation"
RUNBOOK = (
    "https://github.com/acme/test-app/blob/main/docs/runbooks/database/"
    "TestAppDatabaseLoginNotRotated.md"
)
RESET_RUNBOOK = RUNBOOK.replace(ALERT, RESET_ALERT)
UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION = re.compile(r"^(?:\d+[ywdhms])+$")
DURATION_WORDS = "a Prometheus duration like 30d, 1h or 15s"
FIELDS = ("schedule", "window", "grace", "for")
NAMES = {86400: "day", 3600: "hour", 60: "minute", 1: "second"}


class ScheduleError(FieldError):
    """A rotation schedule setting is missing or malformed; the message names the field."""


def duration_seconds(value: object, where: str) -> int:
    """A Prometheus duration of whole seconds (`30d`, `1h30m`, `15s`) in seconds."""
    text = value if isinstance(value, str) else ""
    if not DURATION.match(text):
        raise ScheduleError(fields.message(where, DURATION_WORDS, value))
    seconds = sum(int(n) * UNITS[u] for n, u in re.findall(r"(\d+)([ywdhms])", text))
    if seconds <= 0:
        raise ScheduleError(fields.message(where, "a duration above zero", value))
    return seconds


def humanize(seconds: int) -> str:
    """`5356800` -> `62 days`, `90` -> `90 seconds`: the largest unit that divides exactly."""
    for size, name in NAMES.items():
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {name}{'' if count == 1 else 's'}"
    raise AssertionError("every whole number of seconds divides by 1")  # pragma: no cover


@dataclass(frozen=True)
class Schedule:
    """How often the login rotates and how long the alert allows, all in seconds.

    `schedule`: the period between two rotations; `window`: the longest a working rotation
    takes to reach every pod (the rotation window, the secret's refresh, the kubelet, the
    metric's scrape); `grace`: slack past that; `for_`: the rule's `for`.
    """

    schedule: int
    window: int
    grace: int
    for_: int

    @classmethod
    def parse(cls, data: object, where: str) -> Schedule:
        """Read `schedule`, `window`, `grace` and `for` from a mapping of durations."""
        try:
            found = fields.mapping(data, where)
            unknown = sorted(set(found) - set(FIELDS))
            if unknown:
                raise fields.expected(where, f"only {', '.join(FIELDS)}", unknown)
            values = [
                duration_seconds(
                    fields.field(found, name, where, str, DURATION_WORDS), fields.at(where, name)
                )
                for name in FIELDS
            ]
        except ScheduleError:
            raise
        except FieldError as err:
            raise ScheduleError(str(err)) from None
        return cls(*values)

    @property
    def replaced_within(self) -> int:
        """The oldest a login gets while rotation works: two periods plus the window."""
        return 2 * self.schedule + self.window

    @property
    def threshold(self) -> int:
        """The age past which the alert is pending."""
        return self.replaced_within + self.grace


def load(path: Path) -> Schedule:
    """Read a schedule file (YAML); a bad field is named with the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ScheduleError(f"{path.name}: {err}") from err
    return Schedule.parse(data, path.name)


def _seconds_expr(seconds: int) -> str:
    return f"{seconds // 86400} * 86400" if seconds % 86400 == 0 else str(seconds)


def _prometheus_duration(seconds: int) -> str:
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render(schedule: Schedule, source: str) -> str:
    """The rule file holding the alert for ``schedule``; ``source`` names where it came from."""
    threshold = humanize(schedule.threshold)
    return f"""\
# GENERATED (test_app_tooling.login_rotation) from {source}: do not edit.
# Change the schedule there and run `make observability-generate`.
groups:
  - name: {GROUP}
    rules:
      # Since when each login (user, fingerprint of the password) has been in use in a namespace,
      # as Prometheus saw it: its own previous value while any pod still uses the login (pods
      # replaced under one login keep it; a gap under {LOOKBACK} too), else now. Not from the pods:
      # a new pod's secret volume is freshly written.
      - record: {RECORD}
        expr: |
          (
            last_over_time({RECORD}[{LOOKBACK}])
              and on ({LOGIN_LABELS})
            max by ({LOGIN_LABELS}) ({INFO} == 1)
          )
          or
          (max by ({LOGIN_LABELS}) ({INFO} == 1) * 0 + time())
      # When Prometheus last started counting the namespace's login ages from nothing: carried
      # like the since time while any pod reports a login, else now (first deploy, a gap over
      # {LOOKBACK}, lost storage). A rotation does not restart it.
      - record: {CLOCK}
        expr: |
          (
            last_over_time({CLOCK}[{LOOKBACK}])
              and on (namespace)
            max by (namespace) ({INFO} == 1)
          )
          or
          (max by (namespace) ({INFO} == 1) * 0 + time())
      # Rotation alternates two users and a pod takes a new login only when its own is changed:
      # while rotation works, the newest login is at most two periods plus the window old
      # (schedule: {humanize(schedule.schedule)}, window: {humanize(schedule.window)}). Older means rotation stalled, failing or
      # not (RotationFailed and the function's errors also page through CloudWatch,
      # infra/stacks/database). A process whose login comes from the environment exports none.
      - alert: {ALERT}
        expr: |
          time() - max by (namespace) ({RECORD}) > {_seconds_expr(schedule.threshold)}
        for: {_prometheus_duration(schedule.for_)}
        labels:
          severity: critical
          team: test-app
          service: test-app
        annotations:
          summary: The database login the app uses has not changed for over {threshold}.
          description: >-
            The newest database login of test-app in namespace {{{{ $labels.namespace }}}} is
            {{{{ $value | humanizeDuration }}}} old; rotation (every {humanize(schedule.schedule)}, alternating users)
            should have replaced it within {humanize(schedule.replaced_within)}.
          runbook_url: {RUNBOOK}
      # The age clock restarted: {ALERT} cannot fire before
      # {threshold} have passed again. A ticket: check rotation in Secrets Manager meanwhile.
      - alert: {RESET_ALERT}
        expr: |
          time() - max by (namespace) ({CLOCK}) < {RESET_NOTICE}
        for: 0m
        labels:
          severity: warning
          team: test-app
          service: test-app
        annotations:
          summary: The login-age watch of test-app restarted from nothing.
          description: >-
            Prometheus held no login age of test-app in namespace {{{{ $labels.namespace }}}}
            within its lookback ({LOOKBACK}: the first deploy, a gap in evaluation or in the
            pods' reports, or lost storage) and counts from now: {ALERT}
            cannot fire for {threshold}. Check the secret's rotation in Secrets Manager until then.
          runbook_url: {RESET_RUNBOOK}
"""  # noqa: E501 - the expression and description lines are the rule's own
