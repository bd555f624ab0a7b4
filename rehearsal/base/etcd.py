"""The etcd members' own account of their cluster, and whether they are one cluster again.

Patroni reads etcd with serializable reads ("we can tolerate stale reads"): a member answers
from its own copy. A member thawed after a hang comes back at the term it was frozen in, still
believing it leads, until it hears the others; a Patroni that reads or watches through it then
may act on a cluster that is gone. A scenario that hangs etcd ends, and an HA fault starts, only
when the members are one cluster: every member answers, names the same leader at the same term,
and has applied nearly the same log. ``/health`` does not say that; the members' status does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from rehearsal.base.topology import ETCD_MEMBERS, Topology


# Patroni writes every loop; members read one after the other may be this many entries apart.
APPLIED_INDEX_SPREAD = 5
STATUS_TIMEOUT_SECONDS = 2.0


def status(topo: Topology, member: str) -> dict[str, Any] | None:
    """Return ``member``'s ``/v3/maintenance/status`` answer, or ``None`` when it gives none."""
    try:
        response = httpx.post(
            topo.url(member, "/v3/maintenance/status"), json={}, timeout=STATUS_TIMEOUT_SECONDS
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    return answer


def agree(statuses: Sequence[dict[str, Any] | None]) -> bool:
    """Say whether every member answered with one leader, one term and nearly one applied index.

    A member that answered nothing, named no leader, or reports another term or leader than the
    rest (a thawed former leader still at its old term) makes the answer no.
    """
    if not statuses or any(s is None for s in statuses):
        return False
    answered = [s for s in statuses if s is not None]
    leaders = {str(s.get("leader", "")) for s in answered}
    terms = {str(s.get("raftTerm", "")) for s in answered}
    if len(leaders) != 1 or len(terms) != 1 or "" in leaders | terms or "0" in leaders:
        return False
    applied = [int(s.get("raftAppliedIndex", -1)) for s in answered]
    return min(applied) >= 0 and max(applied) - min(applied) <= APPLIED_INDEX_SPREAD


def settled(topo: Topology) -> bool:
    """Say whether every etcd member of ``topo`` agrees on its leader, term and log (``agree``)."""
    return agree([status(topo, member) for member in ETCD_MEMBERS])
