"""The rules of `make bench-pod` that decide what a run proves, on fixed inputs.

Which step may count as the pod's limit (quota, generator or machine), the median capacity of
repetitions and when a run is invalid, the open-model generator's bookkeeping, the per-CPU
accounting of /proc/stat and the overload checks. Results are worked out by hand in comments.
"""

from __future__ import annotations

import argparse
import inspect
import os
import subprocess
import sys
from typing import Any

import pytest
from bench_pod import LAUNCH_WITH_CONNECTIONS, arguments

from test_app import server
from test_app_tooling.podbench import cpus, measure, openload
from test_app_tooling.podbench.cgroup import CgroupV1
from test_app_tooling.podbench.document import shedder_costs
from test_app_tooling.podbench.report import (
    Slo,
    across_runs,
    bound,
    capacity,
    combined_capacity,
    openload_row,
    overload_checks,
    proxy_costs,
    refusal_cost,
    shedder_row,
    step_passes,
)


SLO = Slo(threshold_ms=250.0, percentile=99.0)


def _failing(cpu: float, generator: float = 0.1, generator_busy: float = 0.3) -> dict[str, Any]:
    return {"cpu_cores": cpu, "generator_cores": generator, "generator_cpus_busy": generator_busy}


def test_a_failing_step_is_the_pods_limit_only_when_its_cpu_was_used_up():
    assert bound(_failing(0.95), pod_cores=1.0) == "quota"
    assert bound(_failing(0.90), pod_cores=1.0) == "quota"  # 90 % is the line
    assert bound(_failing(0.89), pod_cores=1.0) == "machine"
    # The generator's one process, or its CPU, busy to the end: the generator ran out.
    assert bound(_failing(0.5, generator=0.95), pod_cores=1.0) == "generator"
    # Its CPU busy is not enough: other work fills it at a lower weight.
    assert bound(_failing(0.5, generator_busy=0.97), pod_cores=1.0) == "machine"
    # Requests written more than 50 ms late on idle connections: the generator fell behind.
    assert bound({**_failing(0.5), "dispatch_lag_p99_ms": 50.1}, pod_cores=1.0) == "generator"
    assert bound({**_failing(0.5), "dispatch_lag_p99_ms": 50.0}, pod_cores=1.0) == "machine"
    # The quota wins over a busy generator: the pod could not have served more anyway.
    assert bound(_failing(0.95, generator=0.95), pod_cores=1.0) == "quota"
    # Pinned to one CPU with a 2-core limit, the pod can use only 1 core.
    assert bound(_failing(0.95), pod_cores=2.0) == "machine"
    # Its CPU used up by the pod and the kernel's packet work for it, no other process: quota.
    used_up = {**_failing(0.86), "pod_cpus_busy": 0.99, "pod_cpus_others": 0.05}
    assert bound(used_up, pod_cores=1.0) == "quota"
    assert bound({**used_up, "pod_cpus_others": 0.1}, pod_cores=1.0) == "machine"
    assert bound({**used_up, "pod_cpus_busy": 0.96}, pod_cores=1.0) == "machine"
    # Failed only on 503s with CPU left and nothing else on it: the in-flight bound shed first.
    shed = {**_failing(0.86), "pod_cpus_busy": 0.94, "pod_cpus_others": 0.0,
            "refused_503": 40, "errors": 40}  # fmt: skip
    assert bound(shed, pod_cores=1.0) == "admission"
    assert bound({**shed, "errors": 41}, pod_cores=1.0) == "machine"  # a timeout too
    assert bound({**shed, "pod_cpus_others": 0.2}, pod_cores=1.0) == "machine"


def _rep(rate: float, bound_: str | None, cpu_ms: float = 0.05) -> dict[str, Any]:
    return {"rps": rate, "bound": bound_, "p99_ms": 20.0, "cpu_cores": 0.8,
            "cpu_ms_per_request": cpu_ms, "first_failing_rps": rate * 1.25}  # fmt: skip


def test_capacity_is_the_median_of_the_repetitions_with_its_spread():
    result = combined_capacity(
        [_rep(9000, "quota", 0.06), _rep(10000, "quota", 0.05), _rep(12000, "quota", 0.04)]
    )
    assert result is not None
    assert result["rps"] == 10000
    assert result["repetitions"] == [9000, 10000, 12000]
    assert result["spread"] == 0.3  # (12000 - 9000) / 10000
    assert result["cpu_ms_per_request"] == 0.05  # the median of 0.06, 0.05, 0.04
    assert (result["valid"], result["bound"], result["invalid_because"]) == (True, "quota", [])


