"""The parts of `make bench-pod` that need no server: httperf's report, the capacity rule, the
chart's quantities, the cgroup paths and the SLO. Inputs are fixed texts; results are worked
out by hand in the comments."""

from __future__ import annotations

from typing import Any

import pytest
from bench_pod import SloError, latency_slo

from test_app_tooling.podbench import httperf
from test_app_tooling.podbench.cgroup import (
    CgroupError,
    CgroupV1,
    CpuCounters,
    MemoryCounters,
    own_paths,
)
from test_app_tooling.podbench.cgroup2 import CgroupV2, is_unified, pod_cgroup
from test_app_tooling.podbench.chart import ChartError, parse_cpu, parse_memory, pod_spec
from test_app_tooling.podbench.report import Slo, capacity, cpu_row, load_row, step_passes


HTTPERF_OUTPUT = """\
httperf --verbose --hog --timeout=2 --client=0/1 --server=127.0.0.1 --port=8080 --uri=/health \
--rate=100 --num-conns=104 --num-calls=1
Maximum connect burst length: 1
Connection lifetime histogram (time in ms):
             0.5 90
             1.5 5
             :
            12.5 3
           300.5 2

Total: connections 103 requests 103 replies 102 test-duration 1.000 s

Reply status: 1xx=0 2xx=100 3xx=0 4xx=0 5xx=2
CPU time [s]: user 0.06 system 0.24 (user 3.1% system 11.8% total 14.9%)
Errors: total 2 client-timo 1 socket-timo 0 connrefused 0 connreset 0
Errors: fd-unavail 1 addrunavail 0 ftab-full 0 other 0
"""


def test_httperf_report_is_parsed_into_counts_and_a_histogram():
    result = httperf.parse(HTTPERF_OUTPUT, offered_rate=100)
    assert (result.connections, result.replies, result.status_2xx) == (103, 102, 100)
    assert (result.status_other, result.timeouts, result.client_limit) == (2, 1, 1)
    assert result.histogram == {0: 90, 1: 5, 12: 3, 300: 2}
    assert result.planned == 104
    # 102 replies + 1 timeout = 103 connections; the fd-unavail one never became a connection.
    assert result.unanswered == 0
    assert result.errors == 3  # two 5xx replies and one timeout; fd-unavail is the client's
    # 100 replies in the histogram: the 50th is in [0, 1) ms, the 99th in [300, 301) ms.
    assert result.percentile_ms(0.5) == 1.0
    assert result.percentile_ms(0.95) == 2.0
    assert result.percentile_ms(0.98) == 13.0
    assert result.percentile_ms(0.99) == 301.0


def test_an_interrupted_run_counts_the_requests_left_without_an_answer():
    # SIGINT at the deadline: 60 of 104 planned requests sent, 50 answered (200), none failed yet.
    text = (
        HTTPERF_OUTPUT.replace(
            "connections 103 requests 103 replies 102", "connections 60 requests 60 replies 50"
        )
        .replace("2xx=100 3xx=0 4xx=0 5xx=2", "2xx=50 3xx=0 4xx=0 5xx=0")
        .replace("client-timo 1", "client-timo 0")
        .replace("fd-unavail 1", "fd-unavail 0")
    )
    result = httperf.parse(text, offered_rate=100)
    assert (result.planned, result.connections, result.unanswered, result.errors) == (
        104,
        60,
        10,
        10,
    )


def test_a_killed_generator_counts_as_nothing_sent():
    merged = httperf.merge([httperf.parse(HTTPERF_OUTPUT, 100), httperf.lost(100, 50)], 200)
    assert (merged.planned, merged.connections, merged.lost) == (154, 103, 1)
    assert merged.errors == 3  # only what the reporting process counted


def test_httperf_runs_are_merged_by_summing_counts_and_histograms():
    one = httperf.parse(HTTPERF_OUTPUT, offered_rate=100)
    merged = httperf.merge([one, one], offered_rate=200)
    assert (merged.offered_rate, merged.connections, merged.errors) == (200, 206, 6)
    assert merged.planned == 208
    assert merged.histogram == {0: 180, 1: 10, 12: 6, 300: 4}
    assert merged.duration_s == 1.0


def test_an_httperf_report_without_its_counters_is_rejected():
    with pytest.raises(httperf.HttperfError, match="Errors:"):
        httperf.parse(HTTPERF_OUTPUT.replace("Errors:", "Mistakes:"), offered_rate=1)
    with pytest.raises(httperf.HttperfError, match="reply status"):
        httperf.parse(HTTPERF_OUTPUT.replace("Reply status", "Status"), offered_rate=1)


def test_an_empty_histogram_has_no_percentile():
    text = HTTPERF_OUTPUT.replace("Connection lifetime histogram", "No histogram")
    result = httperf.parse(text, offered_rate=1)
    assert result.histogram == {}
    assert result.percentile_ms(0.99) is None


