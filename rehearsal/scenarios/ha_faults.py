"""Rehearsals of the faults that cost data, not only answers: each one counts acknowledged rows.

Every scenario here runs the same frame: load on ``GET /health`` through the balancer, probes of
each node's Patroni ``GET /primary``, and a writer committing numbered rows through the writer
endpoint (``rehearsal.measure.writes``). Then one fault, held longer than Patroni's ``ttl``:

* ``freeze-primary``: SIGSTOP of every process of the primary (Patroni and PostgreSQL), as a
  hung VM or a long I/O stall. The standby is promoted after ``ttl``; the thawed former primary
  must not take the leadership back (Patroni 3.0.2 did: the promoted node's rows were rewound).
* ``partition-primary``: the primary's node cut off from everything (its veth down); the
  standby is promoted after ``ttl``, the cut-off primary demotes itself (it reaches neither etcd
  nor the other member, so failsafe_mode does not keep it) and rejoins when the link is back.
  Then a second phase: the new primary's zone isolated together with its clients (cut from the
  etcd members and the standby while HAProxy still reaches it). Its REST API answers
  ``/primary`` until its lease would have expired, so the app keeps writing to it after the
  standby lost sight of it: with asynchronous replication those commits were acknowledged and
  then rewound (``synchronous_mode`` makes them wait instead).
* ``dcs-loss``: one etcd member killed (a quorum remains: nothing may fail), then a majority of
  etcd hung (no quorum: ``failsafe_mode`` keeps the primary while it reaches every member).
* ``wal-full``: the primary's WAL volume full (a file takes every free block); the server stops
  at the next WAL segment it must create and the standby is promoted. The old node then runs in
  recovery but cannot stream (no room for WAL): that needs a person, so
  ``PatroniNoStreamingStandby`` must come within 2 minutes. Then the person's step of its
  runbook (free the space) and nothing else: Patroni must make the node a streaming standby
  again by itself.

Afterwards: every acknowledged row exists (0 lost), the servers that acknowledged writes never
overlap in time (at most one writable primary behind the endpoint), the pair is whole again
without a hand step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from rehearsal.base import etcd, faults, instances, network, pair, postgres, supervisor, walvolume
from rehearsal.base.binaries import find_binaries
from rehearsal.base.configs import PATRONI_SYNCHRONOUS_MODE, PATRONI_TTL, Binaries
from rehearsal.base.errors import RehearsalError
from rehearsal.base.lifecycle import log_tail
from rehearsal.base.topology import ETCD_MEMBERS, PG_NODES, Topology
from rehearsal.measure import report
from rehearsal.measure.alerts import alert_state
from rehearsal.measure.load import Load, LoadResult, LoadSpec
from rehearsal.measure.probe import Prober, promotion_label, promotion_target
from rehearsal.measure.sizes import Size
from rehearsal.measure.writes import Writer, record_writes, writer_dsn
from test_app_tooling.process import WaitTimeoutError, wait_until


BALANCER = "balancer /health"
# A fault that needs a person raises its alert within this many seconds.
ALERT_TARGET_SECONDS = 120.0
WHOLE_AGAIN_SECONDS = 180.0
STEADY_SECONDS = 3.0  # whole again means: a standby streaming at every look for this long
# wal-full: WAL segment switches before the server must have stopped (it stops at the first
# segment it has to create; a few recycled ones may come first), and the bound on the failover.
WAL_SWITCHES_MAX = 300
PROMOTED_TARGET_SECONDS = 30.0


@dataclass
class Run:
    """The pair before the fault and what the fault did (``time.monotonic()`` values)."""

    primary: str
    standby: str
    size: Size
    rep: report.Report
    t_fault: float = 0.0
    t_fault_end: float = 0.0
    windows: list[tuple[float, float, str]] = field(default_factory=list)  # spans to plot
    numbers: dict[str, object] = field(default_factory=dict)
    member_down: tuple[float, float] = (0.0, 0.0)  # dcs-loss: one etcd member killed
    majority_hung: tuple[float, float] = (0.0, 0.0)  # dcs-loss: two of three hung
    alerts: dict[str, tuple[str, float | None]] = field(default_factory=dict)  # state, after s
    log_from: int = 0  # wal-full: the old primary's Patroni log lines before the fault
    standby_log_from: int = 0  # wal-full: the standby's

    def hold_seconds(self) -> float:
        """How long a fault is held: longer than ``ttl``, by the size's margin."""
        return PATRONI_TTL + self.size.fault_margin_seconds