def test_a_run_is_invalid_when_any_repetition_was_bound_by_something_else():
    result = combined_capacity([_rep(9000, "quota"), _rep(5000, "generator"), None])
    assert result is not None
    assert result["valid"] is False
    assert result["rps"] == 7000  # the median of the two that found a capacity
    assert result["invalid_because"] == [
        "repetition 2: the failing step was bound by the generator",
        "repetition 3: no step passed",
    ]
    unfinished = combined_capacity([_rep(9000, None)])
    assert unfinished is not None
    assert unfinished["invalid_because"] == ["repetition 1: no step failed (raise --max-steps)"]
    assert combined_capacity([None, None]) is None


def test_capacity_per_repetition_uses_the_pods_cores():
    steps = [
        {"offered_rps": 1000, "pass": True, "p99_ms": 5.0, "cpu_cores": 0.4, "served_rps": 1000},
        {"offered_rps": 2000, "pass": False, "p99_ms": 900.0, "cpu_cores": 0.97,
         "served_rps": 1900, "generator_cores": 0.2, "generator_cpus_busy": 0.4},
    ]  # fmt: skip
    result = capacity(steps, pod_cores=1.0)
    assert result is not None
    assert (result["rps"], result["bound"], result["cpu_ms_per_request"]) == (1000, "quota", 0.4)


def _summary(**changes: Any) -> dict[str, Any]:
    counts = openload.Counts(
        planned=10, sent=9, ok=[0.001, 0.002, 0.003, 0.004, 0.300], refused=[0.002, 0.004],
        other_status=1, timeouts=0, expired=1, conn_errors=0, opened=4, max_open=3,
        dispatch_lag=[0.0005],
    )  # fmt: skip
    for name, value in changes.items():
        setattr(counts, name, value)
    return openload.summarize(counts, rate=10, seconds=1.0, wall_s=2.0, cpu_s=0.5, percentile=99)


def test_the_generator_accounts_for_every_planned_request():
    result = _summary()
    # 5 ok + 2 refused + 1 other status + 1 expired = 9 of 10 planned: one unaccounted for.
    assert result["unaccounted"] == 1
    assert (result["status_2xx"], result["status_503"], result["status_other"]) == (5, 2, 1)
    # Nearest rank: p50 of 5 is the 3rd (3 ms); p99 the 5th (300 ms).
    assert (result["p50_ms"], result["p99_ms"], result["max_ms"]) == (3.0, 3.0 * 100, 300.0)
    assert result["refused_p99_ms"] == 4.0
    assert result["generator_cores"] == 0.25  # 0.5 s of CPU over 2 s
    assert _summary(timeouts=1)["unaccounted"] == 0
    assert _summary(conn_errors=1)["unaccounted"] == 0  # lost with its connection


def test_an_open_model_row_counts_refusals_and_lost_requests_as_errors():
    row = openload_row(_summary(timeouts=1), SLO)
    # 2 refused + 1 other status + 1 timeout + 1 expired.
    assert row["errors"] == 5
    assert (row["served_rps"], row["refused_rps"], row["non_2xx"]) == (5.0, 2.0, 3)
    assert row["holds_slo"] is False  # p99 300 ms > 250 ms
    assert not step_passes(row)
    clean = openload_row(
        _summary(sent=10, ok=[0.001] * 10, refused=[], other_status=0, expired=0), SLO
    )
    assert (clean["errors"], clean["unanswered"], clean["holds_slo"]) == (0, 0, True)
    assert step_passes(clean)


def test_percentiles_are_nearest_rank_and_none_when_empty():
    assert openload.percentile_ms([], 0.99) is None
    assert openload.percentile_ms([0.001 * n for n in range(1, 101)], 0.99) == 99.0
    assert openload.percentile_ms([0.005], 0.5) == 5.0


def test_a_burst_is_summarized_per_outcome():
    results = [("status_200", 0.01), ("status_200", 1.2), ("refused", 0.0), ("timeout", 8.0)]
    summary = openload.burst_summary(results, timeout=8.0)
    assert summary["outcomes"] == {"refused": 1, "status_200": 2, "timeout": 1}
    assert (summary["answered"], summary["answered_after_1s"]) == (2, 1)
    assert summary["max_ms"] == 1200.0


