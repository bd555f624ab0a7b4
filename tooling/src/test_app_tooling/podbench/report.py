"""The arithmetic of a pod benchmark, from raw counters.

Per-step rows, capacity, ceiling, overload and memory figures: pure functions, so the report
can be recomputed and checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from test_app_tooling.podbench.cgroup import CpuCounters, MemoryCounters
from test_app_tooling.podbench.httperf import LoadResult


MIB = 1024 * 1024


@dataclass(frozen=True)
class Slo:
    """The latency SLO a step must hold: `percentile` of requests within `threshold_ms`."""

    threshold_ms: float
    percentile: float  # e.g. 99.0


def mib(value: int) -> float:
    """Bytes in MiB, one decimal."""
    return round(value / MIB, 1)


def cpu_row(before: CpuCounters, after: CpuCounters, wall_s: float) -> dict[str, Any]:
    """CPU used (cores) and CFS throttling between two readings `wall_s` apart."""
    periods = after.periods - before.periods
    throttled = after.throttled_periods - before.throttled_periods
    return {
        "cpu_cores": round((after.usage_ns - before.usage_ns) / 1e9 / wall_s, 3),
        "periods": periods,
        "throttled_periods": throttled,
        "throttled_share": round(throttled / periods, 3) if periods else 0.0,
        "throttled_s": round((after.throttled_ns - before.throttled_ns) / 1e9, 3),
    }


def memory_row(memory: MemoryCounters, limit: int) -> dict[str, Any]:
    """Anonymous memory now and the peak usage since the last reset, against the limit."""
    return {
        "rss_mib": mib(memory.rss_bytes),
        "peak_mib": mib(memory.peak_bytes),
        "peak_of_limit": round(memory.peak_bytes / limit, 3),
        "oom_kills": memory.oom_kills,
    }


def load_row(load: LoadResult, slo: Slo) -> dict[str, Any]:
    """Rates, latencies and errors of one constant-rate run."""
    p99 = load.percentile_ms(slo.percentile / 100)
    return {
        "offered_rps": round(load.offered_rate, 1),
        "duration_s": load.duration_s,
        "planned": load.planned,
        "attempted": load.connections,
        "served_2xx": load.status_2xx,
        "served_rps": round(load.status_2xx / load.duration_s, 1) if load.duration_s else 0.0,
        "errors": load.errors,
        "timeouts": load.timeouts,
        "refused": load.refused,
        "reset": load.reset,
        "non_2xx": load.status_other,
        "other_errors": load.other_errors,
        "unanswered": load.unanswered,
        "client_limit": load.client_limit,
        "lost_generators": load.lost,
        "p50_ms": load.percentile_ms(0.5),
        "p99_ms": p99,
        "holds_slo": p99 is not None and p99 <= slo.threshold_ms,
    }


def openload_row(result: dict[str, Any], slo: Slo) -> dict[str, Any]:
    """Rates, latencies and errors of one open-model run over persistent connections.

    The keys match `load_row` (httperf's) where the meaning is the same; a refused (503) answer,
    a request that waited past the timeout for a connection (`expired`) and one lost with its
    connection count as errors.
    """
    seconds = float(result["seconds"])
    refused = int(result["status_503"])
    failed = int(result["timeouts"]) + int(result["expired"]) + int(result["conn_errors"])
    p99 = result["p99_ms"]
    return {
        "offered_rps": round(float(result["offered_rps"]), 1),
        "duration_s": seconds,
        "planned": result["planned"],
        "attempted": result["sent"],
        "served_2xx": result["status_2xx"],
        "served_rps": round(result["status_2xx"] / seconds, 1),
        "refused_503": refused,
        "refused_rps": round(refused / seconds, 1),
        "errors": refused + int(result["status_other"]) + failed,
        "timeouts": result["timeouts"],
        "expired": result["expired"],
        "conn_errors": result["conn_errors"],
        "connect_failures": result.get("connect_failures", 0),
        "non_2xx": refused + int(result["status_other"]),
        "unanswered": result["unaccounted"],
        "client_limit": 0,
        "connections": result["connections_max_open"],
        "p50_ms": result["p50_ms"],
        "p99_ms": p99,
        "refused_p99_ms": result["refused_p99_ms"],
        "dispatch_lag_p99_ms": result["dispatch_lag_p99_ms"],
        "holds_slo": p99 is not None and p99 <= slo.threshold_ms,
    }


def step_passes(row: dict[str, Any]) -> bool:
    """Tell whether a step held the SLO with zero errors and was offered in full."""
    offered = row["client_limit"] == 0 and row["attempted"] == row["planned"]
    return bool(row["holds_slo"]) and row["errors"] == 0 and offered


QUOTA_BOUND_SHARE = 0.9  # a step using this share of the pod's CPU ran out of quota
GENERATOR_BOUND_SHARE = 0.9  # the generator (one process per CPU) used this much: it ran out
GENERATOR_LATE_MS = 50.0  # the generator wrote requests this late on idle connections
OTHERS_BOUND_CORES = 0.1  # other work on the pod's CPU beyond this: the machine interfered


SATURATED_SHARE = 0.97  # the pod's CPUs this busy, by the pod and its packet work: used up


def bound(step: dict[str, Any], pod_cores: float) -> str:
    """Say what stopped a failing step: `quota`, `generator` or `machine`.

    `quota` only when the pod used up the CPU it may use (`pod_cores`: its CPU limit, or its
    pinned CPUs when fewer): it used at least 90 % of it, or its pinned CPUs were busy to the
    end with less than 0.1 core of other processes on them (the rest being the kernel's packet
    work for the pod, which no cgroup is charged for). Otherwise `generator` when the load
    generator's own CPU ran out (0.9 core: one process) or it sent requests late (its CPU being
    busy says little: other work fills it at a lower weight), `admission` when the only errors
    were 503s (shed past the in-flight bound) while the pod still had CPU and no other process
    was in its way, else `machine`: something else ran out first. A failing step that is not
    `quota` makes its run invalid, not a lower bound.
    """
    if step["cpu_cores"] >= QUOTA_BOUND_SHARE * pod_cores or (
        step.get("pod_cpus_busy", 0.0) >= SATURATED_SHARE
        and step.get("pod_cpus_others", 1.0) < OTHERS_BOUND_CORES
    ):
        return "quota"
    shed_only = step.get("refused_503", 0) > 0 and step["errors"] == step["refused_503"]
    if shed_only and step.get("pod_cpus_others", 1.0) < OTHERS_BOUND_CORES:
        return "admission"  # refused (503) with CPU left and no other work in the way
    if (
        step.get("generator_cores", 0.0) >= GENERATOR_BOUND_SHARE
        or (step.get("dispatch_lag_p99_ms") or 0.0) > GENERATOR_LATE_MS
    ):
        return "generator"
    return "machine"


def capacity(steps: list[dict[str, Any]], pod_cores: float) -> dict[str, Any] | None:
    """Find the highest passing offered rate below the lowest failing one (None if none passed)."""
    failing = [s["offered_rps"] for s in steps if not s["pass"]]
    ceiling = min(failing, default=float("inf"))
    passing = [s for s in steps if s["pass"] and s["offered_rps"] < ceiling]
    if not passing:
        return None
    best = max(passing, key=lambda s: s["offered_rps"])
    failed = [s for s in steps if s["offered_rps"] == ceiling]
    return {
        "bound": bound(failed[0], pod_cores) if failed else None,
        "rps": best["offered_rps"],
        "p99_ms": best["p99_ms"],
        "cpu_cores": best["cpu_cores"],
        "cpu_ms_per_request": round(best["cpu_cores"] * 1000 / best["served_rps"], 4),
        "first_failing_rps": None if ceiling == float("inf") else ceiling,
    }


def median(values: list[float]) -> float:
    """The median (the mean of the middle two for an even count)."""
    if not values:
        raise ValueError("median: expected at least one value")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def combined_capacity(repetitions: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The capacity of a run: the median of its repetitions, their spread, and its validity.

    Valid only when every repetition found a capacity and each one's first failing step was
    bound by the pod's quota; otherwise the figures are reported but marked invalid, with the
    reasons. Spread = (max - min) / median of the repetitions' capacities.
    """
    found = [rep for rep in repetitions if rep is not None]
    if not found:
        return None
    rates = [float(rep["rps"]) for rep in found]
    middle = median(rates)
    reasons = [
        f"repetition {n}: "
        + (
            "no step passed"
            if rep is None
            else "no step failed (raise --max-steps)"
            if rep["bound"] is None
            else f"the failing step was bound by the {rep['bound']}"
        )
        for n, rep in enumerate(repetitions, start=1)
        if rep is None or rep["bound"] != "quota"
    ]
    return {
        "rps": middle,
        "repetitions": rates,
        "spread": round((max(rates) - min(rates)) / middle, 3),
        "p99_ms": median([float(rep["p99_ms"]) for rep in found]),
        "cpu_cores": median([float(rep["cpu_cores"]) for rep in found]),
        "cpu_ms_per_request": median([float(rep["cpu_ms_per_request"]) for rep in found]),
        "bound": "quota" if not reasons else "not the quota",
        "valid": not reasons,
        "invalid_because": reasons,
    }