# The faults ------------------------------------------------------------------------------------


def freeze_primary(topo: Topology, run: Run) -> None:
    """SIGSTOP every process of the primary's node for longer than ``ttl``, then SIGCONT."""
    pids = faults.node_tree(topo, run.primary)
    run.t_fault = time.monotonic()
    faults.freeze(pids)
    run.rep.mark(f"{run.primary}: SIGSTOP of its {len(pids)} processes (Patroni, PostgreSQL)")
    time.sleep(run.hold_seconds())
    faults.thaw(pids)
    run.t_fault_end = time.monotonic()
    run.rep.mark(f"{run.primary}: SIGCONT (frozen {run.t_fault_end - run.t_fault:.1f}s)")
    run.windows.append((run.t_fault, run.t_fault_end, "primary frozen"))
    run.numbers["frozen_seconds"] = round(run.t_fault_end - run.t_fault, 1)
    run.numbers["frozen_processes"] = len(pids)


def partition_primary(topo: Topology, run: Run) -> None:
    """Cut the primary's node off from etcd, the standby and HAProxy for longer than ``ttl``."""
    run.t_fault = time.monotonic()
    network.cut(topo, run.primary)
    run.rep.mark(f"{run.primary}: its link is down (cut off from etcd, the standby, HAProxy)")
    time.sleep(run.hold_seconds())
    network.heal(topo, run.primary)
    run.t_fault_end = time.monotonic()
    run.rep.mark(f"{run.primary}: link up again (cut {run.t_fault_end - run.t_fault:.1f}s)")
    run.windows.append((run.t_fault, run.t_fault_end, "primary partitioned"))
    run.numbers["partitioned_seconds"] = round(run.t_fault_end - run.t_fault, 1)
    isolate_zone_with_clients(topo, run)


def isolate_zone_with_clients(topo: Topology, run: Run) -> None:
    """Cut the (new) primary from the etcd members and the standby; HAProxy still reaches it."""
    bins = find_binaries()
    wait_until(lambda: _ready_for_failover(topo, bins), WHOLE_AGAIN_SECONDS, "a failover target")
    time.sleep(run.size.baseline_seconds)  # the writer acknowledges on the new primary first
    zone = pair.leader(topo)
    if zone is None:
        raise RehearsalError("no leader before isolating the primary's zone")
    t_cut = time.monotonic()
    etcd_ports = [topo.port(member) for member in ETCD_MEMBERS]
    network.isolate_keeping_clients(topo, zone, pair.other(zone), etcd_ports)
    run.rep.mark(f"{zone}: cut from etcd and {pair.other(zone)}; HAProxy still reaches it")
    try:
        time.sleep(run.hold_seconds())
    finally:
        network.rejoin_keeping_clients(topo, zone)
    run.t_fault_end = time.monotonic()
    run.rep.mark(f"{zone}: reaches etcd and {pair.other(zone)} again")
    run.windows.append((t_cut, run.t_fault_end, "primary's zone isolated with its clients"))
    run.numbers["zone_isolated"] = zone
    run.numbers["zone_isolated_seconds"] = round(run.t_fault_end - t_cut, 1)


def _ready_for_failover(topo: Topology, bins: Binaries) -> bool:
    """Say whether the pair is whole and, in synchronous mode, the standby is the sync one."""
    if pair.whole(topo, bins) is None:
        return False
    return not PATRONI_SYNCHRONOUS_MODE or pair.sync_standby(topo) is not None


