"""docs/scaling.md's table is regenerated from the recorded benchmark and compared."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from test_app_tooling.fields import FieldError


REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "scaling_table.py"


def bench_json(tmp_path: Path, **changes: object) -> Path:
    data: dict[str, object] = {
        "command": "python scripts/bench.py",
        "date": "2026-01-01",
        "machine": {"cpus": 2},
        "workers": 2,
        "rows": [
            {"connections": 16, "app_rps": 1500, "pgbench_tps": 9000, "p99_ms": 3.0, "errors": 0},
            {"connections": 64, "app_rps": 2000, "pgbench_tps": 10000, "p99_ms": 9.0, "errors": 0},
            {"connections": 128, "app_rps": 5000, "pgbench_tps": 8000, "p99_ms": 99.0, "errors": 7},
        ],
    }
    data.update(changes)
    path = tmp_path / "health.json"
    path.write_text(json.dumps(data))
    return path


def pod_json(tmp_path: Path, **changes: object) -> Path:
    data: dict[str, object] = {
        "command": "make bench-pod",
        "date": "2026-01-01",
        "machine": {"cpus": 2, "loaded": False},
        "pod": {"cpu_limit": 1.0, "workers": 2},
        "slo": {"threshold_ms": 250.0},
        "capacity": {"rps": 1000, "cpu_ms_per_request": 0.5, "p99_ms": 20.0},
    }
    data.update(changes)
    path = tmp_path / "pod.json"
    path.write_text(json.dumps(data))
    return path


def test_the_committed_table_is_regenerated_identically(scaling_script):
    doc = (REPO / "docs" / "scaling.md").read_text()
    bench = scaling_script.load_benchmark(scaling_script.BENCHMARK)
    pod = scaling_script.load_pod_benchmark(scaling_script.POD_BENCHMARK)
    block = scaling_script.render(bench, pod, scaling_script.load_environment("prod"))
    assert scaling_script.splice(doc, block) == doc
    table = [line for line in block.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(table) == 1 + len(scaling_script.RATES)
    assert f"**{pod.capacity_rps:,.0f} req/s**" in doc


def test_the_arithmetic_follows_the_inputs(scaling_script, tmp_path):
    bench = scaling_script.load_benchmark(bench_json(tmp_path))
    # the best error-free row: 2000 req/s on 2 CPUs; pgbench peak 10000 tps
    assert (bench.app_rps, bench.connections, bench.pgbench_tps) == (2000, 64, 10000)
    # a pod serves 1000 req/s inside its quota, at 0.5 ms of CPU per request
    pod = scaling_script.load_pod_benchmark(pod_json(tmp_path))
    env = replace(scaling_script.load_environment("prod"), cpu_request=0.25, hpa_target=70,
                  hpa_min=3, hpa_max=10, workers=2, pool_max=4, node_min=3, node_max=9,
                  reader_min=2, reader_max=5, reader_target_cpu=60, db_class="db.r6g.large",
                  anti_affinity="hard")  # fmt: skip
    model = scaling_script.model(bench, pod, env)
    assert model.rps_per_core == 1000
    assert model.rps_per_pod_arithmetic == pytest.approx(175)  # 1000 x 0.25 x 0.70
    assert model.rps_at_hpa_target == pytest.approx(350)  # 0.175 core x 1000 / 0.5 ms
    assert model.rps_per_pod == pytest.approx(350)  # below the capacity of 1000
    capped = scaling_script.model(bench, pod, replace(env, cpu_request=4.0))
    assert capped.rps_at_hpa_target == pytest.approx(5600)  # 2.8 cores x 1000 / 0.5 ms
    assert capped.rps_per_pod == 1000  # never more than the measured capacity
    model = replace(model, rps_per_pod=175)  # the cases below were worked out for 175 per pod
    assert model.reader_qps == pytest.approx(6000)  # 10000 / 2 x 2 vCPUs x 0.60
    assert model.max_connections == 1802  # 16 GiB / 9531392
    low = scaling_script.plan(100, env, model)
    assert (low.pods, low.nodes, low.readers, low.connections, low.notes) == (3, 3, 2, 24, [])
    mid = scaling_script.plan(1575, env, model)  # 9 pods: a rollout needs a 10th node
    assert (mid.pods, mid.nodes) == (9, 9)
    assert mid.notes == ["raise node_max_size (9): a rollout needs pods + 1 nodes"]
    high = scaling_script.plan(40_000, env, model)
    assert (high.pods, high.readers, high.connections) == (229, 7, 1832)
    assert "raise autoscaling.maxReplicas (10)" in high.notes
    assert "raise reader_max_count (5) or the instance class" in high.notes
    assert "add RDS Proxy or PgBouncer" in high.notes


def test_the_rate_at_the_hpa_target_is_read_from_the_measured_cpu_curve(scaling_script, tmp_path):
    steps = [  # CPU per request falls as the rate rises, as measured
        {"offered_rps": 2000, "cpu_cores": 0.4, "pass": True},
        {"offered_rps": 8000, "cpu_cores": 0.7, "pass": True},
        {"offered_rps": 16000, "cpu_cores": 0.9, "pass": True},
        {"offered_rps": 32000, "cpu_cores": 0.95, "pass": False},  # failing steps do not count
    ]
    pod = scaling_script.load_pod_benchmark(
        pod_json(tmp_path, steps=steps, capacity={"rps": 16000, "cpu_ms_per_request": 0.056,
                                                  "p99_ms": 20.0, "valid": True})
    )  # fmt: skip
    assert pod.cpu_curve == ((2000, 0.4), (8000, 0.7), (16000, 0.9))
    curve = pod.cpu_curve
    assert scaling_script.rate_at_cpu(curve, 0.2) == pytest.approx(1000)  # 2000 x 0.2 / 0.4
    assert scaling_script.rate_at_cpu(curve, 0.8) == pytest.approx(12000)  # halfway 8000..16000
    assert scaling_script.rate_at_cpu(curve, 0.95) == float("inf")  # above every passing step
    bench = scaling_script.load_benchmark(bench_json(tmp_path))
    env = replace(scaling_script.load_environment("prod"), cpu_request=1.0, hpa_target=80)
    model = scaling_script.model(bench, pod, env)
    assert model.rps_at_hpa_target == pytest.approx(12000)  # 0.8 core on the curve
    assert model.rps_per_pod == pytest.approx(12000)
    # The linear figure from the capacity step would claim 0.8 x 1000 / 0.056 = 14,286 req/s.
    block = scaling_script.render(bench, pod, env)
    assert "reach at 12,000 req/s" in block
    invalid = scaling_script.load_pod_benchmark(
        pod_json(tmp_path, steps=steps, capacity={"rps": 16000, "cpu_ms_per_request": 0.056,
                                                  "p99_ms": 20.0, "valid": False})
    )  # fmt: skip
    assert "an invalid run" in scaling_script.render(bench, invalid, env)
    # 2/3 of 16000 = 10667 req/s: 0.7 + (10667 - 8000) x 0.2 / 8000 = 0.7667 cores;
    # / 1.1 = 0.697 of a 1-core request: 65 % (rounded down to 5).
    assert scaling_script.cpu_at_rate(curve, 10666.67) == pytest.approx(0.7667, abs=1e-4)
    assert scaling_script.cpu_at_rate(curve, 1000) == pytest.approx(0.2)
    assert scaling_script.recommended_target(pod, 1.0) == 65
    assert scaling_script.recommended_target(pod, 0.5) == 135  # a target may pass 100 %
    assert "the target is **65 %** of the request" in scaling_script.render(bench, pod, env)


def test_the_charts_hpa_target_is_the_one_the_measurement_recommends(scaling_script):
    pod = scaling_script.load_pod_benchmark(scaling_script.POD_BENCHMARK)
    prod = scaling_script.load_environment("prod")
    assert prod.hpa_target == scaling_script.recommended_target(pod, prod.cpu_request), (
        "charts/test-app/values-prod.yaml autoscaling.targetCPUUtilizationPercentage differs "
        "from what docs/benchmarks/pod.json recommends; see docs/scaling.md"
    )


def test_the_environment_is_read_from_the_chart_and_tfvars(scaling_script):
    prod = scaling_script.load_environment("prod")
    assert prod.cpu_request > 0
    assert prod.hpa_min >= 3
    assert prod.hpa_max >= prod.hpa_min
    assert prod.workers >= 1
    assert prod.node_type in scaling_script.INSTANCE_VCPUS


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rows": []}, "health.json.rows: expected at least one measured row, got []"),
        ({"rows": [[1, 2]]}, "health.json.rows[0]: expected a mapping, got [1, 2]"),
        ({"machine": {"cpus": 0}}, "health.json.machine.cpus: expected a positive number, got 0"),
        ({"workers": "two"}, "health.json.workers: expected a positive number, got 'two'"),
        ({"workers": True}, "health.json.workers: expected a positive number, got True"),
        (
            {
                "rows": [
                    {"connections": 1, "app_rps": -1, "pgbench_tps": 1, "p99_ms": 1, "errors": 0}
                ]
            },
            "health.json.rows[0].app_rps: expected a positive number, got -1",
        ),
        (
            {"rows": [{"connections": 1, "app_rps": 1, "pgbench_tps": 1, "p99_ms": 1}]},
            "health.json.rows[0].errors: expected a whole number, missing",
        ),
        (
            {
                "rows": [
                    {"connections": 1, "app_rps": 1, "pgbench_tps": 1, "p99_ms": 1, "errors": 3}
                ]
            },
            "every row has errors > 0",
        ),
    ],
)
def test_bad_benchmark_files_name_the_field(scaling_script, tmp_path, changes, message):
    with pytest.raises(FieldError) as caught:
        scaling_script.load_benchmark(bench_json(tmp_path, **changes))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"capacity": None}, "pod.json.capacity: no step held the SLO"),
        ({"pod": {"workers": 2}}, "pod.json.pod.cpu_limit: expected a positive number, missing"),
        ({"steps": {"offered_rps": 1}}, "pod.json.steps: expected a list, got {'offered_rps': 1}"),
        (
            {"capacity": {"rps": 1000, "cpu_ms_per_request": 0, "p99_ms": 20.0}},
            "pod.json.capacity.cpu_ms_per_request: expected a positive number, got 0",
        ),
    ],
)
def test_bad_pod_benchmark_files_name_the_field(scaling_script, tmp_path, changes, message):
    with pytest.raises(FieldError) as caught:
        scaling_script.load_pod_benchmark(pod_json(tmp_path, **changes))
    assert message in str(caught.value)


def test_check_fails_when_the_measurement_changes(tmp_path):
    ok = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True,
                        check=False, timeout=60)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    stale = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--benchmark", str(bench_json(tmp_path))],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert stale.returncode == 1
    assert "docs/scaling.md is stale; run `make scaling-table`" in stale.stderr
    stale_pod = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--pod-benchmark", str(pod_json(tmp_path))],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert stale_pod.returncode == 1
    broken = subprocess.run(
        [sys.executable, str(SCRIPT), "--benchmark", str(tmp_path / "absent.json")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert broken.returncode == 2
    assert "absent.json: missing; run `make bench`" in broken.stderr


def test_the_bounds_quoted_in_the_prose_are_the_configured_ones(scaling_script):
    prod = scaling_script.load_environment("prod")
    staging = scaling_script.load_environment("staging")
    scaling = (REPO / "docs" / "scaling.md").read_text()
    adr = (REPO / "docs" / "adr" / "0010-scale-on-cpu-with-measured-capacity.md").read_text()
    expected = {
        "scaling.md": (scaling, [
            f"| {prod.hpa_min}..{prod.hpa_max} pods |",
            f"| {prod.node_min}..{prod.node_max} `{prod.node_type}` |",
            f"| {prod.reader_min}..{prod.reader_max} `{prod.db_class}` |",
            f"average CPU ({prod.reader_target_cpu} %)",
            f"CPU, {prod.hpa_target} % of the request",
            f"{prod.cpu_request * 1000:g}m in prod and {staging.cpu_request * 1000:g}m in staging",
            (f"In prod that is {prod.reader_min}..{prod.reader_max} readers at "
            f"{prod.reader_target_cpu} % CPU"),
        ]),
        "ADR 0010": (adr, [
            (f"targets {prod.hpa_target} % of the CPU request, between {prod.hpa_min} and "
            f"{prod.hpa_max} pods in prod"),
            f"Aurora keeps {prod.reader_min}..{prod.reader_max} readers in prod",
        ]),
    }  # fmt: skip
    missing = [f"{doc}: {text!r}" for doc, (body, texts) in expected.items()
               for text in texts if text not in " ".join(body.split())]  # fmt: skip
    assert missing == [], "prose no longer matches the values and tfvars:\n" + "\n".join(missing)


def test_the_adr_quotes_the_measured_pod(scaling_script):
    pod = scaling_script.load_pod_benchmark(scaling_script.POD_BENCHMARK)
    data = json.loads(scaling_script.POD_BENCHMARK.read_text())
    adr = (REPO / "docs" / "adr" / "0010-scale-on-cpu-with-measured-capacity.md").read_text()
    text = " ".join(adr.split())
    expected = [
        f"{pod.capacity_rps:,.0f} req/s",
        f"{pod.cpu_ms_per_request:g} ms of CPU per request",
        f"/health / /livez = {data['ceiling']['health_over_livez']}",
        f"median of {len(data['repetitions'])} repetitions",
        f"spread {data['capacity']['spread']:.0%}",
        *(
            f"{over['factor']:g} x capacity: goodput {over['goodput_share']:.0%}"
            for over in data["overload"]
        ),
        *(f"recovered in {over['recovery_s']} s" for over in data["overload"]),
    ]
    missing = [quote for quote in expected if quote not in text]
    assert missing == [], f"ADR 0010 no longer quotes docs/benchmarks/pod.json: {missing}"
