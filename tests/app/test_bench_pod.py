"""`make bench-pod` keeps working: a short run inside a real cgroup writes a complete report.

Its arithmetic must add up; no speed is asserted. Needs root and a cgroup v1 or v2 mount, like the
command.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from test_app_tooling.podbench.admission import admission_bound
from test_app_tooling.podbench.chart import pod_spec
from test_app_tooling.podbench.report import (
    bound,
    overload_checks,
    refusal_cost,
)
from test_app_tooling.podbench.shedder import chart_plan
from test_app_tooling.tools import REPO


pytestmark = pytest.mark.integration

SHORT_RUN = ["--quick"]  # every phase, tiny: shape and arithmetic, never speed


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
    # Pinned apart: the pod to its cpuset, the generators and PostgreSQL to the other CPU.
    assert result["cgroup"]["cpuset_cpus"] == "1"
    assert result["isolation"]["pod_cpus"] == [1]
    assert result["isolation"]["generator_cpus"] == [0]
    assert result["isolation"]["pod_cores"] == min(pod.cpu_limit, 1)
    machine = result["machine"]
    assert 0 <= machine["busy_start"] <= 1
    assert machine["loaded"] == (machine["busy_start"] > 0.5)


def _all_steps(result):
    return [
        *(step for rep in result["repetitions"] for step in rep["steps"]),
        *result["new_connection"]["steps"],
    ]


def test_every_step_adds_up(report):
    # The formulas themselves are checked against hand-computed literals in
    # test_bench_pod_parts.py; here only relations no formula of the report restates.
    _, result = report
    assert len(result["repetitions"]) == 3
    assert result["new_connection"]["steps"]
    for step in _all_steps(result):
        assert step["cpu_cores"] >= 0
        assert step["pod_cpus_others"] >= 0
        assert 0 <= step["generator_cpus_busy"] <= 1
        assert step["generator_cores"] > 0  # the generator's own CPU is recorded
        assert step["attempted"] > 0
        assert step["attempted"] + step["client_limit"] <= step["planned"]
        assert step["unanswered"] >= 0
        assert 0 <= step["served_2xx"] <= step["attempted"]
        if "expired" in step:  # persistent connections (openload): every request accounted for
            parts: tuple[str, ...] = ("timeouts", "expired", "conn_errors", "non_2xx")
            assert step["unanswered"] == 0
        else:  # a connection per request (httperf)
            parts = ("timeouts", "refused", "reset", "non_2xx", "other_errors", "unanswered")
        assert step["errors"] == sum(step[part] for part in parts)
        assert step["throttled_periods"] <= step["periods"]
        assert 0 <= step["throttled_share"] <= 1
        if step["pass"]:
            assert step["errors"] == 0
            assert step["client_limit"] == 0
            assert step["p99_ms"] <= result["slo"]["threshold_ms"]
        assert step["p50_ms"] <= step["p99_ms"]
        assert 0 < step["peak_mib"] <= result["pod"]["memory_limit_mib"]
    pod_cores = result["isolation"]["pod_cores"]
    for rep in [*result["repetitions"], result["new_connection"]]:
        assert 1 <= len(rep["steps"]) <= 2 + 1  # max steps, plus one refinement
        if rep["capacity"] is not None:  # the highest passing step, below every failing one
            passing = [s["offered_rps"] for s in rep["steps"] if s["pass"]]
            failing = [s["offered_rps"] for s in rep["steps"] if not s["pass"]]
            assert rep["capacity"]["rps"] == max(passing)
            assert all(rate > rep["capacity"]["rps"] for rate in failing)
    reps = sorted(r["capacity"]["rps"] for r in result["repetitions"] if r["capacity"])
    if result["capacity"] is not None and len(reps) == 3:
        assert result["capacity"]["rps"] == reps[1]  # the median of three
    assert result["steps"] in [rep["steps"] for rep in result["repetitions"]]
    # A run counts as valid only when every repetition's failing step used up the pod's CPU.
    failing = [
        next(s for s in rep["steps"] if s["offered_rps"] == rep["capacity"]["first_failing_rps"])
        for rep in result["repetitions"]
        if rep["capacity"] and rep["capacity"]["first_failing_rps"] is not None
    ]
    if result["capacity"] is not None and result["capacity"]["valid"]:
        assert len(failing) == 3
        assert all(bound(step, pod_cores) == "quota" for step in failing)


def test_ceiling_overload_and_memory_are_reported(report):
    _, result = report
    ceiling = result["ceiling"]
    assert ceiling["connections"] == 64
    assert ceiling["health_over_livez"] == round(
        ceiling["health"]["rps"] / ceiling["livez"]["rps"], 3
    )
    prof = ceiling["profile"]
    assert prof["samples"] > 0
    # Each share is rounded to 3 places, so their sum may pass 1 by half a unit per row.
    packages = prof["packages"]
    assert 0 < sum(row["share"] for row in packages) <= 1 + 0.0005 * len(packages) + 1e-9
    assert [row["share"] for row in prof["functions"]] == sorted(
        (row["share"] for row in prof["functions"]), reverse=True
    )
    base = (
        result["capacity"]["rps"]
        if result["capacity"]
        else result["repetitions"][-1]["steps"][-1]["offered_rps"]
    )
    assert [over["factor"] for over in result["overload"]] == [2.0, 4.0]
    for over in result["overload"]:
        assert over["offered_rps"] == round(base * over["factor"], 1)
        assert over["goodput_share"] == round(over["served_rps"] / base, 3)
        assert over["attempted"] <= over["planned"]
        assert over["oom_kills"] == 0
        assert over["probes_sent"] > 0
        assert over["checks"] == overload_checks(over, base, result["pod"]["memory_limit_mib"])
        assert over["bound"] == bound(over, result["isolation"]["pod_cores"])
        assert over["refusal_cost_share"] == refusal_cost(
            over, result["capacity"]["cpu_ms_per_request"]
        )
        assert over["sent_rps"] == round(over["attempted"] / over["duration_s"], 1)
    burst = result["burst"]
    assert sum(burst["outcomes"].values()) == burst["connections"] == 64
    assert set(burst["kernel"]) == {"ListenOverflows", "ListenDrops"}
    assert all(count >= 0 for count in burst["kernel"].values())
    assert burst["answered"] == sum(
        count for name, count in burst["outcomes"].items() if name.startswith("status_")
    )
    assert result["app_survived"] is True
    soak = result["memory"]
    assert soak["requests"] >= 2000  # --quick
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
    assert document.count("\n| ") >= len(_all_steps(result)) + 2
    verdict = "**Valid**" if result["capacity"]["valid"] else "**Invalid run**"
    assert verdict in document
    assert f"median of {len(result['repetitions'])} repetitions" in document
    assert (out / "pod.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The bound the measured cost implies, next to the one the pod ran with (the chart's).
    pod, admission = result["pod"], result["admission"]
    assert pod["max_in_flight"] == int(pod_spec("prod").env["MAX_IN_FLIGHT"])
    assert admission["max_in_flight"] == admission_bound(
        result["capacity"]["cpu_ms_per_request"], pod["cpu_limit"], pod["workers"], 50.0
    )
    assert f"**{admission['max_in_flight']} requests in flight per worker**" in document


def test_overload_through_the_shedding_proxy_on_a_smaller_pod(tmp_path, tool):
    # `--only overload --cpu-limit` measures the smaller pod's capacity first, then offers its
    # multiples through HAProxy (`--shedder`); the report says what the proxy spent.
    tool("haproxy")
    saved = tmp_path / "shedder.json"
    command = [
        *(sys.executable, str(REPO / "scripts" / "bench_pod.py"), *SHORT_RUN),
        *("--only", "overload", "--cpu-limit", "0.5", "--shedder", "--save", str(saved)),
    ]
    subprocess.run(command, check=True, timeout=600, capture_output=True)
    run = json.loads(saved.read_text())
    assert run["cpu_limit"] == 0.5
    assert run["cgroup"]["cfs_quota_us"] == 0.5 * run["cgroup"]["cfs_period_us"]
    assert run["capacity_measured"] is not None
    assert run["capacity_rps"] == run["capacity_measured"]["rps"]
    chart = chart_plan()  # the bounds default to the chart's admissionProxy values
    assert run["shedder"] == {
        "connections": chart.connections,
        "queue": chart.queue,
        "queue_timeout_ms": chart.queue_timeout_ms,
    }
    for row in run["overload"]:
        proxy = row["shedder"]
        assert proxy["cpu_s"] > 0, "the proxy's CPU was not read"
        answered = row["served_2xx"] + row["refused_503"]
        assert proxy["us_per_request"] == pytest.approx(proxy["cpu_s"] * 1e6 / answered, abs=0.01)
        assert row["offered_rps"] == pytest.approx(row["factor"] * run["capacity_rps"], rel=1e-3)
