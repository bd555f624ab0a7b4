"""The HTTP contract against a real PostgreSQL primary and streaming standby."""

import json
import re

import httpx
import pytest


pytestmark = pytest.mark.integration

TEXT = "text/plain; charset=utf-8"


@pytest.fixture
def app(postgres, run_app):
    return run_app(postgres.env())


def test_health_is_up_with_the_original_body_and_type(app):
    response = app.get("/health")
    assert response.status_code == 200
    assert response.text == "UP\n"
    assert response.headers["content-type"] == TEXT


def test_health_read_pings_the_standby(app, postgres):
    response = app.get("/health/read")
    assert (response.status_code, response.text) == (200, "UP\n")
    metrics = app.get("/metrics").text
    assert re.search(r'test_app_db_ping_duration_seconds_count\{target="reader"\} [1-9]', metrics)
    assert postgres.replica.sql("SELECT pg_is_in_recovery()") == "t"


def test_probes(app):
    assert (app.get("/livez").status_code, app.get("/livez").text) == (200, "OK\n")
    assert (app.get("/readyz").status_code, app.get("/readyz").text) == (200, "READY\n")


def test_version_reports_the_build(postgres, run_app):
    app = run_app({**postgres.env(), "GIT_SHA": "0123abc"})
    assert app.get("/version").json() == {"version": "1.0.0", "git_sha": "0123abc"}


def test_unknown_paths_and_methods(app):
    assert app.get("/nope").status_code == 404
    response = httpx.post(app.url + "/health")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_a_refused_login_at_startup_exits_instead_of_serving(postgres, run_app):
    env = {**postgres.env(), "POSTGRESQL_PASSWORD": "wrong", "STARTUP_TIMEOUT_SECONDS": "1"}
    app = run_app(env, wait_ready=False)
    app.wait(timeout=15)
    assert app.proc.returncode == 1, "must not start serving without a successful first ping"
    assert "password authentication failed" in app.log


def test_metrics_expose_every_documented_family(app):
    for path in ("/health", "/health/read", "/readyz", "/nope"):
        app.get(path)
    text = app.get("/metrics").text
    families = {
        "test_app_http_requests_total",
        "test_app_http_request_duration_seconds_bucket",
        "test_app_db_ping_duration_seconds_bucket",
        "test_app_db_ping_failures_total",
        "test_app_db_up",
        "test_app_db_pool_size",
        "test_app_db_pool_max_size",
        "test_app_db_pool_in_use",
        "test_app_db_pool_waiting",
        "test_app_db_replica_lag_seconds",
        "test_app_ready",
        "test_app_build_info",
    }
    present = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}
    assert families <= present, families - present
    assert re.search(
        r'test_app_http_requests_total\{method="GET",route="/health",status="200"\} [1-9]', text
    )
    assert 'route="other"' in text
    assert 'route="/nope"' not in text
    assert re.search(r'test_app_db_up\{target="writer"\} 1\.0', text)
    assert re.search(
        r'test_app_build_info\{git_sha="unknown",python_version="[\d.]+",version="1.0.0"\} 1', text
    )


def test_replica_lag_is_measured_on_the_standby(postgres, run_app):
    app = run_app({**postgres.env(), "REPLICA_LAG_INTERVAL_SECONDS": "0.2"})
    postgres.primary.sql(
        "CREATE TABLE IF NOT EXISTS lag_probe (n int); INSERT INTO lag_probe VALUES (1)"
    )
    lag = None
    for _ in range(50):
        match = re.search(
            r"^test_app_db_replica_lag_seconds ([\d.e+-]+)$", app.get("/metrics").text, re.MULTILINE
        )
        if match:
            lag = float(match.group(1))
            break
        __import__("time").sleep(0.1)
    assert lag is not None
    assert 0 <= lag < 60


def test_logs_are_json_lines_without_the_password(postgres, run_app):
    app = run_app({**postgres.env(), "ACCESS_LOG": "true"})
    app.get("/version")
    app.get("/health")
    app.stop()
    lines = [line for line in app.log.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line parses
    assert all({"level", "event", "timestamp"} <= r.keys() for r in records)
    access = [r for r in records if r["event"] == "request"]
    assert [r["path"] for r in access] == ["/version"], (
        "probes stay out of the access log by default"
    )
    assert postgres.password not in app.log


def test_probe_access_log_can_be_switched_on(postgres, run_app):
    app = run_app({**postgres.env(), "ACCESS_LOG_PROBES": "true"})
    app.get("/health")
    app.stop()
    paths = [json.loads(line).get("path") for line in app.log.splitlines() if line.strip()]
    assert "/health" in paths


def test_default_password_is_warned_about(postgres, run_app):
    # The server has a different password, so startup fails; the warning comes first anyway.
    env = {k: v for k, v in postgres.env().items() if k != "POSTGRESQL_PASSWORD"}
    app = run_app({**env, "STARTUP_TIMEOUT_SECONDS": "0.5"}, wait_ready=False)
    app.wait(timeout=15)
    first = json.loads(app.log.splitlines()[0])
    assert first["level"] == "warning"
    assert "POSTGRESQL_PASSWORD is the built-in default" in first["event"]


def test_pool_reuses_connections_across_requests(app, postgres):
    query = (
        "SELECT string_agg(pid::text || '@' || backend_start::text, ',' ORDER BY pid) "
        "FROM pg_stat_activity WHERE application_name = 'test-app'"
    )
    with httpx.Client(base_url=app.url) as client:
        client.get("/health")
        before = postgres.primary.sql(query)
        for _ in range(300):
            assert client.get("/health").status_code == 200
    after = postgres.primary.sql(query)
    assert before, "the app holds pooled connections"
    assert before == after, "no connection was opened or closed per request"
