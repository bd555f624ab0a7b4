"""Bring the rehearsal up and take it down.

``up`` starts every component through supervisord in dependency order and waits for each one
to be ready, printing ``waiting -> ready`` with timings; it is safe to rerun. ``down`` stops
everything and checks that no process of the rehearsal is left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from rehearsal.base import (
    configs,
    haproxy,
    instances,
    network,
    pair,
    postgres,
    supervisor,
    walvolume,
)
from rehearsal.base.binaries import find_binaries
from rehearsal.base.configs import Binaries, Secrets
from rehearsal.base.credentials import load_secrets, make_server_certificates, provision_app_role
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import (
    APP_INSTANCES,
    ETCD_MEMBERS,
    PG_NODES,
    SLOTS,
    Topology,
    app_program,
)
from test_app_tooling.postgres import give_to_server_user
from test_app_tooling.process import WaitTimeoutError, http_ok, wait_until
from test_app_tooling.tools import find_tool


def log_tail(topo: Topology, name: str, lines: int = 15) -> str:
    """Return the last lines of a program's log, indented, for an error message."""
    tail = topo.log_lines(name)[-lines:]
    return f"  last lines of {topo.logs / f'{name}.log'}:\n    " + "\n    ".join(tail)


def start_programs(topo: Topology, *names: str) -> None:
    """Start the programs that are not running; fail with the log of one that cannot start."""
    procs = supervisor.status(topo)
    for name in names:
        if procs[name].state == "RUNNING":
            continue
        try:
            supervisor.start(topo, name)
        except supervisor.SupervisorError as exc:
            raise RehearsalError(f"{exc}\n{log_tail(topo, name)}") from exc


class Progress:
    """Prints one line when a component starts waiting and one when it is ready."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.t0 = time.monotonic()
        self.quiet = quiet

    def say(self, text: str) -> None:
        """Print one progress line with the time since the start."""
        if not self.quiet:
            print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", flush=True)

    def wait(  # noqa: PLR0913, PLR0917
        self,
        name: str,
        what: str,
        check: Callable[[], bool],
        timeout: float,
        topo: Topology,
        since: float | None = None,
    ) -> float:
        """Poll ``check`` until it passes; fail with the component's log tail on timeout."""
        self.say(f"{name:<22} waiting: {what}")
        start = since if since is not None else time.monotonic()
        left = round(timeout - (time.monotonic() - start), 1)
        try:
            wait_until(check, left, what, interval=0.2)
        except WaitTimeoutError as exc:
            raise RehearsalError(f"{name} was not ready: {exc}\n{log_tail(topo, name)}") from exc
        took = time.monotonic() - start
        self.say(f"{name:<22} ready in {took:.1f}s")
        return took


# Up ---------------------------------------------------------------------------------------------


def write_configs(topo: Topology, secrets: Secrets, bins: Binaries) -> None:
    """Write every config file into the state folder."""
    for folder in (topo.etc, topo.logs, topo.run):
        folder.mkdir(parents=True, exist_ok=True)
    topo.etc.chmod(0o700)  # the supervisord config holds the app's database password
    (topo.etc / "haproxy.cfg").write_text(configs.render_haproxy(topo))
    for node in PG_NODES:
        path = topo.patroni_conf(node)
        path.write_text(configs.render_patroni(topo, secrets, bins, node))
        path.chmod(0o600)  # it holds the superuser's and the replication role's passwords
        give_to_server_user(path, topo.pg_os_user)
    topo.supervisor_conf.write_text(configs.render_supervisord(topo, secrets, bins))
    topo.supervisor_conf.chmod(0o600)
    (topo.etc / "prometheus.yml").write_text(configs.render_prometheus(topo))
    (topo.etc / "alertmanager.yml").write_text(configs.render_alertmanager())
    instances.write_app_targets(
        topo, [app_program(n, SLOTS[0]) for n in range(1, APP_INSTANCES + 1)]
    )


def start_supervisord(topo: Topology, progress: Progress) -> None:
    """Start supervisord (it daemonizes) unless it is already running."""
    if supervisor.running(topo):
        progress.say(
            "supervisord            already running: reloading nothing, starting what is stopped"
        )
        return
    subprocess.run(
        [find_tool("supervisord"), "-c", str(topo.supervisor_conf)], check=True, timeout=30
    )
    progress.wait(
        "supervisord", "control socket answers", lambda: supervisor.running(topo), 20, topo
    )


def _starter(topo: Topology, progress: Progress) -> Callable[..., None]:
    """Return ``start(name, what, check, timeout=60)``: start a program and wait until ready."""

    def start(name: str, what: str, check: Callable[[], bool], timeout: float = 60) -> None:
        since = time.monotonic()
        progress.say(f"{name:<22} starting")
        start_programs(topo, name)
        progress.wait(name, what, check, timeout, topo, since)

    return start


