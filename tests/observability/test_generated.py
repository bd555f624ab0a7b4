"""Generated files are up to date, the chart ships exact copies, bad SLO input is named."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from test_app_tooling.tools import REPO


GENERATOR = REPO / "observability" / "generate.py"
CHART_FILES = REPO / "charts" / "test-app" / "files"


def test_generated_rules_dashboards_and_chart_copies_are_up_to_date():
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"run `make observability-generate`:\n{result.stderr}"


def test_chart_ships_every_rule_file_and_dashboard_byte_for_byte(rule_files):
    sources = rule_files + sorted((REPO / "observability" / "dashboards").glob("*.json"))
    copies = sorted((CHART_FILES / "rules").glob("*.yaml")) + sorted(
        (CHART_FILES / "dashboards").glob("*.json")
    )
    assert len(copies) == len(sources) >= 5
    for source in sources:
        folder = "rules" if source.suffix == ".yaml" else "dashboards"
        copy = CHART_FILES / folder / source.name
        assert copy.read_bytes() == source.read_bytes(), f"{copy} differs from {source}"


def test_drift_is_detected(observability_module, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    generate = observability_module("generate")
    files = generate.expected_files()
    target = next(path for path in files if path.parent.name == "dashboards")
    fake = tmp_path / target.name
    fake.write_text(files[target] + " ", encoding="utf-8")
    monkeypatch.setitem(files, fake, files[target])
    assert fake in generate.stale_files(files)


# Each alert's threshold, computed by hand from observability/slo.yaml: burn rate x error budget,
# the budget being 100% minus the objective (99.5% -> 0.005, 99% -> 0.01).
EXPECTED_THRESHOLDS = {
    (slo, window, threshold)
    for slo, budget in (("availability", "0.005"), ("latency", "0.01"))
    for window, threshold in (
        ("1h", f"(14.4 * {budget})"),
        ("5m", f"(14.4 * {budget})"),
        ("6h", f"(6 * {budget})"),
        ("30m", f"(6 * {budget})"),
        ("1d", f"(3 * {budget})"),
        ("2h", f"(3 * {budget})"),
        ("3d", f"(1 * {budget})"),
        ("6h", f"(1 * {budget})"),
    )
}
THRESHOLD = re.compile(r'ratio_rate(\w+)\{slo="(\w+)",service="test-app"\} > (\([^)]*\))')


def test_the_slo_thresholds_are_derived_from_the_objective(observability_module, tmp_path: Path):
    slo = observability_module("slo")
    text = slo.render_rules(slo.load(REPO / "observability" / "slo.yaml"))
    found = {(name, window, threshold) for window, name, threshold in THRESHOLD.findall(text)}
    assert found == EXPECTED_THRESHOLDS
    # Another objective, another budget: 99.9% leaves 0.001.
    tighter = tmp_path / "slo.yaml"
    source = (REPO / "observability" / "slo.yaml").read_text(encoding="utf-8")
    tighter.write_text(source.replace("objective: 99.5", "objective: 99.9"), encoding="utf-8")
    text = slo.render_rules(slo.load(tighter))
    assert 'ratio_rate1h{slo="availability",service="test-app"} > (14.4 * 0.001)' in text
    assert 'ratio_rate3d{slo="availability",service="test-app"} > (1 * 0.001)' in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("objective: 99.5", "objective: 100"), "slos[0].objective: expected a percentage"),
        (("severity: critical", "severity: page"), "alerts[0].severity: expected one of"),
        (("{long: 1h,", "{long: 90m,"), "alerts[0].windows[0].long: expected one of"),
        (
            ("burn_rate: 14.4", "burn_rate: fast"),
            "alerts[0].windows[0].burn_rate: expected a number",
        ),
        (("threshold_seconds: 0.25", "threshold: 0.25"), "slos[1].sli: expected either keys"),
    ],
)
def test_bad_slo_file_names_the_field(observability_module, tmp_path: Path, change, message):
    slo = observability_module("slo")
    text = (REPO / "observability" / "slo.yaml").read_text(encoding="utf-8")
    old, new = change
    assert old in text
    path = tmp_path / "slo.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(slo.SLOError, match=message.replace("[", r"\[").replace("]", r"\]")):
        slo.load(path)


def test_kube_prometheus_stack_overlay_carries_the_tested_alertmanager_config():
    overlay = yaml.safe_load(
        (REPO / "observability" / "kube-prometheus-stack" / "values.yaml").read_text()
    )
    canonical = yaml.safe_load(
        (REPO / "observability" / "alertmanager" / "alertmanager.yml").read_text()
    )
    assert overlay["alertmanager"]["config"] == canonical
    assert overlay["alertmanager"]["alertmanagerSpec"]["secrets"] == ["alertmanager-receivers"]


def test_platform_values_load_the_dashboards_and_rules_the_chart_ships():
    values = yaml.safe_load(
        (REPO / "platform" / "values" / "kube-prometheus-stack.yaml").read_text()
    )
    sidecar = values["grafana"]["sidecar"]["dashboards"]
    assert sidecar["enabled"] is True
    assert (sidecar["label"], sidecar["labelValue"]) == ("grafana_dashboard", "1")
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["ruleNamespaceSelector"] == {}
    assert spec["serviceMonitorNamespaceSelector"] == {}


def test_explain_prints_one_row_per_slo_and_window_pair():
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--explain"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line for line in result.stdout.splitlines() if line.startswith("| availability")]
    assert len(rows) == 4
    # 14.4 x 1 h of a 30-day budget is 2%; at 99.5% the budget is 216 minutes.
    assert (
        "| 216 min | TestAppAvailabilityBudgetBurnFast | critical | 1h and 5m | 14.4 | 2% |"
        in (rows[0])
    )
