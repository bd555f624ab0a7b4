"""Reader connections have a lifetime, the lag gauge says when the reader is a primary, and new
connections are counted: each on a real PostgreSQL primary and standby."""

import asyncio
import math

import pytest

from test_app import metrics
from test_app.database import Target
from test_app.replica_lag import LagSampler
from test_app.settings import load_settings
from test_app_tooling.ports import free_port


def _reader(postgres, port: int, max_lifetime: float) -> Target:
    env = postgres.env()
    env["POSTGRESQL_READ_PORT"] = str(port)
    settings = load_settings(env)
    return Target("reader", settings.reader, settings, max_lifetime=max_lifetime)


async def _backend_pids(target: Target, rounds: int, pause: float) -> list[int]:
    pids = []
    for _ in range(rounds):
        pids.append(int(await target.fetchval("SELECT pg_backend_pid()")))  # type: ignore[call-overload]
        await asyncio.sleep(pause)
    return pids


async def test_a_busy_reader_connection_is_replaced_after_its_lifetime(postgres):
    """A connection in constant use never idles out: only a lifetime bound sends it back
    through the endpoint (to the standby, once the endpoint leads there again)."""
    target = _reader(postgres, postgres.replica.port, max_lifetime=0.5)
    await target.open()
    try:
        pids = await _backend_pids(target, rounds=8, pause=0.15)
    finally:
        await target.close()
    assert len(set(pids)) >= 2, f"one connection served every read past its lifetime: {pids}"


async def test_without_the_lifetime_bound_the_same_connection_serves_every_read(postgres):
    target = _reader(postgres, postgres.replica.port, max_lifetime=3600)
    await target.open()
    try:
        pids = await _backend_pids(target, rounds=8, pause=0.15)
    finally:
        await target.close()
    assert len(set(pids)) == 1, pids


async def test_the_lag_gauge_is_nan_and_the_role_gauge_1_when_the_reader_is_a_primary(postgres):
    metrics.REPLICA_LAG.set(12.5)  # the last standby's lag, before a fallback to the primary
    target = _reader(postgres, postgres.port, max_lifetime=60)
    await target.open()
    try:
        await LagSampler(target).sample()
    finally:
        await target.close()
    assert math.isnan(metrics.REPLICA_LAG._value.get()), "a stale lag is shown for a primary"  # noqa: SLF001
    assert metrics.READER_IS_PRIMARY._value.get() == 1  # noqa: SLF001


async def test_the_lag_gauge_is_a_number_and_the_role_gauge_0_on_a_standby(postgres):
    postgres.wait_streaming()
    target = _reader(postgres, postgres.replica.port, max_lifetime=60)
    await target.open()
    try:
        await LagSampler(target).sample()
    finally:
        await target.close()
    lag = metrics.REPLICA_LAG._value.get()  # noqa: SLF001
    assert 0 <= lag < 60
    assert metrics.READER_IS_PRIMARY._value.get() == 0  # noqa: SLF001


async def test_a_new_connection_that_fails_is_counted():
    settings = load_settings({"POSTGRESQL_PORT": str(free_port()), "PING_TIMEOUT_SECONDS": "1"})
    target = Target("writer", settings.writer, settings)
    counter = metrics.CONNECT_FAILURES.labels(target="writer")
    before = counter._value.get()  # noqa: SLF001
    await target.open()
    try:
        with pytest.raises(OSError, match=r"(?i)refused|connect"):
            await target.fetchval("SELECT 1")
    finally:
        await target.close()
    assert counter._value.get() > before  # noqa: SLF001
