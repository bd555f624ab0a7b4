"""Replica lag on Aurora: a reader's own row of `aurora_replica_status()`, never the standby query.

An Aurora reader is in recovery but has no WAL receiver and no replay timestamp: the streaming
standby query gives it `GREATEST(0, NULL)`, which is 0, and `TestAppReplicaLagHigh` would never
fire. Aurora is stood in for by two functions of Aurora's names, created on the primary and
replayed to the real streaming standby, so the reader under test is in recovery as an Aurora
reader is. The fake instance identifier follows the role: the writer's name on the primary,
the reader's on the standby.
"""

from __future__ import annotations

import math
import re
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from test_app import metrics
from test_app.database import Target
from test_app.replica_lag import AURORA_PRESENT_QUERY, LagSampler
from test_app.settings import load_settings
from test_app_tooling.postgres import PostgresCluster


pytestmark = pytest.mark.integration

READER = "test-app-staging-reader-1"
FAKE_AURORA = """
CREATE OR REPLACE FUNCTION aurora_db_instance_identifier() RETURNS text LANGUAGE sql
  AS $$ SELECT CASE WHEN pg_is_in_recovery() THEN '{reader}' ELSE 'test-app-staging-writer' END $$;
CREATE OR REPLACE FUNCTION aurora_replica_status()
  RETURNS TABLE (server_id text, session_id text, replica_lag_in_msec real) LANGUAGE sql
  AS $$ VALUES ('test-app-staging-writer', 'MASTER_SESSION_ID', NULL::real),
               ('{row}', '4d5e6f70-aaaa-bbbb-cccc-0123456789ab', {lag_msec}) $$;
"""
DROP = "DROP FUNCTION IF EXISTS aurora_replica_status(), aurora_db_instance_identifier();"
PRESENT = AURORA_PRESENT_QUERY.removeprefix("SELECT ")


def _until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:g} s")
        time.sleep(0.05)


def _answer(postgres: PostgresCluster, query: str) -> str | None:
    """The standby's answer, or None while it fails (a function not replayed yet)."""
    try:
        return postgres.replica.sql(query)
    except subprocess.CalledProcessError:
        return None


@pytest.fixture
def aurora(postgres: PostgresCluster) -> Iterator[Callable[..., None]]:
    """`aurora(lag_msec, row=READER)`: fake Aurora on the primary, replayed to the standby.

    `row` names the reader row that carries `lag_msec`; the standby calls itself READER.
    """
    postgres.wait_streaming()

    def install(lag_msec: float, row: str = READER) -> None:
        postgres.primary.sql(FAKE_AURORA.format(reader=READER, row=row, lag_msec=lag_msec))
        probe = "SELECT max(replica_lag_in_msec) FROM aurora_replica_status()"  # the reader row's
        _until(
            lambda: _answer(postgres, probe) == f"{lag_msec:g}",
            "the standby did not replay the fake Aurora functions",
        )

    yield install
    postgres.primary.sql(DROP)
    # Later tests share this standby: they must not find Aurora there.
    _until(
        lambda: postgres.replica.sql(f"SELECT {PRESENT}") == "f",
        "the standby did not replay the removal of the fake Aurora functions",
    )


def _target(postgres: PostgresCluster, port: int) -> Target:
    env = {**postgres.env(), "POSTGRESQL_READ_PORT": str(port)}
    settings = load_settings(env)
    return Target("reader", settings.reader, settings)


async def _sample(target: Target, times: int = 1) -> LagSampler:
    metrics.REPLICA_LAG.set(-1.0)  # a value no sample gives: the sample must overwrite it
    metrics.READER_IS_PRIMARY.set(-1)
    sampler = LagSampler(target)
    await target.open()
    try:
        for _ in range(times):
            await sampler.sample()
    finally:
        await target.close()
    return sampler


def _gauges() -> tuple[float, float]:
    return (
        metrics.REPLICA_LAG._value.get(),  # noqa: SLF001
        metrics.READER_IS_PRIMARY._value.get(),  # noqa: SLF001
    )


async def test_an_aurora_reader_in_recovery_reports_its_own_lag(postgres, aurora):
    aurora(42_500)  # above TestAppReplicaLagHigh's 30 s: the alert can fire
    assert postgres.replica.sql("SELECT pg_is_in_recovery()") == "t"
    sampler = await _sample(_target(postgres, postgres.replica.port))
    assert _gauges() == (42.5, 0)
    assert sampler.aurora is True


async def test_the_aurora_writer_is_a_primary_with_no_lag(postgres, aurora):
    aurora(42_500)
    await _sample(_target(postgres, postgres.port))
    lag, is_primary = _gauges()
    assert math.isnan(lag), f"a primary shows a lag: {lag}"
    assert is_primary == 1


async def test_an_aurora_reader_without_a_lag_of_its_own_shows_nan_not_zero(postgres, aurora):
    aurora(42_500, row="test-app-staging-reader-2")  # only another reader's row has a lag
    await _sample(_target(postgres, postgres.replica.port))
    lag, is_primary = _gauges()
    assert math.isnan(lag), f"an unknown lag is shown as {lag}"
    assert is_primary == 0


async def test_aurora_is_detected_once_per_pool(postgres, aurora, monkeypatch):
    aurora(1_500)
    target = _target(postgres, postgres.replica.port)
    queries: list[str] = []
    fetchval = target.fetchval

    async def recording(query: str) -> object:
        queries.append(query)
        return await fetchval(query)

    monkeypatch.setattr(target, "fetchval", recording)
    await _sample(target, times=3)
    assert queries.count(AURORA_PRESENT_QUERY) == 1
    assert len(queries) == 4, queries
    assert _gauges() == (1.5, 0)


async def test_without_aurora_the_standby_query_is_used(postgres):
    postgres.wait_streaming()
    sampler = await _sample(_target(postgres, postgres.replica.port))
    assert sampler.aurora is False
    lag, is_primary = _gauges()
    assert 0 <= lag < 60
    assert is_primary == 0


def test_the_running_app_reports_the_aurora_readers_lag(postgres, aurora, run_app):
    aurora(42_500)
    app = run_app({**postgres.env(), "REPLICA_LAG_INTERVAL_SECONDS": "0.2"})  # reader: standby
    found: dict[str, float] = {}

    def sampled() -> bool:
        text = app.get("/metrics").text
        for name in ("test_app_db_replica_lag_seconds", "test_app_db_reader_is_primary"):
            value = re.search(rf"^{name} ([\d.e+-]+|NaN)$", text, re.MULTILINE)
            if value:
                found[name] = float(value[1])
        return found.get("test_app_db_replica_lag_seconds", 0) != 0

    deadline = time.monotonic() + 15
    while not sampled() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert found == {"test_app_db_replica_lag_seconds": 42.5, "test_app_db_reader_is_primary": 0}
