"""Prometheus metrics of the service (names are listed in docs/conventions.md).

With several worker processes the parent sets `PROMETHEUS_MULTIPROC_DIR` before the workers
import this module; every worker then writes its samples there and `/metrics` in any worker
renders the sum over all of them.
"""

from __future__ import annotations

import os
import platform
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)


HTTP_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
PING_BUCKETS: Final = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
# RFC 9110's methods and PATCH (RFC 5789); any other method is counted as `other`.
METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)

HTTP_REQUESTS = Counter(
    "test_app_http_requests",
    "HTTP requests answered, by route, method and status code.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "test_app_http_request_duration_seconds",
    "Time from request to response, by route, method and status code.",
    ["route", "method", "status"],
    buckets=HTTP_BUCKETS,
)
PING_DURATION = Histogram(
    "test_app_db_ping_duration_seconds",
    "Duration of one database ping round trip (acquire + SELECT 1), by target.",
    ["target"],
    buckets=PING_BUCKETS,
)
PING_FAILURES = Counter(
    "test_app_db_ping_failures",
    "Database pings that failed or timed out, by target.",
    ["target"],
)
DB_UP = Gauge(
    "test_app_db_up",
    "1 if the last ping of the target succeeded, else 0.",
    ["target"],
    multiprocess_mode="livemin",
)
POOL_SIZE = Gauge(
    "test_app_db_pool_size",
    "Open connections in the pool, by target.",
    ["target"],
    multiprocess_mode="livesum",
)
POOL_MAX_SIZE = Gauge(
    "test_app_db_pool_max_size",
    "Configured maximum connections in the pool, by target.",
    ["target"],
    multiprocess_mode="livesum",
)
POOL_IN_USE = Gauge(
    "test_app_db_pool_in_use",
    "Pool connections currently lent out, by target.",
    ["target"],
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "test_app_db_pool_waiting",
    "Callers waiting for a pool connection, by target.",
    ["target"],
    multiprocess_mode="livesum",
)
REPLICA_LAG = Gauge(
    "test_app_db_replica_lag_seconds",
    "Replication lag of the reader (0 when it has replayed all it received; NaN while the "
    "reader endpoint leads to a primary).",
    multiprocess_mode="livemax",
)
READER_IS_PRIMARY = Gauge(
    "test_app_db_reader_is_primary",
    "1 while the reader endpoint leads to a primary (no standby: reads fell back), else 0.",
    multiprocess_mode="livemax",
)
CONNECT_DURATION = Histogram(
    "test_app_db_connect_duration_seconds",
    "Duration of opening one new database connection (TCP, TLS, login), by target.",
    ["target"],
    buckets=PING_BUCKETS,
)
CONNECT_FAILURES = Counter(
    "test_app_db_connect_failures",
    "New database connections that failed or timed out, by target (pooled ones may still work).",
    ["target"],
)
READY = Gauge(
    "test_app_ready",
    "1 from the first answered writer ping until the drain begins (readiness), else 0.",
    multiprocess_mode="livemin",
)
BUILD_INFO = Gauge(
    "test_app_build_info",
    "Always 1; the labels tell which build runs.",
    ["version", "git_sha", "python_version"],
    multiprocess_mode="livemax",
)


def method_label(method: str) -> str:
    """Return the `method` label: the request method if it is a standard one, else `other`.

    A label from the raw method would let any client create series at will (one per made-up
    method name), growing /metrics and every worker's memory without bound.
    """
    return method if method in METHODS else "other"


def set_build_info(version: str, git_sha: str) -> None:
    """Publish the build labels."""
    BUILD_INFO.labels(version, git_sha, platform.python_version()).set(1)


def render() -> bytes:
    """Render every metric in the Prometheus text format."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