def dcs_loss(topo: Topology, run: Run) -> None:
    """One etcd member killed (a quorum remains), then a majority of the members hung."""
    first, *rest = ETCD_MEMBERS
    run.t_fault = time.monotonic()
    supervisor.signal(topo, first, "KILL")
    run.rep.mark(f"{first}: SIGKILL (two of three members remain: a quorum)")
    _hold_until_alerted(topo, run, "EtcdMemberDown")
    t_member_back = time.monotonic()
    supervisor.start(topo, first)
    run.rep.mark(f"{first}: started again")
    run.windows.append((run.t_fault, t_member_back, "one etcd member down"))
    run.member_down = (run.t_fault, t_member_back)
    wait_until(lambda: _etcd_healthy(topo), 60, "every etcd member healthy again")
    time.sleep(run.size.baseline_seconds)
    hung = rest
    pids = [pid for name in hung for pid in faults.program_tree(topo, name)]
    t_hang = time.monotonic()
    faults.freeze(pids)
    run.rep.mark(f"{', '.join(hung)}: SIGSTOP (a majority hung: no quorum)")
    _hold_until_alerted(topo, run, "EtcdQuorumLost")
    faults.thaw(pids)
    run.t_fault_end = time.monotonic()
    run.rep.mark(f"{', '.join(hung)}: SIGCONT")
    run.windows.append((t_hang, run.t_fault_end, "etcd majority hung"))
    run.majority_hung = (t_hang, run.t_fault_end)
    # The thawed former leader answers stale reads until it steps down: the scenario ends when
    # the members are one cluster again, so the next one starts from a DCS that tells the truth.
    settled = wait_until(
        lambda: etcd.settled(topo), 60, "the etcd members on one leader and term", interval=0.5
    )
    run.rep.mark(f"etcd members on one leader and term again ({settled:.1f}s after SIGCONT)")
    run.numbers["etcd_settled_after_seconds"] = round(settled, 1)


def wal_full(topo: Topology, run: Run) -> None:
    """Fill the primary's WAL volume; hold until the alert; then free it, as its runbook says."""
    run.log_from = len(topo.log_lines(run.primary))
    run.standby_log_from = len(topo.log_lines(run.standby))
    try:
        run.t_fault = time.monotonic()
        taken = walvolume.fill(topo, run.primary)
        run.rep.mark(f"{run.primary}: WAL volume full ({taken >> 20} MiB taken, 0 bytes free)")
        switches = _switch_wal_until_stopped(topo, run.primary)
        run.rep.mark(f"{run.primary}: stopped: no room for a new WAL segment ({switches} switches)")
        try:
            promoted = wait_until(
                lambda: pair.leader(topo) == run.standby,
                PROMOTED_TARGET_SECONDS,
                f"{run.standby} promoted by Patroni",
            )
        except WaitTimeoutError as exc:
            # Rare under CI load: say what each Patroni saw and did, so the failing run itself
            # tells why no failover came.
            tails = "\n".join(log_tail(topo, node, 40) for node in (run.primary, run.standby))
            raise RehearsalError(f"{exc}\nviews: {pair.views(topo)}\n{tails}") from exc
        run.numbers["fault_to_promoted_seconds"] = round(time.monotonic() - run.t_fault, 1)
        run.rep.mark(f"{run.standby}: promoted by Patroni ({promoted:.1f}s after the stop)")
        # The old node cannot stream (no room for WAL) and a person must act, unless Patroni
        # brings it back by itself. Held a margin past the promotion and until either.
        _hold_until_alerted_or_back(topo, run, "PatroniNoStreamingStandby")
        stuck = _member_state(topo, run.primary)
        run.numbers["old_node_before_freeing"] = stuck
        run.rep.mark(f"{run.primary} before the space is freed: {stuck}")
    finally:
        freed = walvolume.release(topo, run.primary)
    run.t_fault_end = time.monotonic()
    if freed:
        run.rep.mark(f"{run.primary}: the filler deleted (the runbook's step); nothing else done")
    run.windows.append((run.t_fault, run.t_fault_end, "primary's WAL volume full"))
    run.numbers["wal_full_seconds"] = round(run.t_fault_end - run.t_fault, 1)
    run.numbers["wal_switches_to_stop"] = switches


def _hold_until_alerted_or_back(topo: Topology, run: Run, alert: str) -> None:
    """Hold until ``alert`` is firing (pending at CI size) or the old primary streams again.

    Either answers the target: a node back without a hand step, or a person alerted within
    ``ALERT_TARGET_SECONDS``. The hold lasts the size's margin at least.
    """
    bins = find_binaries()
    start = time.monotonic()
    wanted = ("firing",) if run.size.outage_until_firing else ("pending", "firing")
    seen: float | None = None
    streaming_looks = 0
    back: float | None = None
    while time.monotonic() - start < ALERT_TARGET_SECONDS:
        if seen is None and alert_state(topo, alert) in wanted:
            seen = time.monotonic() - start
            run.rep.mark(f"{alert} {alert_state(topo, alert)}")
        try:
            streams = pair.streaming(topo, bins, run.standby, run.primary)
        except postgres.PostgresError:
            streams = False
        streaming_looks = streaming_looks + 1 if streams else 0
        if back is None and streaming_looks >= STEADY_SECONDS:  # one look a second
            back = time.monotonic() - start
            run.rep.mark(f"{run.primary}: streaming again by itself")
        done = seen is not None or back is not None
        if done and time.monotonic() - start >= run.size.fault_margin_seconds:
            break
        time.sleep(1)
    run.alerts[alert] = (wanted[0], None if seen is None else round(seen, 1))
    run.numbers["old_node_back_by_itself_after_seconds"] = None if back is None else round(back, 1)


