"""Grafana dashboards of test-app, built with grafana-foundation-sdk and written as JSON.

Three dashboards: the service (RED by pod), the database as the app sees it, and the SLOs
(error budget and burn rate). Each panel is one `Spec` row of a table below; the SDK's builders
turn it into a panel and lay the panels out on the grid (rows of 24 columns). The SLO dashboard
reads the SLO file, so its thresholds follow the same definition as the alerts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    Threshold,
    ThresholdsMode,
    VariableHide,
    VariableOption,
    VariableRefresh,
)

from slo import SLO, SLOFile


DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
NS = 'namespace=~"$namespace"'
RATE = "$__rate_interval"
# The blackbox probe's job name: the Probe object (or the rehearsal's scrape job) must use it.
PROBE_JOB = "test-app-health"


@dataclass(frozen=True)
class Spec:
    """One panel: kind, title, description, (query, legend) pairs, unit and display limits."""

    kind: str  # "timeseries" or "stat"
    title: str
    description: str
    queries: tuple[tuple[str, str], ...]
    unit: str
    width: int = 12
    height: int = 8
    thresholds: tuple[tuple[str, float | None], ...] = (("green", None),)
    minimum: float | None = None
    maximum: float | None = None


Section = tuple[str, list[Spec]]  # a row title and its panels


def _panel(spec: Spec) -> timeseries.Panel | stat.Panel:
    panel: timeseries.Panel | stat.Panel
    if spec.kind == "timeseries":
        panel = timeseries.Panel().legend(
            common_builder.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(show_legend=True)
        )
        if len(spec.thresholds) > 1:
            panel = panel.thresholds_style(
                common_builder.GraphThresholdsStyleConfig().mode(
                    common.GraphThresholdsStyleMode.LINE
                )
            )
    else:
        panel = stat.Panel().reduce_options(
            common_builder.ReduceDataOptions()
            .calcs(["lastNotNull"])
            .fields("")
            .values(values=False)
        )
    panel = (
        panel.title(spec.title)
        .description(spec.description)
        .datasource(DATASOURCE)
        .unit(spec.unit)
        .span(spec.width)
        .height(spec.height)
        .thresholds(
            dashboard_builder.ThresholdsConfig()
            .mode(ThresholdsMode.ABSOLUTE)
            .steps([Threshold(value=value, color=color) for color, value in spec.thresholds])
        )
    )
    if spec.minimum is not None:
        panel = panel.min(spec.minimum)
    if spec.maximum is not None:
        panel = panel.max(spec.maximum)
    for index, (expr, legend) in enumerate(spec.queries):
        panel = panel.with_target(
            prometheus.Dataquery()
            .expr(expr)
            .legend_format(legend)
            .ref_id(chr(ord("A") + index))
            .datasource(DATASOURCE)
        )
    return panel


def _variables() -> list[Any]:
    return [
        dashboard_builder.DatasourceVariable("datasource")
        .label("Data source")
        .type("prometheus")
        .current(VariableOption(selected=False, text="Prometheus", value="prometheus"))
        .hide(VariableHide.DONT_HIDE),
        dashboard_builder.QueryVariable("namespace")
        .label("Namespace")
        .datasource(DATASOURCE)
        .query("label_values(test_app_build_info, namespace)")
        .include_all(include_all=True)
        .all_value(".*")
        .multi(multi=False)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .current(VariableOption(selected=True, text="All", value="$__all"))
        .hide(VariableHide.DONT_HIDE),
    ]


def _dashboard(
    uid: str, title: str, description: str, sections: list[Section], since: str = "now-6h"
) -> dict[str, Any]:
    builder = (
        dashboard_builder.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["test-app", "generated"])
        .readonly()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("1m")
        .time(since, "now")
        .timezone("utc")
    )
    for variable in _variables():
        builder = builder.with_variable(variable)
    for row, specs in sections:
        builder = builder.with_row(dashboard_builder.Row(row))
        for spec in specs:
            builder = builder.with_panel(_panel(spec))
    data: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    for number, panel in enumerate(data["panels"], start=1):
        panel["id"] = number
    return data


def _quantiles(metric: str, by: str, title: str, description: str, legend: str) -> list[Spec]:
    return [
        Spec(
            "timeseries",
            title.format(p=f"p{quantile[2:].ljust(2, '0')}"),
            description.format(q=quantile),
            (
                (
                    (
                        f"histogram_quantile({quantile}, sum by ({by}, le) "
                        f"(rate({metric}_bucket{{{NS}}}[{RATE}])))"
                    ),
                    legend,
                ),
            ),
            "s",
        )
        for quantile in ("0.5", "0.99")
    ]


SERVER_ERRORS = ',status=~"5.."'
NOT_READY = ',route="/readyz",status!="200"'


def _requests(selector: str = "") -> str:
    return f"test_app_http_requests_total{{{NS}{selector}}}"


# The admission proxy (values `admissionProxy`; no series while it is off): its refusals of
# /health and /health/read, and its own 5xx in backend `app` (queue timeouts, the app not
# accepting), which the app never counts. The same terms as the availability SLI's
# (observability/slo.yaml, where they are explained), for both routes.
PROXY_REFUSED = f'haproxy_backend_http_requests_total{{{NS},proxy=~"shed_health|shed_health_read"}}'


def _proxy_own_errors() -> str:
    backend = f'haproxy_backend_http_responses_total{{{NS},proxy="app",code="5xx"}}'
    server = f'haproxy_server_http_responses_total{{{NS},proxy="app",server="app",code="5xx"}}'
    return f"(rate({backend}[{RATE}]) - ignoring (server) rate({server}[{RATE}]))"


def _with_proxy(app_rate: str) -> str:
    """Add the proxy's own answers to the app's rate, as one union (label sets never collide)."""
    return f"{app_rate}\n  or\n  rate({PROXY_REFUSED}[{RATE}])\n  or\n  {_proxy_own_errors()}"


SERVICE: list[Section] = [
    (
        "Requests (rate)",
        [
            Spec(
                "timeseries",
                "Request rate by pod",
                "Requests per second answered by each pod, all routes.",
                ((f"sum by (pod) (rate({_requests()}[{RATE}]))", "{{pod}}"),),
                "reqps",
            ),
            Spec(
                "timeseries",
                "Request rate by route and status",
                "Which endpoints are called and how they answer; `other` is any unknown path.",
                (
                    (
                        f"sum by (route, status) (rate({_requests()}[{RATE}]))",
                        "{{route}} {{status}}",
                    ),
                ),
                "reqps",
            ),
        ],
    ),
    (
        "Errors",
        [
            Spec(
                "timeseries",
                "Error ratio by pod (5xx)",
                "Share of requests answered with a 5xx status. /health answers 500 when the "
                "writer does not answer a ping. With the admission proxy on, its refusals and "
                "its own 5xx count too: the app never sees them.",
                (
                    (
                        (
                            "sum by (pod) (\n  "
                            + _with_proxy(f"rate({_requests(SERVER_ERRORS)}[{RATE}])")
                            + "\n)\n/\nsum by (pod) (\n  "
                            + _with_proxy(f"rate({_requests()}[{RATE}])")
                            + "\n)"
                        ),
                        "{{pod}}",
                    ),
                ),
                "percentunit",
                thresholds=(("green", None), ("red", 0.05)),
                minimum=0,
            ),
            Spec(
                "timeseries",
                "Readiness failures by pod",
                "Rate of /readyz answers other than 200: the pod is draining after SIGTERM, or "
                "its writer has not answered once since it started (ADR 0014).",
                (
                    (
                        f"sum by (pod) (rate({_requests(NOT_READY)}[{RATE}]))",
                        "{{pod}}",
                    ),
                ),
                "reqps",
            ),
        ],
    ),
    (
        "Admission proxy (values admissionProxy; empty while it is off)",
        [
            Spec(
                "timeseries",
                "Answered by the admission proxy itself",
                "/health and /health/read requests HAProxy refused (queue full: 503 OVERLOADED) "
                "and its own 5xx in backend app (queue timeout, the app not accepting). The app "
                "never sees them; the availability SLI counts them against /health.",
                (
                    (
                        f"sum by (pod, proxy) (rate({PROXY_REFUSED}[{RATE}]))",
                        "{{pod}} refused ({{proxy}})",
                    ),
                    (f"sum by (pod) {_proxy_own_errors()}", "{{pod}} own 5xx"),
                ),
                "reqps",
                minimum=0,
            ),
            Spec(
                "timeseries",
                "Wait in the admission proxy's queue",
                "Average wait of the proxy's last 1024 requests for a connection to the app "
                "(at most queueTimeoutMs). Neither the app's duration histogram nor the latency "
                "SLO includes it.",
                (
                    (
                        (
                            "max by (pod) (haproxy_server_queue_time_average_seconds"
                            f'{{{NS},proxy="app",server="app"}})'
                        ),
                        "{{pod}}",
                    ),
                ),
                "s",
                minimum=0,
            ),
        ],
    ),
    (
        "Duration",
        _quantiles(
            "test_app_http_request_duration_seconds",
            "pod",
            "Request duration {p} by pod",
            "{q} quantile of request duration, estimated from the histogram.",
            "{{pod}}",
        ),
    ),
    (
        "Pods",
        [
            Spec(
                "timeseries",
                "Ready by pod",
                "1 from the pod's first answered writer ping until it drains, else 0 "
                "(test_app_ready). A database outage does not change it: see Database.",
                ((f"max by (pod) (test_app_ready{{{NS}}})", "{{pod}}"),),
                "none",
                height=6,
                minimum=0,
                maximum=1,
            ),
            Spec(
                "stat",
                "Running versions",
                "Pods per version and git SHA (test_app_build_info).",
                (
                    (
                        f"count by (version, git_sha) (test_app_build_info{{{NS}}})",
                        "{{version}} ({{git_sha}})",
                    ),
                ),
                "none",
                height=6,
            ),
        ],
    ),
]

DATABASE: list[Section] = [
    (
        "Reachability",
        [
            Spec(
                "timeseries",
                "Database up (last ping) by target",
                "Lowest test_app_db_up across pods per target: 0 means at least one pod's last "
                "ping failed.",
                ((f"min by (target) (test_app_db_up{{{NS}}})", "{{target}}"),),
                "none",
                minimum=0,
                maximum=1,
            ),
            Spec(
                "timeseries",
                "Ping failures by target",
                "Failed pings per second, all pods.",
                (
                    (
                        f"sum by (target) (rate(test_app_db_ping_failures_total{{{NS}}}[{RATE}]))",
                        "{{target}}",
                    ),
                ),
                "ops",
            ),
        ],
    ),
    (
        "Ping latency",
        _quantiles(
            "test_app_db_ping_duration_seconds",
            "target",
            "Ping latency {p}, writer and reader",
            "{q} quantile of the `SELECT 1` round trip per target.",
            "{{target}}",
        ),
    ),
    (
        "Connection pool",
        [
            Spec(
                "timeseries",
                "Pool connections by target",
                "Open, in-use and maximum connections, summed over pods.",
                (
                    (f"sum by (target) (test_app_db_pool_size{{{NS}}})", "{{target}} open"),
                    (f"sum by (target) (test_app_db_pool_in_use{{{NS}}})", "{{target}} in use"),
                    (f"sum by (target) (test_app_db_pool_max_size{{{NS}}})", "{{target}} max"),
                ),
                "none",
                minimum=0,
            ),
            Spec(
                "timeseries",
                "Callers waiting for a connection by pod",
                "Above zero for long means the pool is saturated "
                "(alert TestAppDatabasePoolSaturated).",
                (
                    (
                        f"sum by (pod, target) (test_app_db_pool_waiting{{{NS}}})",
                        "{{pod}} {{target}}",
                    ),
                ),
                "none",
                thresholds=(("green", None), ("orange", 1)),
                minimum=0,
            ),
        ],
    ),
    (
        "Replication",
        [
            Spec(
                "timeseries",
                "Replica lag seen by the app",
                "How far the reader is behind the writer, sampled by each pod.",
                ((f"max by (pod) (test_app_db_replica_lag_seconds{{{NS}}})", "{{pod}}"),),
                "s",
                width=24,
                thresholds=(("green", None), ("orange", 30)),
                minimum=0,
            ),
        ],
    ),
]


def service_dashboard() -> dict[str, Any]:
    """RED by pod: request rate, errors, duration, plus readiness and build info."""
    return _dashboard(
        "test-app-service",
        "test-app / Service",
        "Rate, errors and duration of test-app, by pod.",
        SERVICE,
    )


def database_dashboard() -> dict[str, Any]:
    """Build the database dashboard: reachability, ping latency per target, pool, lag."""
    return _dashboard(
        "test-app-database",
        "test-app / Database",
        "PostgreSQL writer and reader as test-app sees them: reachability, ping latency, "
        "connection pool and replica lag.",
        DATABASE,
    )


def _window_minutes(window: str) -> int:
    return {"m": 1, "h": 60, "d": 1440}[window[-1]] * int(window[:-1])


def _slo_panels(
    slo: SLO,
    selector: str,
    period: str,
    windows: list[str],
    burn_lines: tuple[tuple[str, float | None], ...],
) -> list[Spec]:
    """Build one SLO's row: SLI over the period, error budget left, burn rate per window."""
    return [
        Spec(
            "stat",
            f"{slo.name}: SLI over {period}",
            f"{slo.description} Objective {slo.objective}%.",
            ((f"1 - slo:sli_error:ratio_rate{period}{{{selector}}}", "{{namespace}}"),),
            "percentunit",
            width=6,
            height=6,
            thresholds=(("red", None), ("green", float(slo.objective) / 100)),
        ),
        Spec(
            "stat",
            f"{slo.name}: error budget left",
            f"Share of the {period} error budget not yet spent; below 0 the SLO is missed.",
            ((f"slo:error_budget_remaining:ratio{{{selector}}}", "{{namespace}}"),),
            "percentunit",
            width=6,
            height=6,
            thresholds=(("red", None), ("orange", 0), ("green", 0.25)),
        ),
        Spec(
            "timeseries",
            f"{slo.name}: burn rate",
            "Error ratio divided by the error budget, per alerting window: 1 spends the budget "
            "exactly over the period. Threshold lines are the alerts' burn rates.",
            tuple(
                (
                    (
                        f"slo:sli_error:ratio_rate{window}{{{selector}}}\n/ ignoring "
                        f"(namespace) group_left\nslo:error_budget:ratio{{{selector}}}"
                    ),
                    f"{window} {{{{namespace}}}}",
                )
                for window in windows
            ),
            "none",
            height=6,
            thresholds=(("green", None), *burn_lines),
            minimum=0,
        ),
    ]


