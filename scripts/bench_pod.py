"""Measure one pod's capacity inside the chart's own CPU and memory limits, and its overload.

    make bench-pod                                     # the full run (under 8 minutes)
    make bench-pod BENCH_POD_ARGS="--quick"            # every phase, tiny (what the tests run)

Runs the app installed like its image, with the environment and worker count of the rendered
chart (`--values prod`: values.yaml + values-prod.yaml), inside a cgroup (v1 or v2) whose CFS
quota and memory limit are the chart's `resources.limits` and whose cpuset pins it to
`--pod-cpus` (root only); PostgreSQL and every load generator run on `--generator-cpus`.
Against it:
  1. capacity, `--repetitions` times: open-model steps on /health over persistent connections
     (openload, like the ALB), doubling, then refined, until the p99 crosses the latency SLO of
     observability/slo.yaml; capacity = the median; a failing step counts as the pod's limit
     only when the pod used its whole CPU, else the run is marked invalid;
  2. the same steps with a connection per request (httperf), once;
  3. the ceiling: /livez (no database) and /health with wrk at 64 connections;
  4. overload at each `--overload-factors` x capacity, with the probes polled, then recovery;
  5. a burst of new connections past the listen backlog, then recovery;
  6. memory after `--requests` requests against the limit.
Writes docs/benchmarks/pod.md, pod.json and pod.png.

`--only overload` measures phase 4 alone (JSON on standard output, `--save` to keep it); with
`--cpu-limit` on a smaller pod whose capacity it measures first, and with `--shedder` through
HAProxy in front (`test_app_tooling.podbench.shedder`): the runs ADR 0010 compares.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from test_app_tooling.image import install_like_image, system_python
from test_app_tooling.loadgen import start_app
from test_app_tooling.podbench import cpus, measure, shedder
from test_app_tooling.podbench.admission import implied_bound
from test_app_tooling.podbench.cgroup import (
    BENCH_SHARES,
    CFS_PERIOD_US,
    CgroupError,
    PinnedSelf,
    PodCgroup,
)
from test_app_tooling.podbench.cgroup2 import pod_cgroup
from test_app_tooling.podbench.chart import ChartError, PodSpec, pod_spec
from test_app_tooling.podbench.document import render
from test_app_tooling.podbench.plot import plot
from test_app_tooling.podbench.report import (
    Slo,
    across_runs,
    bound,
    capacity,
    combined_capacity,
    mib,
)
from test_app_tooling.podbench.shedder import ShedderPlan, chart_plan
from test_app_tooling.ports import free_port
from test_app_tooling.postgres import start_cluster
from test_app_tooling.process import stop
from test_app_tooling.tools import REPO, MissingToolError, find_tool


if TYPE_CHECKING:
    from collections.abc import Iterator


OUT = REPO / "docs" / "benchmarks"
SLO_FILE = REPO / "observability" / "slo.yaml"
LOADED_BUSY_SHARE = 0.5  # more than half the machine busy before the run: a loaded machine


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


QUICK = {  # `--quick`: every phase, tiny and short; for the tests (shape and arithmetic only)
    "start_rate": 50.0, "step_seconds": 1.0, "max_steps": 2, "refine": 1, "settle": 0.2,
    "new_connection_start_rate": 50.0, "ceiling_seconds": 1, "overload_seconds": 1.0,
    "profile_seconds": 1,
    "requests": 2000, "soak_chunk": 1, "burst_connections": 64,
}  # fmt: skip


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--values", default="prod", help="the chart value set to run as (default: prod)")
    add("--pod-cpus", default="1", help="the CPUs the pod is pinned to (cpuset list)")
    add("--generator-cpus", default="0", help="the CPUs of the generators and PostgreSQL")
    add("--repetitions", type=_number(int), default=3, help="step searches; capacity = median")
    add("--start-rate", type=_number(float), default=2000.0, help="first offered req/s")
    add("--step-seconds", type=_number(float), default=5.0, help="seconds per step")
    add("--max-steps", type=_number(int), default=10, help="bound on the number of steps")
    add(
        "--refine",
        type=_number(int, zero=True),
        default=3,
        help="linear steps between the last pass and the fail",
    )
    add(
        "--settle",
        type=_number(float, zero=True),
        default=1.0,
        help="seconds of rest before each step",
    )
    add(
        "--new-connection-start-rate",
        type=_number(float),
        default=500.0,
        help="first offered req/s of the connection-per-request profile (httperf)",
    )
    add("--timeout", type=_number(float), default=2.0, help="per-request timeout (s)")
    add(
        "--max-connections",
        type=_number(int),
        default=2048,
        help="persistent connections at most (the ALB opens them as it needs them)",
    )
    add("--ceiling-seconds", type=_number(int), default=8, help="seconds per wrk run")
    add(
        "--profile-seconds",
        type=_number(int, zero=True),
        default=6,
        help="seconds of py-spy on /health (0: no profile)",
    )
    add("--overload-factors", type=_factors, default=[2.0, 4.0], help="e.g. 2,4")
    add("--overload-seconds", type=_number(float), default=10.0)
    add("--burst-connections", type=_number(int), default=10000, help="new connections at once")
    add("--requests", type=_number(int), default=400_000, help="requests of the memory soak")
    add("--soak-chunk", type=_number(int), default=10, help="seconds per soak wrk run")
    add("--quick", action="store_true", help="every phase, tiny: checks shape, not speed")
    add(
        "--only",
        choices=["overload"],
        help="one phase alone, against --capacity; prints its rows as JSON and writes nothing",
    )
    add(
        "--capacity",
        type=_number(float),
        help="with --only: the capacity (req/s) the factors multiply (default: the committed "
        "docs/benchmarks/pod.json's, with its CPU per request)",
    )
    add(
        "--save",
        type=Path,
        help="with --only: also write its JSON to this file",
    )
    add(
        "--connections-per-worker",
        type=_number(int),
        help="start the app with this granian backpressure (open connections per worker) "
        "instead of test_app.server's",
    )
    add(
        "--sysctl",
        type=_sysctl,
        action="append",
        default=[],
        help="NAME=VALUE (net.*): run in a network namespace of its own with this set, as a "
        "pod's securityContext.sysctls would (repeatable)",
    )
    add(
        "--shedder",
        action="store_true",
        help="put the chart's admission proxy (HAProxy with the configuration the chart renders, "
        "on the generator CPUs) in front of the pod: clients' load goes through it, probes go "
        "to the app's own port",
    )
    add(
        "--shedder-connections",
        type=_number(int),
        default=None,
        help="with --shedder: requests at the app at once (default: the chart's value)",
    )
    add(
        "--shedder-queue",
        type=_number(int),
        default=None,
        help="with --shedder: waiting requests past which /health is refused "
        "(default: the chart's value)",
    )
    add(
        "--shedder-queue-timeout-ms",
        type=_number(int),
        default=None,
        help="with --shedder: the longest wait in the proxy's queue (default: the chart's value)",
    )
    add(
        "--cpu-limit",
        type=_number(float),
        help="with --only: run the pod with this CPU limit (cores) instead of the chart's, "
        "and measure its capacity first (a generator CPU that cannot offer 4 x a full pod can "
        "offer it to a smaller one)",
    )
    add("--output", type=Path, default=OUT, help="default: docs/benchmarks/")
    add(
        "--render-only",
        action="store_true",
        help="rewrite pod.md and pod.png from the pod.json in --output; measure nothing",
    )
    add(
        "--runs",
        type=Path,
        nargs="+",
        default=[],
        help="with --render-only: the pod.json of each full run, for the spread across runs",
    )
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    for name in ("pod_cpus", "generator_cpus"):
        try:
            setattr(args, name, cpus.parse_cpu_list(getattr(args, name)))
        except ValueError as err:
            parser.error(f"--{name.replace('_', '-')}: {err}")
    if args.cpu_limit is not None and args.only is None:
        parser.error("--cpu-limit: expected with --only (the full run measures the chart's pod)")
    if set(args.pod_cpus) & set(args.generator_cpus):
        parser.error("--pod-cpus and --generator-cpus: expected CPUs apart, got an overlap")
    return args


def _sysctl(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.startswith("net.") or not value or "/" in name or ".." in name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with a net.* name, got {text!r}")
    return name, value


def _factors(text: str) -> list[float]:
    try:
        factors = [float(part) for part in text.split(",")]
    except ValueError:
        factors = []
    if not factors or any(f <= 0 for f in factors):
        raise argparse.ArgumentTypeError(f"expected positive factors like 2,4, got {text!r}")
    return factors


def shedder_plan(args: argparse.Namespace) -> ShedderPlan:
    """Return the proxy's bounds: the chart's values, each replaced by its option when given."""
    chart = chart_plan()
    return ShedderPlan(
        args.shedder_connections or chart.connections,
        args.shedder_queue or chart.queue,
        args.shedder_queue_timeout_ms or chart.queue_timeout_ms,
    )


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
    for tool in ("httperf", "wrk", *(("py-spy",) if args.profile_seconds else ())):
        try:
            find_tool(tool)
        except MissingToolError:
            sys.exit(f"error: {tool} is missing; run scripts/bootstrap")
    present = os.sched_getaffinity(0)
    for name in ("pod_cpus", "generator_cpus"):
        if not set(getattr(args, name)) <= present:
            sys.exit(
                f"error: --{name.replace('_', '-')}: expected CPUs of this machine "
                f"({sorted(present)}), got {getattr(args, name)}"
            )
    try:
        slo, pod = latency_slo(), pod_spec(args.values)
        if args.cpu_limit is not None:
            pod = dataclasses.replace(pod, cpu_limit=args.cpu_limit)
        group = pod_cgroup(
            f"test-app-bench-{os.getpid()}",
            pod.cpu_limit,
            pod.memory_limit,
            cpus=",".join(str(cpu) for cpu in args.pod_cpus),
        )
    except (SloError, ChartError, CgroupError) as err:
        sys.exit(f"error: {err}")
    return slo, pod, group


# `--connections-per-worker`: the app started with another granian backpressure (connections per
# worker) than `test_app.server.CONNECTIONS_PER_WORKER`, to measure what that bound does.
LAUNCH_WITH_CONNECTIONS = (
    "import runpy, test_app.server as server; server.CONNECTIONS_PER_WORKER = {n}; "
    "runpy.run_module('test_app', run_name='__main__', alter_sys=True)"
)


@contextlib.contextmanager
def running_pod(
    args: argparse.Namespace, slo: Slo, pod: PodSpec, group: PodCgroup
) -> Iterator[tuple[measure.Target, subprocess.Popen[bytes], dict[str, Any]]]:
    """Start PostgreSQL and the app in its cgroup; stop everything again afterwards.

    This process, and so PostgreSQL and every load generator it starts, runs on the generator
    CPUs; the app's cgroup pins it to the pod CPUs.
    """
    generators = None
    if group.version == 1:
        generators = PinnedSelf(
            f"test-app-bench-load-{os.getpid()}",
            ",".join(str(cpu) for cpu in args.generator_cpus),
            BENCH_SHARES,
        )
        generators.enter()
    os.sched_setaffinity(0, args.generator_cpus)
    work = Path(tempfile.mkdtemp(prefix="test-app-bench-pod-", dir="/tmp"))
    work.chmod(0o755)
    try:
        site = install_like_image(work / "site")  # from the package index: before any netns
        if args.sysctl:
            args.applied_sysctls = own_network_namespace(args.sysctl)
        cluster = start_cluster(with_replica=False)
    except BaseException:
        if generators is not None:
            generators.leave()
        shutil.rmtree(work, ignore_errors=True)
        raise
    try:
        try:
            group.create()
        except CgroupError as err:
            sys.exit(f"error: {err}")
        port = free_port()
        env = app_env(pod, site, cluster.env(reader=False), port)
        command = [system_python(), "-m", "test_app"]
        if args.connections_per_worker is not None:
            launch = LAUNCH_WITH_CONNECTIONS.format(n=args.connections_per_worker)
            command = [system_python(), "-c", launch]
        proc, _ = start_app(group.enter_command(command), env, port)
        plan = shedder_plan(args) if args.shedder else None
        try:
            front = shedder.running(port, plan) if plan else contextlib.nullcontext(None)
            with front as proxy:
                cgroup = {
                    "version": group.version,
                    **group.applied(),
                    "processes": settled_count(group, 1 + pod.workers),
                }
                target = measure.Target(
                    port, group, slo, args.timeout, args.pod_cpus, args.generator_cpus,
                    pod_cores=min(pod.cpu_limit, len(args.pod_cpus)),
                    max_connections=args.max_connections, shedder=proxy,
                )  # fmt: skip
                yield target, proc, cgroup
        finally:
            stop(proc)  # never leave the app running, even when a measurement fails
    finally:
        cluster.stop()
        group.remove()
        if generators is not None:
            generators.leave()
        shutil.rmtree(work, ignore_errors=True)


def measurements(
    args: argparse.Namespace, slo: Slo, pod: PodSpec, group: PodCgroup
) -> dict[str, Any]:
    """Every phase against one running pod (`running_pod`)."""
    with running_pod(args, slo, pod, group) as (target, proc, cgroup):
        plan = measure.StepPlan(
            args.start_rate, args.step_seconds, args.max_steps, args.refine, args.settle
        )
        reps = measure.repetitions(target, plan, args.repetitions)
        cap = combined_capacity([rep["capacity"] for rep in reps])
        new_plan = measure.StepPlan(args.new_connection_start_rate, args.step_seconds,
                                    args.max_steps, args.refine, args.settle)  # fmt: skip
        new_steps = measure.steps(target, new_plan, measure.NEW_CONNECTION)
        ceiling = measure.ceiling(target, 64, args.ceiling_seconds)
        if args.profile_seconds:
            ceiling["profile"] = measure.profile(target, find_tool("py-spy"), args.profile_seconds)
        base = cap["rps"] if cap else reps[-1]["steps"][-1]["offered_rps"]
        overload = [
            measure.overload(target, base, factor, args.overload_seconds,
                             pod.readiness_timeout_s, mib(pod.memory_limit),
                             cap["cpu_ms_per_request"] if cap else None)
            for factor in args.overload_factors
        ]  # fmt: skip
        burst = measure.burst(target, args.burst_connections)
        survived = proc.poll() is None
        soak = measure.memory_soak(target, args.requests, 64, args.soak_chunk)
    return {
        "cgroup": cgroup,
        "repetitions": reps,
        "steps": representative(reps, cap)["steps"],
        "capacity": cap,
        "new_connection": {"steps": new_steps, "capacity": capacity(new_steps, target.pod_cores)},
        "ceiling": ceiling,
        "overload": overload,
        "burst": burst,
        "app_survived": survived,
        "memory": soak,
    }


CLONE_NEWNET = 0x40000000  # unshare(2): a network namespace of its own, as a pod has


def own_network_namespace(sysctls: list[tuple[str, str]]) -> dict[str, str]:
    """Move this process into a new network namespace with loopback up, and set `sysctls` there.

    Everything started afterwards (PostgreSQL, the app, the generators) lives in it, and the
    machine's own settings stay untouched. Returns each sysctl as the kernel reads it back.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        sys.exit(f"error: --sysctl: no network namespace: {os.strerror(ctypes.get_errno())}")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    applied = {}
    for name, value in sysctls:
        path = Path("/proc/sys", *name.split("."))
        try:
            path.write_text(value)
        except OSError as err:
            sys.exit(f"error: --sysctl {name}: {err.strerror}")
        applied[name] = path.read_text().strip()
    return applied


