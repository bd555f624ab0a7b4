"""docs/benchmarks/pod.md from the JSON report (every figure in it comes from the JSON)."""

from __future__ import annotations

from typing import Any

from test_app_tooling.podbench.report import bound


STEP_HEADER = (
    "| offered req/s | served 2xx req/s | p50 ms | p99 ms | errors | CPU cores | "
    "throttled periods | throttled s | RSS MiB | peak MiB | holds SLO, 0 errors |"
)
OVERLOAD_HEADER = (
    "| planned | sent | served 2xx | error share | timeouts | refused | reset | non-2xx | "
    "load-generator limit | p99 of served ms | peak RSS MiB | peak usage MiB | OOM kills | "
    "recovery s |"
)


OVERLOAD_KEYS = (
    "planned", "attempted", "served_2xx", "error_share", "timeouts", "refused", "reset",
    "non_2xx", "client_limit", "p99_ms", "peak_rss_mib", "peak_mib", "oom_kills", "recovery_s",
)  # fmt: skip


def _steps(steps: list[dict[str, Any]]) -> list[str]:
    return [
        STEP_HEADER,
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        *(
            (
                f"| {s['offered_rps']:g} | {s['served_rps']:g} | {s['p50_ms']} | {s['p99_ms']} | "
                f"{s['errors']} | {s['cpu_cores']} | {s['throttled_periods']} / {s['periods']} "
                f"({s['throttled_share']:.0%}) | {s['throttled_s']} | {s['rss_mib']} | "
                f"{s['peak_mib']} | {'yes' if s['pass'] else '**no**'} |"
            )
            for s in sorted(steps, key=lambda s: s["offered_rps"])
        ),
    ]


def _capacity(cap: dict[str, Any] | None) -> str:
    if cap is None:
        return "**none**: even the first step failed"
    nxt = (
        f"the next step, {cap['first_failing_rps']:g} req/s, failed"
        if cap["first_failing_rps"] is not None
        else "no step failed: raise --max-steps"
    )
    why = {
        "quota": " The pod used nearly all of its CPU limit at the failing step: the quota binds.",
        "machine": (
            " The pod still had CPU quota left at the failing step: the shared CPUs or the load "
            "generator ran out first, so this is a lower bound of the pod's capacity."
        ),
        None: "",
    }[cap["bound"]]
    return (
        f"**{cap['rps']:g} req/s** (p99 {cap['p99_ms']} ms, {cap['cpu_cores']} cores used, "
        f"{cap['cpu_ms_per_request']} ms of CPU per request; {nxt}).{why}"
    )


def _header(result: dict[str, Any]) -> list[str]:
    pod, machine = result["pod"], result["machine"]
    loaded = (
        " (**a loaded machine**: other work ran on the same CPUs, so the rates are lower bounds "
        "and noisy; the arithmetic and the shape are what to check)."
        if machine["loaded"]
        else "."
    )
    return [
        "# One pod's capacity, inside its own limits",
        "",
        (
            f"Produced by `{result['command']}` on {result['date']}: {machine['cpus']} CPUs "
            "shared by the load generators, PostgreSQL and the app; load average "
            f"{machine['loadavg_start']} at the start and {machine['loadavg_end']} at the end"
            f"{loaded}"
        ),
        "",
        (
            f"The app runs as the chart runs it (value set `{pod['value_set']}`: "
            f"{' + '.join(pod['values_files'])}, rendered by Helm): `WORKERS={pod['workers']}` "
            "and the container's environment, in a cgroup with the CPU limit as a CFS quota "
            f"({pod['cpu_limit']:g} core = {pod['cfs_quota_us']} us per {pod['cfs_period_us']} "
            f"us) and the memory limit ({pod['memory_limit_mib']:g} MiB). Requests: "
            f"{pod['cpu_request']:g} core, {pod['memory_request_mib']:g} MiB; HPA target "
            f"{pod['hpa_target_percent']} % of the CPU request."
        ),
    ]