def _step(
    rate: float, *, passes: bool, cpu: float = 0.5, served: float | None = None
) -> dict[str, Any]:
    return {
        "offered_rps": rate,
        "pass": passes,
        "p99_ms": 5.0,
        "cpu_cores": cpu,
        "served_rps": served or rate,
    }


def test_capacity_is_the_highest_pass_below_the_first_failure():
    steps = [
        _step(100, passes=True),
        _step(200, passes=True),
        _step(400, passes=False),
        _step(250, passes=True, cpu=0.5, served=250),
        _step(300, passes=False, cpu=0.95),
        _step(500, passes=True),
    ]
    result = capacity(steps, pod_cores=1.0)
    assert result is not None
    # 500 passed, but above a failing rate (a lucky step): not counted.
    assert (result["rps"], result["first_failing_rps"]) == (250, 300)
    assert result["cpu_ms_per_request"] == 2.0  # 0.5 cores x 1000 ms / 250 req/s
    assert result["bound"] == "quota"  # the failing step used 0.95 of a 1-core limit
    assert capacity(steps, pod_cores=2.0)["bound"] == "machine"  # type: ignore[index]
    assert capacity([_step(100, passes=False)], pod_cores=1.0) is None
    only_passes = capacity([_step(100, passes=True)], pod_cores=1.0)
    assert only_passes is not None
    assert (only_passes["first_failing_rps"], only_passes["bound"]) == (None, None)


def test_a_step_passes_only_within_the_slo_with_no_error_and_no_client_limit():
    good = {"holds_slo": True, "errors": 0, "client_limit": 0, "attempted": 10, "planned": 10}
    assert step_passes(good)
    assert not step_passes({**good, "attempted": 9})  # the generator fell behind
    assert not step_passes({**good, "holds_slo": False})
    assert not step_passes({**good, "errors": 1})
    assert not step_passes({**good, "client_limit": 1})


def test_cpu_and_throttling_are_deltas_over_the_wall_time():
    before = CpuCounters(
        periods=10, throttled_periods=1, throttled_ns=500_000_000, usage_ns=1_000_000_000
    )
    after = CpuCounters(
        periods=110, throttled_periods=26, throttled_ns=3_000_000_000, usage_ns=8_500_000_000
    )
    row = cpu_row(before, after, wall_s=10.0)
    assert row == {
        "cpu_cores": 0.75,
        "periods": 100,
        "throttled_periods": 25,
        "throttled_share": 0.25,
        "throttled_s": 2.5,
    }


def test_kubernetes_quantities_and_their_errors():
    assert parse_cpu("250m", "x") == 0.25
    assert parse_cpu("1", "x") == 1.0
    assert parse_memory("512Mi", "x") == 512 * 2**20
    assert parse_memory("1G", "x") == 10**9
    with pytest.raises(ChartError, match=r"resources.limits.cpu: expected a CPU quantity"):
        parse_cpu("one", "resources.limits.cpu")
    with pytest.raises(ChartError, match=r"resources.limits.memory: expected a memory quantity"):
        parse_memory("512MB", "resources.limits.memory")


def test_the_pod_is_read_from_the_rendered_prod_chart():
    pod = pod_spec("prod")
    assert pod.values_files == ["values.yaml", "values-prod.yaml"]
    assert pod.workers == int(pod.env["WORKERS"])
    assert 0 < pod.cpu_request <= pod.cpu_limit
    assert 0 < pod.memory_request <= pod.memory_limit
    assert 0 < pod.hpa_target_percent <= 100
    with pytest.raises(ChartError, match="value set: expected one of"):
        pod_spec("nonexistent")


def test_cgroup_paths_come_from_proc_self_cgroup():
    text = "4:memory:/outer/inner\n2:cpu,cpuacct:/\n0::/\n"
    assert own_paths(text) == {"memory": "/outer/inner", "cpu": "/", "cpuacct": "/", "": "/"}


def test_the_latency_slo_comes_from_the_slo_file(tmp_path):
    slo = latency_slo()
    assert (slo.threshold_ms, slo.percentile) == (250.0, 99.0)  # observability/slo.yaml
    custom = tmp_path / "slo.yaml"
    query = 'sum(rate(x_count[{{.window}}])) - sum(rate(x_bucket{route="/",le="0.1"}[{{.window}}]))'
    custom.write_text(
        "slos:\n  - name: latency\n    objective: 99.9\n"
        f"    sli: {{events: {{error_query: '{query}'}}}}\n"
    )
    assert (latency_slo(custom).threshold_ms, latency_slo(custom).percentile) == (100.0, 99.9)
    custom.write_text(custom.read_text().replace("99.9", "120"))
    with pytest.raises(SloError, match=r"slos\[latency\].objective: expected a percentage"):
        latency_slo(custom)
    custom.write_text("slos: []\n")
    with pytest.raises(
        SloError, match=r"no SLO whose `sli\.events\.error_query` reads a histogram"
    ):
        latency_slo(custom)