def overload_only(
    args: argparse.Namespace, slo: Slo, pod: PodSpec, group: PodCgroup
) -> dict[str, Any]:
    """Measure the overload phase alone, at `--overload-factors` x the capacity.

    The capacity is `--capacity`, or the committed report's; the CPU per request (for the cost
    of a refusal) is always the committed report's.
    """
    committed = json.loads((OUT / "pod.json").read_text())["capacity"]
    base = args.capacity if args.capacity is not None else float(committed["rps"])
    cpu_ms = float(committed["cpu_ms_per_request"])
    measured = None
    with running_pod(args, slo, pod, group) as (target, proc, cgroup):
        if args.cpu_limit is not None and args.capacity is None:
            # Another pod than the committed report's: its capacity, measured here first.
            plan = measure.StepPlan(
                args.start_rate, args.step_seconds, args.max_steps, args.refine, args.settle
            )
            measured = combined_capacity(
                [rep["capacity"] for rep in measure.repetitions(target, plan, args.repetitions)]
            )
            if measured is None:
                sys.exit("error: --cpu-limit: no capacity found (no step failed on the quota)")
            base, cpu_ms = float(measured["rps"]), float(measured["cpu_ms_per_request"])
        rows = [
            measure.overload(target, base, factor, args.overload_seconds,
                             pod.readiness_timeout_s, mib(pod.memory_limit),
                             cpu_ms)
            for factor in args.overload_factors
        ]  # fmt: skip
        survived = proc.poll() is None
    return {
        "only": "overload",
        "command": _command(),
        "date": time.strftime("%Y-%m-%d"),
        "max_in_flight": int(pod.env["MAX_IN_FLIGHT"]) if "MAX_IN_FLIGHT" in pod.env else None,
        "cpu_limit": pod.cpu_limit,
        "capacity_rps": base,
        "capacity_measured": measured,
        "cpu_ms_per_request": cpu_ms,
        "shedder": dataclasses.asdict(target.shedder.plan) if target.shedder else None,
        "connections_per_worker": args.connections_per_worker,
        "sysctls": getattr(args, "applied_sysctls", {}),
        "cgroup": cgroup,
        "overload": rows,
        "app_survived": survived,
    }