PROC_STAT = """\
cpu  300 0 100 600 0 0 0 0 0 0
cpu0 100 0 50 330 20 0 0 0 0 0
cpu1 180 0 50 250 0 5 15 0 0 0
intr 1
"""


def test_per_cpu_busy_time_and_other_work_on_the_pods_cpu():
    busy, total, irq = cpus.parse_stat(PROC_STAT)
    assert (busy, total, irq) == ({0: 150, 1: 250}, {0: 500, 1: 500}, {0: 0, 1: 20})
    before = cpus.CpuTimes(busy, total, children_s=1.0, irq=irq)
    # iowait (20 jiffies on cpu0) is idle time, not busy. 100 jiffies later: cpu0 60 busy,
    # cpu1 all 100 busy, 10 of them irq + softirq; the reaped generator used 0.6 s in 1 s.
    after = cpus.CpuTimes({0: 210, 1: 350}, {0: 600, 1: 600}, children_s=1.6, irq={0: 0, 1: 30})
    row = cpus.machine_row(before, after, 1.0, [1], [0], pod_cores=0.7)
    assert row == {
        "generator_cores": 0.6,
        "generator_cpus_busy": 0.6,
        "pod_cpus_busy": 1.0,
        "pod_cpus_irq": 0.1,
        "pod_cpus_others": 0.2,  # CPU 1 busy 1.0 core: the pod 0.7, packet work 0.1, others 0.2
    }
    reported = cpus.machine_row(before, after, 2.0, [1], [0], 0.7, generator_s=0.5)
    assert reported["generator_cores"] == 0.25  # its own figure wins over the children's


def test_work_running_now_is_seen_by_the_busy_sample():
    # One process spinning on one CPU keeps at least that CPU's share of the machine busy,
    # whatever else runs; the sample must see it (a load average would lag by a minute).
    # The sample starts once the spinner spins: a cold interpreter's start-up waits on the disk
    # (iowait is idle time), which must not count against it on a loaded fresh clone.
    with subprocess.Popen(
        [sys.executable, "-c", "print('spinning', flush=True)\nwhile True: pass"],
        stdout=subprocess.PIPE,
        text=True,
    ) as spinner:
        try:
            assert spinner.stdout is not None
            assert spinner.stdout.readline() == "spinning\n"
            busy = cpus.busy_now(0.5)
        finally:
            spinner.kill()
    assert 0.9 / (os.cpu_count() or 1) <= busy <= 1.0


def test_cpu_lists_and_their_errors():
    assert cpus.parse_cpu_list("0-2,5") == [0, 1, 2, 5]
    assert cpus.parse_cpu_list("1") == [1]
    with pytest.raises(ValueError, match="cpu list: expected numbers and ranges"):
        cpus.parse_cpu_list("one")


def test_pod_and_generator_cpus_must_not_overlap(capsys):
    with pytest.raises(SystemExit):
        arguments(["--pod-cpus", "0-1", "--generator-cpus", "1"])
    assert "expected CPUs apart" in capsys.readouterr().err
    args = arguments(["--quick"])
    assert isinstance(args, argparse.Namespace)
    assert (args.pod_cpus, args.generator_cpus, args.step_seconds) == ([1], [0], 1.0)


def _overload(**changes: Any) -> dict[str, Any]:
    row = {"served_rps": 9500.0, "holds_slo": True, "refused_p99_ms": 2.5, "recovery_s": 1.0,
           "probes_sent": 20, "probes_answered": 20, "peak_mib": 120.0, "oom_kills": 0}  # fmt: skip
    return {**row, **changes}


def test_overload_checks_follow_the_figures_the_pod_must_meet():
    checks = overload_checks(_overload(), capacity_rps=10000, memory_limit_mib=512)
    assert all(checks.values())
    assert len(checks) == 6
    failing = overload_checks(
        _overload(served_rps=8999.0, refused_p99_ms=10.0, recovery_s=5.0, probes_answered=19,
                  peak_mib=512.0, holds_slo=False),
        capacity_rps=10000, memory_limit_mib=512,
    )  # fmt: skip
    assert not any(failing.values())  # every check fails at its edge
    nothing_refused = overload_checks(_overload(refused_p99_ms=None), 10000, 512)
    assert nothing_refused["refused_answered_within_10_ms"] is None
    no_probes = overload_checks(_overload(probes_sent=0, probes_answered=0), 10000, 512)
    assert no_probes["probes_all_answered"] is False  # nothing probed proves nothing
    never = overload_checks(_overload(recovery_s=None), 10000, 512)
    assert never["recovered_within_5_s"] is False


