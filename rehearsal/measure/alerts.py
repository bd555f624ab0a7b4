"""The rehearsal's Prometheus, asked about alerts and instant queries."""

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


def query(topo: Topology, expr: str) -> float | None:
    """One instant query against the rehearsal's Prometheus; None for an empty result."""
    response = httpx.get(topo.url("prometheus", "/api/v1/query"), params={"query": expr}, timeout=5)
    body = response.json()
    if body.get("status") != "success":
        raise RuntimeError(f"Prometheus refused the query: {body.get('error')}\n{expr}")
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None