def rederive(result: dict[str, Any]) -> dict[str, Any]:
    """Return `result` with its verdicts worked out again from its counters by today's rules."""
    pod_cores = result["isolation"]["pod_cores"]
    for rep in result["repetitions"]:
        rep["capacity"] = capacity(rep["steps"], pod_cores)
    result["capacity"] = combined_capacity([rep["capacity"] for rep in result["repetitions"]])
    result["steps"] = representative(result["repetitions"], result["capacity"])["steps"]
    new = result["new_connection"]
    new["capacity"] = capacity(new["steps"], pod_cores)
    for over in result["overload"]:
        over["bound"] = bound(over, pod_cores)
    result["admission"] = implied_bound(result)
    return result


def representative(reps: list[dict[str, Any]], cap: dict[str, Any] | None) -> dict[str, Any]:
    """Return the repetition whose capacity is the median (the first one when none found one)."""
    for rep in reps:
        if cap is not None and rep["capacity"] is not None and rep["capacity"]["rps"] == cap["rps"]:
            return rep
    return reps[0]


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
        "readiness_timeout_s": pod.readiness_timeout_s,
        "max_in_flight": int(pod.env["MAX_IN_FLIGHT"]) if "MAX_IN_FLIGHT" in pod.env else None,
    }


def _command() -> str:
    """Return the command line as `make bench-pod` takes it."""
    args = sys.argv[1:]
    return "make bench-pod" + (f' BENCH_POD_ARGS="{" ".join(args)}"' if args else "")


