"""The admission bound (`MAX_IN_FLIGHT`, chart value `app.maxInFlight`) from measured figures.

A worker sheds `/health` past `MAX_IN_FLIGHT` requests in flight. A new request waits behind
the ones already there; each of them costs `cpu_ms_per_request` of CPU, and a worker gets
`cpu_limit / workers` of a core. The bound is the number of requests whose work fits the
queueing budget:

    floor(budget_ms x cpu_limit / (workers x cpu_ms_per_request)), rounded down to hundreds

The budget is a fifth of the latency SLO (250 ms: 50 ms), leaving the rest for the accept
queue in front of the app and the database round trip (docs/service.md, ADR 0010).
"""

from __future__ import annotations

import math
from typing import Any


QUEUE_SHARE_OF_SLO = 0.2  # the queueing budget: a fifth of the latency SLO's threshold
ROUND_TO = 100  # the bound is rounded down to hundreds (to whole requests below 100)


def queue_budget_ms(slo_threshold_ms: float) -> float:
    """The queueing budget (ms) a worker's in-flight requests may add: a fifth of the SLO."""
    if not slo_threshold_ms > 0:
        raise ValueError(f"slo threshold_ms: expected a positive number, got {slo_threshold_ms!r}")
    return slo_threshold_ms * QUEUE_SHARE_OF_SLO


def requests_in_budget(
    cpu_ms_per_request: float, cpu_limit: float, workers: int, budget_ms: float
) -> int:
    """Count the requests one worker gets through within `budget_ms`.

    floor(budget_ms x cpu_limit / (workers x cpu_ms_per_request)): a worker gets a `workers`-th
    of `cpu_limit` cores.
    """
    for name, value in (
        ("cpu_ms_per_request", cpu_ms_per_request),
        ("cpu_limit", cpu_limit),
        ("budget_ms", budget_ms),
    ):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name}: expected a positive number, got {value!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers!r}")
    # Rounded to 9 places first, so that a quotient that is whole on paper (400) stays whole
    # when binary fractions make it 399.99999999999994.
    return math.floor(round(budget_ms * cpu_limit / (workers * cpu_ms_per_request), 9))


def admission_bound(
    cpu_ms_per_request: float, cpu_limit: float, workers: int, budget_ms: float
) -> int:
    """Return the in-flight bound per worker whose queued work fits `budget_ms`.

    `requests_in_budget` rounded down to hundreds; a bound below 100 is rounded down to whole
    requests, and is at least 1 (the app's minimum).
    """
    exact = requests_in_budget(cpu_ms_per_request, cpu_limit, workers, budget_ms)
    if exact >= ROUND_TO:
        return exact // ROUND_TO * ROUND_TO
    return max(1, exact)


def implied_bound(result: dict[str, Any]) -> dict[str, Any] | None:
    """The bound a pod report implies, with its inputs (None when no capacity was found).

    From the report's capacity (`cpu_ms_per_request`), its pod (`cpu_limit`, `workers`) and
    its SLO; `chart` is the `MAX_IN_FLIGHT` the pod ran with, when the report recorded it.
    """
    cap = result.get("capacity")
    if cap is None:
        return None
    pod, slo = result["pod"], result["slo"]
    budget = queue_budget_ms(float(slo["threshold_ms"]))
    inputs = (
        float(cap["cpu_ms_per_request"]),
        float(pod["cpu_limit"]),
        int(pod["workers"]),
        budget,
    )
    return {
        "queue_budget_ms": budget,
        "cpu_ms_per_request": cap["cpu_ms_per_request"],
        "cpu_limit": pod["cpu_limit"],
        "workers": pod["workers"],
        "requests_in_budget": requests_in_budget(*inputs),
        "max_in_flight": admission_bound(*inputs),
        "chart_max_in_flight": pod.get("max_in_flight"),
    }


# The admission proxy's CPU (chart value `admissionProxy.resources`): enough to forward the pod's
# capacity and refuse the rest of this many times its capacity.
PROXY_SIZED_FOR_FACTOR = 4.0
PROXY_CPU_STEP_MILLICORES = 50


def proxy_cpu_millicores(
    proxy_cores: float, bench_capacity_rps: float, pod_capacity_rps: float
) -> int:
    """Return the proxy's CPU for a pod, in millicores, from what it used in front of another.

    `proxy_cores` were used in front of a pod of capacity `bench_capacity_rps` offered
    `PROXY_SIZED_FOR_FACTOR` times it; the proxy's work grows with the requests, so the pod of
    capacity `pod_capacity_rps` needs that many times more, rounded up to 50 millicores.
    """
    for name, value in (
        ("proxy_cores", proxy_cores),
        ("bench_capacity_rps", bench_capacity_rps),
        ("pod_capacity_rps", pod_capacity_rps),
    ):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name}: expected a positive number, got {value!r}")
    millicores = round(proxy_cores * pod_capacity_rps / bench_capacity_rps * 1000, 6)
    return math.ceil(millicores / PROXY_CPU_STEP_MILLICORES) * PROXY_CPU_STEP_MILLICORES


def sized_proxy_cpu(proxy_run: dict[str, Any], pod_report: dict[str, Any]) -> int:
    """The proxy's CPU (millicores) a `bench-pod --shedder` run implies for a pod report's pod."""
    rows = [
        row
        for row in proxy_run["overload"]
        if row["factor"] == PROXY_SIZED_FOR_FACTOR and row.get("shedder")
    ]
    if len(rows) != 1:
        raise ValueError(
            f"the proxy run has {len(rows)} rows at {PROXY_SIZED_FOR_FACTOR:g} x through the "
            "proxy, expected one"
        )
    return proxy_cpu_millicores(
        float(rows[0]["shedder"]["cores"]),
        float(proxy_run["capacity_rps"]),
        float(pod_report["capacity"]["rps"]),
    )