def _v1_tree(root):
    for controller in ("cpu", "cpuacct", "memory", "cpuset"):
        (root / controller).mkdir(parents=True)
        (root / controller / "cgroup.procs").write_text("")
    (root / "cpuset" / "cpuset.mems").write_text("0\n")
    return "4:memory:/\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n"


def test_a_v1_group_with_cpus_is_pinned_and_weighted(tmp_path):
    proc = _v1_tree(tmp_path)
    group = CgroupV1("pod", 1.0, 2**29, tmp_path, proc_cgroup=proc, cpus="1", shares=262144)
    group.create()
    assert (tmp_path / "cpuset" / "pod" / "cpuset.cpus").read_text() == "1"
    assert (tmp_path / "cpuset" / "pod" / "cpuset.mems").read_text() == "0"
    assert (tmp_path / "cpu" / "pod" / "cpu.shares").read_text() == "262144"
    assert "cpuset" in group.enter_command(["app"])[2]
    (tmp_path / "cpuset" / "pod" / "cpuset.cpus").write_text("1\n")
    assert group.applied()["cpuset_cpus"] == "1"
    assert group.applied()["cpu_shares"] == 262144
    unpinned = CgroupV1("plain", 1.0, 2**29, tmp_path, proc_cgroup=proc)
    assert "cpuset" not in unpinned.enter_command(["app"])[2]


def test_profile_samples_are_counted_per_leaf_function_and_package():
    raw = (
        "worker (granian/server/mp.py:10);App.__rsgi__ (test_app/app.py:146) 7\n"
        "worker (granian/server/mp.py:10);App.__rsgi__ (test_app/app.py:148) 3\n"
        "worker (granian/server/mp.py:10);execute (asyncpg/connection.py:2003) 5\n"
        "idle 2\n"
        "garbage\n"
    )
    functions, packages = measure.profile_counts(raw)
    # Two lines of the same function add up; line numbers are dropped.
    assert functions == {
        "App.__rsgi__ (test_app/app.py)": 10,
        "execute (asyncpg/connection.py)": 5,
        "idle": 2,
    }
    assert packages == {"test_app": 10, "asyncpg": 5, "idle": 2}


def test_listen_queue_counters_are_read_from_netstat():
    text = (
        "TcpExt: SyncookiesSent ListenOverflows ListenDrops\n"
        "TcpExt: 0 12 15\n"
        "IpExt: InNoRoutes\nIpExt: 0\n"
    )
    assert measure.listen_counters(text) == {"ListenOverflows": 12, "ListenDrops": 15}
    with pytest.raises(ValueError, match="expected a TcpExt header and value line"):
        measure.listen_counters("IpExt: InNoRoutes\nIpExt: 0\n")


def test_the_cost_of_a_refusal_is_what_the_served_requests_leave_of_the_cpu():
    # 0.8 core; 2000 served at 0.05 ms = 100 ms/s; 700 ms/s over 20000 refusals = 0.035 ms
    # each, 0.7 of a served request.
    row = {"cpu_cores": 0.8, "served_rps": 2000.0, "refused_rps": 20000.0}
    assert refusal_cost(row, 0.05) == 0.7
    assert refusal_cost({**row, "refused_rps": 0.0}, 0.05) is None
    assert refusal_cost({**row, "served_rps": 20000.0}, 0.05) == 0.0  # never below zero


def _run(rate: float | None, *, valid: bool = True) -> dict[str, Any]:
    cap = None if rate is None else {"rps": rate, "repetitions": [rate], "valid": valid}
    return {"started_utc": "08:30", "capacity": cap,
            "machine": {"loadavg_start": 3.0, "minutes": 5.0}}  # fmt: skip


def test_runs_are_compared_by_their_median_capacities():
    runs = across_runs([_run(10000), _run(12000, valid=False), _run(11000), _run(None)])
    assert runs["median_rps"] == 11000
    assert runs["spread"] == 0.182  # (12000 - 10000) / 11000
    assert [run["valid"] for run in runs["runs"]] == [True, False, True, False]
    with pytest.raises(ValueError, match="at least one run"):
        across_runs([])


