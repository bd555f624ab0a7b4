"""When the cluster counts as settled, the precondition of every HA fault.

The etcd members are one cluster again, and both Patroni nodes see the same roles.
"""

from __future__ import annotations

from typing import Any

import pytest

from rehearsal.base import etcd, pair


def member(leader: str = "1144", term: str = "95", applied: str = "931") -> dict[str, Any]:
    """A ``/v3/maintenance/status`` answer as etcd 3.4 gives it (numbers are strings)."""
    return {
        "header": {"cluster_id": "8143", "raft_term": term},
        "leader": leader,
        "raftTerm": term,
        "raftIndex": applied,
        "raftAppliedIndex": applied,
    }


def test_three_members_on_one_leader_term_and_log_agree() -> None:
    assert etcd.agree([member(), member(), member(applied="933")])


@pytest.mark.parametrize(
    ("statuses", "why"),
    [
        ([member(), member(), None], "a member that does not answer"),
        ([member(), member(), member(leader="7238", term="72")], "a thawed former leader"),
        ([member(), member(), member(term="96")], "a member at another term"),
        ([member(), member(), member(leader="0")], "a member that knows no leader"),
        ([member(), member(), member(applied="900")], "a member that has not caught up"),
        ([], "no member at all"),
    ],
)
def test_members_that_are_not_one_cluster_do_not_agree(
    statuses: list[dict[str, Any] | None], why: str
) -> None:
    assert not etcd.agree(statuses), why


def test_the_spread_allowed_is_a_few_entries_not_a_lagging_member() -> None:
    spread = etcd.APPLIED_INDEX_SPREAD
    assert etcd.agree([member(applied="100"), member(applied=str(100 + spread))])
    assert not etcd.agree([member(applied="100"), member(applied=str(100 + spread + 1))])


LEADS_A = (("pg-a", "leader"), ("pg-b", "sync_standby"))


def test_two_patroni_nodes_with_the_same_roles_agree() -> None:
    assert pair.views_agree({"pg-a": LEADS_A, "pg-b": LEADS_A})


@pytest.mark.parametrize(
    ("seen", "why"),
    [
        # The copy of a Patroni whose watch missed the /sync change (or the released leader key).
        ({"pg-a": LEADS_A, "pg-b": (("pg-a", "leader"), ("pg-b", "replica"))}, "a stale copy"),
        ({"pg-a": LEADS_A, "pg-b": None}, "a node that does not answer"),
        ({"pg-a": (("pg-a", "leader"),), "pg-b": (("pg-a", "leader"),)}, "a member missing"),
        ({}, "no node at all"),
    ],
)
def test_patroni_views_that_differ_or_are_missing_do_not_agree(
    seen: dict[str, pair.View | None], why: str
) -> None:
    assert not pair.views_agree(seen), why
