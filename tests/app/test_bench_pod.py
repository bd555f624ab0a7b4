"""`make bench-pod` keeps working: a short run inside a real cgroup writes a complete report.

Its arithmetic must add up; no speed is asserted. Needs root and a cgroup v1 or v2 mount, like the
command.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from test_app_tooling.podbench.chart import pod_spec
from test_app_tooling.tools import REPO


pytestmark = pytest.mark.integration

SHORT_RUN = [
    "--start-rate",
    "50",
    "--step-seconds",
    "1",
    "--max-steps",
    "2",
    "--refine",
    "1",
    "--settle",
    "0.2",
    "--ceiling-seconds",
    "1",
    "--overload-seconds",
    "1",
    "--requests",
    "2000",
    "--soak-chunk",
    "1",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory, tool):
    tool("httperf")
    tool("wrk")
    out = tmp_path_factory.mktemp("bench-pod")
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_pod.py"), *SHORT_RUN, "--output", str(out)],
        check=True,
        timeout=600,
    )
    return out, json.loads((out / "pod.json").read_text())


def test_the_app_ran_in_a_cgroup_with_the_charts_limits(report):
    _, result = report
    pod = pod_spec("prod")
    assert result["cgroup"]["cfs_quota_us"] == round(
        pod.cpu_limit * result["cgroup"]["cfs_period_us"]
    )
    assert result["cgroup"]["memory_limit_bytes"] == pod.memory_limit
    assert result["cgroup"]["processes"] == 1 + pod.workers  # the main process and its workers
    assert result["pod"]["workers"] == pod.workers
    assert result["pod"]["memory_limit_mib"] == round(pod.memory_limit / 2**20, 1)


def test_every_step_adds_up(report):
    # The formulas themselves are checked against hand-computed literals in
    # test_bench_pod_parts.py; here only relations no formula of the report restates.
    _, result = report
    assert 1 <= len(result["steps"]) <= 2 + 1  # max steps, plus one refinement
    parts = ("timeouts", "refused", "reset", "non_2xx", "other_errors", "unanswered")
    for step in result["steps"]:
        assert step["attempted"] > 0
        assert step["attempted"] + step["client_limit"] <= step["planned"]
        assert step["unanswered"] >= 0
        assert 0 <= step["served_2xx"] <= step["attempted"]
        assert step["served_2xx"] + sum(step[part] for part in parts) == step["attempted"]
        assert step["throttled_periods"] <= step["periods"]
        assert 0 <= step["throttled_share"] <= 1
        if step["pass"]:
            assert step["errors"] == 0
            assert step["client_limit"] == 0
            assert step["p99_ms"] <= result["slo"]["threshold_ms"]
        assert step["p50_ms"] <= step["p99_ms"]
        assert 0 < step["peak_mib"] <= result["pod"]["memory_limit_mib"]
    passing = {s["offered_rps"] for s in result["steps"] if s["pass"]}
    failing = {s["offered_rps"] for s in result["steps"] if not s["pass"]}
    if result["capacity"] is None:
        assert not passing or min(passing) > min(failing)
    else:
        assert result["capacity"]["rps"] in passing
        assert all(result["capacity"]["rps"] < rate for rate in failing)


def test_ceiling_overload_and_memory_are_reported(report):
    _, result = report
    ceiling = result["ceiling"]
    assert ceiling["connections"] == 64
    assert ceiling["health_over_livez"] == round(
        ceiling["health"]["rps"] / ceiling["livez"]["rps"], 3
    )
    over = result["overload"]
    base = result["capacity"]["rps"] if result["capacity"] else result["steps"][-1]["offered_rps"]
    assert over["offered_rps"] == round(base * over["factor"], 1)
    assert over["error_share"] == round(over["errors"] / over["attempted"], 3)
    assert 0 <= over["error_share"] <= 1
    assert over["attempted"] + over["client_limit"] <= over["planned"]
    assert over["oom_kills"] == 0
    assert result["app_survived"] is True
    soak = result["memory"]
    assert soak["requests"] >= 2000
    assert [s["requests"] for s in soak["samples"]] == sorted(
        s["requests"] for s in soak["samples"]
    )
    assert soak["peak_mib"] == max(s["peak_mib"] for s in soak["samples"])
    assert soak["rss_growth_mib"] == round(
        soak["samples"][-1]["rss_mib"]
        - soak["samples"][1 if len(soak["samples"]) > 2 else 0]["rss_mib"],
        1,
    )


def test_the_markdown_and_the_plot_are_written(report):
    out, result = report
    document = (out / "pod.md").read_text()
    assert result["command"] in document
    assert f"**{result['ceiling']['health_over_livez']}**" in document
    assert document.count("\n| ") >= len(result["steps"]) + 2
    assert (out / "pod.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
