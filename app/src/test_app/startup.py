"""The startup gate: the service never serves before PostgreSQL has answered once.

Kept apart from `test_app.database` on purpose: the main process runs this before the workers
start and must not import the metrics (see `test_app.server`).

Every error is retried until the window ends, a refused password or a missing database too
(ADR 0013): both heal without a restart while a secret is being rotated or the database is
still being created. Each new kind of cause is logged once, as soon as it is seen, so an
operator does not have to wait for the window to end to read it.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import asyncpg

from test_app.logs import describe, get_logger


if TYPE_CHECKING:
    from test_app.settings import Endpoint, Settings

log = get_logger(__name__)


ORPHANED = "Future exception was never retrieved"


def quiet_orphaned_lookups(loop: asyncio.AbstractEventLoop) -> None:
    """Keep a timed-out connect's late failure out of the log as a second, confusing line.

    When a connect times out while the resolver is still working, the resolver's thread fails
    later into a future nobody awaits any more, and asyncio logs "Future exception was never
    retrieved" with a traceback. The timeout was already logged, with its cause; the late
    network error (`OSError`, a DNS `gaierror` included) goes to the debug level. Anything
    else keeps asyncio's default handling.
    """

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        err = context.get("exception")
        if context.get("message", "").startswith(ORPHANED) and isinstance(err, OSError):
            log.debug("late failure of an abandoned connect", cause=describe(err))
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handle)


def connect_kwargs(settings: Settings, endpoint: Endpoint) -> dict[str, Any]:
    """Keyword arguments for asyncpg: never a DSN string, so no password lands in a log."""
    return {
        "host": endpoint.host,
        "port": endpoint.port,
        "user": settings.user,
        "password": settings.password,
        "database": settings.dbname,
        "ssl": False if settings.sslmode == "disable" else settings.sslmode,
        "server_settings": {"application_name": "test-app"},
    }


async def ping_writer_once(settings: Settings, connect_timeout: float) -> None:
    """Log in to the writer on a connection of its own, run `SELECT 1` and close; raise on failure.

    Not through a pool: the caller keeps no connection it did not ask for (`POOL_MIN_SIZE`).
    """
    conn = await asyncpg.connect(
        **connect_kwargs(settings, settings.writer), timeout=connect_timeout
    )
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


async def wait_for_database(settings: Settings) -> None:
    """Ping the writer until it answers or `STARTUP_TIMEOUT_SECONDS` run out (with backoff).

    Raises `ConnectionError` naming host, port, database and the last cause.
    """
    quiet_orphaned_lookups(asyncio.get_running_loop())
    deadline = time.monotonic() + settings.startup_timeout
    delay = 0.1
    writer = settings.writer
    cause: BaseException | None = None
    seen: set[str] = set()
    bound = f"connect, login and SELECT 1 within PING_TIMEOUT_SECONDS={settings.ping_timeout:g}"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            await ping_writer_once(settings, max(0.05, min(settings.ping_timeout, remaining)))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as err:
            cause = err
            if type(err).__name__ not in seen:
                seen.add(type(err).__name__)
                log.warning(
                    "waiting for PostgreSQL",
                    endpoint=f"{writer.host}:{writer.port}",
                    cause=describe(err, during=bound),
                    window_seconds=settings.startup_timeout,
                )
        else:
            return
        await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 2.0)
    reason = describe(cause, during=bound) if cause else "no attempt completed"
    raise ConnectionError(
        f"cannot reach PostgreSQL at {writer.host}:{writer.port} database "
        f"{settings.dbname!r} within {settings.startup_timeout:g}s: {reason}"
    )