def _probe_and_alerts(service: str) -> list[Section]:
    """Build the rows after the SLOs: the external probe of /health, the firing alerts."""
    probe = f'job="{PROBE_JOB}"'
    alerts = f'ALERTS{{service="{service}",alertstate="firing"}}'
    return [
        (
            "External probe of /health (blackbox exporter)",
            [
                Spec(
                    "timeseries",
                    "Probe success",
                    "Share of successful probes of the public /health URL, answered 200 with "
                    "body UP.",
                    ((f"avg_over_time(probe_success{{{probe}}}[{RATE}])", "{{instance}}"),),
                    "percentunit",
                    height=6,
                    minimum=0,
                    maximum=1,
                ),
                Spec(
                    "timeseries",
                    "Probe duration",
                    "End-to-end time of one probe, DNS to last byte.",
                    ((f"probe_duration_seconds{{{probe}}}", "{{instance}}"),),
                    "s",
                    height=6,
                ),
            ],
        ),
        (
            "Alerts",
            [
                Spec(
                    "timeseries",
                    "Firing alerts of the service",
                    "Every test-app alert currently firing (Prometheus' ALERTS series).",
                    (
                        (
                            f"count by (alertname, severity) ({alerts})",
                            "{{alertname}} ({{severity}})",
                        ),
                    ),
                    "none",
                    width=24,
                    height=6,
                    minimum=0,
                ),
            ],
        ),
    ]


