"""The canary analysis' queries and thresholds, tested with promtool on series of five canaries.

The queries are the chart's rendered AnalysisTemplate (prod values), with the arguments Argo
passes filled in; promtool evaluates them on series of a good canary, a bad one (10 % errors),
a slow one (half its requests above the latency SLO's 250 ms), one whose admission proxy
refuses and times out 10 % of /health itself (the app never sees them) and one without traffic,
next to a stable version that is failing badly (its series must not count). The verdicts then
come from the template's own conditions: good passes, bad, slow and refused fail, no traffic is
inconclusive.
"""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from test_app_tooling import analysis
from test_app_tooling.helm_render import VALUE_SETS, load_values, one, render
from test_app_tooling.tools import REPO


CANARY, STABLE = "6f7c9d8b5", "58d4f7c6b9"
ARGS = {"namespace": "test-app", "canary-hash": CANARY, "window": "1m"}
STEP = "15s"
SAMPLES = 40  # 10 minutes of 15 s samples
EVAL_AT = "5m"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    files, extra = VALUE_SETS["prod"]
    return one(render(load_values(files, extra)), "AnalysisTemplate")


@pytest.fixture(scope="module")
def metrics(template) -> dict[str, analysis.Metric]:
    return {m.name: m for m in analysis.metrics(template)}


def _series(name: str, labels: dict[str, str], per_step: int) -> dict[str, str]:
    text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{text}}}", "values": f"0+{per_step}x{SAMPLES}"}


def _pod(pod_hash: str, status: str) -> dict[str, str]:
    return {
        "namespace": "test-app",
        "pod": f"test-app-{pod_hash}-x",
        "rollouts_pod_template_hash": pod_hash,
        "route": "/health",
        "method": "GET",
        "status": status,
    }


def _version(pod_hash: str, ok: int, errors: int, fast: int) -> list[dict[str, str]]:
    """Series of one version per 15 s: `ok` 200s, `errors` 500s, `fast` of all under 250 ms."""
    found = []
    for status, count in (("200", ok), ("500", errors)):
        if count:
            labels = _pod(pod_hash, status)
            found.append(_series("test_app_http_requests_total", labels, count))
            found.append(_series("test_app_http_request_duration_seconds_count", labels, count))
    # One bucket series carries the fast requests (all statuses in one, for brevity).
    bucket = _pod(pod_hash, "200") | {"le": "0.25"}
    found.append(_series("test_app_http_request_duration_seconds_bucket", bucket, fast))
    return found


def _proxy(pod_hash: str, refused: int, own_errors: int) -> list[dict[str, str]]:
    """The admission proxy's series per 15 s: /health refused, and its own 5xx in backend app."""
    pod = {
        "namespace": "test-app",
        "pod": f"test-app-{pod_hash}-x",
        "rollouts_pod_template_hash": pod_hash,
    }
    return [
        _series("haproxy_backend_http_requests_total", pod | {"proxy": "shed_health"}, refused),
        _series(
            "haproxy_backend_http_responses_total",
            pod | {"proxy": "app", "code": "5xx"},
            own_errors,
        ),
        _series(
            "haproxy_server_http_responses_total",
            pod | {"proxy": "app", "server": "app", "code": "5xx"},
            0,
        ),
    ]


# The stable version fails half its requests, is slow and its proxy refuses and times out
# more: none of it may reach the canary's numbers. Per 15 s the canary gets 60 requests: 240 in
# the 1 m window.
STABLE_SERIES = _version(STABLE, ok=50, errors=50, fast=10) + _proxy(STABLE, 50, 50)
CASES: dict[str, tuple[list[dict[str, str]], dict[str, float], dict[str, str]]] = {
    # case: (canary series, expected value per metric, expected verdict per metric)
    "good": (
        _version(CANARY, ok=60, errors=0, fast=60),
        {"availability": 0, "latency": 0, "requests": 240},
        {"availability": "Successful", "latency": "Successful", "requests": "Successful"},
    ),
    "bad": (
        _version(CANARY, ok=54, errors=6, fast=60),
        {"availability": 0.1, "latency": 0, "requests": 240},
        {"availability": "Failed", "latency": "Successful", "requests": "Successful"},
    ),
    "slow": (
        _version(CANARY, ok=60, errors=0, fast=30),
        {"availability": 0, "latency": 0.5, "requests": 240},
        {"availability": "Successful", "latency": "Failed", "requests": "Successful"},
    ),
    # The app answers 54 of every 60 /health with 200; the admission proxy refuses 4 itself
    # and answers 2 with its own 503 (queue timeout): the app never sees those 10 %.
    "refused-by-proxy": (
        _version(CANARY, ok=54, errors=0, fast=54) + _proxy(CANARY, refused=4, own_errors=2),
        {"availability": 0.1, "latency": 0, "requests": 240},
        {"availability": "Failed", "latency": "Successful", "requests": "Successful"},
    ),
    "no-traffic": (
        [],
        {"availability": 0, "latency": 0, "requests": 0},
        {"availability": "Successful", "latency": "Successful", "requests": "Inconclusive"},
    ),
}
METRIC = {
    "availability": "canary-availability-error-ratio",
    "latency": "canary-latency-error-ratio",
    "requests": "canary-requests",
}


