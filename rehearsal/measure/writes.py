"""A writer that counts data: numbered rows committed through the writer endpoint.

Status codes say whether the service answered, not whether what it acknowledged is still there.
During a fault the writer commits numbered rows through HAProxy's writer endpoint (as the app
does), one autocommit ``INSERT`` at a time, and keeps, for every acknowledged row, the server
that acknowledged it and when. Afterwards every acknowledged row must exist (``lost`` is the
count of those that do not), and the servers that acknowledged writes must never overlap in
time: a node that acknowledges a write after another node has started to, and then again after
that, means two writable primaries were reachable through the endpoint (a flip-back).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Self

import asyncpg

from rehearsal.base.credentials import load_secrets
from rehearsal.base.topology import Topology
from rehearsal.measure import report


TABLE = "rehearsal_writes"
CONNECT_TIMEOUT_SECONDS = 1.0
COMMAND_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Ack:
    """One acknowledged row: its number, the server port that acknowledged it, and when."""

    row: int
    port: int
    at: float  # time.monotonic()


@dataclass
class WriteResult:
    """What the writer sent, what was acknowledged, and what is there afterwards."""

    attempted: int
    acks: list[Ack]
    failed: int  # attempts with an error or a timeout: their outcome is unknown, not lost
    missing: list[int] = field(default_factory=list)  # acknowledged rows not found afterwards

    @property
    def lost(self) -> int:
        """Acknowledged rows that are not in the table afterwards."""
        return len(self.missing)


def overlap_seconds(acks: list[Ack]) -> float:
    """Seconds during which two servers each acknowledged writes (both spans overlapping).

    Each server's span runs from its first to its last acknowledgement. With one failover the
    spans follow each other (0 s); when a former primary acknowledges again after the new one
    started to (a flip-back, or two primaries behind the endpoint), the spans overlap.
    """
    spans: dict[int, tuple[float, float]] = {}
    for ack in acks:
        first, last = spans.get(ack.port, (ack.at, ack.at))
        spans[ack.port] = (min(first, ack.at), max(last, ack.at))
    total = 0.0
    ordered = sorted(spans.values())
    for i, (start_a, end_a) in enumerate(ordered):
        for start_b, end_b in ordered[i + 1 :]:
            total += max(0.0, min(end_a, end_b) - max(start_a, start_b))
    return total


def switches(acks: list[Ack]) -> int:
    """Count the changes of acknowledging server, in commit order (1 for one clean failover)."""
    ports = [ack.port for ack in sorted(acks, key=lambda a: a.at)]
    return sum(1 for a, b in itertools.pairwise(ports) if a != b)


async def prepare(dsn: str) -> None:
    """Create the writer's table (empty) on the primary behind ``dsn``."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(
            f"DROP TABLE IF EXISTS {TABLE}; "
            f"CREATE TABLE {TABLE} (row_number bigint PRIMARY KEY, "
            "server_port int NOT NULL, written_at timestamptz NOT NULL DEFAULT now())"
        )
    finally:
        await conn.close()


async def find_missing(dsn: str, rows: list[int]) -> list[int]:
    """Return the rows of ``rows`` that are not in the table (asked through ``dsn``)."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        found = await conn.fetch(
            f"SELECT row_number FROM {TABLE} WHERE row_number = ANY($1::bigint[])",  # noqa: S608
            rows,
        )
    finally:
        await conn.close()
    present = {int(r["row_number"]) for r in found}
    return sorted(set(rows) - present)


class Writer:
    """Commits numbered rows through ``dsn`` from ``workers`` connections until stopped."""

    def __init__(self, dsn: str, workers: int = 2, pause: float = 0.02) -> None:
        self.dsn = dsn
        self.workers = workers
        self.pause = pause
        self.acks: list[Ack] = []
        self.attempted = 0
        self.failed = 0
        self._numbers = itertools.count(1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="writer", daemon=True)

    def __enter__(self) -> Self:
        asyncio.run(prepare(self.dsn))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def stop(self) -> None:
        """Stop writing (the rows in flight finish or fail)."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        await asyncio.gather(*(self._worker() for _ in range(self.workers)))

    async def _worker(self) -> None:
        conn: asyncpg.Connection | None = None
        while not self._stop.is_set():
            row = next(self._numbers)
            self.attempted += 1
            try:
                if conn is None or conn.is_closed():
                    conn = await asyncpg.connect(
                        self.dsn,
                        timeout=CONNECT_TIMEOUT_SECONDS,
                        command_timeout=COMMAND_TIMEOUT_SECONDS,
                    )
                port = await conn.fetchval(
                    f"INSERT INTO {TABLE} (row_number, server_port) "  # noqa: S608
                    "VALUES ($1, inet_server_port()) RETURNING server_port",
                    row,
                )
                self.acks.append(Ack(row, int(port), time.monotonic()))
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                self.failed += 1
                if conn is not None:
                    conn.terminate()
                conn = None
                await asyncio.sleep(0.1)
                continue
            await asyncio.sleep(self.pause)
        if conn is not None:
            conn.terminate()

    def result(self, check_dsn: str | None = None) -> WriteResult:
        """Stop, then look up every acknowledged row through ``check_dsn`` (default: the same)."""
        self.stop()
        missing = asyncio.run(find_missing(check_dsn or self.dsn, [a.row for a in self.acks]))
        return WriteResult(self.attempted, list(self.acks), self.failed, missing)


def writer_dsn(topo: Topology) -> str:
    """Return the writer endpoint as a client sees it (the superuser owns the writer's table)."""
    secrets = load_secrets(topo)
    return (
        f"postgresql://postgres:{secrets.postgres}@127.0.0.1:{topo.port('pg-writer')}"
        "/test_app?sslmode=disable"
    )


def record_writes(rep: report.Report, writes: WriteResult) -> None:
    """Add the writer's checks (0 lost, no overlap) and numbers to a report."""
    overlap = overlap_seconds(writes.acks)
    rep.check(
        "acknowledged rows lost",
        f"{writes.lost} of {len(writes.acks)}",
        "0",
        ok=writes.lost == 0 and len(writes.acks) > 0,
    )
    rep.check(
        "seconds two servers acknowledged writes through the writer endpoint",
        round(overlap, 2),
        "0 (at most one writable primary at any instant)",
        ok=overlap == 0,
    )
    rep.numbers.update(
        {
            "writes_attempted": writes.attempted,
            "writes_acknowledged": len(writes.acks),
            "writes_failed_unknown_outcome": writes.failed,
            "writes_lost": writes.lost,
            "writes_lost_rows_first": writes.missing[:20],
            "acknowledging_server_switches": switches(writes.acks),
            "acknowledging_server_overlap_seconds": round(overlap, 2),
            "acknowledged_by_port": writes_ports(writes),
        }
    )


def writes_ports(writes: WriteResult) -> dict[int, int]:
    """Count the acknowledged rows per server port."""
    counts: dict[int, int] = {}
    for ack in writes.acks:
        counts[ack.port] = counts.get(ack.port, 0) + 1
    return counts
