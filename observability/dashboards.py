"""Grafana dashboards of test-app, built as plain data and written as JSON.

Three dashboards: the service (RED by pod), the database as the app sees it, and the SLOs
(error budget and burn rate). Panels are laid out by `_Layout`, so positions never overlap, and
every panel id is unique within its dashboard. The SLO dashboard reads the SLO file, so its
thresholds follow the same definition as the alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slo import SLOFile


GRID_WIDTH = 24
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
NS = 'namespace=~"$namespace"'
RATE = "$__rate_interval"
# The blackbox probe's job name: the Probe object (or the rehearsal's scrape job) must use it.
PROBE_JOB = "test-app-health"


@dataclass
class _Layout:
    """Places panels left to right, wrapping rows, so gridPos never overlap."""

    panels: list[dict[str, Any]] = field(default_factory=list)
    x: int = 0
    y: int = 0
    row_height: int = 0

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": self.y},
                "panels": [],
            }
        )
        self.y += 1

    def add(self, panel: dict[str, Any], width: int, height: int) -> None:
        if self.x + width > GRID_WIDTH:
            self._newline()
        panel["gridPos"] = {"h": height, "w": width, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += width
        self.row_height = max(self.row_height, height)

    def _newline(self) -> None:
        if self.x:
            self.y += self.row_height
        self.x, self.row_height = 0, 0

    def numbered(self) -> list[dict[str, Any]]:
        for number, panel in enumerate(self.panels, start=1):
            panel["id"] = number
        return self.panels


def _target(expr: str, legend: str, ref: str) -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref}


def _panel(  # noqa: PLR0913 - a panel is a bag of display settings
    kind: str,
    title: str,
    description: str,
    queries: list[tuple[str, str]],
    unit: str,
    *,
    thresholds: list[tuple[str, float | None]] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> dict[str, Any]:
    steps = [{"color": color, "value": value} for color, value in (thresholds or [("green", None)])]
    defaults: dict[str, Any] = {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}}
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    if kind == "timeseries" and thresholds:
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "showLegend": True}}
        if kind == "timeseries"
        else {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
        "targets": [
            _target(expr, legend, chr(ord("A") + index))
            for index, (expr, legend) in enumerate(queries)
        ],
    }


def _templating(with_namespace: bool = True) -> dict[str, Any]:
    variables: list[dict[str, Any]] = [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {"selected": False, "text": "Prometheus", "value": "prometheus"},
            "hide": 0,
        }
    ]
    if with_namespace:
        variables.append(
            {
                "name": "namespace",
                "label": "Namespace",
                "type": "query",
                "datasource": DATASOURCE,
                "query": {"query": "label_values(test_app_build_info, namespace)", "refId": "ns"},
                "definition": "label_values(test_app_build_info, namespace)",
                "includeAll": True,
                "allValue": ".*",
                "multi": False,
                "refresh": 2,
                "current": {"selected": True, "text": "All", "value": "$__all"},
                "hide": 0,
            }
        )
    return {"list": variables}


def _dashboard(uid: str, title: str, description: str, layout: _Layout) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["test-app", "generated"],
        "editable": False,
        "graphTooltip": 1,
        "refresh": "1m",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "templating": _templating(),
        "annotations": {"list": []},
        "links": [],
        "panels": layout.numbered(),
    }


def service_dashboard() -> dict[str, Any]:
    """RED by pod: request rate, errors, duration, plus readiness and build info."""
    layout = _Layout()
    layout.row("Requests (rate)")
    layout.add(
        _panel(
            "timeseries",
            "Request rate by pod",
            "Requests per second answered by each pod, all routes.",
            [
                (
                    f"sum by (pod) (rate(test_app_http_requests_total{{{NS}}}[{RATE}]))",
                    "{{pod}}",
                )
            ],
            "reqps",
        ),
        12,
        8,
    )
    layout.add(
        _panel(
            "timeseries",
            "Request rate by route and status",
            "Which endpoints are called and how they answer; `other` is any unknown path.",
            [
                (
                    f"sum by (route, status) (rate(test_app_http_requests_total{{{NS}}}[{RATE}]))",
                    "{{route}} {{status}}",
                )
            ],
            "reqps",
        ),
        12,
        8,
    )
    layout.row("Errors")
    layout.add(
        _panel(
            "timeseries",
            "Error ratio by pod (5xx)",
            "Share of requests answered with a 5xx status. /health answers 500 when the "
            "writer does not answer a ping.",
            [
                (
                    (
                        f'sum by (pod) (rate(test_app_http_requests_total{{{NS},status=~"5.."}}'
                        f"[{RATE}]))\n/\nsum by (pod) (rate(test_app_http_requests_total{{{NS}}}"
                        f"[{RATE}]))"
                    ),
                    "{{pod}}",
                )
            ],
            "percentunit",
            thresholds=[("green", None), ("red", 0.05)],
            minimum=0,
        ),
        12,
        8,
    )
    layout.add(
        _panel(
            "timeseries",
            "Readiness failures by pod",
            "Rate of /readyz answers other than 200: the pod is draining after SIGTERM, or "
            "its writer has not answered once since it started (ADR 0014).",
            [
                (
                    (
                        f'sum by (pod) (rate(test_app_http_requests_total{{{NS},route="/readyz",'
                        f'status!="200"}}[{RATE}]))'
                    ),
                    "{{pod}}",
                )
            ],
            "reqps",
        ),
        12,
        8,
    )
    layout.row("Duration")
    for quantile in ("0.5", "0.99"):
        layout.add(
            _panel(
                "timeseries",
                f"Request duration p{quantile[2:].ljust(2, '0')} by pod",
                f"{quantile} quantile of request duration, estimated from the histogram.",
                [
                    (
                        (
                            f"histogram_quantile({quantile}, sum by (pod, le) (rate("
                            f"test_app_http_request_duration_seconds_bucket{{{NS}}}[{RATE}])))"
                        ),
                        "{{pod}}",
                    )
                ],
                "s",
            ),
            12,
            8,
        )
    layout.row("Pods")
    layout.add(
        _panel(
            "timeseries",
            "Ready by pod",
            "1 from the pod's first answered writer ping until it drains, else 0 "
            "(test_app_ready). A database outage does not change it: see Database.",
            [(f"max by (pod) (test_app_ready{{{NS}}})", "{{pod}}")],
            "none",
            minimum=0,
            maximum=1,
        ),
        12,
        6,
    )
    layout.add(
        _panel(
            "stat",
            "Running versions",
            "Pods per version and git SHA (test_app_build_info).",
            [
                (
                    f"count by (version, git_sha) (test_app_build_info{{{NS}}})",
                    "{{version}} ({{git_sha}})",
                )
            ],
            "none",
        ),
        12,
        6,
    )
    return _dashboard(
        "test-app-service",
        "test-app / Service",
        "Rate, errors and duration of test-app, by pod.",
        layout,
    )


def database_dashboard() -> dict[str, Any]:
    """Build the database dashboard: reachability, ping latency per target, pool, lag."""
    layout = _Layout()
    layout.row("Reachability")
    layout.add(
        _panel(
            "timeseries",
            "Database up (last ping) by target",
            "Lowest test_app_db_up across pods per target: 0 means at least one pod's last "
            "ping failed.",
            [(f"min by (target) (test_app_db_up{{{NS}}})", "{{target}}")],
            "none",
            minimum=0,
            maximum=1,
        ),
        12,
        8,
    )
    layout.add(
        _panel(
            "timeseries",
            "Ping failures by target",
            "Failed pings per second, all pods.",
            [
                (
                    f"sum by (target) (rate(test_app_db_ping_failures_total{{{NS}}}[{RATE}]))",
                    "{{target}}",
                )
            ],
            "ops",
        ),
        12,
        8,
    )
    layout.row("Ping latency")
    for quantile in ("0.5", "0.99"):
        layout.add(
            _panel(
                "timeseries",
                f"Ping latency p{quantile[2:].ljust(2, '0')}, writer and reader",
                f"{quantile} quantile of the `SELECT 1` round trip per target.",
                [
                    (
                        (
                            f"histogram_quantile({quantile}, sum by (target, le) (rate("
                            f"test_app_db_ping_duration_seconds_bucket{{{NS}}}[{RATE}])))"
                        ),
                        "{{target}}",
                    )
                ],
                "s",
            ),
            12,
            8,
        )
    layout.row("Connection pool")
    layout.add(
        _panel(
            "timeseries",
            "Pool connections by target",
            "Open, in-use and maximum connections, summed over pods.",
            [
                (f"sum by (target) (test_app_db_pool_size{{{NS}}})", "{{target}} open"),
                (f"sum by (target) (test_app_db_pool_in_use{{{NS}}})", "{{target}} in use"),
                (f"sum by (target) (test_app_db_pool_max_size{{{NS}}})", "{{target}} max"),
            ],
            "none",
            minimum=0,
        ),
        12,
        8,
    )
    layout.add(
        _panel(
            "timeseries",
            "Callers waiting for a connection by pod",
            "Above zero for long means the pool is saturated (alert TestAppDatabasePoolSaturated).",
            [(f"sum by (pod, target) (test_app_db_pool_waiting{{{NS}}})", "{{pod}} {{target}}")],
            "none",
            thresholds=[("green", None), ("orange", 1)],
            minimum=0,
        ),
        12,
        8,
    )
    layout.row("Replication")
    layout.add(
        _panel(
            "timeseries",
            "Replica lag seen by the app",
            "How far the reader is behind the writer, sampled by each pod.",
            [(f"max by (pod) (test_app_db_replica_lag_seconds{{{NS}}})", "{{pod}}")],
            "s",
            thresholds=[("green", None), ("orange", 30)],
            minimum=0,
        ),
        24,
        8,
    )
    return _dashboard(
        "test-app-database",
        "test-app / Database",
        "PostgreSQL writer and reader as test-app sees them: reachability, ping latency, "
        "connection pool and replica lag.",
        layout,
    )


def slo_dashboard(slo_file: SLOFile) -> dict[str, Any]:
    """Per SLO: compliance, budget left, burn rate per alert window; plus the external probe."""
    layout = _Layout()
    period = slo_file.period
    for slo in slo_file.slos:
        sel = f'slo="{slo.name}",service="{slo_file.service}"'
        layout.row(f"SLO {slo.name}: {slo.objective}% over {period}")
        layout.add(
            _panel(
                "stat",
                f"{slo.name}: SLI over {period}",
                f"{slo.description} Objective {slo.objective}%.",
                [(f"1 - slo:sli_error:ratio_rate{period}{{{sel}}}", "{{namespace}}")],
                "percentunit",
                thresholds=[("red", None), ("green", float(slo.objective) / 100)],
            ),
            6,
            6,
        )
        layout.add(
            _panel(
                "stat",
                f"{slo.name}: error budget left",
                f"Share of the {period} error budget not yet spent; below 0 the SLO is missed.",
                [(f"slo:error_budget_remaining:ratio{{{sel}}}", "{{namespace}}")],
                "percentunit",
                thresholds=[("red", None), ("orange", 0), ("green", 0.25)],
            ),
            6,
            6,
        )
        burn_windows = sorted(
            {pair.long for alert in slo_file.alerts for pair in alert.windows},
            key=lambda w: {"m": 1, "h": 60, "d": 1440}[w[-1]] * int(w[:-1]),
        )
        rates = sorted({float(pair.burn_rate) for a in slo_file.alerts for pair in a.windows})
        layout.add(
            _panel(
                "timeseries",
                f"{slo.name}: burn rate",
                "Error ratio divided by the error budget, per alerting window: 1 spends the "
                "budget exactly over the period. Threshold lines are the alerts' burn rates.",
                [
                    (
                        (
                            f"slo:sli_error:ratio_rate{window}{{{sel}}}\n/ ignoring (namespace) "
                            f"group_left\nslo:error_budget:ratio{{{sel}}}"
                        ),
                        f"{window} {{{{namespace}}}}",
                    )
                    for window in burn_windows
                ],
                "none",
                thresholds=[("green", None)]
                + [("orange" if r < max(rates) else "red", r) for r in rates],
                minimum=0,
            ),
            12,
            6,
        )
    layout.row("External probe of /health (blackbox exporter)")
    layout.add(
        _panel(
            "timeseries",
            "Probe success",
            "Share of successful probes of the public /health URL, answered 200 with body UP.",
            [(f'avg_over_time(probe_success{{job="{PROBE_JOB}"}}[{RATE}])', "{{instance}}")],
            "percentunit",
            minimum=0,
            maximum=1,
        ),
        12,
        6,
    )
    layout.add(
        _panel(
            "timeseries",
            "Probe duration",
            "End-to-end time of one probe, DNS to last byte.",
            [(f'probe_duration_seconds{{job="{PROBE_JOB}"}}', "{{instance}}")],
            "s",
        ),
        12,
        6,
    )
    layout.row("Alerts")
    layout.add(
        _panel(
            "timeseries",
            "Firing alerts of the service",
            "Every test-app alert currently firing (Prometheus' ALERTS series).",
            [
                (
                    (
                        f'count by (alertname, severity) (ALERTS{{service="{slo_file.service}",'
                        'alertstate="firing"})'
                    ),
                    "{{alertname}} ({{severity}})",
                )
            ],
            "none",
            minimum=0,
        ),
        24,
        6,
    )
    dashboard = _dashboard(
        "test-app-slo",
        "test-app / SLOs",
        f"Service level objectives of {slo_file.service}, generated from observability/slo.yaml.",
        layout,
    )
    dashboard["time"] = {"from": "now-7d", "to": "now"}
    return dashboard


def all_dashboards(slo_file: SLOFile) -> dict[str, dict[str, Any]]:
    """File name (without .json) -> dashboard."""
    return {
        "test-app-service": service_dashboard(),
        "test-app-database": database_dashboard(),
        "test-app-slo": slo_dashboard(slo_file),
    }
