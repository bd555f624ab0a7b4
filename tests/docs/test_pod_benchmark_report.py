"""The committed pod benchmark is one full `make bench-pod` run, rendered as committed.

Checks the shape of docs/benchmarks/pod.json against what the full command produces, that
pod.md is the rendering of that JSON, and that docs/scaling.md describes the command's defaults.
Nothing here depends on this machine's speed.
"""

from __future__ import annotations

import json

from bench_pod import arguments

from test_app_tooling.podbench.document import render
from test_app_tooling.podbench.report import median
from test_app_tooling.tools import REPO


POD = REPO / "docs" / "benchmarks"


def test_the_committed_report_is_a_full_run_within_eight_minutes():
    result = json.loads((POD / "pod.json").read_text())
    defaults = arguments([])
    assert result["command"] == "make bench-pod"  # the full run, no shortened arguments
    assert len(result["repetitions"]) == defaults.repetitions == 3
    assert result["capacity"]["repetitions"] == [
        rep["capacity"]["rps"] for rep in result["repetitions"] if rep["capacity"]
    ]
    assert [over["factor"] for over in result["overload"]] == defaults.overload_factors
    assert result["machine"]["minutes"] <= 8  # the bound on one full run
    assert result["isolation"]["pod_cpus"] == defaults.pod_cpus
    assert result["isolation"]["generator_cpus"] == defaults.generator_cpus


def test_pod_md_is_the_rendering_of_pod_json():
    result = json.loads((POD / "pod.json").read_text())
    assert (POD / "pod.md").read_text() == render(result), (
        "docs/benchmarks/pod.md differs from pod.json; run "
        "`make bench-pod BENCH_POD_ARGS=--render-only`"
    )


def test_scaling_md_describes_the_commands_defaults():
    text = " ".join((REPO / "docs" / "scaling.md").read_text().split())
    defaults = arguments([])
    assert f"up to {defaults.max_connections:,}" in text
    assert f"CPU {defaults.pod_cpus[0]} of 2 by default" in text
    assert "median of three repetitions" in text.lower()


def test_the_report_gives_the_spread_across_full_runs_and_is_one_of_them():
    result = json.loads((POD / "pod.json").read_text())
    runs = result["runs"]
    rates = [run["capacity_rps"] for run in runs["runs"] if run["capacity_rps"] is not None]
    assert len(runs["runs"]) >= 2
    assert result["started_utc"] in [run["started_utc"] for run in runs["runs"]]
    assert result["capacity"]["rps"] in rates
    assert runs["median_rps"] == median(rates)
    assert runs["spread"] == round((max(rates) - min(rates)) / runs["median_rps"], 3)
