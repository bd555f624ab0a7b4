"""Rehearsal: an app instance is killed (SIGKILL, no drain) under load.

Like a container killed by the kernel or a node lost: SIGKILL to the instance's whole process
group, no SIGTERM, no drain. The balancer retries the requests that were on it (`retry-on
conn-failure empty-response`, `option redispatch`) and stops sending it new ones after its
readiness check fails; supervisord starts a replacement (a Deployment would), which rejoins
rotation once ready. Target: no request fails through the balancer.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from rehearsal.base import haproxy, instances, supervisor
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import Topology
from rehearsal.measure import report
from rehearsal.measure.load import Load, LoadResult, LoadSpec
from rehearsal.measure.sizes import Size
from test_app_tooling.process import answers_ok, wait_until


# Seconds from the kill until the replacement is in rotation: supervisord's restart, the app's
# start and first ping, one rise of the HAProxy check. About 1.5 s on an idle 2-CPU machine;
# the load is sized for a busy one (and checked to have outlasted it), the budget is the limit.
REPLACE_EXPECTED_SECONDS = 10.0
REPLACE_BUDGET_SECONDS = 30.0


@dataclass
class Kill:
    """What was killed and when it was replaced (``time.monotonic()`` values)."""

    victim: str
    old_pid: int
    new_pid: int = 0
    checks_before: dict[str, int] = field(default_factory=dict)
    checks_after: dict[str, int] = field(default_factory=dict)
    t_kill: float = 0.0
    t_restarted: float = 0.0
    t_ready: float = 0.0
    t_in_rotation: float = 0.0


def _new_pid(topo: Topology, kill: Kill) -> bool:
    pid = supervisor.pid(topo, kill.victim)
    if pid is None or pid == kill.old_pid:
        return False
    kill.new_pid = pid
    return True


def _kill_and_replace(topo: Topology, kill: Kill, rep: report.Report) -> None:
    """SIGKILL the instance's process group; wait until the balancer and supervisord react."""
    sock = topo.haproxy_sock
    kill.checks_before = haproxy.server_checks(sock, "app", kill.victim)
    kill.t_kill = time.monotonic()
    os.killpg(kill.old_pid, signal.SIGKILL)
    rep.mark(f"{kill.victim}: SIGKILL to its process group (pid {kill.old_pid})")
    wait_until(lambda: _new_pid(topo, kill), REPLACE_BUDGET_SECONDS, f"{kill.victim} restarted")
    kill.t_restarted = time.monotonic()
    rep.mark(f"{kill.victim}: restarted by supervisord (pid {kill.new_pid})")
    url = topo.url(kill.victim, "/readyz")
    wait_until(lambda: answers_ok(url), REPLACE_BUDGET_SECONDS, f"{kill.victim} ready")
    kill.t_ready = time.monotonic()
    rep.mark(f"{kill.victim}: /readyz 200")
    haproxy.wait_status(sock, "app", kill.victim, {"UP"}, 15)
    # A fast replacement can be back before two checks failed (HAProxy never marked it DOWN):
    # wait for a check that passed after it was ready.
    checks_at_ready = haproxy.server_checks(sock, "app", kill.victim)["chkfail"]
    wait_until(
        lambda: (
            haproxy.in_rotation_and_checked(sock, "app", kill.victim)
            and haproxy.server_checks(sock, "app", kill.victim)["chkfail"] == checks_at_ready
        ),
        15,
        f"{kill.victim} in rotation with a passed check",
    )
    kill.t_in_rotation = time.monotonic()
    kill.checks_after = haproxy.server_checks(sock, "app", kill.victim)
    rep.mark(f"{kill.victim}: UP in HAProxy, in rotation")


