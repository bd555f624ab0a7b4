"""The Alertmanager configuration: valid, routes by team and severity, inhibits as intended."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from test_app_tooling.process import stop, wait_until_ready
from test_app_tooling.tools import REPO


CONFIG = REPO / "observability" / "alertmanager" / "alertmanager.yml"
SECRETS_DIR = "/etc/alertmanager/secrets/alertmanager-receivers/"


def _config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return config


def test_amtool_check_config(tool):
    result = subprocess.run(
        [tool("amtool"), "check-config", str(CONFIG)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        # A page of the app's team.
        (
            {"alertname": "TestAppDatabaseUnreachable", "severity": "critical", "team": "test-app"},
            "test-app-pager",
        ),
        # A ticket of the app's team.
        (
            {"alertname": "TestAppReplicaLagHigh", "severity": "warning", "team": "test-app"},
            "test-app-tickets",
        ),
        # kube-prometheus-stack's heartbeat: never a human.
        ({"alertname": "Watchdog", "severity": "none"}, "null"),
        ({"alertname": "InfoInhibitor", "severity": "none"}, "null"),
        # Default cluster alerts carry no team: the platform team gets them.
        ({"alertname": "KubeNodeNotReady", "severity": "warning"}, "platform-tickets"),
        ({"alertname": "KubeAPIDown", "severity": "critical"}, "platform-pager"),
        # Platform-owned alert about the app's nodes.
        (
            {"alertname": "TestAppNodePressure", "severity": "warning", "team": "platform"},
            "platform-tickets",
        ),
        # An unknown team still reaches a human.
        ({"alertname": "Mystery", "severity": "critical", "team": "unknown"}, "platform-tickets"),
    ],
    ids=lambda v: v if isinstance(v, str) else v["alertname"],
)
def test_amtool_routes(tool, labels, receiver):
    result = subprocess.run(
        [
            tool("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={CONFIG}",
            f"--verify.receivers={receiver}",
            *(f"{key}={value}" for key, value in labels.items()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_every_alert_routes_to_its_team_by_severity(tool, alerts):
    expected = {
        ("test-app", "critical"): "test-app-pager",
        ("test-app", "warning"): "test-app-tickets",
        ("platform", "critical"): "platform-pager",
        ("platform", "warning"): "platform-tickets",
    }
    for alert in alerts:
        labels = {"alertname": alert["alert"], **alert["labels"]}
        result = subprocess.run(
            [
                tool("amtool"),
                "config",
                "routes",
                "test",
                f"--config.file={CONFIG}",
                *(f"{key}={value}" for key, value in labels.items()),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        want = expected[(labels["team"], labels["severity"])]
        assert result.stdout.strip() == want, f"{alert['alert']}: {result.stdout}{result.stderr}"


def test_receiver_secrets_come_from_files():
    """No key, token or URL inline: every receiver secret is a *_file under the mounted Secret."""
    config = _config()
    secret_keys = {"routing_key", "service_key", "api_url", "url", "api_key", "token", "password"}
    checked = 0
    for receiver in config["receivers"]:
        for kind, entries in receiver.items():
            if not kind.endswith("_configs"):
                continue
            for entry in entries:
                inline = secret_keys & set(entry)
                assert not inline, f"{receiver['name']}: inline secret {inline}"
                files = [v for k, v in entry.items() if k.endswith("_file")]
                assert files, f"{receiver['name']}: {kind} entry reads no secret file"
                assert all(f.startswith(SECRETS_DIR) for f in files), files
                checked += 1
    assert checked >= 4
    assert "null" in {r["name"] for r in config["receivers"]}


def _matches(matchers: list[str], labels: dict[str, str]) -> bool:
    for matcher in matchers:
        match = re.fullmatch(r'(\w+)\s*(=~|!~|!=|=)\s*"(.*)"', matcher)
        assert match, f"cannot read matcher {matcher!r}"
        name, op, value = match.groups()
        actual = labels.get(name, "")
        ok = {
            "=": actual == value,
            "!=": actual != value,
            "=~": re.fullmatch(value, actual) is not None,
            "!~": re.fullmatch(value, actual) is None,
        }[op]
        if not ok:
            return False
    return True


def test_inhibit_rules_of_the_service_match_real_alerts(alerts):
    """Each of our inhibit rules pairs a defined source with a defined target on `equal`."""
    defined = [{"alertname": a["alert"], **a["labels"]} for a in alerts]
    ours = [r for r in _config()["inhibit_rules"] if "TestApp" in str(r["source_matchers"])]
    assert len(ours) >= 3
    for rule in ours:
        sources = [a for a in defined if _matches(rule["source_matchers"], a)]
        targets = [a for a in defined if _matches(rule["target_matchers"], a)]
        assert sources, f"inhibit rule matches no source alert: {rule}"
        assert targets, f"inhibit rule matches no target alert: {rule}"
        # `namespace` comes from the series; the static labels must already agree.
        static = [label for label in rule["equal"] if label != "namespace"]
        for target in targets:
            assert any(
                all(source.get(label) == target.get(label) for label in static)
                for source in sources
            ), f"{target['alertname']} can never be inhibited by {rule['source_matchers']}"
        for label in static:
            assert all(label in a for a in sources + targets), f"{label} missing: {rule}"


def test_database_outage_inhibits_the_symptoms_it_causes(alerts):
    rule = next(
        r
        for r in _config()["inhibit_rules"]
        if r["source_matchers"] == ['alertname="TestAppDatabaseUnreachable"']
    )
    names = {a["alert"] for a in alerts}
    inhibited = {n for n in names if _matches(rule["target_matchers"], {"alertname": n})}
    assert inhibited == {
        "TestAppAvailabilityBudgetBurnFast",
        "TestAppAvailabilityBudgetBurnSlow",
        "TestAppProbeFailing",
        "TestAppReadinessErrorsHigh",
        "TestAppPodNotReady",
    }


# --- a real Alertmanager on loopback: inhibition as Alertmanager itself computes it -----------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def alertmanager(tool, tmp_path: Path) -> Iterator[str]:
    """Start Alertmanager with the real config (secret paths pointed at dummy files)."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    text = CONFIG.read_text(encoding="utf-8")
    for name in set(re.findall(re.escape(SECRETS_DIR) + r"([\w.-]+)", text)):
        (secrets / name).write_text("https://127.0.0.1:9/unused\n", encoding="utf-8")
    config = tmp_path / "alertmanager.yml"
    config.write_text(text.replace(SECRETS_DIR, f"{secrets}/"), encoding="utf-8")
    binary = _alertmanager_binary(tool)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_ready(process, f"{url}/-/ready", tmp_path / "alertmanager.log")
        yield url
    finally:
        stop(process)
        log.close()