def _promtool_file(metrics: dict[str, analysis.Metric]) -> dict[str, Any]:
    tests = []
    for series, values, _ in CASES.values():
        tests.append(
            {
                "interval": STEP,
                "input_series": STABLE_SERIES + series,
                "promql_expr_test": [
                    {
                        "expr": analysis.fill(metrics[METRIC[key]].query, ARGS),
                        "eval_time": EVAL_AT,
                        "exp_samples": [{"labels": "{}", "value": value}],
                    }
                    for key, value in values.items()
                ],
            }
        )
    return {"rule_files": [], "evaluation_interval": "15s", "tests": tests}


def _run_promtool(tool, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), "test", "rules", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_template_holds_the_three_metrics(metrics):
    assert set(metrics) == set(METRIC.values())


def test_queries_give_the_canarys_numbers_in_promtool(tool, metrics, tmp_path: Path):
    path = tmp_path / "canary_test.yaml"
    path.write_text(yaml.safe_dump(_promtool_file(metrics), sort_keys=False), encoding="utf-8")
    result = _run_promtool(tool, path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_fails_when_the_canary_filter_is_lost(tool, metrics, tmp_path: Path):
    """Without the hash matcher the stable version's 50 % errors leak in: promtool must say so."""
    broken = {
        name: analysis.Metric(
            **{
                **metric.__dict__,
                "query": metric.query.replace(
                    ',rollouts_pod_template_hash="{{args.canary-hash}}"', ""
                ),
            }
        )
        for name, metric in metrics.items()
    }
    assert all(b.query != metrics[n].query for n, b in broken.items())
    path = tmp_path / "canary_test.yaml"
    path.write_text(yaml.safe_dump(_promtool_file(broken), sort_keys=False), encoding="utf-8")
    result = _run_promtool(tool, path)
    assert result.returncode != 0, result.stdout


@pytest.mark.parametrize("case", sorted(CASES))
def test_verdicts_of_the_templates_conditions(metrics, case):
    _, values, verdicts = CASES[case]
    for key, value in values.items():
        assert metrics[METRIC[key]].judge(value) == verdicts[key], (case, key, value)


def test_thresholds_are_the_slo_budgets_times_the_canary_burn_rate(metrics):
    slo = yaml.safe_load((REPO / "observability" / "slo.yaml").read_text(encoding="utf-8"))
    canary = yaml.safe_load((REPO / "observability" / "canary.yaml").read_text(encoding="utf-8"))
    burn = Decimal(str(canary["burn_rate"]))
    objectives = {s["name"]: Decimal(str(s["objective"])) for s in slo["slos"]}
    for key in ("availability", "latency"):
        budget = (100 - objectives[key]) / 100
        assert metrics[METRIC[key]].success == f"result[0] <= {burn * budget:f}".rstrip("0")
    assert metrics["canary-requests"].success == f"result[0] >= {canary['min_requests']}"
    # Too few requests is never a pass and never a failure: Argo pauses for a person.
    assert metrics["canary-requests"].failure == "false"


def test_a_wrong_threshold_changes_a_verdict(metrics):
    """The bad canary's 10 % passes a threshold of 0.2: the verdict test above can fail."""
    lax = analysis.Metric(
        **{**metrics[METRIC["availability"]].__dict__, "success": "result[0] <= 0.2"}
    )
    assert lax.judge(CASES["bad"][1]["availability"]) == "Successful"


def test_analysis_run_aborts_after_the_failure_limit(metrics):
    metric = metrics[METRIC["availability"]]
    run = analysis.AnalysisRun(list(metrics.values()))
    for _ in range(metric.failure_limit):
        run.record(metric, "Failed")
        assert run.phase() == "Running"
    run.record(metric, "Failed")
    assert run.phase() == "Failed"


def test_unknown_condition_is_refused_naming_the_metric(template):
    broken = yaml.safe_load(yaml.safe_dump(template))
    broken["spec"]["metrics"][0]["successCondition"] = "len(result) > 0"
    with pytest.raises(analysis.AnalysisError, match=r"spec\.metrics\[0\]\.successCondition"):
        analysis.metrics(broken)