def _unified_tree(root, own="ci", available="cpu io memory pids"):
    """A directory laid out like a cgroup v2 mount, as the kernel would show it."""
    for folder in (root, root / own):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cgroup.controllers").write_text(available + "\n")
        (folder / "cgroup.subtree_control").write_text("")
        (folder / "cgroup.procs").write_text("")
    return f"0::/{own}\n"


def test_the_hierarchy_is_chosen_by_what_is_mounted(tmp_path):
    proc = _unified_tree(tmp_path / "v2")
    assert isinstance(pod_cgroup("pod", 1.0, 2**29, tmp_path / "v2"), CgroupV2)
    assert not is_unified(tmp_path / "v1")
    with pytest.raises(CgroupError, match="cgroup v1 controller 'cpu' is not mounted"):
        CgroupV1("pod", 1.0, 2**29, tmp_path / "v1", proc_cgroup="1:cpu:/\n")
    assert proc == "0::/ci\n"


def test_a_v2_group_delegates_and_writes_the_limits(tmp_path):
    proc = _unified_tree(tmp_path)
    group = CgroupV2("pod", 0.25, 512 * 2**20, tmp_path, proc_cgroup=proc)
    group.create()
    assert (tmp_path / "ci" / "cgroup.subtree_control").read_text() == "+cpu +memory"
    assert (tmp_path / "ci" / "pod" / "cpu.max").read_text() == "25000 100000"
    assert (tmp_path / "ci" / "pod" / "memory.max").read_text() == str(512 * 2**20)
    assert group.applied() == {
        "cfs_quota_us": 25000, "cfs_period_us": 100000, "memory_limit_bytes": 512 * 2**20
    }  # fmt: skip
    assert group.enter_command(["app"])[-1] == "app"
    assert str(tmp_path / "ci" / "pod" / "cgroup.procs") in group.enter_command(["app"])[2]


def test_a_v2_group_names_the_controllers_it_lacks(tmp_path):
    proc = _unified_tree(tmp_path, available="io pids")
    with pytest.raises(CgroupError, match=r"controllers \['cpu', 'memory'\] are not available"):
        CgroupV2("pod", 1.0, 2**29, tmp_path, proc_cgroup=proc).create()


def test_v2_counters_are_read_in_the_v1_units(tmp_path):
    proc = _unified_tree(tmp_path)
    group = CgroupV2("pod", 1.0, 2**29, tmp_path, proc_cgroup=proc)
    group.create()
    folder = tmp_path / "ci" / "pod"
    (folder / "cpu.stat").write_text(
        "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 20\nnr_throttled 5\n"
        "throttled_usec 250\n"
    )
    (folder / "memory.current").write_text("4096\n")
    (folder / "memory.peak").write_text("8192\n")
    (folder / "memory.stat").write_text("anon 3000\nfile 1096\n")
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 2\noom 0\noom_kill 1\n")
    assert group.cpu() == CpuCounters(
        periods=20, throttled_periods=5, throttled_ns=250_000, usage_ns=1_500_000
    )
    assert group.memory() == MemoryCounters(
        usage_bytes=4096, peak_bytes=8192, rss_bytes=3000, limit_hits=2, oom_kills=1
    )


def test_a_v2_run_after_the_move_to_the_init_leaf_makes_its_group_beside_it(tmp_path):
    _unified_tree(tmp_path, own="init")
    group = CgroupV2("pod", 1.0, 2**29, tmp_path, proc_cgroup="0::/init\n")
    group.create()
    assert (tmp_path / "pod" / "cpu.max").read_text() == "100000 100000"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu +memory"


def test_a_step_row_counts_rates_errors_and_the_slo():
    # 500 planned, 480 sent (20 hit the generator's limit): 470 replies, 460 of them 2xx;
    # 4 timeouts, 3 refused, 2 reset, 1 other error.
    load = httperf.LoadResult(
        offered_rate=250, duration_s=2.0, planned=500, connections=480, replies=470,
        status_2xx=460, status_other=10, timeouts=4, refused=3, reset=2, client_limit=20,
        other_errors=1, histogram={3: 400, 7: 69, 300: 1},
    )  # fmt: skip
    row = load_row(load, Slo(threshold_ms=250, percentile=99))
    assert (row["served_rps"], row["attempted"], row["planned"]) == (230.0, 480, 500)
    # 10 non-2xx + 4 + 3 + 2 + 1 + 0 unanswered (480 - 470 - 10 ended otherwise)
    assert (row["errors"], row["unanswered"]) == (20, 0)
    # p50 falls in the 3 ms bin, p99 (466th of 470) in the 7 ms bin: within 250 ms
    assert (row["p50_ms"], row["p99_ms"], row["holds_slo"]) == (4.0, 8.0, True)
    assert load_row(load, Slo(threshold_ms=5, percentile=99))["holds_slo"] is False
