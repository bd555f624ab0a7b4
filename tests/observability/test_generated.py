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
    ("file", "change", "message"),
    [
        (
            "slo.yaml",
            ("objective: 99.5", "objective: 100"),
            "slo.yaml: slos[0].objective: 100 is greater than or equal to the maximum of 100",
        ),
        (
            "slo.yaml",
            ("labels: {severity: critical}", "labels: {severity: page}"),
            "slo.yaml: slos[0].alerting.page_alert.labels.severity: 'critical' was expected",
        ),
        (
            "slo.yaml",
            # Every window of the file fixed: the first query is named.
            ("[{{.window}}]", "[5m]"),
            "slo.yaml: slos[0].sli.events.error_query: 'sum by",
        ),
        ("slo.yaml", ("version: prometheus/v1", "version: v1"), "slo.yaml: version: "),
        (
            "slo-windows.yaml",
            ("longWindow: 1h}", "longWindow: 90m}"),
            "slo-windows.yaml: spec.page.quick.longWindow: '90m' is not one of",
        ),
        (
            "slo-windows.yaml",
            ("errorBudgetPercent: 2,", "errorBudgetPercent: fast,"),
            "slo-windows.yaml: spec.page.quick.errorBudgetPercent: 'fast' is not of type 'number'",
        ),
    ],
)
def test_bad_slo_file_names_the_field(observability_module, tmp_path: Path, file, change, message):
    slo = observability_module("slo")
    paths = {}
    for name in ("slo.yaml", "slo-windows.yaml"):
        text = (REPO / "observability" / name).read_text(encoding="utf-8")
        if name == file:
            old, new = change
            assert old in text
            text = text.replace(old, new)
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    with pytest.raises(slo.SLOError) as error:
        slo.load(paths["slo.yaml"], paths["slo-windows.yaml"])
    assert str(error.value).startswith(message)


def test_the_slo_files_are_in_sloths_shapes(observability_module):
    slo = observability_module("slo")
    spec = yaml.safe_load((REPO / "observability" / "slo.yaml").read_text(encoding="utf-8"))
    assert spec["version"] == "prometheus/v1"
    assert all(set(s["sli"]) == {"events"} for s in spec["slos"])
    windows = yaml.safe_load(slo.WINDOWS_FILE.read_text(encoding="utf-8"))
    assert (windows["apiVersion"], windows["kind"]) == ("sloth.slok.dev/v1", "AlertWindows")
    # Sloth's default windows give the Workbook's burn rates: 14.4, 6, 3 and 1.
    loaded = slo.load(REPO / "observability" / "slo.yaml")
    rates = [str(pair.burn_rate.normalize()) for a in loaded.alerts for pair in a.windows]
    assert rates == ["14.4", "6", "3", "1"]


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