def _switch_wal_until_stopped(topo: Topology, node: str) -> int:
    """Make the server start WAL segments (as a write burst would) until it stops; return how many.

    A full volume stops the server only when it must create a segment file: the current one and
    any recycled ones are already allocated.
    """
    bins = find_binaries()
    for switch in range(1, WAL_SWITCHES_MAX + 1):
        try:
            postgres.psql(
                topo, bins, topo.port(node), "SELECT txid_current(); SELECT pg_switch_wal();"
            )
        except postgres.PostgresError:
            return switch
    raise RehearsalError(
        f"{node} still runs after {WAL_SWITCHES_MAX} WAL segments on a full volume"
    )


def _member_state(topo: Topology, node: str) -> str:
    """Say what Patroni reports of ``node`` (role, state) and whether it streams."""
    leader = pair.leader(topo)
    try:
        streams = leader not in (None, node) and pair.streaming(
            topo, find_binaries(), str(leader), node
        )
    except postgres.PostgresError:
        streams = False
    for asked in PG_NODES:
        try:
            members = httpx.get(topo.url(f"patroni-{asked}", "/cluster"), timeout=2).json()
        except (httpx.HTTPError, ValueError):
            continue
        for member in members.get("members", []):
            if member.get("name") == node:
                return (
                    f"{member.get('role')}, {member.get('state')}, "
                    f"{'streaming' if streams else 'not streaming'}"
                )
    return "not reported by Patroni"


def _hold_until_alerted(topo: Topology, run: Run, alert: str) -> None:
    """Hold the fault past ``ttl`` and until ``alert`` is firing (pending at CI size).

    A lost etcd member or quorum needs a person: the alert must come within
    ``ALERT_TARGET_SECONDS``. The hold ends there at the latest; a late alert fails the check.
    """
    start = time.monotonic()
    wanted = ("firing",) if run.size.outage_until_firing else ("pending", "firing")
    seen: float | None = None
    while time.monotonic() - start < ALERT_TARGET_SECONDS:
        if seen is None and alert_state(topo, alert) in wanted:
            seen = time.monotonic() - start
            run.rep.mark(f"{alert} {alert_state(topo, alert)}")
        if seen is not None and time.monotonic() - start >= run.hold_seconds():
            break
        time.sleep(1)
    run.alerts[alert] = (wanted[0], None if seen is None else round(seen, 1))


def _etcd_healthy(topo: Topology) -> bool:
    from test_app_tooling.process import http_ok  # noqa: PLC0415

    return all(http_ok(topo.url(m, "/health"), '"health":"true"') for m in ETCD_MEMBERS)


FAULTS: dict[str, tuple[str, Callable[[Topology, Run], None]]] = {
    "freeze-primary": (
        "Frozen primary (SIGSTOP of the whole node, longer than ttl)",
        freeze_primary,
    ),
    "partition-primary": (
        "Partitioned primary (cut off from everything; then cut from etcd and the standby only)",
        partition_primary,
    ),
    "dcs-loss": ("DCS loss (one etcd member killed, then a majority hung)", dcs_loss),
    "wal-full": (
        "Full WAL volume on the primary (failover, an alert, the node back once space is freed)",
        wal_full,
    ),
}


# The frame ------------------------------------------------------------------------------------


