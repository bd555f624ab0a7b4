"""docs/benchmarks/pod.md from the JSON report (every figure in it comes from the JSON)."""

from __future__ import annotations

from typing import Any

from test_app_tooling.podbench.report import bound, proxy_costs


STEP_HEADER = (
    "| offered req/s | served 2xx req/s | refused 503 req/s | p50 ms | p99 ms | errors | "
    "pod CPU cores | throttled periods | generator cores | packet work on pod CPU | "
    "others on pod CPU | peak MiB | "
    "holds SLO, 0 errors | bound if failing |"
)
OVERLOAD_KEYS = (
    "offered_rps", "sent_rps", "served_rps", "goodput_share", "refused_rps", "refused_p99_ms",
    "p99_ms", "timeouts", "expired", "probes", "peak_mib", "oom_kills", "recovery_s", "cpu_cores",
    "generator_cores", "generator_cpus_busy", "refusal_cost_share", "bound",
)  # fmt: skip
OVERLOAD_HEADER = (
    "| factor | offered req/s | sent req/s | served 2xx req/s | of capacity | refused 503 req/s | "
    "refused p99 ms | p99 of served ms | timeouts | expired in client queue | probes answered | "
    "peak MiB | OOM kills | recovery s | pod CPU cores | generator cores | generator CPU busy | "
    "refusal cost / served | bound |"
)


def _steps(steps: list[dict[str, Any]], pod_cores: float) -> list[str]:
    return [
        STEP_HEADER,
        "|" + " ---: |" * 12 + " --- | --- |",
        *(
            (
                f"| {s['offered_rps']:g} | {s['served_rps']:g} | {s.get('refused_rps', 0):g} | "
                f"{s['p50_ms']} | {s['p99_ms']} | {s['errors']} | {s['cpu_cores']} | "
                f"{s['throttled_periods']} / {s['periods']} ({s['throttled_share']:.0%}) | "
                f"{s['generator_cores']} | {s['pod_cpus_irq']} | {s['pod_cpus_others']} | "
                f"{s['peak_mib']} | "
                f"{'yes' if s['pass'] else '**no**'} | "
                f"{'' if s['pass'] else bound(s, pod_cores)} |"
            )
            for s in sorted(steps, key=lambda s: s["offered_rps"])
        ),
    ]


def _capacity(cap: dict[str, Any] | None) -> str:
    if cap is None:
        return "**none**: even the first step failed"
    reps = ", ".join(f"{rate:g}" for rate in cap["repetitions"])
    verdict = (
        "**Valid**: in every repetition the failing step had the pod use its whole CPU "
        "(the quota bound, not the generator or the machine)."
        if cap["valid"]
        else "**Invalid run** (not a lower bound): " + "; ".join(cap["invalid_because"]) + "."
    )
    return (
        f"**{cap['rps']:g} req/s**, the median of {len(cap['repetitions'])} repetitions "
        f"({reps} req/s; spread (max - min) / median = {cap['spread']:.0%}), p99 "
        f"{cap['p99_ms']} ms, {cap['cpu_cores']} cores used, {cap['cpu_ms_per_request']} ms of "
        f"CPU per request (medians). {verdict}"
    )


def _admission(result: dict[str, Any]) -> list[str]:
    bound = result.get("admission")
    if not bound:
        return []
    chart = bound.get("chart_max_in_flight")
    ran = (
        ""
        if chart is None
        else f" The pod ran with `MAX_IN_FLIGHT={chart}`"
        + (
            " (the chart's `app.maxInFlight`), the same."
            if chart == bound["max_in_flight"]
            else f"; **set the chart's `app.maxInFlight` to {bound['max_in_flight']}**."
        )
    )
    return [
        "",
        (
            "The admission bound this implies (docs/service.md#admission-control): "
            f"floor({bound['queue_budget_ms']:g} ms queueing budget x {bound['cpu_limit']:g} "
            f"core / ({bound['workers']} workers x {bound['cpu_ms_per_request']} ms of CPU per "
            f"request)) = {bound['requests_in_budget']}, rounded down to hundreds: "
            f"**{bound['max_in_flight']} requests in flight per worker**.{ran}"
        ),
    ]


def _busy(machine: dict[str, Any]) -> str:
    """The machine's busy share sampled before the run (reports made before it lack it)."""
    if "busy_start" not in machine:
        return ""
    return f"The CPUs were {machine['busy_start']:.0%} busy in the 3 s before the run. "


