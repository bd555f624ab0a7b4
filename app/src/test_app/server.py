"""Serving with granian: Rust HTTP I/O, one Python worker process per `WORKERS`.

Drain on shutdown: the first SIGTERM/SIGINT sent to the main process does not stop anything.
The main process tells every worker (SIGUSR1) to fail readiness, keeps serving every request,
in flight or new, for `DRAIN_SECONDS`, and only then stops the workers the usual granian way
(they finish what is in flight, run the lifespan shutdown that closes the pools, and exit).
A second signal stops at once. The exit status is 0 after a drain, 1 if a worker died.

Kubernetes and supervisord signal the main process only, which is what this relies on; a
terminal's Ctrl-C reaches every process of the group and stops the workers without a drain.

Limits against hostile clients (docs/security.md explains each number):
- HTTP/1.1 only (no h2c): the header-read timeout then starts at accept, so a connection that
  never sends a byte is closed after `HEADER_READ_TIMEOUT_MS`, like one that sends headers too
  slowly or idles between keep-alive requests.
- `CONNECTIONS_PER_WORKER` open connections per worker (granian's backpressure), far above
  what the load balancer and the probes use, so idle connections cannot starve `/livez`; lowered
  to fit the open-file limit when that is smaller (`connections_per_worker`).
- One listening socket, made here and shared by the workers, carries the write-stall timeout
  and the send-buffer bound that every connection inherits (`test_app.listener`).
- Workers die with the main process and a silent worker ends the process (`test_app.lifeline`).
- SIGHUP is ignored: granian would respawn the workers, leaving the old ones' gauges counted.
- The metrics files must fit in the run folder: checked here, reserved by each worker.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import ipaddress
import os
import re
import resource
import shutil
import signal
import socket
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from granian.constants import HTTPModes, Interfaces, Loops
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.mp import MPServer

from test_app import lifeline
from test_app.listener import apply_connection_limits
from test_app.logs import get_logger, granian_log_config


if TYPE_CHECKING:
    from test_app.settings import Settings

log = get_logger(__name__)

DRAIN_SIGNAL = signal.SIGUSR1
APP_FACTORY = "test_app.app:create_app"
# Open connections per worker. Each idle one costs a few KiB; see docs/security.md.
CONNECTIONS_PER_WORKER = 4096
# Request headers must arrive within this after accept or after the previous response (it is
# also hyper's keep-alive idle timeout). Above the load balancer's idle timeout (the chart sets
# the ALB's to 4 s) so that the load balancer, never the app, closes an idle connection.
HEADER_READ_TIMEOUT_MS = 5000
# granian's HTTP/1 read buffer (its default is about 400 KiB, which let a 500 KB request head
# through). At 32 KiB a 30 KB head is served and a 50 KB head gets 431 (measured). Our
# requests are a few hundred bytes; the bound caps what each slow sender makes a worker hold.
MAX_HEAD_BYTES = 32 * 1024
RUN_DIR_PREFIX = "test-app-run-"
_RUN_DIR = re.compile(rf"^{RUN_DIR_PREFIX}(?P<pid>\d+)-")


class BindError(OSError):
    """The listen address cannot be bound; the message names HOST and PORT."""


class NoSpaceError(OSError):
    """The run folder's filesystem has no room for the metrics files; the message says so."""


CGROUP_MEMORY_EVENTS = Path("/sys/fs/cgroup/memory.events")


def oom_kills(events: Path = CGROUP_MEMORY_EVENTS) -> int | None:
    """Return how many processes of this container the OOM killer ended (cgroup v2), or None.

    A worker killed by the OOM killer dies of SIGKILL like any other; this count, logged with
    its death, says whether memory was the cause.
    """
    try:
        text = events.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == "oom_kill":
            return int(value)
    return None


