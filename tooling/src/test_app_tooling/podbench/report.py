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


def step_passes(row: dict[str, Any]) -> bool:
    """Tell whether a step held the SLO with zero errors and was offered in full."""
    offered = row["client_limit"] == 0 and row["attempted"] == row["planned"]
    return bool(row["holds_slo"]) and row["errors"] == 0 and offered


QUOTA_BOUND_SHARE = 0.9  # a step using this share of the CPU limit ran out of quota


def bound(failed: dict[str, Any], cpu_limit: float) -> str:
    """Say what stopped the first failing step: the pod's CPU quota, or something else.

    `quota` when the pod used nearly all of its CPU limit; otherwise `machine`: the pod had
    quota left, so the shared CPUs or the load generator ran out first and the capacity is a
    lower bound of the pod's.
    """
    return "quota" if failed["cpu_cores"] >= QUOTA_BOUND_SHARE * cpu_limit else "machine"


def capacity(steps: list[dict[str, Any]], cpu_limit: float) -> dict[str, Any] | None:
    """Find the highest passing offered rate below the lowest failing one (None if none passed)."""
    failing = [s["offered_rps"] for s in steps if not s["pass"]]
    ceiling = min(failing, default=float("inf"))
    passing = [s for s in steps if s["pass"] and s["offered_rps"] < ceiling]
    if not passing:
        return None
    best = max(passing, key=lambda s: s["offered_rps"])
    failed = [s for s in steps if s["offered_rps"] == ceiling]
    return {
        "bound": bound(failed[0], cpu_limit) if failed else None,
        "rps": best["offered_rps"],
        "p99_ms": best["p99_ms"],
        "cpu_cores": best["cpu_cores"],
        "cpu_ms_per_request": round(best["cpu_cores"] * 1000 / best["served_rps"], 4),
        "first_failing_rps": None if ceiling == float("inf") else ceiling,
    }


def ratio(numerator: float, denominator: float) -> float:
    """Divide the figures as reported, rounded to three decimals."""
    return round(numerator / denominator, 3)


def overload_row(
    load: LoadResult, slo: Slo, factor: float, recovery_s: float | None
) -> dict[str, Any]:
    """Error share, p99 of what was served and recovery of an overload run."""
    row = load_row(load, slo)
    row.update(
        factor=factor,
        error_share=round(load.errors / load.connections, 3) if load.connections else None,
        recovery_s=recovery_s,
    )
    return row


def memory_growth(samples: list[dict[str, Any]]) -> float:
    """RSS (MiB) of the last sample minus the first after warm-up (the second sample)."""
    if len(samples) < 2:
        return 0.0
    start = samples[1] if len(samples) > 2 else samples[0]
    return round(float(samples[-1]["rss_mib"]) - float(start["rss_mib"]), 1)