def run(name: str, topo: Topology, size: Size, out_dir: Path, command: str) -> report.Report:
    """Run one HA fault under load with the counting writer; return the report."""
    title, inject = FAULTS[name]
    rep = report.Report(name, title, command)
    bins = find_binaries()
    # A fault starts from a settled cluster: etcd one cluster, both Patroni copies of it alike,
    # and a standby that may take over (the synchronous one). These did not explain the late
    # standby after dcs-loss (docs/rehearsal.md); they are the fault's preconditions.
    try:
        settled = wait_until(
            lambda: (
                etcd.settled(topo)
                and pair.views_agree(pair.views(topo))
                and _ready_for_failover(topo, bins)
            ),
            WHOLE_AGAIN_SECONDS,
            "a settled cluster (etcd on one leader and term, both Patroni nodes seeing the same "
            "roles, a synchronous standby streaming)",
            interval=0.5,
        )
    except WaitTimeoutError as exc:
        raise RehearsalError(f"the cluster did not settle before the fault: {exc}") from exc
    rep.numbers["waited_for_a_settled_cluster_seconds"] = round(settled, 1)
    roles = pair.whole(topo, bins)
    if roles is None:
        raise RehearsalError("no leader with a streaming standby: the pair is not whole")
    primary, standby = roles
    fault = Run(primary, standby, size, rep)
    apps = instances.running_apps(topo)
    targets = {
        BALANCER: topo.url("app-lb", "/health"),
        **{f"{a} /health": topo.url(a, "/health") for a in apps},
        **{k: v for node in PG_NODES for k, v in promotion_target(topo, node).items()},
    }
    seconds = size.baseline_seconds + 3 * fault.hold_seconds() + 240 + size.tail_seconds
    spec = LoadSpec.for_seconds(
        topo.url("app-lb", "/health"), concurrency=2, rate=size.rate, seconds=seconds
    )
    with Prober(targets, size.probe_interval) as prober, Writer(writer_dsn(topo)) as writer:
        load = Load(spec, topo.state_dir / f"{name}-hey.csv")
        rep.start_clock(load.started_at)
        rep.mark("load on GET /health through HAProxy; the writer commits numbered rows")
        time.sleep(size.baseline_seconds)
        inject(topo, fault)
        whole, after = _whole_steadily(topo, WHOLE_AGAIN_SECONDS)
        rep.mark(f"pair whole again: {after[0]} leads, {after[1]} streams")
        time.sleep(size.tail_seconds)
        result = load.stop()
        writes = writer.result()
        rep.mark("load and writer stop; every acknowledged row looked up")
    rep.timeline.sort()
    record_writes(rep, writes, fault.t_fault_end)
    rep.check(
        f"pair whole again (leader + standby streaming for {STEADY_SECONDS:g} s) without a hand "
        "step (s after the fault)",
        round(whole, 1),
        f"< {WHOLE_AGAIN_SECONDS:g}",
        ok=whole < WHOLE_AGAIN_SECONDS,
    )
    by_type = result.failures_by_type()
    rep.numbers.update(
        {
            "primary_before": primary,
            "primary_after": after[0] if after else None,
            "failed_by_type": by_type,
            "load_requests": result.sent,
            "load_failed": result.failed(),
            **fault.numbers,
        }
    )
    _fault_checks(name, topo, rep, fault, result)
    png = out_dir / f"{name}.png"
    probes = {label: prober.of(label) for label in prober.targets if "/primary" in label}
    probes[BALANCER] = prober.of(BALANCER)
    spans = [(s - rep.t0, e - rep.t0, label) for s, e, label in fault.windows]
    report.plot(png, title, result, list(rep.timeline), spans, probes)
    report.write(rep, out_dir, png)
    return rep


