"""The reader's replication lag and role, sampled into two gauges.

`test_app_db_replica_lag_seconds` is the reader's lag and `test_app_db_reader_is_primary` says
whether the reader endpoint leads to a primary (reads fell back to it; the lag is then NaN, as a
stale standby's number would be a lie). An Aurora reader whose own row has no lag shows NaN
too, never 0: 0 would keep `TestAppReplicaLagHigh` silent. NaN is never above its threshold
either, so `TestAppReplicaLagUnknown` warns when the lag stays NaN while the reader is a standby.

The source is chosen once per reader pool, by asking the reader whether
`aurora_replica_status()` exists:

- Aurora PostgreSQL: a reader is in recovery (`pg_is_in_recovery()`, AWS's own reader test) but
  streams no WAL and replays no transactions of its own, so the standby query would give
  `GREATEST(0, NULL)`, which is 0 (GREATEST ignores NULLs). Its lag is its own row of
  `aurora_replica_status()` (`replica_lag_in_msec`, the row whose `server_id` is
  `aurora_db_instance_identifier()`; the writer's row has `session_id` `MASTER_SESSION_ID`).
- Any other PostgreSQL (the self-run pair): the streaming standby's replay, 0 when it has
  replayed all it received, else the age of the last replayed transaction.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING

from test_app import metrics
from test_app.logs import get_logger


if TYPE_CHECKING:
    from test_app.database import Target

log = get_logger(__name__)

# NULL: not in recovery, the endpoint leads to a primary.
STANDBY_LAG_QUERY = """
SELECT CASE
  WHEN NOT pg_is_in_recovery() THEN NULL
  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
  ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()))
END
"""
AURORA_PRESENT_QUERY = "SELECT to_regprocedure('aurora_replica_status()') IS NOT NULL"
# NULL on the writer; NaN on a reader that has no lag in its own row.
AURORA_LAG_QUERY = """
SELECT CASE
  WHEN NOT pg_is_in_recovery() THEN NULL
  ELSE COALESCE(
    (SELECT replica_lag_in_msec / 1000.0 FROM aurora_replica_status()
     WHERE server_id = aurora_db_instance_identifier()
       AND session_id <> 'MASTER_SESSION_ID'),
    'NaN')
END
"""


class LagSampler:
    """Sample one reader's lag; which query to use is decided on the first answer."""

    def __init__(self, reader: Target) -> None:
        self.reader = reader
        self.aurora: bool | None = None  # unknown until the reader has answered once

    async def sample(self) -> None:
        """Publish the reader's lag and role; a failure skips this sample and logs why."""
        try:
            async with asyncio.timeout(self.reader.ping_timeout):
                lag = await self._lag()
        except Exception as err:  # noqa: BLE001 - any failure skips one sample, never the sampler
            log.debug("replica lag sample failed", error=repr(err))
            return
        metrics.READER_IS_PRIMARY.set(1 if lag is None else 0)
        metrics.REPLICA_LAG.set(float("nan") if lag is None else lag)

    async def _lag(self) -> float | None:
        if self.aurora is None:
            self.aurora = bool(await self.reader.fetchval(AURORA_PRESENT_QUERY))
            log.info(
                "replica lag source",
                target=self.reader.name,
                source="aurora_replica_status()" if self.aurora else "standby replay",
            )
        lag = await self.reader.fetchval(AURORA_LAG_QUERY if self.aurora else STANDBY_LAG_QUERY)
        if lag is None:
            return None
        if not isinstance(lag, (int, float, Decimal)):  # numeric arrives as a Decimal
            raise TypeError(f"replica lag: expected a number, got {lag!r}")
        return float(lag)