def main() -> int:
    args = arguments()
    if args.render_only:
        report = args.output / "pod.json"
        if not report.is_file():
            sys.exit(f"error: {report}: missing; run `make bench-pod` first")
        result = rederive(json.loads(report.read_text()))
        if args.runs:
            try:
                runs = [rederive(json.loads(path.read_text())) for path in args.runs]
                result["runs"] = across_runs(runs)
            except (OSError, ValueError, KeyError) as err:
                sys.exit(f"error: --runs: expected pod.json files of full runs ({err})")
        write(result, args.output)
        return 0
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)  # also when started in the background
    busy_start = cpus.busy_now()  # before PostgreSQL and the pod start
    slo, pod, group = prepare(args)
    if args.only == "overload":
        text = json.dumps(overload_only(args, slo, pod, group), indent=2) + "\n"
        if args.save is not None:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            args.save.write_text(text)
        print(text, end="")
        return 0
    loadavg_start, started = os.getloadavg()[0], time.monotonic()
    measured = measurements(args, slo, pod, group)
    cpu_count = os.cpu_count() or 1
    result = {
        "command": _command(),
        "date": time.strftime("%Y-%m-%d"),
        "started_utc": time.strftime(
            "%H:%M", time.gmtime(time.time() - (time.monotonic() - started))
        ),
        "machine": {
            "cpus": cpu_count,
            "python": platform.python_version(),
            "loadavg_start": round(loadavg_start, 2),
            "loadavg_end": round(os.getloadavg()[0], 2),
            # The machine's CPUs busy over 3 s just before the run (someone else's work).
            "busy_start": busy_start,
            "loaded": busy_start > LOADED_BUSY_SHARE,
            "minutes": round((time.monotonic() - started) / 60, 1),
        },
        "isolation": {
            "pod_cpus": args.pod_cpus,
            "generator_cpus": args.generator_cpus,
            "pod_cores": min(pod.cpu_limit, len(args.pod_cpus)),
            "others_on_pod_cpus_max": max(
                s["pod_cpus_others"] for rep in measured["repetitions"] for s in rep["steps"]
            ),
            "generator_cores_max": max(
                s["generator_cores"] for rep in measured["repetitions"] for s in rep["steps"]
            ),
            # What the other CPU did: the generator, PostgreSQL and everyone else's work on it.
            "generator_cpus_busy_max": max(
                s["generator_cpus_busy"] for rep in measured["repetitions"] for s in rep["steps"]
            ),
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
        "max_connections": args.max_connections,
        **measured,
    }
    result["admission"] = implied_bound(result)
    write(result, args.output)
    print((args.output / "pod.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
