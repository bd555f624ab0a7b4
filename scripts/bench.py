"""Benchmark `/health` against the database's own ceiling, in one run on one machine.

    make bench                      # 1, 16, 64 connections, 10 s each, 3 repetitions
    make bench BENCH_ARGS="--duration 3 --repetitions 1"    # a quick look

Starts a throwaway PostgreSQL and the app installed exactly like its image (locked
dependencies, system Python), then for each connection count alternates:
  * wrk on GET /health (the app, WORKERS=2 by default), and
  * pgbench running `SELECT 1` with the simple protocol (the database's ceiling).
It also measures startup to the first `200` and the idle RSS of each process.
`--server uvicorn` runs the same ASGI app under uvicorn for the comparison in ADR 0001.

Results go to docs/benchmarks/health.md (and .json): medians over the repetitions, the
ratio app/pgbench per connection count, and each target with PASS/FAIL.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from test_app_tooling.image import install_like_image, system_python
from test_app_tooling.loadgen import (
    Sample,
    app_command,
    rss_mib,
    run_pgbench,
    run_wrk,
    start_app,
)
from test_app_tooling.ports import free_port
from test_app_tooling.postgres import start_cluster
from test_app_tooling.process import children, stop


REPO = Path(__file__).resolve().parents[1]


OUT = REPO / "docs" / "benchmarks"
TARGETS = {
    "ratio_64": 0.5,  # app req/s >= 0.5 x pgbench tps at 64 connections
    "p99_64_ms": 10.0,
    "p99_16_ms": 5.0,
    "startup_s": 0.3,
    "rss_worker_mib": 60.0,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", choices=("granian", "uvicorn"), default="granian")
    parser.add_argument("--output", type=Path, default=None, help="default: docs/benchmarks/")
    args = parser.parse_args()
    for tool in ("wrk", "pgbench"):
        if not shutil.which(tool):
            sys.exit(f"error: {tool} is missing; run scripts/bootstrap")
    conns = [int(c) for c in args.connections.split(",")]
    work = Path(tempfile.mkdtemp(prefix="test-app-bench-", dir="/tmp"))
    work.chmod(0o755)
    extra = ["uvicorn==0.54.0", "httptools==0.9.0", "click==8.5.1", "h11==0.16.0"]
    site = install_like_image(work / "site", extra if args.server == "uvicorn" else None)
    python = system_python()
    script = work / "select1.sql"
    script.write_text("SELECT 1;\n")
    cluster = start_cluster(with_replica=False)
    print(f"PostgreSQL on 127.0.0.1:{cluster.port}; app from {site}", flush=True)
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1",
           **cluster.env(reader=False), "HOST": "127.0.0.1", "WORKERS": str(args.workers),
           "ACCESS_LOG": "false", "DRAIN_SECONDS": "0", "POOL_MAX_SIZE": "4"}  # fmt: skip
    cmd = app_command(args.server, python, args.workers)
    samples: list[Sample] = []
    startups: list[float] = []
    try:
        for _ in range(5):
            port = free_port()
            proc, elapsed = start_app(cmd, {**env, "PORT": str(port)}, port)
            startups.append(elapsed)
            stop(proc)
        port = free_port()
        proc, _ = start_app(cmd, {**env, "PORT": str(port)}, port)
        try:
            time.sleep(2)  # idle
            workers = children(proc.pid)
            rss_main = rss_mib(proc.pid)
            rss_workers = [rss_mib(pid) for pid in workers]
            url = f"http://127.0.0.1:{port}/health"
            run_wrk(url, 16, 2)  # warm-up
            for rep in range(args.repetitions):
                for c in conns:
                    app_run = run_wrk(url, c, args.duration)
                    db_run = run_pgbench(cluster.port, c, args.duration, script)
                    for sample in (app_run, db_run):
                        samples.append(sample)
                        print(f"rep {rep + 1} {sample.tool:17} c={c:<3} {sample.rate:10.0f}/s "
                              f"p50={sample.p50_ms} p99={sample.p99_ms} errors={sample.errors}",
                              flush=True)  # fmt: skip
        finally:
            stop(proc)  # never leave the app running, even when a measurement fails
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    write_report(args, conns, Measured(samples, startups, rss_main, rss_workers))
    return 0


@dataclass
class Measured:
    """Everything one run measured."""

    samples: list[Sample]
    startups: list[float]
    rss_main: float
    rss_workers: list[float]


def write_report(args: argparse.Namespace, conns: list[int], measured: Measured) -> None:
    samples, startups = measured.samples, measured.startups
    rss_main, rss_workers = measured.rss_main, measured.rss_workers

    def med(tool: str, c: int, field: str) -> float:
        values = [
            getattr(s, field) for s in samples if s.tool.startswith(tool) and s.connections == c
        ]
        return float(statistics.median(values))

    rows = []
    for c in conns:
        app, db = med("wrk", c, "rate"), med("pgbench", c, "rate")
        errors = sum(s.errors for s in samples if s.connections == c and s.tool.startswith("wrk"))
        # The ratio of the two rounded figures the row shows, so a reader can redo it.
        rows.append({"connections": c, "app_rps": round(app), "pgbench_tps": round(db),
                     "ratio": round(round(app) / round(db), 3), "p50_ms": med("wrk", c, "p50_ms"),
                     "p99_ms": med("wrk", c, "p99_ms"), "errors": errors})  # fmt: skip
    by_c = {r["connections"]: r for r in rows}
    startup = statistics.median(startups)
    checks = []
    if 64 in by_c:
        checks += [
            ("app/pgbench at 64 connections", by_c[64]["ratio"], ">=", TARGETS["ratio_64"]),
            ("p99 at 64 connections (ms)", by_c[64]["p99_ms"], "<=", TARGETS["p99_64_ms"]),
            ("errors at 64 connections", by_c[64]["errors"], "<=", 0),
        ]
    if 16 in by_c:
        checks.append(
            ("p99 at 16 connections (ms)", by_c[16]["p99_ms"], "<=", TARGETS["p99_16_ms"])
        )
    checks += [
        ("startup to first 200 (s, median of 5)", round(startup, 3), "<=", TARGETS["startup_s"]),
        ("idle RSS per worker (MiB, max)", round(max(rss_workers, default=0), 1), "<=",
         TARGETS["rss_worker_mib"]),
    ]  # fmt: skip

    def ok(value: float, op: str, target: float) -> bool:
        return value >= target if op == ">=" else value <= target

    command = "python scripts/bench.py " + " ".join(sys.argv[1:])
    result = {
        "command": command.strip(),
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "server": args.server,
        "workers": args.workers,
        "duration_s": args.duration,
        "repetitions": args.repetitions,
        "rows": rows,
        "startup_s": [round(s, 3) for s in startups],
        "rss_main_mib": round(rss_main, 1),
        "rss_workers_mib": [round(r, 1) for r in rss_workers],
        "samples": [asdict(s) for s in samples],
        "checks": [
            {"name": n, "value": v, "op": o, "target": t, "pass": ok(v, o, t)}
            for n, v, o, t in checks
        ],
    }
    out = args.output or OUT
    out.mkdir(parents=True, exist_ok=True)
    stem = "health" if args.server == "granian" else f"health-{args.server}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# /health benchmark ({args.server}, {args.workers} workers)",
        "",
        (f"Produced by `{result['command']}` on {result['date']} "
        f"({result['machine']['cpus']} CPUs, load generator, app and PostgreSQL on one machine)."),
        (f"Medians of {args.repetitions} repetitions of {args.duration} s per connection count; "
        "pgbench runs `SELECT 1` (simple protocol) with the same client counts in the same run."),
        "",
        "| connections | app req/s | pgbench tps | app / pgbench | p50 ms | p99 ms | errors |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(f"| {r['connections']} | {r['app_rps']} | {r['pgbench_tps']} | {r['ratio']} | "
          f"{r['p50_ms']} | {r['p99_ms']} | {r['errors']} |" for r in rows),
        "",
        (f"Startup to first `200` (5 starts): {', '.join(f'{s:.3f}' for s in startups)} s. "
        f"Idle RSS: main process {rss_main:.1f} MiB, workers "
        f"{', '.join(f'{r:.1f}' for r in rss_workers)} MiB."),
        "",
        "| target | measured | goal | result |",
        "| --- | ---: | ---: | --- |",
        *(f"| {c['name']} | {c['value']} | {c['op']} {c['target']} | "
          f"{'PASS' if c['pass'] else 'FAIL'} |" for c in result["checks"]),
        "",
    ]  # fmt: skip
    (out / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