def _fault_checks(
    name: str, topo: Topology, rep: report.Report, fault: Run, result: LoadResult
) -> None:
    """Check what one fault needs beyond the writer's checks: failed requests, alerts."""
    if name == "dcs-loss":
        start, end = fault.member_down
        bad = result.failed(start - result.started_at, end - result.started_at + 5)
        rep.check(
            "failed requests while one etcd member was down",
            bad,
            "0 (a quorum remains)",
            ok=bad == 0,
        )
        start, end = fault.majority_hung
        bad_hung = result.failed(start - result.started_at, end - result.started_at + 5)
        rep.check(
            "failed requests while a majority of etcd was hung",
            bad_hung,
            "0 (failsafe_mode: the primary stays while it reaches every member)",
            ok=bad_hung == 0,
        )
        rep.numbers["failed_member_down"] = bad
        rep.numbers["failed_majority_hung"] = bad_hung
    else:
        rep.check(
            "failed requests through the balancer, by type",
            ", ".join(f"{k}: {v}" for k, v in result.failures_by_type().items()) or "none",
            "reported (writes are the target here)",
            ok=True,
        )
    if name == "wal-full":
        back_by = _back_by(topo, fault)
        rep.numbers["old_node_back_by"] = back_by
        # A race: the crashed primary, restarted as a replica at the same WAL position, may take
        # the key too (ADR 0016); how soon the standby acted decides it. Read now, not at the
        # promotion: Patroni writes its log from a queue, a moment after the fact.
        handover = pair.key_handover_seconds(
            topo.log_lines(fault.primary, fault.log_from),
            topo.log_lines(fault.standby, fault.standby_log_from),
        )
        rep.numbers["key_released_to_taken_seconds"] = (
            None if handover is None else round(handover, 2)
        )
        rep.notes.append(
            f"The old primary came back by {back_by}. Without a divergence it waits, running in "
            "recovery, until the space is freed (a person, alerted). When its last WAL had not "
            "reached the standby, it needs pg_rewind, which fails on a full volume; "
            "`remove_data_directory_on_rewind_failure` then rebuilds it from the leader "
            "instead of leaving it for a person (ADR 0016)."
        )
        promoted = fault.numbers.get("fault_to_promoted_seconds")
        rep.check(
            "standby promoted by Patroni (s after the volume filled)",
            promoted,
            f"< {PROMOTED_TARGET_SECONDS:g}",
            ok=isinstance(promoted, float) and promoted < PROMOTED_TARGET_SECONDS,
        )
    for alert, (state, alerted) in fault.alerts.items():
        if name == "wal-full":
            back = fault.numbers.get("old_node_back_by_itself_after_seconds")
            rep.check(
                f"{alert} {state} after (s), or the old node streaming again by itself",
                f"{'never' if alerted is None else alerted}; back by itself: "
                f"{'no' if back is None else f'after {back} s'}",
                f"alert < {ALERT_TARGET_SECONDS:g}, or back without a hand step",
                ok=(alerted is not None and alerted < ALERT_TARGET_SECONDS) or back is not None,
            )
            continue
        rep.check(
            f"{alert} {state} after (s)",
            "never" if alerted is None else alerted,
            f"< {ALERT_TARGET_SECONDS:g} (a person must act)",
            ok=alerted is not None and alerted < ALERT_TARGET_SECONDS,
        )
    if fault.alerts:
        rep.numbers["alerts"] = {
            a: {"state": s, "after_seconds": t} for a, (s, t) in fault.alerts.items()
        }


# What the old primary's Patroni log says it did, in the order it can happen.
BACK_BY = (
    ("replica has been created using basebackup", "a rebuild from the leader (pg_basebackup)"),
    ("pg_rewind exit code=0", "pg_rewind"),
)


def _back_by(topo: Topology, fault: Run) -> str:
    """Say how the old primary came back, from its Patroni log since the fault."""
    text = "\n".join(topo.log_lines(fault.primary, fault.log_from))
    for line, how in BACK_BY:
        if line in text:
            return how
    return "a restart as a standby (no rewind, no rebuild)"


def _whole_steadily(topo: Topology, timeout: float) -> tuple[float, tuple[str, str]]:
    """Wait until the pair is whole and stays so for ``STEADY_SECONDS``.

    Return the seconds until it became whole (the start of that steady span) and the roles. A
    node that restarts in a loop shows ``streaming`` for an instant at every attempt; one look
    at ``pg_stat_replication`` would take that for a standby that is back.
    """
    bins = find_binaries()
    start = time.monotonic()
    roles: tuple[str, str] | None = None
    since = start
    while True:
        try:
            now = pair.whole(topo, bins)
        except (postgres.PostgresError, httpx.HTTPError):
            now = None
        if now != roles:
            roles, since = now, time.monotonic()
        elif roles is not None and time.monotonic() - since >= STEADY_SECONDS:
            return since - start, roles
        if time.monotonic() - start > timeout:
            raise RehearsalError(
                f"the pair was not whole (a leader with a standby streaming for "
                f"{STEADY_SECONDS:g} s) within {timeout:g}s after the fault"
            )
        time.sleep(0.2)


def promotion_labels() -> list[str]:
    """Labels of the probes of each node's ``GET /primary``."""
    return [promotion_label(node) for node in PG_NODES]
