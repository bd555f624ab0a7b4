"""The rehearsal's counting writer: overlap of writing servers, a writer that cannot hide a loss."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from rehearsal.measure import writes
from rehearsal.measure.report import Report
from rehearsal.measure.writes import Ack, WriteResult, overlap_seconds, record_writes, switches


def test_one_clean_failover_has_no_overlap_and_one_switch() -> None:
    acks = [Ack(1, 10, 0.0, 1), Ack(2, 10, 1.0, 1), Ack(3, 11, 5.0, 2), Ack(4, 11, 6.0, 2)]
    assert overlap_seconds(acks) == 0
    assert switches(acks) == 1


def test_a_failover_and_a_failover_back_on_new_connections_is_one_writer_at_a_time() -> None:
    # 10 leads, 11 is promoted and writes alone for 24.9 s, then 10 leads again (new connections).
    acks = [
        *(Ack(i, 10, 0.1 * i, 1 + i % 2) for i in range(1, 50)),
        *(Ack(100 + i, 11, 6.0 + 0.1 * i, 3 + i % 2) for i in range(250)),
        *(Ack(400 + i, 10, 31.0 + 0.1 * i, 5 + i % 2) for i in range(50)),
    ]
    assert overlap_seconds(acks) == 0
    assert switches(acks) == 2


def test_two_servers_acknowledging_on_connections_held_at_once_overlap() -> None:
    # Connection 1 stays on 10 and acknowledges from 0 to 9 while connection 2 writes to 11
    # from 5 to 8: two writable primaries behind the endpoint for 3 s.
    acks = [Ack(1, 10, 0.0, 1), Ack(2, 11, 5.0, 2), Ack(3, 11, 8.0, 2), Ack(4, 10, 9.0, 1)]
    assert overlap_seconds(acks) == 3.0
    assert switches(acks) == 2


def test_acks_interleaving_from_two_servers_overlap_for_their_common_seconds() -> None:
    acks = [Ack(i, 10 + i % 2, float(i), 1 + i % 2) for i in range(10)]  # 10, 11, 10, 11, ...
    assert overlap_seconds(acks) == 7.0  # 10 writes from 0 to 8, 11 from 1 to 9
    assert switches(acks) == 9


def test_one_connection_acknowledging_from_two_servers_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="connection 7 acknowledged from ports 10 and 11"):
        overlap_seconds([Ack(1, 10, 0.0, 7), Ack(2, 11, 1.0, 7)])


def _writes(acks: list[Ack], died: str | None = None) -> WriteResult:
    return WriteResult(attempted=len(acks), acks=acks, failed=0, died=died)


def _checks(result: WriteResult, fault_end: float) -> dict[str, bool]:
    rep = Report("w", "writes", "test")
    record_writes(rep, result, fault_end)
    return {c.name: c.ok for c in rep.checks}


def test_a_writer_that_died_or_stopped_at_the_fault_fails_the_report() -> None:
    before = [Ack(1, 10, 1.0, 1), Ack(2, 10, 2.0, 1)]
    after = [*before, Ack(3, 11, 30.0, 2)]
    healthy = _checks(_writes(after), fault_end=20.0)
    assert all(healthy.values()), healthy
    assert (
        _checks(_writes(before), fault_end=20.0)["rows acknowledged after the fault ended"] is False
    )
    died = _checks(_writes(after, died="RuntimeError: Event loop is closed"), fault_end=20.0)
    assert died["the writer wrote until it was stopped (its thread did not die)"] is False


class _BrokenConnection:
    """A connection whose every call fails as asyncpg's did once its loop was closed."""

    def is_closed(self) -> bool:
        return False

    async def fetchval(self, *_args: object) -> object:
        raise RuntimeError("Event loop is closed")

    def terminate(self) -> None:
        raise RuntimeError("Event loop is closed")


def _no_database(
    monkeypatch: pytest.MonkeyPatch, connect: Callable[..., Awaitable[object]]
) -> None:
    async def prepare(_dsn: str) -> None:
        return None

    monkeypatch.setattr(asyncpg, "connect", connect)
    monkeypatch.setattr(writes, "prepare", prepare)


def test_the_writer_goes_on_through_errors_it_did_not_expect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def connect(*_args: object, **_kwargs: object) -> _BrokenConnection:
        return _BrokenConnection()

    _no_database(monkeypatch, connect)
    with writes.Writer("postgresql://nowhere", pause=0) as writer:
        deadline = time.monotonic() + 20
        while writer.failed < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer.failed >= 6, "the writer stopped at the first unexpected error"
    assert writer.died is None


def test_a_writer_whose_thread_dies_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    async def connect(*_args: object, **_kwargs: object) -> _BrokenConnection:
        return _BrokenConnection()

    async def run(_self: writes.Writer) -> None:
        raise RuntimeError("Event loop is closed")

    _no_database(monkeypatch, connect)
    monkeypatch.setattr(writes.Writer, "_run", run)
    with writes.Writer("postgresql://nowhere") as writer:
        pass  # leaving joins the thread
    assert writer.died == "RuntimeError: Event loop is closed"