def test_the_overload_phase_alone_takes_a_connection_bound_and_net_sysctls(capsys):
    sysctls = ["--sysctl", "net.core.somaxconn=128", "--sysctl", "net.ipv4.tcp_abort_on_overflow=1"]
    args = arguments(["--only", "overload", "--connections-per-worker", "256", *sysctls])
    assert (args.only, args.connections_per_worker) == ("overload", 256)
    assert args.sysctl == [("net.core.somaxconn", "128"), ("net.ipv4.tcp_abort_on_overflow", "1")]
    # Only net.* (set in the run's own network namespace), never the machine's kernel.* or vm.*.
    for bad in ("kernel.pid_max=5", "net.core.somaxconn", "net.core.somaxconn=", "net/../x=1"):
        with pytest.raises(SystemExit):
            arguments(["--sysctl", bad])
        assert "--sysctl: expected NAME=VALUE with a net.* name" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        arguments(["--connections-per-worker", "0"])
    assert "expected a positive int, got '0'" in capsys.readouterr().err


def test_the_connection_bound_the_launcher_replaces_exists_in_the_server():
    # The launcher sets test_app.server.CONNECTIONS_PER_WORKER, which connections_per_worker()
    # reads when the server starts: a rename would make the option silently do nothing.
    assert "server.CONNECTIONS_PER_WORKER = {n}" in LAUNCH_WITH_CONNECTIONS
    assert isinstance(server.CONNECTIONS_PER_WORKER, int)
    assert "CONNECTIONS_PER_WORKER" in inspect.getsource(server.connections_per_worker)


def test_proxy_costs_separate_forwarding_from_refusing():
    # 40 us per forwarded and 5 us per refused request, by construction:
    # 24,000 x 40 us + 8,000 x 5 us = 1.0 s; 30,000 x 40 us + 90,000 x 5 us = 1.65 s.
    rows: list[dict[str, Any]] = [
        {"served_2xx": 24_000, "refused_503": 8_000, "shedder": {"cpu_s": 1.0}},
        {"served_2xx": 30_000, "refused_503": 90_000, "shedder": {"cpu_s": 1.65}},
        {"served_2xx": 1, "refused_503": 1, "shedder": None},  # a run without the proxy
    ]
    assert proxy_costs(rows) == {"forward_us": 40.0, "refuse_us": 5.0}


def test_proxy_costs_need_two_mixes():
    same_mix: list[dict[str, Any]] = [
        {"served_2xx": 1_000, "refused_503": 1_000, "shedder": {"cpu_s": 0.1}},
        {"served_2xx": 2_000, "refused_503": 2_000, "shedder": {"cpu_s": 0.2}},
    ]
    with pytest.raises(ValueError, match="at least two mixes"):
        proxy_costs(same_mix)


def test_shedder_row_spreads_the_proxy_cpu_over_every_answer():
    # 0.5 s of proxy CPU over 10 s and 20,000 + 5,000 answers: 0.05 cores, 20 us each.
    row = shedder_row(0.5, 10.0, {"served_2xx": 20_000, "refused_503": 5_000}, 12.345)
    assert row == {"cpu_s": 0.5, "cores": 0.05, "us_per_request": 20.0, "peak_rss_mib": 12.3}


def test_shedder_costs_take_the_apps_refusal_only_from_rows_its_quota_bound():
    proxy = {"overload": [
        {"served_2xx": 1000, "refused_503": 1000, "shedder": {"cpu_s": 0.03}},  # 20 + 10 us
        {"served_2xx": 1000, "refused_503": 3000, "shedder": {"cpu_s": 0.05}},
    ]}  # fmt: skip
    quota = {"refusal_cost_share": 0.3, "bound": "quota"}
    machine = {"refusal_cost_share": 0.9, "bound": "machine"}
    app = {"cpu_ms_per_request": 0.05, "overload": [quota, machine]}
    assert shedder_costs(app, proxy) == (
        "CPU per request, in the pod: 50 us per answer at its capacity, 15 us per 503 of its "
        "own; in the proxy: 20 us per request it forwards, 10 us per 503 it answers."
    )
    app_machine_only = {**app, "overload": [machine]}
    assert shedder_costs(app_machine_only, proxy).startswith(
        "CPU per request, in the pod: 50 us per answer at its capacity; in the proxy:"
    ), "a row the machine bound says nothing of the pod's refusal"
