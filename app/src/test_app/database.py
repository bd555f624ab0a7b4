"""PostgreSQL access: one connection pool per target and a coalescing, always-fresh ping.

`Target.ping()` guarantees that the round trip it waits for *started after* the call: callers
arriving while a ping is in flight share the next one instead of starting their own. Under load
the database sees at most one ping at a time per target and process, whatever the request rate.

A ping turns *any* failure into "down", not only asyncpg's documented errors: when the server
ends pooled connections (`pg_terminate_backend`, a failover), asyncpg sometimes reports it as
`InternalClientError` ("cannot switch to state ..."), outside its error hierarchy. The
connection that failed is terminated, so the pool replaces it and stays usable. Cancellation
(`CancelledError`, not an `Exception`) is never swallowed.

An outage is logged once per state change and process, not once per failed ping: a warning
when a target goes down (with the cause) and an info line when it is back (with how long it
was down).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import TYPE_CHECKING, Any

import asyncpg

from test_app import metrics
from test_app.credentials import AUTH_ERRORS, Credentials
from test_app.logs import describe, get_logger
from test_app.startup import connect_kwargs


if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from test_app.settings import Endpoint, Settings

log = get_logger(__name__)

# What asyncpg raises when a pooled connection's session was already ended by the server:
# terminated while idle (`ConnectionDoesNotExistError`, or an `InterfaceError` about a closed or
# released connection), ended by an administrator mid-query (`AdminShutdownError`, 57P01), or
# caught between states (`InternalClientError`).
ENDED_CONNECTION_ERRORS = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    ConnectionResetError,
)

# A pooled connection is closed after this long, whatever its use, so that the pool reconnects
# through the endpoint: after a fallback of the reader endpoint to the primary, reads return to
# the standby within this bound (an idle-lifetime bound alone never ends a busy connection).
CONNECTION_MAX_LIFETIME_SECONDS = 60.0


class Coalescer:
    """Run `work` for callers, sharing one run among callers that arrive while one is pending.

    A caller never gets the result of a run that started before it arrived: while a run is in
    flight, new callers join the *next* run, which starts when the current one ends.
    """

    def __init__(self, work: Callable[[], Awaitable[None]]) -> None:
        self._work = work
        self._in_flight = False
        self._next: asyncio.Future[None] | None = None

    async def run(self) -> None:
        """Wait for a run of `work` that started after this call; raise what it raised."""
        loop = asyncio.get_running_loop()
        if not self._in_flight:
            future: asyncio.Future[None] = loop.create_future()
            self._start(future)
        else:
            if self._next is None:
                self._next = loop.create_future()
            future = self._next
        await asyncio.shield(future)

    def _start(self, future: asyncio.Future[None]) -> None:
        self._in_flight = True
        task = asyncio.ensure_future(self._work())
        task.add_done_callback(lambda done: self._finish(done, future))

    def _finish(self, done: asyncio.Future[None], future: asyncio.Future[None]) -> None:
        self._in_flight = False
        exc = ConnectionError("ping cancelled") if done.cancelled() else done.exception()
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)
            future.exception()  # mark it retrieved: a caller that went away must not log noise
        waiting, self._next = self._next, None
        if waiting is not None:
            self._start(waiting)


class Target:
    """One side of the database (`writer` or `reader`): a pool, a ping and pool metrics."""

    def __init__(
        self,
        name: str,
        endpoint: Endpoint,
        settings: Settings,
        max_lifetime: float = CONNECTION_MAX_LIFETIME_SECONDS,
    ) -> None:
        self.name = name
        self.max_lifetime = max_lifetime
        # When each open connection was opened (weak: a connection the pool dropped is gone).
        self._born: weakref.WeakKeyDictionary[asyncpg.Connection, float] = (
            weakref.WeakKeyDictionary()
        )
        self.endpoint = endpoint
        self._settings = settings
        self._pool: asyncpg.Pool | None = None
        self._credentials = Credentials(settings)
        self._waiting = 0
        self._ping = Coalescer(self._ping_once)
        self._labels = {"target": name}
        self._down_since: float | None = None  # the startup gate saw the database up
        # Create the series at zero so rate() and absent() work before the first failure.
        metrics.PING_FAILURES.labels(**self._labels)
        metrics.CONNECT_FAILURES.labels(**self._labels)

    @property
    def _bound(self) -> str:
        return (
            "a new connection's connect and login, or acquire and SELECT 1, "
            f"within PING_TIMEOUT_SECONDS={self._settings.ping_timeout:g}"
        )

    @property
    def ping_timeout(self) -> float:
        """Upper bound of one ping, in seconds."""
        return self._settings.ping_timeout

    async def open(self) -> None:
        """Create the pool; connections are made lazily up to `POOL_MAX_SIZE`."""
        self._pool = asyncpg.create_pool(
            min_size=0,
            max_size=self._settings.pool_max_size,
            max_inactive_connection_lifetime=min(300.0, self.max_lifetime),
            reset=_no_reset,
            connect=self._connect,
            **self._connect_args(),
        )
        await self._pool
        metrics.POOL_MAX_SIZE.labels(**self._labels).set(self._settings.pool_max_size)
        if self._settings.pool_min_size:
            await self._warm(self._settings.pool_min_size)
        self.publish_pool_metrics()

    async def _warm(self, count: int) -> None:
        """Open `count` connections, then give them all back, also those of a partial warm-up.

        A cold pool is no reason not to start (pings report the database): a failure is logged.
        """
        pool = self._require_pool()
        conns: list[asyncpg.Connection] = []
        try:
            for _ in range(count):
                conns.append(await pool.acquire(timeout=self._settings.ping_timeout))  # noqa: PERF401 - keep the ones opened before a failure
        except Exception as err:  # noqa: BLE001 - any failure leaves the pool colder, that is all
            log.warning(
                "pool warm-up incomplete",
                target=self.name,
                opened=len(conns),
                wanted=count,
                cause=describe(err, during=self._bound),
            )
        finally:
            for conn in conns:
                await pool.release(conn)

    async def close(self) -> None:
        """Close the pool, giving in-flight queries a short grace."""
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), timeout=2.0)
            except TimeoutError:
                self._pool.terminate()
            self._pool = None

    def _require_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise ConnectionError(f"{self.name} pool is not open")
        return self._pool

    async def ping(self) -> bool:
        """Return True if a `SELECT 1` that started after this call succeeded in time.

        The caller waits at most `PING_TIMEOUT_SECONDS` from its own arrival: one that arrives
        while a ping hangs would otherwise wait for that ping's timeout and then its own.
        """
        try:
            async with asyncio.timeout(self._settings.ping_timeout):
                await self._ping.run()
        except Exception:  # noqa: BLE001 - any failure is "down" (see the module docstring)
            return False
        return True

    async def _ping_once(self) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._settings.ping_timeout):
                await self.fetchval("SELECT 1")
        except BaseException as err:
            metrics.PING_FAILURES.labels(**self._labels).inc()
            metrics.DB_UP.labels(**self._labels).set(0)
            log.debug("ping failed", target=self.name, error=repr(err))
            self._went_down(err)
            raise
        finally:
            metrics.PING_DURATION.labels(**self._labels).observe(time.perf_counter() - started)
        metrics.DB_UP.labels(**self._labels).set(1)
        self._came_back()

    def _went_down(self, err: BaseException) -> None:
        if self._down_since is None and not isinstance(err, asyncio.CancelledError):
            self._down_since = time.monotonic()
            log.warning(
                "database down",
                target=self.name,
                endpoint=f"{self.endpoint.host}:{self.endpoint.port}",
                cause=describe(err, during=self._bound),
            )

    def _came_back(self) -> None:
        if self._down_since is not None:
            down = time.monotonic() - self._down_since
            self._down_since = None
            log.info("database up again", target=self.name, down_seconds=round(down, 3))

    async def fetchval(self, query: str) -> object:
        """Run `query` on a pooled connection and return the first column of the first row.

        A pooled connection that the server has already ended (an idle session terminated, a
        restart) fails on first use; that says nothing about the database now, so the query runs
        once more on another connection, inside the caller's timeout. A second failure, a
        timeout or any other error is the caller's.
        """
        try:
            return await self._fetchval_once(query)
        except ENDED_CONNECTION_ERRORS as err:
            log.debug(
                "pooled connection was ended, retrying once", target=self.name, error=repr(err)
            )
            return await self._fetchval_once(query)

    async def _fetchval_once(self, query: str) -> object:
        pool = self._require_pool()
        self._waiting += 1
        try:
            conn = await self._acquire(pool)
        finally:
            self._waiting -= 1
        try:
            return await conn.fetchval(query)
        except BaseException:
            # Timed out, cancelled or broken: the connection's state is unknown, and a graceful
            # release would wait for a cancel request that a hung server never answers.
            conn.terminate()
            raise
        finally:
            if not conn.is_closed() and self._expired(conn):
                conn.terminate()  # the pool opens a new one, through the endpoint, when needed
            await pool.release(conn)

    async def _connect(self, *args: object, **kwargs: object) -> asyncpg.Connection:
        """Open one connection for the pool, timed and counted.

        A writer that takes no new connection while pooled ones still work shows here, not in
        the pings (they run on pooled connections).
        """
        started = time.perf_counter()
        try:
            conn = await asyncpg.connect(*args, **kwargs)
        except BaseException:
            metrics.CONNECT_FAILURES.labels(**self._labels).inc()
            raise
        finally:
            metrics.CONNECT_DURATION.labels(**self._labels).observe(time.perf_counter() - started)
        self._born[conn] = time.monotonic()
        return conn

    def _expired(self, conn: asyncpg.Connection) -> bool:
        """Return whether ``conn`` has lived past ``max_lifetime`` (forget it when it has)."""
        real = getattr(conn, "_con", conn)  # the pool lends a proxy of the connection
        born = self._born.get(real)
        return born is not None and time.monotonic() - born >= self.max_lifetime

    def _connect_args(self) -> dict[str, Any]:
        """Return asyncpg's arguments for new connections, with the current login."""
        kwargs = connect_kwargs(self._settings, self.endpoint)
        kwargs["user"] = self._credentials.user
        kwargs["password"] = self._credentials.password
        return {**kwargs, "timeout": self._settings.ping_timeout}

    async def _acquire(self, pool: asyncpg.Pool) -> asyncpg.Connection:
        """Acquire a connection; on a refused login re-read the login files and try once more.

        Open connections stay as they are: they logged in before the change and remain valid.
        """
        used = (self._credentials.user, self._credentials.password)
        try:
            return await pool.acquire()
        except AUTH_ERRORS:
            if await asyncio.to_thread(self._credentials.reload):
                pool.set_connect_args(**self._connect_args())
            if (self._credentials.user, self._credentials.password) == used:
                raise
            return await pool.acquire()

    def publish_pool_metrics(self) -> None:
        """Copy the pool's counters into the gauges."""
        if self._pool is None:
            return
        size = self._pool.get_size()
        metrics.POOL_SIZE.labels(**self._labels).set(size)
        metrics.POOL_IN_USE.labels(**self._labels).set(size - self._pool.get_idle_size())
        metrics.POOL_WAITING.labels(**self._labels).set(self._waiting)


async def _no_reset(_conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on release.

    We never change session state, so the reset would be a wasted round trip on every ping.
    (asyncpg still rolls back a forgotten transaction itself.)
    """