def _alertmanager_binary(tool: Callable[[str], str]) -> str:
    # Debian names the server prometheus-alertmanager; upstream archives name it alertmanager.
    for name in ("prometheus-alertmanager", "alertmanager"):
        try:
            return tool(name)
        except pytest.fail.Exception:
            continue
    return tool("alertmanager")


def _alert(rule: dict[str, Any], **extra: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": rule["alert"], **rule["labels"], **extra},
        "annotations": {"summary": rule["annotations"]["summary"]},
    }


def _states(url: str, expected: int) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        found = httpx.get(f"{url}/api/v2/alerts", timeout=5).json()
        states = {a["labels"]["alertname"]: a["status"] for a in found}
        settled = len(found) == expected and all(
            s["state"] != "unprocessed" for s in states.values()
        )
        if settled or time.monotonic() > deadline:
            return states
        time.sleep(0.2)


@pytest.mark.integration
def test_alertmanager_inhibits_app_symptoms_during_a_database_outage(alertmanager, alerts):
    by_name = {a["alert"]: a for a in alerts}
    cause = by_name["TestAppDatabaseUnreachable"]
    symptoms = ["TestAppAvailabilityBudgetBurnFast", "TestAppProbeFailing", "TestAppPodNotReady"]
    unrelated = "TestAppHPAMaxedOut"
    posted = [_alert(cause, namespace="test-app", target="writer")]
    posted += [_alert(by_name[name], namespace="test-app") for name in [*symptoms, unrelated]]
    response = httpx.post(f"{alertmanager}/api/v2/alerts", json=posted, timeout=5)
    assert response.status_code == 200, response.text
    states = _states(alertmanager, len(posted))
    assert states["TestAppDatabaseUnreachable"]["state"] == "active"
    assert states[unrelated]["state"] == "active"
    for name in symptoms:
        assert states[name]["state"] == "suppressed", json.dumps(states, indent=1)
        assert states[name]["inhibitedBy"], name


@pytest.mark.integration
def test_alertmanager_shows_symptoms_when_the_database_is_fine(alertmanager, alerts):
    by_name = {a["alert"]: a for a in alerts}
    posted = [_alert(by_name["TestAppAvailabilityBudgetBurnFast"], namespace="test-app")]
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=posted, timeout=5).status_code == 200
    states = _states(alertmanager, 1)
    assert states["TestAppAvailabilityBudgetBurnFast"]["state"] == "active"


@pytest.mark.integration
def test_alertmanager_mutes_lag_behind_a_reader_outage_and_slow_behind_fast_burn(
    alertmanager, alerts
):
    by_name = {a["alert"]: a for a in alerts}
    posted = [
        _alert(by_name["TestAppDatabaseReaderUnreachable"], namespace="test-app", target="reader"),
        _alert(by_name["TestAppReplicaLagHigh"], namespace="test-app"),
        _alert(by_name["TestAppReplicaLagUnknown"], namespace="test-app"),
        _alert(by_name["TestAppLatencyBudgetBurnFast"], namespace="test-app"),
        _alert(by_name["TestAppLatencyBudgetBurnSlow"], namespace="test-app"),
        # Another SLO's slow burn is not muted by the latency fast burn.
        _alert(by_name["TestAppAvailabilityBudgetBurnSlow"], namespace="test-app"),
    ]
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=posted, timeout=5).status_code == 200
    states = _states(alertmanager, len(posted))
    suppressed = {name for name, status in states.items() if status["state"] == "suppressed"}
    assert suppressed == {
        "TestAppReplicaLagHigh",
        "TestAppReplicaLagUnknown",
        "TestAppLatencyBudgetBurnSlow",
    }, states