def _prepare(topo: Topology, progress: Progress, bins: Binaries, secrets: Secrets) -> bool:
    """Write configs and folders (unless running); return whether no node has data yet."""
    network.up(topo)
    if not supervisor.running(topo):
        postgres.prepare_pg_root(topo)
        for node in PG_NODES:
            postgres.prepare_node_dir(topo, node)
        walvolume.up(topo)
        make_server_certificates(topo)
        postgres.write_pgpass(topo, secrets)
        write_configs(topo, secrets, bins)
    fresh = not any(postgres.has_data(topo, node) for node in PG_NODES)
    if fresh:
        progress.say(f"{PG_NODES[0]:<22} Patroni bootstraps the cluster (first run)")
    return fresh


def _start_database(
    topo: Topology,
    progress: Progress,
    bins: Binaries,
    secrets: Secrets,
    *,
    fresh: bool,
) -> tuple[str, str]:
    """etcd, Patroni on both nodes, the clients' roles, HAProxy's endpoints; return the roles."""
    start = _starter(topo, progress)
    # Together: a member alone cannot elect a leader, so none answers /health before two run.
    since = time.monotonic()
    start_programs(topo, *ETCD_MEMBERS)
    for member in ETCD_MEMBERS:
        progress.wait(
            member,
            "answers /health (the members elected a leader)",
            partial(http_ok, topo.url(member, "/health"), '"health":"true"'),
            60,
            topo,
            since,
        )
    first = PG_NODES[0]
    if fresh:
        # One node bootstraps (initdb) and leads; the other then clones it.
        start(
            first,
            "Patroni leads: GET /primary is 200",
            lambda: http_ok(topo.url(f"patroni-{first}", "/primary")),
            120,
        )
    since = time.monotonic()
    start_programs(topo, *PG_NODES)
    progress.wait(
        "patroni-cluster",
        "a leader, the other node streaming",
        lambda: pair.whole(topo, bins) is not None,
        180,
        topo,
        since,
    )
    primary, standby = pair.wait_whole(topo, bins, 10)
    postgres.psql(topo, bins, topo.port(primary), postgres.bootstrap_sql(secrets))
    progress.say(f"{primary:<22} leads; the monitoring role and the app's database are in place")
    start(
        "haproxy",
        "writer endpoint reaches the primary",
        lambda: pair.role_of(topo, bins, topo.port("pg-writer")) == f"{primary} primary",
    )
    progress.wait(
        "reader-endpoint",
        "reaches the standby",
        lambda: pair.role_of(topo, bins, topo.port("pg-reader")) == f"{standby} standby",
        30,
        topo,
    )
    changes = provision_app_role(topo, bins, secrets)
    progress.say(
        f"{'test_app role':<22} test-app-db-role: "
        + ("; ".join(changes) if changes else "already as it should be")
    )
    return primary, standby


def _start_apps(topo: Topology, progress: Progress) -> None:
    """Start every instance together, like a Deployment, and wait until each is in rotation."""
    apps = instances.slots_to_start(topo)
    since = time.monotonic()
    progress.say(f"{'apps':<22} starting {', '.join(apps)} together, like a Deployment")
    supervisor.start(topo, *apps)
    for name in apps:
        progress.wait(
            name,
            "GET /readyz is 200",
            lambda n=name: http_ok(topo.url(n, "/readyz")),  # type: ignore[misc]
            60,
            topo,
            since,
        )
    for name in apps:
        haproxy.set_state(topo.haproxy_sock, "app", name, "ready")  # no-op when in rotation
    instances.write_app_targets(topo, apps)
    for name in apps:
        progress.wait(
            f"{name}-in-rotation",
            "HAProxy marks it UP",
            lambda n=name: haproxy.server_status(topo.haproxy_sock, "app").get(n) == "UP",  # type: ignore[misc]
            30,
            topo,
            since,
        )


def _start_monitoring(topo: Topology, progress: Progress) -> None:
    """Start the exporters, Alertmanager and Prometheus."""
    start = _starter(topo, progress)
    start(
        "node-exporter", "serves /metrics", lambda: http_ok(topo.url("node-exporter", "/metrics"))
    )
    start(
        "blackbox-exporter",
        "probes /health through HAProxy",
        lambda: http_ok(
            topo.url(
                "blackbox-exporter",
                f"/probe?module={configs.BLACKBOX_MODULE}&target={topo.url('app-lb', '/health')}",
            ),
            "probe_success 1",
        ),
    )
    for role in ("writer", "reader"):
        name = f"pg-exporter-{role}"
        start(name, "pg_up is 1", partial(http_ok, topo.url(name, "/metrics"), "pg_up 1"))
    start("alertmanager", "/-/ready", lambda: http_ok(topo.url("alertmanager", "/-/ready")))
    start("prometheus", "/-/ready", lambda: http_ok(topo.url("prometheus", "/-/ready")))