def check_space(folder: Path, needed: int) -> None:
    """Raise NoSpaceError unless `folder`'s filesystem has `needed` bytes free."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    if free < needed:
        raise NoSpaceError(
            errno.ENOSPC,
            f"not enough space for the metrics files in {folder}: {needed // 1024} KiB needed "
            f"(1 MiB per file and worker), {free // 1024} KiB free",
        )


class DrainingServer(MPServer):
    """A granian server whose first exit signal starts a drain instead of stopping at once."""

    def __init__(self, *args: Any, drain_seconds: float, **kwargs: Any) -> None:  # noqa: ANN401 - granian's own signature
        super().__init__(*args, **kwargs)
        self.drain_seconds = drain_seconds
        self.draining = False
        self._timer: threading.Timer | None = None
        self.watchdog: lifeline.Watchdog | None = None

    def _init_shared_socket(self) -> None:
        """Build the listening socket here, once, with the limits (`test_app.listener`)."""
        super()._init_shared_socket()  # type: ignore[no-untyped-call]
        if self._ssp is not None:  # Linux: granian would let every worker bind its own
            self._shd = self._ssp.build()
            self._sfd = self._shd.get_fd()
            self._ssp = None
            listening = socket.socket(fileno=self._sfd)
            listening.set_inheritable(True)
            self._sso = listening
        if self._sso is None:
            raise BindError(0, "granian made no listening socket")
        apply_connection_limits(self._sso)

    def _spawn_workers(self, spawn_target: Any, target_loader: Any) -> None:  # noqa: ANN401 - granian's own signature
        super()._spawn_workers(spawn_target, target_loader)  # type: ignore[no-untyped-call]
        if self.watchdog is not None:
            self.watchdog.start()

    def worker_exits(self) -> list[str]:
        """How each worker that ended did: `exit 1`, or the signal that killed it (`SIGBUS`)."""
        exits = []
        for worker in self.wrks:
            code = worker.inner.exitcode
            if code is None:
                continue
            exits.append(f"exit {code}" if code >= 0 else signal.Signals(-code).name)
        return exits

    def worker_pids(self) -> list[int | None]:
        """Return the pids of the current workers."""
        return [worker.inner.pid for worker in self.wrks]

    def signal_handler_interrupt(self, *args: object, **kwargs: object) -> None:
        """First signal: drain for `drain_seconds`, then stop. Second signal: stop now."""
        if self.draining or self.drain_seconds <= 0:
            if self._timer is not None:
                self._timer.cancel()
            super().signal_handler_interrupt(*args, **kwargs)  # type: ignore[no-untyped-call]
            return
        self.draining = True
        for worker in self.wrks:
            pid = worker.inner.pid
            if pid is not None:
                os.kill(pid, DRAIN_SIGNAL)
        self._timer = threading.Timer(self.drain_seconds, self._stop)
        self._timer.daemon = True
        self._timer.start()

    def signal_handler_reload(self, *_args: object, **_kwargs: object) -> None:
        """Ignore SIGHUP (granian would respawn every worker).

        A respawned worker's gauges stay in the multiprocess files (4 SIGHUPs:
        `test_app_db_pool_max_size` x 4), and the dead one's last readiness and database gauges
        can hold the `livemin` views down. A new configuration means a new pod.
        """
        threading.Thread(  # not from the signal handler itself: it may interrupt a log call
            target=log.warning,
            args=("SIGHUP ignored: restart the process to change its configuration",),
            daemon=True,
        ).start()

    def _stop(self) -> None:
        log.info("drain period over: stopping workers")
        super().signal_handler_interrupt()  # type: ignore[no-untyped-call]


def check_bind(host: str, port: int) -> None:
    """Bind and release the listen address once, so a failure is one line naming HOST and PORT.

    Without SO_REUSEPORT: a port held by anyone, a stray worker of a killed instance included,
    is reported instead of being silently shared.
    """
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET  # noqa: PLR2004
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            raise BindError(
                err.errno, f"cannot listen on HOST={host} PORT={port}: {err.strerror}"
            ) from None


# Descriptors a worker needs besides its connections: the runtime, logs, heartbeat, metrics
# files, and the database pools (counted apart).
RESERVED_FDS = 64


def connections_per_worker(pool_max_size: int) -> int:
    """Return the connection bound that fits the open-file limit, raising the soft limit first.

    With more connections allowed than descriptors, accept() fails with EMFILE and the server
    retries at once, in a loop, with no log line. So the soft limit is raised towards the hard
    one, and if it still cannot hold `CONNECTIONS_PER_WORKER`, the bound is lowered to fit and
    a warning says so.
    """
    needed = CONNECTIONS_PER_WORKER + RESERVED_FDS + 2 * pool_max_size
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return CONNECTIONS_PER_WORKER
    fitting = max(1, soft - RESERVED_FDS - 2 * pool_max_size)
    log.warning(
        "the open-file limit is below the connection limit: fewer connections per worker",
        open_file_limit=soft,
        needed=needed,
        connections_per_worker=fitting,
    )
    return fitting


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_run_dirs(root: Path, own: Path) -> list[Path]:
    """Delete the run folders of instances that are gone (killed before they could clean up).

    A folder is stale when its pid no longer runs, or is ours (a container restarted in place:
    every instance is pid 1) and the folder is not the one we just made.
    """
    removed = []
    for folder in root.glob(f"{RUN_DIR_PREFIX}*"):
        match = _RUN_DIR.match(folder.name)
        if match is None or folder == own:
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or not _pid_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def run(settings: Settings) -> int:
    """Serve until stopped; return the process exit status."""
    check_bind(settings.host, settings.port)
    root = Path(tempfile.gettempdir())
    run_dir = Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-", dir=root))
    stale = sweep_run_dirs(root, run_dir)
    if stale:
        log.info("removed run folders of instances that are gone", folders=[str(f) for f in stale])
    beats = run_dir / "heartbeat"
    beats.mkdir()
    os.environ[lifeline.ENV_FOLDER] = str(beats)
    os.environ[lifeline.ENV_PARENT] = str(os.getpid())
    if settings.workers > 1:
        # Every worker writes its samples here; /metrics in any worker shows the sum.
        metrics_dir = run_dir / "metrics"
        metrics_dir.mkdir()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    # Workers inherit this until the app installs its handler: a drain request that arrives
    # while a worker is still starting must not kill it (SIGUSR1's default action).
    signal.signal(DRAIN_SIGNAL, signal.SIG_IGN)
    # Import the app now, after PROMETHEUS_MULTIPROC_DIR is settled: the forked workers inherit
    # the loaded modules instead of importing them again (startup time).
    importlib.import_module(APP_FACTORY.partition(":")[0])
    if settings.workers > 1:
        # That import gave this process live gauges of its own (`test_app_ready` at 0). It serves
        # nothing, so they must not count in the workers' min and max: drop its files. (Imported
        # here: prometheus_client picks its storage when first imported, after the folder is set.)
        from prometheus_client import multiprocess  # noqa: PLC0415

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
        # Each worker reserves its files' blocks as it starts (test_app.metrics); say it here,
        # once, when they cannot fit, rather than let the workers fail one by one.
        from test_app import metrics  # noqa: PLC0415 - after the folder is set, as above

        try:
            check_space(metrics_dir, metrics.reserved_bytes(settings.workers))
        except NoSpaceError:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
    server = DrainingServer(
        APP_FACTORY,
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.RSGI,
        workers=settings.workers,
        loop=Loops.uvloop,
        backlog=2048,
        http=HTTPModes.http1,
        websockets=False,
        backpressure=connections_per_worker(settings.pool_max_size),
        http1_settings=HTTP1Settings(
            header_read_timeout=HEADER_READ_TIMEOUT_MS, max_buffer_size=MAX_HEAD_BYTES
        ),
        log_level=LogLevels(settings.log_level),
        log_dictconfig=granian_log_config(),
        log_access=False,  # the app writes its own JSON access log
        respawn_failed_workers=False,  # a dead worker ends the pod; the orchestrator restarts it
        # Bound on stopping a worker. A stop that arrives while a worker is still opening its
        # pool (granian's RSGI init) is sometimes only honoured at this bound (seen 1 in 10).
        workers_kill_timeout=10,
        drain_seconds=settings.drain_seconds,
    )
    server.watchdog = lifeline.Watchdog(
        beats,
        server.worker_pids,
        lambda: server.interrupt_signal or bool(server.interrupt_children),
    )
    try:
        server.serve()
    except SystemExit as done:
        # granian exits with 1 itself after stopping the other workers when one died.
        if not server.interrupt_children:
            raise
        log.error(  # noqa: TRY400 - one line, no traceback: the worker's own log has the cause
            "a worker exited unexpectedly",
            workers=list(server.interrupt_children),
            exits=server.worker_exits(),
            oom_kills=oom_kills(),
            status=done.code,
        )
        return 1
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0
