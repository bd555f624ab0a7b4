"""The leader key's handover after a crash, read from Patroni's logs (wal-full reports it)."""

from __future__ import annotations

from rehearsal.base import pair


# Lines as Patroni 4 logs them on the rehearsal's nodes (copied from a run's logs).
OLD_PRIMARY = [
    "2026-12-07 22:58:21,700 INFO: Primary crashed. Failing over.",
    "2026-12-07 22:58:21,701 INFO: Demoting self (immediate)",
    "2026-12-07 22:58:21,831 INFO: Leader key released",
    "2026-12-07 22:58:23,900 INFO: starting after demotion in progress",
]
STANDBY = [
    "2026-12-07 22:58:21,892 INFO: no action. I am (pg-a), a secondary, and following a leader",
    "2026-12-07 22:58:23.786 UTC [11516] LOG:  promoted self to leader by acquiring session lock",
    "2026-12-07 22:58:23,979 INFO: promoted self to leader by acquiring session lock",
]


def test_the_handover_is_the_time_from_the_release_to_the_take() -> None:
    assert pair.key_handover_seconds(OLD_PRIMARY, STANDBY) == 2.148


def test_a_take_logged_before_the_release_is_not_this_handover() -> None:
    earlier = ["2026-12-07 22:50:00,000 INFO: promoted self to leader by acquiring session lock"]
    assert pair.key_handover_seconds(OLD_PRIMARY, earlier + STANDBY) == 2.148
    assert pair.key_handover_seconds(OLD_PRIMARY, earlier) is None


def test_no_release_or_no_take_gives_no_figure() -> None:
    assert pair.key_handover_seconds(OLD_PRIMARY[:2], STANDBY) is None
    assert pair.key_handover_seconds(OLD_PRIMARY, STANDBY[:1]) is None
