"""``make status``: one table of components, ports, processes and health."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import httpx

from rehearsal.base import haproxy, postgres, supervisor
from rehearsal.base.binaries import find_binaries
from rehearsal.base.configs import Binaries
from rehearsal.base.pair import role_of
from rehearsal.base.topology import ETCD_MEMBERS, PG_NODES, Topology, app_programs


def _http(url: str, expect: str | None = None) -> str:
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError as exc:
        return f"unreachable ({type(exc).__name__})"
    first = response.text.strip().splitlines()[0][:40] if response.text.strip() else ""
    body = "" if first.startswith("#") or expect is not None else first
    ok = response.status_code == 200 and (expect is None or expect in response.text)  # noqa: PLR2004
    return f"{'ok' if ok else 'FAIL'} {response.status_code} {body}".strip()


def _prometheus(topo: Topology) -> str:
    """Scrape targets up, and the alerts that are pending or firing."""
    try:
        targets = httpx.get(topo.url("prometheus", "/api/v1/targets"), timeout=2).json()
        alerts = httpx.get(topo.url("prometheus", "/api/v1/alerts"), timeout=2).json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"unreachable ({type(exc).__name__})"
    active = targets["data"]["activeTargets"]
    up = sum(t["health"] == "up" for t in active)
    by_state: dict[str, set[str]] = {}
    for alert in alerts["data"]["alerts"]:
        by_state.setdefault(alert["state"], set()).add(alert["labels"]["alertname"])
    text = "; ".join(f"{state}: {', '.join(sorted(names))}" for state, names in by_state.items())
    return f"targets {up}/{len(active)} up; alerts {text or 'none'}"


def _patroni(url: str) -> str:
    """Patroni's view of its node: role, state, timeline."""
    try:
        data = httpx.get(url, timeout=2).json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"unreachable ({type(exc).__name__})"
    return f"{data.get('role', '?')} {data.get('state', '?')} timeline {data.get('timeline', '?')}"


def _pg(topo: Topology, bins: Binaries, port: int) -> str:
    try:
        return role_of(topo, bins, port)
    except (postgres.PostgresError, ValueError) as exc:
        return f"unreachable ({str(exc)[:40]})"


def rows(topo: Topology) -> list[tuple[str, str, str, str]]:
    """Return one (component, port, process, health) row per component."""
    bins = find_binaries()
    procs = supervisor.status(topo)
    try:
        lb = haproxy.server_status(topo.haproxy_sock, "app")
    except OSError:
        lb = {}

    def proc(name: str) -> str:
        p = procs.get(name)
        if p is None:
            return "-"
        return f"{p.state} pid {p.pid}" if p.pid else p.state

    checks: list[tuple[str, str, Callable[[], str]]] = [
        ("load balancer (app)", "app-lb", lambda: _http(topo.url("app-lb", "/health"))),
        ("haproxy stats", "haproxy-stats", lambda: _http(topo.url("haproxy-stats", "/metrics"))),
        ("writer endpoint", "pg-writer", lambda: _pg(topo, bins, topo.port("pg-writer"))),
        ("reader endpoint", "pg-reader", lambda: _pg(topo, bins, topo.port("pg-reader"))),
    ]

    def app_health(name: str) -> str:
        return f"{_http(topo.url(name, '/readyz'))}, haproxy {lb.get(name, '?')}"

    for node in PG_NODES:
        checks.append((node, node, partial(_pg, topo, bins, topo.port(node))))
        api = f"patroni-{node}"
        checks.append((api, api, partial(_patroni, topo.url(api, "/patroni"))))
    for name in app_programs():
        if procs.get(name) is None or procs[name].state != "RUNNING":
            checks.append((name, name, lambda: "stopped"))
            continue
        checks.append((name, name, partial(app_health, name)))
    checks += [
        *((m, m, partial(_http, topo.url(m, "/health"), '"health":"true"')) for m in ETCD_MEMBERS),
        ("node-exporter", "node-exporter", lambda: _http(topo.url("node-exporter", "/metrics"))),
        (
            "pg-exporter-writer",
            "pg-exporter-writer",
            lambda: _http(topo.url("pg-exporter-writer", "/metrics"), "pg_up 1"),
        ),
        (
            "pg-exporter-reader",
            "pg-exporter-reader",
            lambda: _http(topo.url("pg-exporter-reader", "/metrics"), "pg_up 1"),
        ),
        (
            "blackbox-exporter",
            "blackbox-exporter",
            lambda: _http(topo.url("blackbox-exporter", "/metrics")),
        ),
        ("prometheus", "prometheus", lambda: _prometheus(topo)),
        ("alertmanager", "alertmanager", lambda: _http(topo.url("alertmanager", "/-/ready"))),
    ]
    process_of = {
        "app-lb": "haproxy",
        "haproxy-stats": "haproxy",
        "pg-writer": "haproxy",
        "pg-reader": "haproxy",
        "patroni-pg-a": "pg-a",
        "patroni-pg-b": "pg-b",
        **{f"{m}-peer": m for m in ETCD_MEMBERS},
    }
    return [
        (label, str(topo.port(port_name)), proc(process_of.get(port_name, port_name)), check())
        for label, port_name, check in checks
    ]


def print_status(topo: Topology) -> int:
    """Print the status table; return the exit status."""
    if not topo.supervisor_conf.exists() or not supervisor.running(topo):
        print(f"the rehearsal is not running (state folder {topo.state_dir}); start it: make up")
        return 0
    table = rows(topo)
    header = ("component", "port", "process", "health")
    widths = [max(len(r[i]) for r in [*table, header]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *table]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0