def ratio(numerator: float, denominator: float) -> float:
    """Divide the figures as reported, rounded to three decimals."""
    return round(numerator / denominator, 3)


def memory_growth(samples: list[dict[str, Any]]) -> float:
    """RSS (MiB) of the last sample minus the first after warm-up (the second sample)."""
    if len(samples) < 2:
        return 0.0
    start = samples[1] if len(samples) > 2 else samples[0]
    return round(float(samples[-1]["rss_mib"]) - float(start["rss_mib"]), 1)


REFUSED_FAST_MS = 10.0  # a refused request must be answered within this
GOODPUT_SHARE = 0.9  # of the capacity, under overload
RECOVERY_S = 5.0  # back to normal latency this soon after the load stops


def overload_checks(
    row: dict[str, Any], capacity_rps: float, memory_limit_mib: float
) -> dict[str, bool | None]:
    """The figures an overload run must meet; None where nothing was there to check."""
    refused_p99 = row["refused_p99_ms"]
    recovery_s = row["recovery_s"]
    return {
        "goodput_at_least_90_percent_of_capacity": row["served_rps"]
        >= GOODPUT_SHARE * capacity_rps,
        "p99_of_served_within_slo": bool(row["holds_slo"]),
        "refused_answered_within_10_ms": None
        if refused_p99 is None
        else refused_p99 < REFUSED_FAST_MS,
        "probes_all_answered": row["probes_sent"] > 0
        and row["probes_answered"] == row["probes_sent"],
        "peak_memory_within_limit": row["peak_mib"] < memory_limit_mib and row["oom_kills"] == 0,
        "recovered_within_5_s": recovery_s is not None and recovery_s < RECOVERY_S,
    }