def _record(rep: report.Report, kill: Kill, result: LoadResult, *, load_covered: bool) -> None:
    """Record the checks of the report."""
    replaced = kill.t_in_rotation - kill.t_kill
    rep.check(
        "load ran until the replacement was in rotation",
        "yes" if load_covered else "no: the load ended first",
        "yes",
        ok=load_covered,
    )
    rep.check("requests sent", result.sent, "all answered", ok=result.unanswered == 0)
    rep.check(
        "failed requests through the balancer (non-2xx or no answer)",
        ", ".join(f"{k}: {v}" for k, v in result.failures_by_type().items()) or "0",
        "0",
        ok=result.failed() == 0,
    )
    rep.check(
        "instance replaced by supervisord",
        f"pid {kill.old_pid} -> {kill.new_pid}",
        "a new process",
        ok=kill.new_pid not in (0, kill.old_pid),
    )
    rep.check(
        "kill -> replacement in rotation (s)",
        round(replaced, 2),
        f"< {REPLACE_BUDGET_SECONDS:g}",
        ok=replaced < REPLACE_BUDGET_SECONDS,
    )


def run(topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:
    """Kill one app instance under load; return the report."""
    rep = report.Report("kill-instance", "App instance killed (SIGKILL) under load", command)
    victim = instances.running_apps(topo)[0]
    pid = supervisor.pid(topo, victim)
    if pid is None:
        raise RehearsalError(f"{victim} is not running")
    kill = Kill(victim, pid)
    duration = size.baseline_seconds + REPLACE_EXPECTED_SECONDS + size.tail_seconds
    spec = LoadSpec.for_seconds(
        topo.url("app-lb", "/health"), size.concurrency, size.rate, duration
    )
    before = haproxy.counters(topo.haproxy_sock, "app")
    load = Load(spec, topo.state_dir / "kill-instance-hey.csv")
    rep.start_clock(load.started_at)
    rep.mark(f"load starts: {spec.concurrency} workers x {spec.rate} req/s on GET /health")
    time.sleep(size.baseline_seconds)
    _kill_and_replace(topo, kill, rep)
    load_covered = load.running()
    result = load.wait(timeout=duration * 3 + 30)
    rep.mark("load ends")
    after = haproxy.counters(topo.haproxy_sock, "app")
    _record(rep, kill, result, load_covered=load_covered)
    retries = after["wretr"] - before["wretr"]
    redispatches = after["wredis"] - before["wredis"]
    rep.numbers = {
        "victim": victim,
        "old_pid": kill.old_pid,
        "new_pid": kill.new_pid,
        "requests": result.sent,
        "failed": result.failed(),
        "failed_by_type": result.failures_by_type(),
        "unanswered": result.unanswered,
        "failed_checks": kill.checks_after["chkfail"] - kill.checks_before["chkfail"],
        "marked_down": kill.checks_after["chkdown"] - kill.checks_before["chkdown"],
        "kill_to_restarted_seconds": round(kill.t_restarted - kill.t_kill, 2),
        "kill_to_ready_seconds": round(kill.t_ready - kill.t_kill, 2),
        "kill_to_in_rotation_seconds": round(kill.t_in_rotation - kill.t_kill, 2),
        "haproxy_retries": retries,
        "haproxy_redispatches": redispatches,
        "load": {"concurrency": spec.concurrency, "rate_per_worker": spec.rate},
    }
    rep.notes.append(
        f"HAProxy retried {retries} request(s) and redispatched {redispatches} to another "
        "instance: the requests that were on the killed instance, or sent to it before its "
        "check failed. An ALB does not retry; there, those requests would fail (502), which "
        "is why the chart's PodDisruptionBudget and graceful drain matter for planned stops."
    )
    png = out_dir / "kill-instance.png"
    spans = [(kill.t_kill - rep.t0, kill.t_in_rotation - rep.t0, "killed -> back in rotation")]
    report.plot(png, "App instance killed under load (GET /health through HAProxy)", result,
                list(rep.timeline), spans)  # fmt: skip
    report.write(rep, out_dir, png)
    return rep
