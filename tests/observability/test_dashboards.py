"""Dashboards: valid JSON, unique ids, non-overlapping panels, PromQL that Prometheus parses."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from test_app_tooling.tools import REPO


DASHBOARDS = REPO / "observability" / "dashboards"
GRID_WIDTH = 24
# Grafana's variables, replaced by values of the right type before parsing.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "$namespace": "test-app",
}


def _panels(dashboard):
    panels = list(dashboard["panels"])
    for panel in dashboard["panels"]:
        panels += panel.get("panels", [])
    return panels


def test_three_dashboards_are_checked_in():
    names = sorted(p.stem for p in DASHBOARDS.glob("*.json"))
    assert names == ["test-app-database", "test-app-service", "test-app-slo"]


def test_dashboards_are_valid_json_with_unique_uids(dashboards):
    uids = [d["uid"] for d in dashboards.values()]
    assert len(uids) == len(set(uids)) == len(dashboards)
    for name, dashboard in dashboards.items():
        assert dashboard["title"], name
        assert dashboard["panels"], f"{name}: no panels"
        # Round trip: the file is exactly what json.dumps writes (no hand edits).
        text = (DASHBOARDS / name).read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_panel_ids_are_unique(dashboards):
    for name, dashboard in dashboards.items():
        ids = [panel["id"] for panel in _panels(dashboard)]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids {ids}"


def test_panels_do_not_overlap_and_fit_the_grid(dashboards):
    for name, dashboard in dashboards.items():
        boxes = []
        for panel in _panels(dashboard):
            pos = panel["gridPos"]
            assert pos["w"] > 0, (name, panel["title"])
            assert pos["h"] > 0, (name, panel["title"])
            assert pos["x"] >= 0, (name, panel["title"])
            assert pos["y"] >= 0, (name, panel["title"])
            assert pos["x"] + pos["w"] <= GRID_WIDTH, f"{name}: {panel['title']} is too wide"
            boxes.append((panel["title"], pos))
        for index, (title_a, a) in enumerate(boxes):
            for title_b, b in boxes[index + 1 :]:
                overlap = (
                    a["x"] < b["x"] + b["w"]
                    and b["x"] < a["x"] + a["w"]
                    and a["y"] < b["y"] + b["h"]
                    and b["y"] < a["y"] + a["h"]
                )
                assert not overlap, f"{name}: {title_a!r} overlaps {title_b!r}"


def test_every_query_panel_uses_the_datasource_variable(dashboards):
    for name, dashboard in dashboards.items():
        for panel in _panels(dashboard):
            if panel["type"] == "row":
                continue
            assert panel["targets"], f"{name}: {panel['title']} has no query"
            assert panel["datasource"]["uid"] == "${datasource}", (name, panel["title"])
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), (name, panel["title"])


def substitute_grafana_variables(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    leftover = re.findall(r"\$\w+", expr)
    assert not leftover, f"unknown Grafana variable {leftover} in {expr!r}"
    return expr


def test_every_dashboard_query_parses_with_promtool(tool, dashboard_queries, tmp_path: Path):
    """promtool check rules parses each expression with Prometheus' own parser."""
    rules = [
        {"record": f"dashboard:query:{index}", "expr": substitute_grafana_variables(expr)}
        for index, (_, _, expr) in enumerate(dashboard_queries)
    ]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(
        [tool("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_a_broken_query_is_rejected(tool, tmp_path: Path):
    """The parse check above can fail: promtool rejects an unbalanced expression."""
    path = tmp_path / "broken.yaml"
    broken = {"record": "dashboard:query:0", "expr": "sum(rate(x[5m])"}
    path.write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": [broken]}]}))
    result = subprocess.run(
        [tool("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
