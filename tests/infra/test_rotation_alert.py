"""The login-age alert follows the database stack's rotation period.

Rotation alternates two users and a pod takes a new login when its own is changed: the app's
login is at most two periods plus the rotation window plus the ExternalSecret's refresh old.
TestAppDatabaseLoginNotRotated is rendered from observability/login-rotation.yaml; its schedule
must be the stack's, its window at least the rotation window plus the refresh (or it pages on a
working rotation), and its threshold not much longer (or a stall goes unnoticed for weeks).
"""

from __future__ import annotations

import re

import hcl2
import yaml

from test_app_tooling import login_rotation
from test_app_tooling.analysis import seconds
from test_app_tooling.helm_render import by_kind, render_value_set
from test_app_tooling.tools import REPO


DAY = 86400
SETTING = REPO / "observability" / "login-rotation.yaml"


def variable_default(name: str) -> object:
    parsed = hcl2.loads((REPO / "infra" / "stacks" / "database" / "variables.tf").read_text())
    [block] = [b for b in parsed["variable"] if name in b or f'"{name}"' in b]
    return next(iter(block.values()))["default"]


def alert_threshold_seconds() -> int:
    rules = yaml.safe_load((REPO / "observability" / "rules" / "test-app-login.yaml").read_text())
    [rule] = [
        r
        for g in rules["groups"]
        for r in g["rules"]
        if r.get("alert") == "TestAppDatabaseLoginNotRotated"
    ]
    found = re.search(r"> (\d+) \* 86400", rule["expr"])
    assert found, rule["expr"]
    return int(found[1]) * DAY


def refresh_seconds() -> int:
    """The longest refresh of the app's ExternalSecret in any environment, as Helm renders it."""
    intervals = [
        seconds(str(secret["spec"]["refreshInterval"]), f"{env}: ExternalSecret refreshInterval")
        for env in ("staging", "prod")
        for secret in by_kind(render_value_set(env), "ExternalSecret")
        if secret["spec"]["refreshInterval"] != "0"  # the role Job's secret, read once
    ]
    assert intervals, "no environment renders the app's ExternalSecret"
    return int(max(intervals))


def rotation_window_seconds() -> int:
    window = str(variable_default("app_secret_rotation_window")).strip('"')
    return int(window.removesuffix("h")) * 3600


def test_the_alert_waits_for_two_rotations_and_no_more_than_three_days_longer():
    days = int(str(variable_default("app_secret_rotation_days")))
    earliest = 2 * days * DAY + rotation_window_seconds() + refresh_seconds()
    threshold = alert_threshold_seconds()
    assert earliest <= threshold <= 2 * days * DAY + 3 * DAY, (earliest, threshold)


def test_the_alerts_schedule_is_the_stacks_and_its_window_covers_rotation_and_refresh():
    schedule = login_rotation.load(SETTING)
    assert schedule.schedule == int(str(variable_default("app_secret_rotation_days"))) * DAY
    assert schedule.window >= rotation_window_seconds() + refresh_seconds()
    assert schedule.threshold == alert_threshold_seconds()