def _header(result: dict[str, Any]) -> list[str]:
    pod, machine, iso, cgroup = (
        result["pod"], result["machine"], result["isolation"], result["cgroup"],
    )  # fmt: skip
    loaded = (
        " (**a loaded machine**: other engineers' work ran beside it; the validity rules "
        "below say whether it reached the pod)."
        if machine["loaded"]
        else "."
    )
    return [
        "# One pod's capacity, inside its own limits",
        "",
        (
            f"Produced by `{result['command']}` on {result['date']} in "
            f"{machine['minutes']} minutes: {machine['cpus']} CPUs, the app pinned to CPU "
            f"{_cpus(iso['pod_cpus'])} (a cpuset), PostgreSQL and every load generator to CPU "
            f"{_cpus(iso['generator_cpus'])}; both groups weighted {cgroup.get('cpu_shares', '-')} "
            "cpu.shares, so other work on the machine waits for them. "
            f"{_busy(machine)}Load average "
            f"{machine['loadavg_start']} at the start and {machine['loadavg_end']} at the end"
            f"{loaded} Other work on the pod's CPU reached {iso['others_on_pod_cpus_max']} cores "
            f"in a capacity step; the generator used at most {iso['generator_cores_max']} cores, "
            f"and its CPU was at most {iso['generator_cpus_busy_max']:.0%} busy (the generator, "
            "PostgreSQL and everyone else's work on it)."
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
    lines = [
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
    prof = ceiling.get("profile")
    if prof:
        lines += [
            "",
            (
                f"Where /health's time goes: {prof['tool']}, {prof['seconds']} s of wrk on "
                f"/health ({prof['rps']} req/s while sampled), {prof['samples']:,} samples. "
                "Share of samples by the package of the innermost Python frame (granian's own "
                "frame stands for its Rust I/O and the idle wait), then by function:"
            ),
            "",
            "| package | share |",
            "| --- | ---: |",
            *(f"| {row['name']} | {row['share']:.1%} |" for row in prof["packages"]),
            "",
            "| function | share |",
            "| --- | ---: |",
            *(f"| `{row['name']}` | {row['share']:.1%} |" for row in prof["functions"]),
        ]
    return lines


def _runs(runs: dict[str, Any]) -> list[str]:
    spread = "-" if runs["spread"] is None else f"{runs['spread']:.0%}"
    return [
        f"## Across {len(runs['runs'])} full runs on the same machine",
        "",
        "| started (UTC) | capacity req/s | repetitions req/s | valid | load average | minutes |",
        "| --- | ---: | --- | --- | ---: | ---: |",
        *(
            f"| {run['started_utc']} | {run['capacity_rps']} | "
            f"{', '.join(f'{rate:g}' for rate in run['repetitions'])} | "
            f"{'yes' if run['valid'] else '**no**'} | {run['loadavg_start']} | {run['minutes']} |"
            for run in runs["runs"]
        ),
        "",
        (
            f"Median {runs['median_rps']} req/s, spread (max - min) / median = **{spread}**. "
            "This report is one of these runs."
        ),
    ]


def _cpus(cpus: list[int]) -> str:
    return ",".join(str(cpu) for cpu in cpus)


def _overload(result: dict[str, Any]) -> list[str]:
    slo = result["slo"]
    rows = []
    for over in result["overload"]:
        values = {**over, "probes": f"{over['probes_answered']} / {over['probes_sent']}"}
        rows.append(f"| {over['factor']:g} x | " + " | ".join(
            str(values[key]) for key in OVERLOAD_KEYS) + " |")  # fmt: skip
    checks = [
        f"| {over['factor']:g} x | "
        + " | ".join(
            "n/a" if ok is None else ("yes" if ok else "**no**") for ok in over["checks"].values()
        )
        + " |"
        for over in result["overload"]
    ]
    names = list(result["overload"][0]["checks"]) if result["overload"] else []
    return [
        "## Overload: persistent connections at multiples of the capacity",
        "",
        OVERLOAD_HEADER,
        "| ---: |" + " ---: |" * (len(OVERLOAD_KEYS) - 1) + " --- |",
        *rows,
        "",
        "| factor | " + " | ".join(name.replace("_", " ") for name in names) + " |",
        "| --- |" + " --- |" * len(names),
        *checks,
        "",
        (
            f"Each run offers its rate for {result['overload'][0]['duration_s'] if rows else 0} s "
            "with the same generator as the capacity steps. Goodput = served 2xx per second; "
            "refused = 503 answers (admission control); timeouts and expired requests got no "
            f"answer within {result['timeout_s']} s. The probes are /livez and /readyz every "
            f"second on new connections, with the readiness probe's "
            f"{result['pod']['readiness_timeout_s']:g} s timeout. Recovery = seconds from the "
            "end of the load to the first of 10 consecutive /health probes answered 200 within "
            f"{slo['threshold_ms']:g} ms. App still running afterwards: "
            f"{'yes' if result['app_survived'] else '**no**'}. Refusal cost / served = (pod CPU "
            "- served x the capacity's CPU per request) / refused, over the capacity's CPU per "
            "request: what one 503 cost against one answer. Bound: `quota` when the pod's "
            "CPU was used up; `generator` when the generator's CPU was (it could not send the "
            "offered rate: compare sent with offered), so the row measured the generator as "
            "much as the pod."
        ),
    ]


def _burst(result: dict[str, Any]) -> list[str]:
    burst = result["burst"]
    outcomes = ", ".join(f"{name}: {count}" for name, count in burst["outcomes"].items())
    return [
        f"## A burst of {burst['connections']:,} new connections at once",
        "",
        (
            f"Each opens a connection to /health and sends one request (timeout "
            f"{burst['timeout_s']:g} s): {outcomes}. Answered: {burst['answered']:,} (p50 "
            f"{burst['p50_ms']} ms, p99 {burst['p99_ms']} ms, slowest {burst['max_ms']} ms; "
            f"{burst['answered_after_1s']:,} after more than 1 s, the signature of a SYN the "
            "kernel dropped and the client retried). The kernel counted "
            f"{burst['kernel']['ListenOverflows']:,} accept-queue overflows and "
            f"{burst['kernel']['ListenDrops']:,} dropped handshakes meanwhile (the app's listen "
            "backlog is set in `test_app.server`; the kernel caps it at `net.core.somaxconn`). "
            "Recovery to "
            f"10 good /health answers in a row: {burst['recovery_s']} s."
        ),
    ]


def _new_connection(result: dict[str, Any]) -> list[str]:
    new = result["new_connection"]
    return [
        "## Second profile: a new connection per request (httperf), once",
        "",
        f"Capacity: {_capacity_single(new['capacity'])}",
        "",
        *_steps(new["steps"], result["isolation"]["pod_cores"]),
    ]


def _capacity_single(cap: dict[str, Any] | None) -> str:
    if cap is None:
        return "**none**: even the first step failed."
    return (
        f"**{cap['rps']:g} req/s** (p99 {cap['p99_ms']} ms, {cap['cpu_ms_per_request']} ms of "
        f"CPU per request; the failing step was bound by {cap['bound']})."
    )


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
        "## Capacity: open-model steps on /health over persistent connections",
        "",
        (
            f"openload offers each rate for {result['step_seconds']} s over keep-alive "
            f"connections (up to {result['max_connections']}, opened as needed, like the ALB); "
            "latency runs from the time each request was due. A step holds the SLO when the "
            f"p{slo['percentile']:g} is at most {slo['threshold_ms']:g} ms ({slo['source']}) "
            "with zero errors. A failing step is the pod's limit (`quota`) only when the pod "
            "used up its CPU; `generator` when the generator ran out; `admission` when it failed "
            "only on 503s with CPU left (the in-flight bound shed first); `machine` otherwise. "
            "Capacity = the highest passing rate below the first failing one, per repetition"
            f": {_capacity(result['capacity'])}"
        ),
        *_admission(result),
        "",
        "| repetition | capacity req/s | failing step req/s | bound |",
        "| ---: | ---: | ---: | --- |",
        *(
            f"| {n} | {rep['capacity']['rps']:g} | {rep['capacity']['first_failing_rps']} | "
            f"{rep['capacity']['bound']} |"
            if rep["capacity"]
            else f"| {n} | none | - | - |"
            for n, rep in enumerate(result["repetitions"], start=1)
        ),
        "",
        "The steps of the median repetition:",
        "",
        *_steps(result["steps"], result["isolation"]["pod_cores"]),
        "",
        "![served and refused rates and p99 against offered load](pod.png)",
    ]
    sections = [
        _header(result),
        capacity,
        *([_runs(result["runs"])] if result.get("runs") else []),
        _new_connection(result),
        _ceiling(result["ceiling"]),
        _overload(result),
        _burst(result),
        _memory(result),
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


REFUSAL_HEADER = (
    "| run | connections per worker | sysctls (own network namespace) | offered | "
    "2xx req/s (x capacity) | p50 / p99 of the 2xx ms | 503 req/s (p99 ms) | "
    "no answer within the timeout | probes answered | refusal cost *r* |"
)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def refusal_table(runs: dict[str, dict[str, Any]]) -> list[str]:
    """Overload runs of `bench_pod.py --only overload` side by side, one row per run and factor.

    `runs` maps a run's name (its file's stem) to its JSON. "No answer" counts the requests that
    timed out, waited past the timeout for a connection, or lost theirs.
    """
    lines = [REFUSAL_HEADER, "| --- | ---: | --- |" + " ---: |" * 7]
    for name, run in sorted(runs.items()):
        sysctls = ", ".join(f"`{key}={value}`" for key, value in run["sysctls"].items()) or "-"
        bound = run["connections_per_worker"]
        connections = "the app's" if bound is None else str(bound)
        for row in run["overload"]:
            unanswered = int(row["timeouts"]) + int(row["expired"]) + int(row["conn_errors"])
            cost = row.get("refusal_cost_share")
            lines.append(
                f"| {name} | {connections} "
                f"| {sysctls} | {row['factor']:g} x = {row['offered_rps']:,.0f} | "
                f"{row['served_rps']:,.0f} ({row['goodput_share']:.2f}) | "
                f"{_ms(row['p50_ms'])} / {_ms(row['p99_ms'])} | "
                f"{row['refused_rps']:,.0f} ({_ms(row['refused_p99_ms'])}) | {unanswered:,} | "
                f"{row['probes_answered']} / {row['probes_sent']} | "
                f"{'-' if cost is None else f'{cost:.2f}'} |"
            )
    return lines


SHEDDER_HEADER = (
    "| run | refused by | pod CPU limit | offered | 2xx req/s (x capacity) | "
    "p50 / p99 of the 2xx ms | 503 req/s (p99 ms) | no answer within the timeout | "
    "probes answered | pod cores | proxy cores (us per request) |"
)


def shedder_table(runs: dict[str, dict[str, Any]]) -> list[str]:
    """Overload runs with and without the shedding proxy (`--shedder`), one row per factor.

    `runs` maps a run's name (its file's stem) to its JSON; "refused by" is the app's own
    admission control or the proxy in front with its bounds.
    """
    lines = [SHEDDER_HEADER, "| --- | --- |" + " ---: |" * 9]
    for name, run in sorted(runs.items()):
        plan = run.get("shedder")
        refused_by = (
            "the app"
            if plan is None
            else f"HAProxy ({plan['connections']} at the app, queue {plan['queue']})"
        )
        for row in run["overload"]:
            unanswered = int(row["timeouts"]) + int(row["expired"]) + int(row["conn_errors"])
            proxy = row.get("shedder")
            proxy_text = (
                "-" if proxy is None else f"{proxy['cores']:.2f} ({proxy['us_per_request']:.1f})"
            )
            lines.append(
                f"| {name} | {refused_by} | {run['cpu_limit']:g} | "
                f"{row['factor']:g} x = {row['offered_rps']:,.0f} | "
                f"{row['served_rps']:,.0f} ({row['goodput_share']:.2f}) | "
                f"{_ms(row['p50_ms'])} / {_ms(row['p99_ms'])} | "
                f"{row['refused_rps']:,.0f} ({_ms(row['refused_p99_ms'])}) | {unanswered:,} | "
                f"{row['probes_answered']} / {row['probes_sent']} | {row['cpu_cores']:.2f} | "
                f"{proxy_text} |"
            )
    return lines


def shedder_costs(app: dict[str, Any], proxy: dict[str, Any]) -> str:
    """What a request costs, in microseconds of CPU: in the app (`app`'s run) and in the proxy.

    The app's answer is the measured capacity's CPU per request; its refusal is the median
    refusal share of its rows that the pod's quota bound (a row the generator or the machine
    bound says nothing of the pod), times that, and left out when no such row refused. The
    proxy's are `proxy_costs` over its run's rows.
    """
    answer_us = float(app["cpu_ms_per_request"]) * 1000
    shares = sorted(
        r["refusal_cost_share"]
        for r in app["overload"]
        if r.get("refusal_cost_share") and r.get("bound") == "quota"
    )
    app_text = f"{answer_us:.0f} us per answer at its capacity"
    if shares:
        refusal_us = shares[(len(shares) - 1) // 2] * answer_us
        app_text += f", {refusal_us:.0f} us per 503 of its own"
    costs = proxy_costs(proxy["overload"])
    return (
        f"CPU per request, in the pod: {app_text}; in the proxy: {costs['forward_us']:.0f} us "
        f"per request it forwards, {costs['refuse_us']:.0f} us per 503 it answers."
    )
