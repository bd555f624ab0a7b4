"""The rehearsal's Prometheus, asked about alerts."""

from __future__ import annotations

import httpx

from rehearsal.base.topology import Topology


def alert_state(topo: Topology, name: str) -> str:
    """State of alert ``name`` in Prometheus: inactive, pending or firing."""
    data = httpx.get(topo.url("prometheus", "/api/v1/alerts"), timeout=3).json()
    states = [
        str(a["state"]) for a in data["data"]["alerts"] if a["labels"].get("alertname") == name
    ]
    if "firing" in states:
        return "firing"
    return "pending" if "pending" in states else "inactive"
