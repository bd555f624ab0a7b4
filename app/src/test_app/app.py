"""The application: six small routes on a short hot path, served over RSGI or ASGI.

granian serves it through RSGI, its native interface (about 10 % more requests per core than
ASGI here, ADR 0001); the ASGI entry point keeps it portable to any ASGI server.

| route          | answers                                                              |
| -------------- | -------------------------------------------------------------------- |
| `/health`      | `200 UP` / `500 DOWN` from a fresh writer ping (the original contract) |
| `/health/read` | the same for the reader endpoint                                     |
| `/livez`       | `200 OK` while the process serves; never touches the database        |
| `/readyz`      | `200 READY` from the first answered writer ping until draining, else 503 |
| `/metrics`     | Prometheus text format                                               |
| `/version`     | `{"version": ..., "git_sha": ...}`                                   |

Admission control: a worker with more than `MAX_IN_FLIGHT` requests in flight (every route
counts) answers `/health` and `/health/read` with `503 OVERLOADED` and `Retry-After: 1` at once,
without a database call, and counts it in `test_app_http_shed_requests_total{route}`. `/livez`,
`/readyz` and `/metrics` are never shed: the probes keep an overloaded pod in rotation, and
shedding keeps its latency bounded instead of letting a queue grow without end.

Readiness is about this process, not the database (ADR 0014): once the writer has answered a
ping (each worker pings it as it starts; until then `/readyz` pings), `/readyz` answers 200
without looking at the database again, until the drain begins. A database outage shows in
`/health` (`500 DOWN`), `test_app_db_up` and the alerts, and the pods stay in service.

Every response carries `Cache-Control: no-store` (a cached health answer is a lie) and
`X-Content-Type-Options: nosniff`. An HTTP/1.1 request without `Host`, or any request with
more than one, gets 400 (RFC 9112 section 3.2).
Metric labels come from closed sets: the route (`other` for any unknown path), the method
(`other` for any but the standard ones) and the status codes this module returns.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from contextlib import suppress
from http import HTTPStatus
from importlib.metadata import version as package_version
from typing import TYPE_CHECKING, Any

from test_app import lifeline, logs, metrics
from test_app.database import Target
from test_app.logs import configure_logging, get_logger
from test_app.proxies import client_address, forwarded_for
from test_app.replica_lag import LagSampler
from test_app.settings import load_settings
from test_app.startup import ping_writer_once, quiet_orphaned_lookups


if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping

    from granian._granian import RSGIHTTPProtocol as RSGIProtocol
    from granian.rsgi import Scope as RSGIScope
    from prometheus_client.metrics import Counter, Histogram

    from test_app.settings import Settings

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    Response = tuple[int, bytes, str]
    Header = tuple[str, str]

log = get_logger(__name__)

VERSION = package_version("test-app")
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
PROBES = frozenset({"/health", "/health/read", "/livez", "/readyz", "/metrics"})
# The routes that cost a database round trip; only they are shed under overload.
SHEDDABLE = frozenset({"/health", "/health/read"})
RETRY_AFTER_SECONDS = "1"
COARSE_STATUSES = frozenset({400, 404, 405})  # counted without the client's route and method
POOL_METRICS_INTERVAL = 1.0
ALWAYS: tuple[tuple[str, str], ...] = (
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
)
MAX_LOGGED_PATH = 256  # characters of the path in the access log; the rest is cut


class App:
    """The service. `begin_drain()` flips readiness off; everything else keeps serving."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.writer = Target("writer", settings.writer, settings)
        self.reader = (
            Target("reader", settings.reader, settings)
            if settings.has_separate_reader
            else self.writer
        )
        self.draining = False
        self.reached_writer = False  # a writer ping succeeded since this process started
        self.in_flight = 0  # requests of this worker between arrival and answer
        self._tasks: list[asyncio.Task[None]] = []
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._routes: dict[str, Callable[[], Awaitable[Response]]] = {
            "/health": self._health,
            "/health/read": self._health_read,
            "/livez": self._livez,
            "/readyz": self._readyz,
            "/metrics": self._metrics,
            "/version": self._version,
        }
        for route in SHEDDABLE:  # the series exist at zero, for rate() and absent()
            metrics.SHED_REQUESTS.labels(route)
        self._version_body = json.dumps({"version": VERSION, "git_sha": settings.git_sha}).encode()

    # -- ASGI ----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch an ASGI connection."""
        if scope["type"] == "http":
            await self._http(scope, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, send: Send) -> None:
        started = time.perf_counter()
        path: str = scope["path"]
        method: str = scope["method"]
        request_headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        hosts = sum(1 for n, _ in request_headers if n == b"host")
        host_ok = hosts == 1 or (hosts == 0 and scope.get("http_version") != "1.1")
        self.in_flight += 1
        try:
            route, status, body, headers = await self._dispatch(path, method, host_ok=host_ok)
        finally:
            self.in_flight -= 1
        raw = [(name.encode(), value.encode()) for name, value in headers]
        raw.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
        client = (scope.get("client") or ("", 0))[0]
        forwarded = None
        if self.settings.trusted_proxies:
            forwarded = forwarded_for(
                (n.decode("latin-1"), v.decode("latin-1")) for n, v in request_headers
            )
        self._done(route, method, status, started, path, client, forwarded)

    # -- RSGI (granian's native interface: one call per response, no message dicts) ------------

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Open the pools before the worker serves (granian calls this once per worker)."""
        loop.run_until_complete(self.startup())

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close the pools after the worker stopped serving."""
        loop.run_until_complete(self.shutdown())

    async def __rsgi__(self, scope: RSGIScope, proto: RSGIProtocol) -> None:
        """Answer one RSGI request."""
        started = time.perf_counter()
        path, method = scope.path, scope.method
        hosts = len(scope.headers.get_all("host"))  # type: ignore[attr-defined]  # missing in its stub
        host_ok = hosts == 1 or (hosts == 0 and scope.http_version != "1.1")
        self.in_flight += 1
        try:
            route, status, body, headers = await self._dispatch(path, method, host_ok=host_ok)
        finally:
            self.in_flight -= 1
        proto.response_bytes(status, headers, b"" if method == "HEAD" else body)
        forwarded = forwarded_for(scope.headers.items()) if self.settings.trusted_proxies else None
        client = scope.client.rpartition(":")[0]
        self._done(route, method, status, started, path, client, forwarded)

    # -- shared by both interfaces ---------------------------------------------------------------

    async def _dispatch(
        self, path: str, method: str, *, host_ok: bool
    ) -> tuple[str, int, bytes, list[Header]]:
        handler = self._routes.get(path)
        route = path if handler is not None else "other"
        headers: list[Header] = list(ALWAYS)
        if not host_ok:
            status, body, content_type = 400, b"Bad Request: exactly one Host header\n", TEXT
        elif handler is None:
            status, body, content_type = 404, b"Not Found\n", TEXT
        elif method not in {"GET", "HEAD"}:
            status, body, content_type = (
                HTTPStatus.METHOD_NOT_ALLOWED,
                b"Method Not Allowed\n",
                TEXT,
            )
            headers.append(("allow", "GET, HEAD"))
        elif route in SHEDDABLE and self.in_flight > self.settings.max_in_flight:
            status, body, content_type = 503, b"OVERLOADED\n", TEXT
            headers.append(("retry-after", RETRY_AFTER_SECONDS))
            metrics.SHED_REQUESTS.labels(route).inc()
        else:
            status, body, content_type = await handler()
        headers.append(("content-type", content_type))
        if self.draining:
            # Tell keep-alive clients (the load balancer) to reconnect elsewhere.
            headers.append(("connection", "close"))
        return route, status, body, headers

    def _done(  # noqa: PLR0913, PLR0917 - the facts of one finished request
        self,
        route: str,
        method: str,
        status: int,
        started: float,
        path: str,
        peer: str,
        forwarded_for: str | None = None,
    ) -> None:
        elapsed = time.perf_counter() - started
        self._observe(route, metrics.method_label(method), status, elapsed)
        if self.settings.access_log and (self.settings.access_log_probes or route not in PROBES):
            log.info(
                "request",
                method=method[:MAX_LOGGED_PATH],
                path=path[:MAX_LOGGED_PATH],
                status=status,
                duration_ms=round(elapsed * 1000, 3),
                client=client_address(peer, forwarded_for, self.settings.trusted_proxies),
                peer=peer,
            )

    def _observe(self, route: str, method: str, status: int, elapsed: float) -> None:
        """Count one request; `route` and `method` are already labels from closed sets.

        A refused request (400, 404, 405) is counted as `route="other", method="other"`: the
        client chose its route and method, and 7 routes x 10 methods x 3 codes of histograms
        made 2,263 series from 140 crafted requests.
        """
        if status in COARSE_STATUSES:
            route, method = "other", "other"
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            labels = (route, method, str(status))
            children = (
                metrics.HTTP_REQUESTS.labels(*labels),
                metrics.HTTP_DURATION.labels(*labels),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(elapsed)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as err:  # noqa: BLE001 - reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": repr(err)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- life cycle ----------------------------------------------------------------------------

    async def startup(self) -> None:
        """Open the pools and start the background samplers."""
        metrics.set_build_info(VERSION, self.settings.git_sha)
        # Under test_app.server: die with the main process and prove every second we run.
        beat = lifeline.attach(os.environ)
        if beat is not None:
            self._tasks.append(beat)
        # The main process asks for a drain with SIGUSR1 (see test_app.server).
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, self.begin_drain)
        quiet_orphaned_lookups(loop)
        metrics.READY.set(0)
        await self.writer.open()
        if self.reader is not self.writer:
            await self.reader.open()
            self._tasks.append(asyncio.create_task(self._sample_lag()))
        self._tasks.append(asyncio.create_task(self._publish_process_metrics()))
        # Ready as soon as the writer answers once: the main process's startup gate has just
        # reached it, so this ping normally succeeds; if not, /readyz keeps trying.
        try:
            async with asyncio.timeout(self.settings.ping_timeout):
                await ping_writer_once(self.settings, self.settings.ping_timeout)
        except Exception as err:  # noqa: BLE001 - not ready yet; /readyz pings until it is
            log.warning(
                "not ready: the writer did not answer at start",
                cause=logs.describe(
                    err, during=f"PING_TIMEOUT_SECONDS={self.settings.ping_timeout:g}"
                ),
            )
        else:
            self._became_ready()

    def begin_drain(self) -> None:
        """Fail readiness from now on; requests keep being served until the server stops."""
        if not self.draining:
            self.draining = True
            metrics.READY.set(0)
            log.info("draining: readiness now fails", drain_seconds=self.settings.drain_seconds)

    async def shutdown(self) -> None:
        """Stop the samplers and close the pools."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        await self.writer.close()
        if self.reader is not self.writer:
            await self.reader.close()
        log.info("shutdown complete")
        logs.flush()  # a worker ends with os._exit: no atexit runs there

    async def _publish_process_metrics(self) -> None:
        published_drops = 0
        while True:
            self.writer.publish_pool_metrics()
            if self.reader is not self.writer:
                self.reader.publish_pool_metrics()
            drops = logs.dropped_lines()
            if drops > published_drops:
                metrics.LOG_LINES_DROPPED.inc(drops - published_drops)
                published_drops = drops
            await asyncio.sleep(POOL_METRICS_INTERVAL)

    async def _sample_lag(self) -> None:
        sampler = LagSampler(self.reader)  # one per reader pool: it learns the lag source once
        while True:
            await sampler.sample()
            await asyncio.sleep(self.settings.replica_lag_interval)

    # -- routes --------------------------------------------------------------------------------

    async def _ping_writer(self) -> bool:
        """Ping the writer; the first success makes this process ready for good."""
        up = await self.writer.ping()
        if up and not self.reached_writer:
            self._became_ready()
        return up

    def _became_ready(self) -> None:
        self.reached_writer = True
        if not self.draining:
            metrics.READY.set(1)
            log.info("ready: the writer answered")

    async def _health(self) -> Response:
        if await self._ping_writer():
            return 200, b"UP\n", TEXT
        return 500, b"DOWN\n", TEXT

    async def _health_read(self) -> Response:
        if await self.reader.ping():
            return 200, b"UP\n", TEXT
        return 500, b"DOWN\n", TEXT

    async def _livez(self) -> Response:
        return 200, b"OK\n", TEXT

    async def _readyz(self) -> Response:
        if self.draining:
            return 503, b"DRAINING\n", TEXT
        if self.reached_writer or await self._ping_writer():
            return 200, b"READY\n", TEXT
        return 503, b"NOT READY\n", TEXT

    async def _metrics(self) -> Response:
        self.writer.publish_pool_metrics()
        if self.reader is not self.writer:
            self.reader.publish_pool_metrics()
        return 200, metrics.render(), metrics.CONTENT_TYPE

    async def _version(self) -> Response:
        return 200, self._version_body, JSON


def create_app() -> App:
    """Build the app from the environment (granian calls this in every worker)."""
    settings = load_settings(os.environ)
    configure_logging(settings.log_level)
    try:
        metrics.reserve_files()  # before any metric is touched (see test_app.metrics)
    except OSError as err:
        log.error(  # noqa: TRY400 - one clear line; the main process then exits 1
            "cannot reserve the metrics files: the worker stops",
            folder=os.environ.get("PROMETHEUS_MULTIPROC_DIR"),
            cause=f"{type(err).__name__}: {err.strerror}",
        )
        logs.flush()
        raise SystemExit(1) from None
    return App(settings)