def shedder_row(
    cpu_s: float, wall_s: float, row: dict[str, Any], peak_rss_mib: float
) -> dict[str, Any]:
    """What the shedding proxy spent: its cores over the run and its CPU per request it handled.

    Every answered request passed through it (served ones forwarded, refused ones answered by
    it), so the CPU per request is the sidecar's cost of one request at this mix.
    `peak_rss_mib`: the proxy's peak resident memory so far (the sidecar's memory to size).
    """
    handled = int(row["served_2xx"]) + int(row["refused_503"])
    return {
        "cpu_s": round(cpu_s, 6),
        "cores": round(cpu_s / wall_s, 3) if wall_s > 0 else None,
        "us_per_request": round(cpu_s * 1e6 / handled, 2) if handled else None,
        "peak_rss_mib": round(peak_rss_mib, 1),
    }


def proxy_costs(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The proxy's CPU per forwarded and per refused request, in microseconds.

    Each overload row gives cpu_s = a * served + b * refused; with rows of different mixes the
    least-squares solution of that system separates forwarding (a) from refusing (b).
    """
    points = [
        (float(r["served_2xx"]), float(r["refused_503"]), float(r["shedder"]["cpu_s"]))
        for r in rows
        if r.get("shedder")
    ]
    sxx = sum(x * x for x, _, _ in points)
    syy = sum(y * y for _, y, _ in points)
    sxy = sum(x * y for x, y, _ in points)
    sxc = sum(x * c for x, _, c in points)
    syc = sum(y * c for _, y, c in points)
    det = sxx * syy - sxy * sxy
    if len(points) < 2 or det <= 0:
        raise ValueError("expected overload rows through the proxy with at least two mixes")
    forward = (sxc * syy - syc * sxy) / det
    refuse = (syc * sxx - sxc * sxy) / det
    return {"forward_us": round(forward * 1e6, 1), "refuse_us": round(refuse * 1e6, 1)}


def refusal_cost(row: dict[str, Any], cpu_ms_per_request: float) -> float | None:
    """Estimate what a refusal cost, as a share of a served request's CPU (None: none refused).

    The pod's CPU over the run, less the served requests at the capacity's CPU per request,
    spread over the refused ones.
    """
    if not row["refused_rps"]:
        return None
    served_ms = row["served_rps"] * cpu_ms_per_request
    per_refusal = (row["cpu_cores"] * 1000 - served_ms) / row["refused_rps"]
    return round(max(0.0, float(per_refusal)) / cpu_ms_per_request, 3)


def across_runs(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Several full runs side by side: each one's capacity, validity and machine; the spread.

    Spread = (max - min) / median of the runs' capacities (runs without a capacity left out).
    """
    if not results:
        raise ValueError("expected at least one run")
    rows = [
        {
            "started_utc": result.get("started_utc", "?"),
            "capacity_rps": result["capacity"]["rps"] if result["capacity"] else None,
            "repetitions": result["capacity"]["repetitions"] if result["capacity"] else [],
            "valid": bool(result["capacity"] and result["capacity"]["valid"]),
            "loadavg_start": result["machine"]["loadavg_start"],
            "minutes": result["machine"]["minutes"],
        }
        for result in results
    ]
    rates = [float(row["capacity_rps"]) for row in rows if row["capacity_rps"] is not None]
    middle = median(rates) if rates else None
    return {
        "runs": rows,
        "median_rps": middle,
        "spread": round((max(rates) - min(rates)) / middle, 3) if middle else None,
    }