def _slo_sections(slo_file: SLOFile) -> list[Section]:
    period = slo_file.period
    windows = sorted(
        {pair.long for alert in slo_file.alerts for pair in alert.windows}, key=_window_minutes
    )
    rates = sorted({float(pair.burn_rate) for a in slo_file.alerts for pair in a.windows})
    burn_lines = tuple(("orange" if r < max(rates) else "red", r) for r in rates)
    sections: list[Section] = [
        (
            f"SLO {slo.name}: {slo.objective}% over {period}",
            _slo_panels(
                slo, f'slo="{slo.name}",service="{slo_file.service}"', period, windows, burn_lines
            ),
        )
        for slo in slo_file.slos
    ]
    return sections + _probe_and_alerts(slo_file.service)


def slo_dashboard(slo_file: SLOFile) -> dict[str, Any]:
    """Per SLO: compliance, budget left, burn rate per alert window; plus the external probe."""
    return _dashboard(
        "test-app-slo",
        "test-app / SLOs",
        f"Service level objectives of {slo_file.service}, generated from observability/slo.yaml.",
        _slo_sections(slo_file),
        since="now-7d",
    )


def all_dashboards(slo_file: SLOFile) -> dict[str, dict[str, Any]]:
    """File name (without .json) -> dashboard."""
    return {
        "test-app-service": service_dashboard(),
        "test-app-database": database_dashboard(),
        "test-app-slo": slo_dashboard(slo_file),
    }
