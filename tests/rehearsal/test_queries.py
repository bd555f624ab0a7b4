"""Every dashboard query and every rule expression returns data from the rehearsal's Prometheus.

Parsing is not enough: a renamed metric or label parses fine and draws an empty panel, or an
alert that can never fire. After `up` and a short load through the balancer, each query runs
against the live Prometheus, which loads the same rule files production does:

- dashboard queries (Grafana variables filled in) and recording rules must return series;
- every selector of every expression, alerts included, must match series, leaving out only the
  matchers that select failures (`status`, `alertstate`): a healthy rehearsal has no 500s;
- the only exceptions are named below with their reason: queries that select failures as a
  whole, and metrics of Kubernetes exporters the rehearsal does not run.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import promql_parser
import pytest
import yaml

from rehearsal.base.configs import SCRAPE_INTERVAL_SECONDS
from test_app_tooling.promql import FAILURE_LABELS, selector_text, selectors, substitute
from test_app_tooling.tools import REPO


pytestmark = [pytest.mark.rehearsal, pytest.mark.timeout(600)]

RULES = REPO / "observability" / "rules"
DASHBOARDS = REPO / "observability" / "dashboards"
EXPORTERS = yaml.safe_load(
    (REPO / "tests" / "observability" / "exporter_metrics.yaml").read_text(encoding="utf-8")
)
# Metrics the rehearsal cannot have: it runs no kube-state-metrics (no Kubernetes), and no
# admission proxy (its HAProxy is the load balancer, whose backends have other names).
CLUSTER_ONLY = {
    name
    for name, source in EXPORTERS.items()
    if source == "kube-state-metrics" or source.startswith("haproxy (admission proxy")
}
# Series that exist only while something is wrong.
ONLY_WHILE_FAILING = {"ALERTS": "exists while an alert is pending or firing"}
# Dashboard panels whose whole query selects failures: empty in a healthy rehearsal.
FAILURE_PANELS = {
    "Error ratio by pod (5xx)": "no 5xx answers while the database is up",
    "Readiness failures by pod": "every /readyz answers 200 once the writer answered",
    "Firing alerts of the service": "nothing fires in a healthy rehearsal",
}
# Dashboard panels of the admission proxy (chart values `admissionProxy`): the rehearsal runs none.
ADMISSION_PROXY_PANELS = {
    "Answered by the admission proxy itself": "no admission proxy in the rehearsal",
    "Wait in the admission proxy's queue": "no admission proxy in the rehearsal",
}
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$namespace": ".*"}
# Load for three scrapes at least (a series the load creates may miss the first one, and rate()
# needs two samples), until every recording rule has recorded or at most READY_SECONDS.
MIN_LOAD_SECONDS = 3 * SCRAPE_INTERVAL_SECONDS + 2
READY_SECONDS = 90
PATHS = ("/health", "/health/read", "/readyz", "/livez", "/version", "/nope")


def dashboard_queries() -> list[tuple[str, str]]:
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        panels = json.loads(path.read_text(encoding="utf-8"))["panels"]
        for panel in panels:
            found += [
                (panel["title"], substitute(t["expr"], GRAFANA_VARIABLES))
                for t in panel.get("targets", [])
            ]
    if not found:
        pytest.fail("no dashboard query found: nothing to check")
    return found


def rules() -> list[dict[str, Any]]:
    found = [
        rule
        for path in sorted(RULES.glob("*.yaml"))
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
    ]
    if not found:
        pytest.fail("no rule found: nothing to check")
    return found


def series(prometheus: str, query: str) -> list[Any]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": query}, timeout=30)
    body = answer.json()
    assert body.get("status") == "success", f"{query}: {body}"
    result: list[Any] = body["data"]["result"]
    return result


def recorded(prometheus: str) -> bool:
    """Whether every recording rule has written its series (one evaluation after its inputs)."""
    return all(series(prometheus, rule["record"]) for rule in rules() if "record" in rule)


@pytest.fixture(scope="module")
def prometheus(live) -> str:
    """The live Prometheus after a short load through the balancer and the rules' evaluations.

    The load lasts `MIN_LOAD_SECONDS`, then goes on until every recording rule has written its
    series, or `READY_SECONDS` have passed (a rule that never records fails its test below).
    """
    url = live.topo.url("prometheus", "").rstrip("/")
    balancer = live.topo.url("app-lb", "").rstrip("/")
    started = time.monotonic()
    next_check = started + MIN_LOAD_SECONDS
    with httpx.Client(timeout=5) as client:
        while time.monotonic() < started + READY_SECONDS:
            for path in PATHS:
                client.get(balancer + path)
            time.sleep(0.05)
            if time.monotonic() >= next_check:
                if recorded(url):
                    break
                next_check = time.monotonic() + SCRAPE_INTERVAL_SECONDS / 2
    return str(url)


def test_every_dashboard_query_returns_data(prometheus):
    queries = dashboard_queries()
    empty = [title for title, query in queries if not series(prometheus, query)]
    allowed = set(FAILURE_PANELS) | set(ADMISSION_PROXY_PANELS)
    assert set(empty) <= allowed, sorted(set(empty) - allowed)


def test_every_recording_rule_returns_data(prometheus):
    records = [rule for rule in rules() if "record" in rule]
    assert records, "no recording rule: nothing to check"
    empty = [rule["record"] for rule in records if not series(prometheus, rule["expr"])]
    assert empty == []


def test_every_selector_of_every_expression_matches_series(prometheus):
    expressions = [(rule.get("alert") or rule["record"], rule["expr"]) for rule in rules()]
    expressions += dashboard_queries()
    checked, missing = 0, []
    for where, expr in expressions:
        for selector in selectors(promql_parser.parse(expr)):
            if selector.name in CLUSTER_ONLY | ONLY_WHILE_FAILING.keys():
                continue
            query = selector_text(selector, without=FAILURE_LABELS)
            checked += 1
            if not series(prometheus, query):
                missing.append(f"{where}: {query}")
    assert checked > 20, f"only {checked} selectors checked"
    assert missing == []


def test_a_renamed_metric_is_caught(prometheus):
    renamed = "sum by (pod) (rate(test_app_http_request_total[1m]))"
    assert series(prometheus, renamed) == []
    assert series(prometheus, renamed.replace("request_total", "requests_total"))