def _ceiling(ceiling: dict[str, Any]) -> list[str]:
    return [
        f"## Ceiling: /livez against /health, {ceiling['connections']} connections",
        "",
        "| path | req/s | p50 ms | p99 ms | errors | CPU cores | throttled share |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            (
                f"| /{path} | {ceiling[path]['rps']} | {ceiling[path]['p50_ms']} | "
                f"{ceiling[path]['p99_ms']} | {ceiling[path]['errors']} | "
                f"{ceiling[path]['cpu_cores']} | {ceiling[path]['throttled_share']:.0%} |"
            )
            for path in ("livez", "health")
        ),
        "",
        (
            f"/health / /livez = {ceiling['health']['rps']} / {ceiling['livez']['rps']} = "
            f"**{ceiling['health_over_livez']}** (wrk, keep-alive connections, "
            f"{ceiling['seconds']} s each, same server)."
        ),
    ]


def _overload(result: dict[str, Any]) -> list[str]:
    over, slo = result["overload"], result["slo"]
    return [
        f"## Overload: {over['offered_rps']:g} req/s offered ({over['factor']:g} x capacity)",
        "",
        OVERLOAD_HEADER,
        "|" + " ---: |" * len(OVERLOAD_KEYS),
        "| " + " | ".join(str(over[key]) for key in OVERLOAD_KEYS) + " |",
        "",
        (
            "Sent = planned - load-generator limit (requests httperf could not open a socket "
            "for) - requests not yet sent when it was stopped at its deadline. Errors include "
            "requests sent but unanswered at that point. Error share = errors / sent. CPU "
            f"used over the run and the recovery: {over['cpu_cores']} cores, throttled in "
            f"{over['throttled_share']:.0%} of the periods. Recovery = seconds from "
            "the end of the offered load to the first of 10 consecutive /health probes answered "
            f"200 within {slo['threshold_ms']:g} ms. App still running afterwards: "
            f"{'yes' if result['app_survived'] else '**no**'}."
            + (
                ""
                if bound(over, result["pod"]["cpu_limit"]) == "quota"
                else " The pod had CPU quota left during the overload: the machine (the load "
                "generators above all) was the bottleneck, so these figures describe the "
                "machine as much as the pod; rerun on an idle machine to see the pod's own."
            )
        ),
    ]


def _memory(result: dict[str, Any]) -> list[str]:
    soak, pod = result["memory"], result["pod"]
    return [
        f"## Memory after {soak['requests']:,} requests",
        "",
        "| requests served | RSS MiB | peak usage MiB | peak / limit |",
        "| ---: | ---: | ---: | ---: |",
        *(
            f"| {s['requests']:,} | {s['rss_mib']} | {s['peak_mib']} | {s['peak_of_limit']} |"
            for s in soak["samples"]
        ),
        "",
        (
            f"Peak usage {soak['peak_mib']} MiB of the {pod['memory_limit_mib']:g} MiB limit; "
            f"RSS growth from the first run to the last: {soak['rss_growth_mib']} MiB."
        ),
    ]


def render(result: dict[str, Any]) -> str:
    """Render the Markdown report."""
    slo = result["slo"]
    capacity = [
        "## Capacity: open-model steps on /health",
        "",
        (
            f"httperf offers each rate for {result['step_seconds']} s, one request per new "
            f"connection (timeout {result['timeout_s']} s). A step holds the SLO when the "
            f"p{slo['percentile']:g} is at most {slo['threshold_ms']:g} ms ({slo['source']}) "
            "with zero errors. Capacity = the highest such rate below the first failing one: "
            f"{_capacity(result['capacity'])}"
        ),
        "",
        *_steps(result["steps"]),
        "",
        "![served rate and p99 against offered load](pod.png)",
    ]
    sections = [
        _header(result),
        capacity,
        _ceiling(result["ceiling"]),
        _overload(result),
        _memory(result),
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"
