"""Measure what a hostile client and a killed main process do to one instance.

    make hostile                                   # the figures in docs/security.md
    make hostile HOSTILE_ARGS="--methods 2000 --idle 500"   # a quick look

Starts a throwaway PostgreSQL and the app (WORKERS=2, loopback), then:
  1. cardinality: `--methods` requests with made-up method names to a missing path; the
     series count, size and render time of /metrics, the largest worker RSS and the size of
     the multiprocess metrics folder before and after;
  2. idle connections: holds `--idle` connections that never send a byte, then times
     `GET /livez` (2 s timeout) and counts how many idle connections the server closed;
  3. SIGKILL of the main process: how many workers are still alive 2 s later and whether
     /livez still answers;
  4. slow readers: holds `--unread` connections that pipeline requests and never read the
     answers; the server's largest send queue, /livez, and how many the server still holds
     after 1 s and after 25 s.
Results go to docs/benchmarks/hostile-<label>.md and .json (`--label`, default `current`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from test_app_tooling.app import start_app
from test_app_tooling.hostile import (
    closed_by_server,
    hold_idle,
    hold_unread,
    random_methods,
    rss_kib,
    send_queues,
    series,
    tree_bytes,
)
from test_app_tooling.postgres import start_cluster
from test_app_tooling.process import children
from test_app_tooling.tools import REPO


OUT = REPO / "docs" / "benchmarks"


def metrics_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("test-app-*"))


def scrape(url: str) -> tuple[int, int, float]:
    """Series count, bytes and seconds of one /metrics render."""
    started = time.monotonic()
    body = httpx.get(url + "/metrics", timeout=120).text
    return len(series(body)), len(body.encode()), time.monotonic() - started


def livez(url: str) -> float | None:
    """Seconds to a 200 from /livez, or None when it did not answer within 2 s."""
    started = time.monotonic()
    try:
        ok = httpx.get(url + "/livez", timeout=2).status_code == 200
    except httpx.TransportError:
        return None
    return time.monotonic() - started if ok else None


def cardinality(env: dict[str, str], log: Path, count: int) -> dict[str, Any]:
    before_dirs = metrics_dirs()
    app = start_app(env, log)
    try:
        workers = children(app.proc.pid)
        folders = metrics_dirs() - before_dirs
        series0, bytes0, render0 = scrape(app.url)
        rss0 = max(rss_kib(pid) for pid in workers)
        answered = random_methods(app.port, count, timeout=600)
        series1, bytes1, render1 = scrape(app.url)
        rss1 = max(rss_kib(pid) for pid in workers)
        return {
            "requests": count,
            "answered": answered,
            "series": [series0, series1],
            "metrics_bytes": [bytes0, bytes1],
            "render_seconds": [round(render0, 3), round(render1, 3)],
            "worker_rss_mib": [round(rss0 / 1024, 1), round(rss1 / 1024, 1)],
            "metrics_folder_bytes": sum(tree_bytes(folder) for folder in folders),
        }
    finally:
        app.stop()


def idle(env: dict[str, str], log: Path, count: int) -> dict[str, Any]:
    app = start_app(env, log)
    try:
        with hold_idle(app.port, count) as sockets:
            time.sleep(1)
            first = livez(app.url)
            samples = [livez(app.url) for _ in range(5)]
            closed_now = closed_by_server(sockets)
            time.sleep(12)
            closed_later = closed_by_server(sockets)
        return {
            "idle_connections": count,
            "livez_first_seconds": None if first is None else round(first, 3),
            "livez_answered_of_5": sum(1 for s in samples if s is not None),
            "idle_closed_by_server_after_1s": closed_now,
            "idle_closed_by_server_after_13s": closed_later,
        }
    finally:
        app.stop()


def unread(env: dict[str, str], log: Path, count: int) -> dict[str, Any]:
    app = start_app(env, log)
    try:
        with hold_unread(app.port, count):
            time.sleep(1)
            held_1s = send_queues(app.port)
            first = livez(app.url)
            largest = max(held_1s, default=0)
            deadline = time.monotonic() + 24
            while time.monotonic() < deadline:
                largest = max([largest, *send_queues(app.port)])
                time.sleep(0.5)
            held_25s = len(send_queues(app.port))
        return {
            "unread_connections": count,
            "held_by_server_after_1s": len(held_1s),
            "held_by_server_after_25s": held_25s,
            "largest_send_queue_bytes": largest,
            "livez_seconds": None if first is None else round(first, 3),
        }
    finally:
        app.stop()


def sigkill(env: dict[str, str], log: Path) -> dict[str, Any]:
    app = start_app(env, log)
    workers = children(app.proc.pid)
    os.kill(app.proc.pid, signal.SIGKILL)
    app.proc.wait()
    time.sleep(2)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    answering = livez(app.url) is not None
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return {"workers": len(workers), "alive_2s_after": len(alive), "livez_answers": answering}


def write(label: str, results: dict[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"hostile-{label}.json").write_text(json.dumps(results, indent=2) + "\n")
    card, idl, kill = results["cardinality"], results["idle"], results["sigkill"]
    unr = results["unread"]
    produced = (
        f"Produced by `make hostile` on {results['machine']} ({results['date']}), "
        f"WORKERS={results['workers']}, granian, loopback, own PostgreSQL."
    )
    idle_line = (
        f"Idle connections held: {idl['idle_connections']}. First `/livez`: "
        f"{idl['livez_first_seconds']} s (None = no answer in 2 s); "
        f"{idl['livez_answered_of_5']} of 5 more answered; closed by the server after 1 s: "
        f"{idl['idle_closed_by_server_after_1s']}, after 13 s: "
        f"{idl['idle_closed_by_server_after_13s']}."
    )
    kill_line = (
        f"SIGKILL of the main process: {kill['alive_2s_after']} of {kill['workers']} workers "
        f"alive 2 s later; `/livez` still answers: {kill['livez_answers']}."
    )
    unread_line = (
        f"Connections pipelining requests and never reading: {unr['unread_connections']}. "
        f"Held by the server after 1 s: {unr['held_by_server_after_1s']}, after 25 s: "
        f"{unr['held_by_server_after_25s']}; largest send queue "
        f"{unr['largest_send_queue_bytes']} bytes; `/livez`: {unr['livez_seconds']} s."
    )
    rows = [
        (f"series in /metrics ({card['requests']} random methods)", "series"),
        ("/metrics bytes", "metrics_bytes"),
        ("/metrics render seconds", "render_seconds"),
        ("largest worker RSS MiB", "worker_rss_mib"),
    ]
    lines = [
        f"# Hostile client and process faults: {label}",
        "",
        produced,
        "",
        "| measure | before the attack | after the attack |",
        "| --- | --- | --- |",
        *(f"| {name} | {card[key][0]} | {card[key][1]} |" for name, key in rows),
        f"| multiprocess metrics folder bytes | | {card['metrics_folder_bytes']} |",
        "",
        idle_line,
        "",
        kill_line,
        "",
        unread_line,
        "",
    ]
    path = OUT / f"hostile-{label}.md"
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", type=int, default=20000, help="random-method requests")
    parser.add_argument("--idle", type=int, default=2200, help="idle connections to hold")
    parser.add_argument("--unread", type=int, default=200, help="never-reading connections")
    parser.add_argument("--workers", type=int, default=2, help="WORKERS of the app")
    parser.add_argument("--label", default="current", help="names the report files")
    args = parser.parse_args()
    cluster = start_cluster(with_replica=False)
    try:
        env = {
            **cluster.env(reader=False),
            "WORKERS": str(args.workers),
            "ACCESS_LOG": "false",
        }
        with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
            logs = Path(tmp)
            results = {
                "label": args.label,
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "machine": f"{os.cpu_count()} CPUs, {platform.machine()}",
                "workers": args.workers,
                "cardinality": cardinality(env, logs / "cardinality.log", args.methods),
                "idle": idle(env, logs / "idle.log", args.idle),
                "sigkill": sigkill(env, logs / "sigkill.log"),
                "unread": unread(env, logs / "unread.log", args.unread),
            }
    finally:
        cluster.stop()
    print(json.dumps(results, indent=2))
    print(f"wrote {write(args.label, results)}")


if __name__ == "__main__":
    main()
