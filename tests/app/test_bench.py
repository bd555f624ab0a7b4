"""`make bench` keeps working: a one-second run produces a complete report (no timing asserted)."""

import json
import subprocess
import sys

import pytest

from test_app_tooling.tools import REPO


pytestmark = pytest.mark.integration


def test_benchmark_command_produces_a_complete_report(tmp_path, tool):
    tool("wrk")
    tool("pgbench")
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench.py"), "--duration", "1",
         "--repetitions", "1", "--connections", "1,4", "--output", str(tmp_path)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    result = json.loads((tmp_path / "health.json").read_text())
    assert [row["connections"] for row in result["rows"]] == [1, 4]
    for row in result["rows"]:
        assert row["app_rps"] > 0
        assert row["pgbench_tps"] > 0
        # The report's own arithmetic, exactly: the ratio of the two figures it shows.
        assert row["ratio"] == round(row["app_rps"] / row["pgbench_tps"], 3)
        assert row["errors"] == 0
    assert len(result["startup_s"]) == 5
    assert result["rss_workers_mib"], "worker processes were measured"
    names = {check["name"] for check in result["checks"]}
    assert any("startup" in name for name in names)
    report = (tmp_path / "health.md").read_text()
    assert "| 4 |" in report
    assert result["command"] in report
