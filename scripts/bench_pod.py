"""Measure one pod's capacity inside the chart's own CPU and memory limits, and its overload.

    make bench-pod                                     # the full run (about 5 minutes)
    make bench-pod BENCH_POD_ARGS="--requests 100000"  # a shorter memory soak

Runs the app installed like its image, with the environment and worker count of the rendered
chart (`--values prod`: values.yaml + values-prod.yaml), inside a cgroup (v1 or v2) whose CFS
quota and memory limit are the chart's `resources.limits` (root only). Against it:
  1. open-model steps on /health (httperf --rate), doubling, then refined, until the p99 crosses
     the latency SLO of observability/slo.yaml: the pod's capacity;
  2. the ceiling: /livez (no database) and /health with wrk at 64 connections;
  3. overload at `--overload-factor` x capacity, then the time to recover;
  4. memory after `--requests` requests against the limit.
Writes docs/benchmarks/pod.md, pod.json and pod.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from test_app_tooling.image import install_like_image, system_python
from test_app_tooling.loadgen import start_app
from test_app_tooling.podbench import measure
from test_app_tooling.podbench.cgroup import CFS_PERIOD_US, CgroupError, PodCgroup
from test_app_tooling.podbench.cgroup2 import pod_cgroup
from test_app_tooling.podbench.chart import ChartError, PodSpec, pod_spec
from test_app_tooling.podbench.document import render
from test_app_tooling.podbench.plot import plot
from test_app_tooling.podbench.report import Slo, capacity, mib
from test_app_tooling.postgres import free_port, start_cluster
from test_app_tooling.process import stop
from test_app_tooling.tools import REPO


OUT = REPO / "docs" / "benchmarks"
SLO_FILE = REPO / "observability" / "slo.yaml"


class SloError(ValueError):
    """observability/slo.yaml has no usable latency SLO."""


LATENCY_BOUND = re.compile(r'_bucket\{[^}]*\ble="([0-9.]+)"')


def latency_slo(path: Path = SLO_FILE) -> Slo:
    """Read the latency SLO: `objective` % of requests within the `le` of its error query."""
    data = yaml.safe_load(path.read_text())
    for slo in data.get("slos", []) if isinstance(data, dict) else []:
        query = str(slo.get("sli", {}).get("events", {}).get("error_query", ""))
        bound = LATENCY_BOUND.search(query)
        if bound is not None:
            objective = slo.get("objective")
            if not isinstance(objective, int | float) or not 0 < objective < 100:
                raise SloError(
                    f"{path.name}: slos[{slo.get('name')}].objective: expected a "
                    f"percentage between 0 and 100, got {objective!r}"
                )
            return Slo(threshold_ms=float(bound.group(1)) * 1000, percentile=float(objective))
    raise SloError(
        f"{path.name}: no SLO whose `sli.events.error_query` reads a histogram bucket "
        '(`..._bucket{...,le="0.25"}`: the latency SLO)'
    )


def _number(kind: type[float | int], *, zero: bool = False) -> Any:  # noqa: ANN401 - argparse type
    wanted = f"{'a non-negative' if zero else 'a positive'} {kind.__name__}"

    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--values", default="prod", help="the chart value set to run as (default: prod)")
    add("--start-rate", type=_number(float), default=200.0, help="first offered req/s")
    add("--step-seconds", type=_number(float), default=10.0, help="seconds per step")
    add("--max-steps", type=_number(int), default=12, help="bound on the number of steps")
    add(
        "--refine",
        type=_number(int, zero=True),
        default=4,
        help="linear steps between the last pass and the fail",
    )
    add(
        "--settle",
        type=_number(float, zero=True),
        default=2.0,
        help="seconds of rest before each step",
    )
    add("--timeout", type=_number(float), default=2.0, help="per-request timeout (s)")
    add("--ceiling-seconds", type=_number(int), default=10, help="seconds per wrk run")
    add("--overload-factor", type=_number(float), default=4.0)
    add("--overload-seconds", type=_number(float), default=20.0)
    add("--requests", type=_number(int), default=1_000_000, help="requests of the memory soak")
    add("--soak-chunk", type=_number(int), default=30, help="seconds per soak wrk run")
    add("--output", type=Path, default=OUT, help="default: docs/benchmarks/")
    add(
        "--render-only",
        action="store_true",
        help="rewrite pod.md and pod.png from the pod.json in --output; measure nothing",
    )
    return parser.parse_args()


def app_env(pod: PodSpec, site: Path, database: dict[str, str], port: int) -> dict[str, str]:
    """Return the container's environment, pointed at the local database and a loopback port.

    The local database replaces every connection setting of the chart, in either form (a value
    or a mounted `_FILE`), and the CA bundle: the loopback server speaks no TLS.
    """
    replaced = {*database, *(f"{name}_FILE" for name in database), "PGSSLROOTCERT"}
    return {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(site),
        "PYTHONDONTWRITEBYTECODE": "1",
        **{name: value for name, value in pod.env.items() if name not in replaced},
        **database,
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }


def settled_count(group: PodCgroup, expected: int, timeout: float = 15.0) -> int:
    """Count the group's processes once there are `expected` of them (or at the timeout).

    The main process answers before every worker has forked.
    """
    deadline = time.monotonic() + timeout
    while len(group.pids()) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return len(group.pids())


def _exit_cleanly(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)  # unwinds through the `finally` blocks that stop what was started


def write(result: dict[str, Any], output: Path) -> None:
    """Write pod.json, pod.md and pod.png."""
    output.mkdir(parents=True, exist_ok=True)
    (output / "pod.json").write_text(json.dumps(result, indent=2) + "\n")
    (output / "pod.md").write_text(render(result))
    plot(result, output / "pod.png")


def prepare(args: argparse.Namespace) -> tuple[Slo, PodSpec, PodCgroup]:
    """Read the SLO, the pod from the chart and open its cgroup; exit on bad input."""
    for tool in ("httperf", "wrk"):
        if not shutil.which(tool):
            sys.exit(f"error: {tool} is missing; run scripts/bootstrap")
    try:
        slo, pod = latency_slo(), pod_spec(args.values)
        group = pod_cgroup(f"test-app-bench-{os.getpid()}", pod.cpu_limit, pod.memory_limit)
    except (SloError, ChartError, CgroupError) as err:
        sys.exit(f"error: {err}")
    return slo, pod, group


def measurements(
    args: argparse.Namespace, slo: Slo, pod: PodSpec, group: PodCgroup
) -> dict[str, Any]:
    """Start PostgreSQL and the app in its cgroup, measure, and stop everything again."""
    work = Path(tempfile.mkdtemp(prefix="test-app-bench-pod-", dir="/tmp"))
    work.chmod(0o755)
    cluster = start_cluster(with_replica=False)
    try:
        try:
            group.create()
        except CgroupError as err:
            sys.exit(f"error: {err}")
        site = install_like_image(work / "site")
        port = free_port()
        env = app_env(pod, site, cluster.env(reader=False), port)
        proc, _ = start_app(group.enter_command([system_python(), "-m", "test_app"]), env, port)
        try:
            cgroup = {
                "version": group.version,
                **group.applied(),
                "processes": settled_count(group, 1 + pod.workers),
            }
            target = measure.Target(port, group, slo, args.timeout)
            plan = measure.StepPlan(
                args.start_rate, args.step_seconds, args.max_steps, args.refine, args.settle
            )
            steps = measure.steps(target, plan)
            cap = capacity(steps, pod.cpu_limit)
            ceiling = measure.ceiling(target, 64, args.ceiling_seconds)
            base = cap["rps"] if cap else steps[-1]["offered_rps"]
            overload = measure.overload(
                target, base * args.overload_factor, args.overload_factor, args.overload_seconds
            )
            survived = proc.poll() is None
            soak = measure.memory_soak(target, args.requests, 64, args.soak_chunk)
        finally:
            stop(proc)  # never leave the app running, even when a measurement fails
    finally:
        cluster.stop()
        group.remove()
        shutil.rmtree(work, ignore_errors=True)
    return {"cgroup": cgroup, "steps": steps, "capacity": cap, "ceiling": ceiling,
            "overload": overload, "app_survived": survived, "memory": soak}  # fmt: skip


def pod_fields(pod: PodSpec) -> dict[str, Any]:
    """Describe the pod for the report."""
    return {
        "value_set": pod.value_set,
        "values_files": pod.values_files,
        "workers": pod.workers,
        "cpu_request": pod.cpu_request,
        "cpu_limit": pod.cpu_limit,
        "cfs_quota_us": round(pod.cpu_limit * CFS_PERIOD_US),
        "cfs_period_us": CFS_PERIOD_US,
        "memory_request_mib": mib(pod.memory_request),
        "memory_limit_mib": mib(pod.memory_limit),
        "hpa_target_percent": pod.hpa_target_percent,
    }


def main() -> int:
    args = arguments()
    if args.render_only:
        report = args.output / "pod.json"
        if not report.is_file():
            sys.exit(f"error: {report}: missing; run `make bench-pod` first")
        write(json.loads(report.read_text()), args.output)
        return 0
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)  # also when started in the background
    slo, pod, group = prepare(args)
    loadavg_start = os.getloadavg()[0]
    measured = measurements(args, slo, pod, group)
    cpus = os.cpu_count() or 1
    result = {
        "command": "make bench-pod"
        + (f' BENCH_POD_ARGS="{" ".join(sys.argv[1:])}"' if sys.argv[1:] else ""),
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpus": cpus,
            "python": platform.python_version(),
            "loadavg_start": round(loadavg_start, 2),
            "loadavg_end": round(os.getloadavg()[0], 2),
            # More runnable work than half the CPUs before we started: someone else's.
            "loaded": loadavg_start > cpus / 2,
        },
        "pod": pod_fields(pod),
        "cgroup": measured.pop("cgroup"),
        "slo": {
            "threshold_ms": slo.threshold_ms,
            "percentile": slo.percentile,
            "source": "observability/slo.yaml",
        },
        "step_seconds": args.step_seconds,
        "timeout_s": args.timeout,
        **measured,
    }
    write(result, args.output)
    print((args.output / "pod.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
