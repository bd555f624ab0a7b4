"""Prometheus metrics of the service (names are listed in docs/conventions.md).

With several worker processes the parent sets `PROMETHEUS_MULTIPROC_DIR` before the workers
import this module; every worker then writes its samples there and `/metrics` in any worker
renders the sum over all of them.

Those files are memory maps. prometheus_client makes them sparse, so on a full filesystem the
first write to a page not yet backed gets SIGBUS and the worker dies without a word. Each worker
therefore reserves its files' blocks before it touches a metric (`reserve_files()`), and a
filesystem without room for them fails the start with one line naming the folder.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
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
from prometheus_client.metrics import MetricWrapperBase


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
SHED_REQUESTS = Counter(
    "test_app_http_shed_requests",
    "Requests answered 503 at once because the worker had MAX_IN_FLIGHT requests in flight, "
    "by route.",
    ["route"],
)
LOG_LINES_DROPPED = Counter(
    "test_app_log_lines_dropped",
    "Log lines dropped because stdout did not keep up (logging never blocks a request).",
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
    "Replication lag of the reader (a standby's replay; on Aurora its aurora_replica_status() "
    "row; NaN while the reader endpoint leads to a primary or the Aurora row has no lag).",
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
LOGIN_INFO = Gauge(
    "test_app_db_login_info",
    "1 for the database login in use (user, fingerprint of the password), 0 for one used before"
    " (absent when the login comes from the environment).",
    ["user", "fingerprint"],
    multiprocess_mode="livemax",
)
BUILD_INFO = Gauge(
    "test_app_build_info",
    "Always 1; the labels tell which build runs.",
    ["version", "git_sha", "python_version"],
    multiprocess_mode="livemax",
)


# Bytes reserved per metrics file and worker. The labels' closed sets bound the largest file
# (the histograms: at most about 50 series x 16 samples x ~150 bytes, about 120 KiB) well
# below this (the login info adds one series per login a process holds: one per rotation), so
# prometheus_client never grows a file past its reserved blocks.
FILE_BYTES: Final = 1 << 20


def file_kinds() -> frozenset[str]:
    """Return the multiprocess file kind of each metric: `counter`, `histogram`, `gauge_<mode>`."""
    kinds: set[str] = set()
    for value in globals().values():
        if isinstance(value, MetricWrapperBase):
            kind = str(value._type)  # noqa: SLF001 - prometheus_client names its files after it
            if isinstance(value, Gauge):
                kind += "_" + value._multiprocess_mode  # noqa: SLF001 - the same
            kinds.add(kind)
    return frozenset(kinds)


def reserved_bytes(workers: int) -> int:
    """Return the bytes the metrics files of `workers` workers take."""
    return workers * len(file_kinds()) * FILE_BYTES


def reserve_files(folder: str | None = None) -> None:
    """Allocate this process's metrics files in full before any sample is written to them.

    Call it in a worker before it touches a metric. Raises OSError (ENOSPC) when there is no
    room. Without `PROMETHEUS_MULTIPROC_DIR` (one worker, no files) it does nothing.
    """
    folder = folder or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    for kind in sorted(file_kinds()):
        path = Path(folder) / f"{kind}_{os.getpid()}.db"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, FILE_BYTES)
        finally:
            os.close(fd)


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
