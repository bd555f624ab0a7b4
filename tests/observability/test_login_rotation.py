"""TestAppDatabaseLoginNotRotated is one rule with the rotation schedule as its parameter.

Production renders it from observability/login-rotation.yaml (30 days); the rehearsal renders
the same rule with a schedule of seconds. promtool evaluates both renderings: each pages only
once the newest login is older than two periods plus the window plus the grace, after `for`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from test_app_tooling import login_rotation
from test_app_tooling.tools import REPO


SETTING = REPO / "observability" / "login-rotation.yaml"
INFO = 'test_app_db_login_info{{namespace="test-app",pod="a",user="{user}",fingerprint="{login}"}}'
# Working rotation, sampled every 5 s: the pod keeps each login two periods (40 s), alternating
# users, then marks it 0; login k is in use from 40k s.
WORKING = [
    {
        "series": INFO.format(user=("test_app", "test_app_clone")[k % 2], login=f"login{k}"),
        "values": " ".join(["_"] * (8 * k) + ["1"] * 8 + ["0"] * (32 - 8 * k)),
    }
    for k in range(5)
]


def test_production_schedule_gives_the_62_day_rule():
    schedule = login_rotation.load(SETTING)
    assert schedule.threshold == 62 * 86400
    assert schedule.replaced_within == 61 * 86400
    assert schedule.for_ == 3600
    [group] = yaml.safe_load(login_rotation.render(schedule, "x"))["groups"]
    rules = {r.get("record") or r["alert"]: r for r in group["rules"]}
    assert list(rules) == [
        login_rotation.RECORD,
        login_rotation.CLOCK,
        login_rotation.ALERT,
        login_rotation.RESET_ALERT,
    ]
    record, rule = rules[login_rotation.RECORD], rules[login_rotation.ALERT]
    clock, reset = rules[login_rotation.CLOCK], rules[login_rotation.RESET_ALERT]
    assert f"[{login_rotation.LOOKBACK}]" in clock["expr"]
    assert reset["expr"].strip().endswith(f"< {login_rotation.RESET_NOTICE}")
    assert reset["labels"]["severity"] == "warning"
    assert record["record"] == login_rotation.RECORD
    assert f"[{login_rotation.LOOKBACK}]" in record["expr"]
    assert rule["alert"] == login_rotation.ALERT
    assert rule["expr"].strip().endswith("> 62 * 86400")
    assert rule["for"] == "1h"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"schedule": "30d", "window": "1d", "grace": "1d"},
            (
                r"^login-rotation\.yaml\.for: expected a Prometheus duration like 30d, 1h or 15s, "
                r"missing$"
            ),
        ),
        (
            {"schedule": "30d", "window": "1d", "grace": "1d", "for": "1h", "x": 1},
            r"^login-rotation\.yaml: expected only schedule, window, grace, for, got \['x'\]$",
        ),
        (
            {"schedule": "30 days", "window": "1d", "grace": "1d", "for": "1h"},
            (
                r"^login-rotation\.yaml\.schedule: expected a Prometheus duration like 30d, 1h "
                r"or 15s, got '30 days'$"
            ),
        ),
        (
            {"schedule": "30d", "window": 5, "grace": "1d", "for": "1h"},
            r"^login-rotation\.yaml\.window: expected a Prometheus duration .*, got 5$",
        ),
        (
            {"schedule": "30d", "window": "1d", "grace": "0s", "for": "1h"},
            r"^login-rotation\.yaml\.grace: expected a duration above zero, got '0s'$",
        ),
        (["30d"], r"^login-rotation\.yaml: expected a mapping, got \['30d'\]$"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field(data, message):
    with pytest.raises(login_rotation.ScheduleError, match=message):
        login_rotation.Schedule.parse(data, "login-rotation.yaml")


def test_durations_are_named_in_the_largest_exact_unit():
    assert login_rotation.humanize(62 * 86400) == "62 days"
    assert login_rotation.humanize(86400) == "1 day"
    assert login_rotation.humanize(90) == "90 seconds"
    assert login_rotation.duration_seconds("1h30m", "x") == 5400


def _promtool_test(tmp_path: Path, schedule: login_rotation.Schedule, tests: list[object]) -> Path:
    rules = tmp_path / "rules.yaml"
    rules.write_text(login_rotation.render(schedule, "a test"))
    test = tmp_path / "rules_test.yaml"
    test.write_text(yaml.safe_dump({"rule_files": [rules.name], "evaluation_interval": "5s",
                                    "tests": tests}))  # fmt: skip
    return test


def test_a_schedule_of_seconds_pages_after_two_periods_window_grace_and_for(tool, tmp_path):
    # 20 s period, 20 s window, 5 s grace: pending past 65 s, firing 10 s later.
    schedule = login_rotation.Schedule(schedule=20, window=20, grace=5, for_=10)
    login = INFO.format(user="test_app", login="0a1b2c3d4e5f")
    tests = [
        {
            # The login is first seen at 5 s and never changes: older than 65 s from the
            # evaluation at 75 s (pending), firing 10 s later.
            "interval": "5s",
            "input_series": [{"series": login, "values": "_ 1x30"}],
            "alert_rule_test": [
                {"alertname": login_rotation.ALERT, "eval_time": "80s", "exp_alerts": []},
                {
                    "alertname": login_rotation.ALERT,
                    "eval_time": "85s",
                    "exp_alerts": [
                        {
                            "exp_labels": {
                                "severity": "critical",
                                "team": "test-app",
                                "service": "test-app",
                                "namespace": "test-app",
                            },
                            "exp_annotations": {
                                "summary": "The database login the app uses has not changed "
                                "for over 65 seconds.",
                                "description": "The newest database login of test-app in "
                                "namespace test-app is 1m 20s old; rotation (every 20 seconds, "
                                "alternating users) should have replaced it within 1 minute.",
                                "runbook_url": login_rotation.RUNBOOK,
                            },
                        }
                    ],
                },
            ],
        },
        {
            # Working rotation: the pod's login is up to 40 s old (two periods), never older
            # than 65 s.
            "interval": "5s",
            "input_series": WORKING,
            "alert_rule_test": [
                {"alertname": login_rotation.ALERT, "eval_time": f"{t}s", "exp_alerts": []}
                for t in range(0, 200, 5)
            ],
        },
    ]
    test = _promtool_test(tmp_path, schedule, tests)
    result = subprocess.run(
        [tool("promtool"), "test", "rules", test.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