def up(topo: Topology, *, quiet: bool = False) -> None:
    """Bring every component up in dependency order, waiting for each to be ready."""
    progress = Progress(quiet=quiet)
    bins = find_binaries()
    progress.say(f"state folder {topo.state_dir}, ports {topo.port_base}-{topo.port_base + 93}")
    topo.state_dir.mkdir(parents=True, exist_ok=True)
    secrets = load_secrets(topo)
    fresh = _prepare(topo, progress, bins, secrets)
    start_supervisord(topo, progress)
    _start_database(topo, progress, bins, secrets, fresh=fresh)
    _start_apps(topo, progress)
    _start_monitoring(topo, progress)
    progress.wait(
        "load-balancer",
        "GET /health is 200 UP",
        lambda: http_ok(topo.url("app-lb", "/health"), "UP"),
        30,
        topo,
    )
    progress.say("the rehearsal is up")
    if not quiet:
        print_urls(topo)


def print_urls(topo: Topology) -> None:
    """Print the URLs to try."""
    lines = [
        ("app (through HAProxy)", topo.url("app-lb", "/health")),
        ("", topo.url("app-lb", "/health/read")),
        ("", topo.url("app-lb", "/metrics")),
        ("", topo.url("app-lb", "/version")),
        ("HAProxy stats", topo.url("haproxy-stats", "/")),
        ("Prometheus", topo.url("prometheus", "/alerts")),
        ("Alertmanager", topo.url("alertmanager", "/")),
        (
            "PostgreSQL writer",
            f"postgresql://test_app@127.0.0.1:{topo.port('pg-writer')}/test_app",
        ),
        (
            "PostgreSQL reader",
            f"postgresql://test_app@127.0.0.1:{topo.port('pg-reader')}/test_app",
        ),
    ]
    print("\nTry:")
    for label, url in lines:
        print(f"  {label:<24} {url}")
    print(f"  (passwords: {topo.secrets / 'passwords.json'}; logs: {topo.logs})")
    print("Then: make status | make rehearse | make down")


# Down -------------------------------------------------------------------------------------------


def leftover_pids(topo: Topology) -> list[int]:
    """Return the pids of this rehearsal's processes.

    supervisord has its config (in the state folder) on its command line; every child carries
    ``REHEARSAL_SUPERVISED=<state folder>`` in its environment.
    """
    cmd_markers = [str(topo.state_dir).encode()]
    env_marker = f"REHEARSAL_SUPERVISED={topo.state_dir}".encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes() + b"\0"
        except OSError:
            continue
        if env_marker in environ or (
            b"supervisord" in cmdline and any(m in cmdline for m in cmd_markers)
        ):
            found.append(int(entry.name))
    return found


def _stop_quietly(topo: Topology, name: str) -> None:
    with contextlib.suppress(supervisor.SupervisorError):
        supervisor.stop(topo, name, timeout=120)


def down(topo: Topology, *, quiet: bool = False, purge: bool = False) -> None:
    """Stop every process, then prove none is left; ``purge`` deletes the state."""
    progress = Progress(quiet=quiet)
    if topo.supervisor_conf.exists() and supervisor.running(topo):
        progress.say("stopping Prometheus, the apps (each drains first), then everything else")
        # Prometheus first: a scrape of the teardown would leave `up == 0` samples that look
        # like down targets for 5 minutes after the next `make up`.
        # Whatever fails to stop here is found and killed by the check for leftovers below.
        with contextlib.suppress(supervisor.SupervisorError):
            supervisor.stop(topo, "prometheus")
        procs = supervisor.status(topo)
        apps = [n for n, p in procs.items() if n.startswith("app") and p.state == "RUNNING"]
        # In parallel, as a Deployment scaled to zero: each app drains on its own.
        with ThreadPoolExecutor(max_workers=max(len(apps), 1)) as pool:
            list(pool.map(partial(_stop_quietly, topo), apps))
        with contextlib.suppress(supervisor.SupervisorError):
            supervisor.stop_all(topo)
        with contextlib.suppress(supervisor.SupervisorError):
            supervisor.shutdown(topo)
        with contextlib.suppress(WaitTimeoutError):
            wait_until(
                lambda: not supervisor.running(topo), 30, "supervisord to exit", interval=0.2
            )
    else:
        progress.say("supervisord is not running")
    with contextlib.suppress(WaitTimeoutError):
        wait_until(lambda: not leftover_pids(topo), 15, "every process to exit", interval=0.3)
    if left := leftover_pids(topo):
        # Only processes that carry our state folder on their command line.
        progress.say(f"still running after shutdown: {left}; sending SIGKILL")
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        left = leftover_pids(topo)
        if left:
            raise RehearsalError(f"processes of the rehearsal are still running: {left}")
    progress.say("nothing of the rehearsal is running")
    walvolume.down(topo)
    network.down(topo)
    if purge:
        if topo.pg_link.is_symlink():
            shutil.rmtree(topo.pg_root, ignore_errors=True)
        shutil.rmtree(topo.state_dir, ignore_errors=True)
        progress.say(f"removed {topo.state_dir}")
