"""Every metric a rule or dashboard reads exists.

- `test_app_*`: in the `/metrics` output of a real test-app instance, started against a real
  PostgreSQL primary and streaming standby, after every route was called; label values the
  queries select on (route, status, target, le) must be there too.
- Recording-rule outputs (`slo:*`): defined by a rule file.
- Everything else: an explicit allow-list naming the exporter that provides it. Those whose
  exporter ships on this machine (blackbox_exporter, postgres_exporter) are checked against the
  real binary's output in test_exporters.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from test_app_tooling.promql import selectors, substitute


# metric -> the exporter (or Prometheus itself) that provides it.
EXPORTER_METRICS: dict[str, str] = yaml.safe_load(
    (Path(__file__).resolve().parent / "exporter_metrics.yaml").read_text(encoding="utf-8")
)
# Labels that Prometheus adds from the target (Kubernetes or the rehearsal's file_sd), not the app.
TARGET_LABELS = {"namespace", "pod", "job", "instance", "service", "container"}
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$namespace": "test-app"}


def _queries(rules, dashboard_queries) -> list[tuple[str, str]]:
    found = [(f"{r['_file']}: {r.get('alert') or r.get('record')}", r["expr"]) for r in rules]
    for dashboard, title, expr in dashboard_queries:
        found.append((f"{dashboard}: {title}", substitute(expr, GRAFANA_VARIABLES)))
    return found


@pytest.fixture(scope="module")
def references(rules, dashboard_queries) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """metric name -> [(where, {label: value} of its equality matchers)]."""
    found: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for where, expr in _queries(rules, dashboard_queries):
        for selector in selectors(promql_parser.parse(expr)):
            assert selector.name, f"{where}: a selector without a metric name: {expr}"
            equal = {
                m.name: m.value
                for m in selector.matchers.matchers
                if m.op == promql_parser.MatchOp.Equal
            }
            found.setdefault(selector.name, []).append((where, equal))
    assert len(found) >= 10, f"too few metrics found to be a real check: {sorted(found)}"
    return found


def test_every_selector_is_found_by_the_parser(references):
    """The extraction can fail: the parser sees the metrics written in the rules."""
    assert "test_app_db_up" in references
    assert "test_app_http_request_duration_seconds_bucket" in references
    assert "slo:sli_error:ratio_rate5m" in references


def test_recording_rule_outputs_are_defined(rules, references):
    recorded = {rule["record"] for rule in rules if "record" in rule}
    used = {name for name in references if ":" in name}
    assert used, "no recording rule output is used"
    assert used <= recorded, f"used but never recorded: {sorted(used - recorded)}"


def test_exporter_metrics_are_in_the_allow_list_and_the_list_is_used(references):
    others = {n for n in references if ":" not in n and not n.startswith("test_app_")}
    assert others - EXPORTER_METRICS.keys() == set(), "add the metric and its source"
    assert EXPORTER_METRICS.keys() - others == set(), "allow-list entries no query uses"


def _scrape_when_complete(app, wanted: set[str], timeout: float = 20) -> str:
    """Exercise every route, then scrape /metrics until every wanted metric appears."""
    deadline = time.monotonic() + timeout
    while True:
        for path in ("/health", "/health/read", "/readyz", "/livez", "/version", "/nope"):
            app.get(path)
        text = httpx.get(f"{app.url}/metrics", timeout=5).text
        names = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
        if wanted <= names or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


@pytest.mark.integration
def test_app_metrics_used_by_rules_and_dashboards_exist_in_the_real_app(
    postgres, run_app, references, tmp_path
):
    wanted = {name for name in references if name.startswith("test_app_")}
    assert len(wanted) >= 8
    # The password from a file, as the chart mounts it: the login's metrics exist only then.
    env = postgres.env()
    password = tmp_path / "password"
    password.write_text(env.pop("POSTGRESQL_PASSWORD"), encoding="utf-8")
    env["POSTGRESQL_PASSWORD_FILE"] = str(password)
    app = run_app(env={**env, "REPLICA_LAG_INTERVAL_SECONDS": "1"})
    text = _scrape_when_complete(app, wanted)
    samples: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(dict(sample.labels))
    missing = sorted(wanted - samples.keys())
    assert not missing, f"referenced but not exposed by the app: {missing}"
    problems = []
    for name in sorted(wanted):
        for where, equal in references[name]:
            selected = {k: v for k, v in equal.items() if k not in TARGET_LABELS}
            if not any(selected.items() <= labels.items() for labels in samples[name]):
                problems.append(f"{where}: no sample {name}{selected}")
    assert not problems, "\n".join(problems)
