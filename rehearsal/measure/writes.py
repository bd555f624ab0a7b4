"""A writer that counts data: numbered rows committed through the writer endpoint.

Status codes say whether the service answered, not whether what it acknowledged is still there.
During a fault the writer commits numbered rows through HAProxy's writer endpoint (as the app
does), one autocommit ``INSERT`` at a time, and keeps, for every acknowledged row, the server
that acknowledged it and when. Afterwards every acknowledged row must exist (``lost`` is the
count of those that do not), and the servers that acknowledged writes must never overlap in
time: two connections to two different servers acknowledging during the same seconds mean two
writable primaries were reachable through the endpoint. A failover and a failover back (A, then
B, then A again on new connections) is no overlap: each server wrote alone in its turn.

The writer must not hide a loss by stopping: it survives any error of a connection (counted as
an attempt of unknown outcome), and the report fails when its thread died or it acknowledged no
row after the fault ended.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    """One acknowledged row: its number, the server port, when, and on which connection."""

    row: int
    port: int
    at: float  # time.monotonic()
    conn: int  # the writer's connection (numbered as opened): one connection, one server


@dataclass
class WriteResult:
    """What the writer sent, what was acknowledged, and what is there afterwards."""

    attempted: int
    acks: list[Ack]
    failed: int  # attempts with an error or a timeout: their outcome is unknown, not lost
    missing: list[int] = field(default_factory=list)  # acknowledged rows not found afterwards
    died: str | None = None  # why the writer's thread stopped before it was told to, if it did

    @property
    def lost(self) -> int:
        """Acknowledged rows that are not in the table afterwards."""
        return len(self.missing)


def _merged(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overlap_seconds(acks: list[Ack]) -> float:
    """Seconds during which two servers acknowledged writes at once (their acks interleaving).

    A connection talks to one server: its span runs from its first to its last acknowledgement.
    A server is writing while one of its connections' spans runs. Two servers overlap while both
    are writing: a connection to one acknowledged before and after a row acknowledged by the
    other. One failover (0 s) and a failover back on new connections (A, B, A: 0 s) never
    overlap; two primaries behind the endpoint, each holding a connection, do.
    """
    by_conn: dict[int, tuple[int, float, float]] = {}
    for ack in acks:
        port, first, last = by_conn.get(ack.conn, (ack.port, ack.at, ack.at))
        if port != ack.port:
            raise ValueError(f"connection {ack.conn} acknowledged from ports {port} and {ack.port}")
        by_conn[ack.conn] = (port, min(first, ack.at), max(last, ack.at))
    per_port: dict[int, list[tuple[float, float]]] = {}
    for port, first, last in by_conn.values():
        per_port.setdefault(port, []).append((first, last))
    writing = [_merged(spans) for _, spans in sorted(per_port.items())]
    total = 0.0
    for i, spans_a in enumerate(writing):
        for spans_b in writing[i + 1 :]:
            for start_a, end_a in spans_a:
                for start_b, end_b in spans_b:
                    total += max(0.0, min(end_a, end_b) - max(start_a, start_b))
    return total


def acknowledged_after(acks: list[Ack], moment: float) -> int:
    """Count the rows acknowledged after ``moment`` (``time.monotonic()``)."""
    return sum(1 for ack in acks if ack.at > moment)


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
        self.died: str | None = None
        self._numbers = itertools.count(1)
        self._conns = itertools.count(1)
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
        try:
            asyncio.run(self._run())
        except Exception as error:  # noqa: BLE001 - any death is reported, never swallowed
            self.died = f"{type(error).__name__}: {error}"
        if not self._stop.is_set() and self.died is None:
            self.died = "the writer's workers returned before they were stopped"

    async def _run(self) -> None:
        await asyncio.gather(*(self._worker() for _ in range(self.workers)))

    async def _worker(self) -> None:
        conn: asyncpg.Connection | None = None
        conn_id = 0
        while not self._stop.is_set():
            row = next(self._numbers)
            self.attempted += 1
            try:
                if conn is None or conn.is_closed():
                    _drop(conn)
                    conn = await asyncpg.connect(
                        self.dsn,
                        timeout=CONNECT_TIMEOUT_SECONDS,
                        command_timeout=COMMAND_TIMEOUT_SECONDS,
                    )
                    conn_id = next(self._conns)
                port = await conn.fetchval(
                    f"INSERT INTO {TABLE} (row_number, server_port) "  # noqa: S608
                    "VALUES ($1, inet_server_port()) RETURNING server_port",
                    row,
                )
                self.acks.append(Ack(row, int(port), time.monotonic(), conn_id))
            except Exception:  # noqa: BLE001 - any failed attempt has an unknown outcome: go on
                self.failed += 1
                _drop(conn)
                conn = None
                await asyncio.sleep(0.1)
                continue
            await asyncio.sleep(self.pause)
        _drop(conn)

    def result(self, check_dsn: str | None = None) -> WriteResult:
        """Stop, then look up every acknowledged row through ``check_dsn`` (default: the same)."""
        self.stop()
        missing = asyncio.run(find_missing(check_dsn or self.dsn, [a.row for a in self.acks]))
        return WriteResult(self.attempted, list(self.acks), self.failed, missing, self.died)


def _drop(conn: asyncpg.Connection | None) -> None:
    """Abort a connection, whatever state it is in (a broken one may raise on terminate)."""
    if conn is None:
        return
    with contextlib.suppress(Exception):
        conn.terminate()


def writer_dsn(topo: Topology) -> str:
    """Return the writer endpoint as a client sees it (the superuser owns the writer's table)."""
    secrets = load_secrets(topo)
    return (
        f"postgresql://postgres:{secrets.postgres}@127.0.0.1:{topo.port('pg-writer')}"
        "/test_app?sslmode=disable"
    )


def record_writes(rep: report.Report, writes: WriteResult, fault_end: float | None = None) -> None:
    """Add the writer's checks (0 lost, no overlap, alive to the end) and numbers to a report.

    With ``fault_end`` (``time.monotonic()``), the writer must also have acknowledged rows after
    the fault ended: a writer that stopped at the fault would count only the rows before it.
    """
    overlap = overlap_seconds(writes.acks)
    rep.check(
        "the writer wrote until it was stopped (its thread did not die)",
        writes.died or "yes",
        "yes",
        ok=writes.died is None,
    )
    if fault_end is not None:
        after = acknowledged_after(writes.acks, fault_end)
        rep.check(
            "rows acknowledged after the fault ended",
            after,
            "> 0 (the writer went on: the lost count covers the whole run)",
            ok=after > 0,
        )
        rep.numbers["writes_acknowledged_after_fault"] = after
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
