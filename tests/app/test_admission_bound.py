"""The admission bound (`MAX_IN_FLIGHT`) derived from the measured cost of a request.

The formula on hand-computed figures, the sentence the pod report states, and the chart's
`app.maxInFlight` against the bound the committed docs/benchmarks/pod.json implies.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from bench_pod import latency_slo, rederive

from test_app.settings import load_settings
from test_app_tooling.helm_render import chart_values
from test_app_tooling.podbench.admission import (
    admission_bound,
    implied_bound,
    proxy_cpu_millicores,
    queue_budget_ms,
    requests_in_budget,
    sized_proxy_cpu,
)
from test_app_tooling.podbench.chart import pod_spec
from test_app_tooling.podbench.document import refusal_table, render, shedder_costs, shedder_table


REPO = Path(__file__).resolve().parents[2]
POD_JSON = REPO / "docs" / "benchmarks" / "pod.json"
ADR = REPO / "docs" / "adr" / "0010-scale-on-cpu-with-measured-capacity.md"


@pytest.mark.parametrize(
    "case",
    [
        # 50 x 1 / (2 x 0.0605) = 50 / 0.121 = 413.2 -> 413 -> 400
        (0.0605, 1.0, 2, 50.0, 413, 400),
        # 50 x 1 / (2 x 0.0826) = 50 / 0.1652 = 302.7 -> 302 -> 300
        (0.0826, 1.0, 2, 50.0, 302, 300),
        # 50 x 1 / (2 x 0.0625) = 400 exactly: already a multiple of a hundred
        (0.0625, 1.0, 2, 50.0, 400, 400),
        # 50 x 0.7 / (1 x 0.07) = 500, which binary fractions make 499.99999999999994
        (0.07, 0.7, 1, 50.0, 500, 500),
        # 50 x 2 / (4 x 0.05) = 100 / 0.2 = 500: more workers share a bigger limit
        (0.05, 2.0, 4, 50.0, 500, 500),
        # 100 x 1 / (2 x 0.0605) = 826.4 -> 826 -> 800: a bigger budget, a bigger bound
        (0.0605, 1.0, 2, 100.0, 826, 800),
        # 50 x 1 / (2 x 0.3) = 83.3 -> 83: below a hundred, whole requests
        (0.3, 1.0, 2, 50.0, 83, 83),
        # 50 x 0.1 / (2 x 10) = 0.25 -> 0 -> at least 1 (the app's minimum)
        (10.0, 0.1, 2, 50.0, 0, 1),
    ],
)
def test_the_bound_is_the_requests_in_the_budget_rounded_down_to_hundreds(case):
    # (CPU ms per request, CPU limit, workers, budget ms) -> unrounded, bound
    cpu_ms, cpu_limit, workers, budget_ms, exact, bound = case
    assert requests_in_budget(cpu_ms, cpu_limit, workers, budget_ms) == exact
    assert admission_bound(cpu_ms, cpu_limit, workers, budget_ms) == bound


def test_the_budget_is_a_fifth_of_the_slo():
    assert queue_budget_ms(250.0) == 50.0
    assert queue_budget_ms(500.0) == 100.0
    with pytest.raises(ValueError, match="slo threshold_ms: expected a positive number, got 0"):
        queue_budget_ms(0.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.0, 1.0, 2, 50.0), "cpu_ms_per_request: expected a positive number, got 0.0"),
        ((0.06, -1.0, 2, 50.0), "cpu_limit: expected a positive number, got -1.0"),
        ((0.06, 1.0, 0, 50.0), "workers: expected a positive integer, got 0"),
        ((0.06, 1.0, 2.5, 50.0), "workers: expected a positive integer, got 2.5"),
        ((0.06, 1.0, 2, 0.0), "budget_ms: expected a positive number, got 0.0"),
    ],
)
def test_bad_inputs_name_the_field(args, message):
    with pytest.raises(ValueError, match=message):
        admission_bound(*args)


def _committed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(POD_JSON.read_text())
    return data


def test_the_report_states_the_bound_it_implies():
    result = rederive(_committed())
    cap, pod = result["capacity"], result["pod"]
    admission = result["admission"]
    assert admission["max_in_flight"] == admission_bound(
        cap["cpu_ms_per_request"], pod["cpu_limit"], pod["workers"], 50.0
    )
    assert admission["queue_budget_ms"] == 50.0  # a fifth of the committed 250 ms SLO
    text = " ".join(render(result).split())
    assert (
        f"/ ({pod['workers']} workers x {cap['cpu_ms_per_request']} ms of CPU per request)) = "
        f"{admission['requests_in_budget']}, rounded down to hundreds: "
        f"**{admission['max_in_flight']} requests in flight per worker**"
    ) in text

    # A report whose pod ran with another bound says which value to set.
    other = copy.deepcopy(result)
    other["pod"]["max_in_flight"] = admission["max_in_flight"] + 100
    text = " ".join(render(rederive(other)).split())
    assert (
        f"The pod ran with `MAX_IN_FLIGHT={admission['max_in_flight'] + 100}`; **set the "
        f"chart's `app.maxInFlight` to {admission['max_in_flight']}**"
    ) in text
    same = copy.deepcopy(result)
    same["pod"]["max_in_flight"] = admission["max_in_flight"]
    assert "the same." in render(rederive(same))


def test_a_report_without_a_capacity_implies_no_bound():
    result = _committed()
    result["capacity"] = None
    assert implied_bound(result) is None


def test_the_charts_max_in_flight_is_the_bound_the_committed_measurement_implies():
    implied = implied_bound(_committed())
    assert implied is not None, "docs/benchmarks/pod.json: no capacity, so no bound"
    chart = pod_spec("prod").env.get("MAX_IN_FLIGHT")
    assert chart is not None, "the rendered prod chart sets no MAX_IN_FLIGHT"
    assert int(chart) == implied["max_in_flight"], (
        f"charts/test-app: app.maxInFlight is {chart}, but docs/benchmarks/pod.json implies "
        f"{implied['max_in_flight']} (floor({implied['queue_budget_ms']:g} ms x "
        f"{implied['cpu_limit']:g} core / ({implied['workers']} workers x "
        f"{implied['cpu_ms_per_request']} ms of CPU per request)) = "
        f"{implied['requests_in_budget']}, rounded down to hundreds): set app.maxInFlight "
        f"to {implied['max_in_flight']} (and the default in app/src/test_app/settings.py)"
    )
    assert load_settings({}).max_in_flight == implied["max_in_flight"], (
        f"app/src/test_app/settings.py: the MAX_IN_FLIGHT default is not the "
        f"{implied['max_in_flight']} docs/benchmarks/pod.json implies"
    )


REFUSAL_RUNS = REPO / "docs" / "benchmarks" / "overload-refusal"


def test_adr_0010_quotes_the_measured_refusal_options():
    runs = {path.stem: json.loads(path.read_text()) for path in REFUSAL_RUNS.glob("*.json")}
    assert len(runs) >= 2, f"{REFUSAL_RUNS}: expected the runs ADR 0010 compares"
    for name, run in runs.items():  # each file says how it was made, with its own options
        assert run["only"] == "overload"
        assert f"--save docs/benchmarks/overload-refusal/{name}.json" in run["command"]
        bound = run["connections_per_worker"]
        assert (bound is None) == ("--connections-per-worker" not in run["command"]), name
        assert all(f"--sysctl {key}={value}" in run["command"] for key, value in
                   run["sysctls"].items()), name  # fmt: skip
    adr = (REPO / "docs" / "adr" / "0010-scale-on-cpu-with-measured-capacity.md").read_text()
    lines = {line.strip() for line in adr.splitlines()}
    missing = [row for row in refusal_table(runs) if row not in lines]
    assert missing == [], "ADR 0010 no longer quotes docs/benchmarks/overload-refusal:\n" + (
        "\n".join(missing)
    )


SHEDDER_RUNS = REPO / "docs" / "benchmarks" / "overload-shedder"


def test_adr_0010_quotes_the_measured_shedding_proxy():
    runs = {path.stem: json.loads(path.read_text()) for path in SHEDDER_RUNS.glob("*.json")}
    assert sorted(runs) == ["1-app", "2-shedder"], f"{SHEDDER_RUNS}: expected the two runs"
    app, proxy = runs["1-app"], runs["2-shedder"]
    for name, run in runs.items():  # each file says how it was made, with its own options
        assert run["only"] == "overload"
        assert f"--save docs/benchmarks/overload-shedder/{name}.json" in run["command"]
        assert ("--shedder" in run["command"].split()) == (run["shedder"] is not None), name
        assert f"--cpu-limit {run['cpu_limit']:g}" in run["command"], name
    # The second run reuses the capacity the first one measured on the same pod size.
    assert app["capacity_measured"] is not None
    assert f"--capacity {app['capacity_rps']:g}" in proxy["command"]
    assert proxy["cpu_limit"] == app["cpu_limit"]
    adr = (REPO / "docs" / "adr" / "0010-scale-on-cpu-with-measured-capacity.md").read_text()
    lines = {line.strip() for line in adr.splitlines()}
    missing = [row for row in shedder_table(runs) if row not in lines]
    assert missing == [], "ADR 0010 no longer quotes docs/benchmarks/overload-shedder:\n" + (
        "\n".join(missing)
    )
    assert shedder_costs(app, proxy) in lines
    flat = " ".join(adr.split())
    assert f"({app['capacity_rps']:,.0f} req/s)" in flat
    # What the prose claims of the proxy at 2 x and 4 x holds in its rows.
    slo_ms = latency_slo().threshold_ms
    for row in (r for r in proxy["overload"] if r["factor"] in {2.0, 4.0}):
        assert row["goodput_share"] >= 0.9, row["factor"]
        assert row["p99_ms"] <= slo_ms, row["factor"]
        assert row["refused_p99_ms"] < 12, row["factor"]  # "within about 10 ms"


@pytest.mark.parametrize(
    "case",
    [
        # 0.155 cores x 14,000 / 3,000 = 0.7233 -> 723.3 m -> 750 m
        (0.155, 3000.0, 14000.0, 750),
        # 0.2 x 5,000 / 2,000 = 0.5 exactly: already a multiple of 50 m
        (0.2, 2000.0, 5000.0, 500),
        # 0.1 x 1,000 / 3,000 = 0.0333 -> 33.3 m -> 50 m: never below one step
        (0.1, 3000.0, 1000.0, 50),
        # 0.3 x 7,000 / 3,000 = 0.7, which binary fractions make 700.0000000000001 m
        (0.3, 3000.0, 7000.0, 700),
    ],
)
def test_the_proxy_cpu_scales_with_the_capacity_rounded_up_to_50m(case):
    cores, bench_capacity, pod_capacity, millicores = case
    assert proxy_cpu_millicores(cores, bench_capacity, pod_capacity) == millicores


def test_the_proxy_cpu_refuses_a_figure_that_is_not_positive():
    with pytest.raises(ValueError, match="bench_capacity_rps: expected a positive number"):
        proxy_cpu_millicores(0.2, 0, 14000.0)


def test_the_proxy_is_sized_from_its_row_at_4x():
    rows: list[dict[str, Any]] = [
        {"factor": 2.0, "shedder": {"cores": 0.1}},
        {"factor": 4.0, "shedder": {"cores": 0.155}},
        {"factor": 8.0, "shedder": {"cores": 0.3}},
    ]
    run = {"capacity_rps": 3000.0, "overload": rows}
    assert sized_proxy_cpu(run, {"capacity": {"rps": 14000.0}}) == 750
    without = {**run, "overload": [r for r in rows if r["factor"] != 4.0]}
    with pytest.raises(ValueError, match="0 rows at 4 x through the proxy"):
        sized_proxy_cpu(without, {"capacity": {"rps": 14000.0}})


def test_the_chart_sizes_the_proxy_from_the_committed_runs():
    proxy = json.loads((SHEDDER_RUNS / "2-shedder.json").read_text())
    pod = json.loads(POD_JSON.read_text())
    resources = chart_values()["admissionProxy"]["resources"]
    expected = f"{sized_proxy_cpu(proxy, pod)}m"
    assert resources["requests"]["cpu"] == expected, "admissionProxy.resources.requests.cpu"
    assert resources["limits"]["cpu"] == expected, "admissionProxy.resources.limits.cpu"
    adr = " ".join(ADR.read_text().split())
    assert f"**{expected}**" in adr, "ADR 0010 no longer states the proxy's CPU"
    row = next(r for r in proxy["overload"] if r["factor"] == 4.0)
    cores, capacity = row["shedder"]["cores"], pod["capacity"]["rps"]
    formula = f"{cores:g} x {capacity:,.0f} / {proxy['capacity_rps']:,.0f}"
    assert formula in adr, f"ADR 0010 no longer shows the sizing: {formula}"
    # The memory limit holds the proxy's measured peak with room to spare (a half).
    peak = max(row["shedder"]["peak_rss_mib"] for row in proxy["overload"] if row["shedder"])
    limit_mib = int(resources["limits"]["memory"].removesuffix("Mi"))
    assert peak <= limit_mib / 2, f"peak {peak} MiB against a {limit_mib} MiB limit"
