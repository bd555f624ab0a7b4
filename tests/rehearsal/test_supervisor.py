"""The rehearsal's supervisord client over XML-RPC, against Debian's supervisord in a temporary
folder: start, stop, status, signals, and errors that name the program."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rehearsal.base import supervisor
from rehearsal.base.topology import Topology
from test_app_tooling.process import stop, wait_until


CONFIG = """\
[unix_http_server]
file={sock}
chmod=0700

[supervisord]
logfile={logs}/supervisord.log
pidfile={run}/supervisord.pid
childlogdir={logs}
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:sleeper]
command=sleep 600
autostart=false
startsecs=0

[program:signalled]
command=sh -c 'trap "echo USR1 >> {logs}/signals" USR1; while :; do sleep 0.1; done'
autostart=false
; RUNNING after 1 s: the trap is set by then
startsecs=1

[program:slowstop]
command=sh -c 'trap "sleep 0.5; exit 0" TERM; while :; do sleep 0.1; done'
autostart=false
startsecs=1
stopwaitsecs=10

[program:crasher]
command=sh -c 'exit 3'
autostart=false
startsecs=1
startretries=0
autorestart=false
"""
PROGRAMS = {"sleeper", "signalled", "slowstop", "crasher"}


@pytest.fixture(scope="module")
def topo(
    tmp_path_factory: pytest.TempPathFactory, tool: Callable[[str], str]
) -> Iterator[Topology]:
    """A supervisord of its own, with three programs, all stopped at first."""
    topo = Topology(state_dir=tmp_path_factory.mktemp("supervisor"))
    for folder in (topo.etc, topo.logs, topo.run):
        folder.mkdir()
    topo.supervisor_conf.write_text(
        CONFIG.format(sock=topo.supervisor_sock, logs=topo.logs, run=topo.run)
    )
    process = subprocess.Popen(
        [tool("supervisord"), "-c", str(topo.supervisor_conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: supervisor.running(topo), 20, "supervisord to answer on its socket")
        yield topo
        supervisor.shutdown(topo)
        process.wait(timeout=30)
        assert not supervisor.running(topo)
    finally:
        stop(process)


def _command(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()


def test_start_runs_the_program_and_status_shows_its_pid(topo: Topology) -> None:
    supervisor.start(topo, "sleeper")
    process = supervisor.status(topo)["sleeper"]
    assert process.state == "RUNNING"
    assert process.pid is not None
    pid = process.pid
    # supervisord forks, then the child execs: until then /proc shows supervisord's command.
    wait_until(lambda: _command(pid) == "sleep 600", 10, "the sleeper to exec sleep 600")
    supervisor.start(topo, "sleeper")  # already running: nothing to do, no error
    assert supervisor.pid(topo, "sleeper") == process.pid


def test_stop_returns_once_the_program_has_ended_and_status_shows_no_pid(topo: Topology) -> None:
    supervisor.start(topo, "slowstop")  # takes half a second to exit after SIGTERM
    pid = supervisor.pid(topo, "slowstop")
    assert pid is not None
    supervisor.stop(topo, "slowstop")
    assert supervisor.status(topo)["slowstop"].state == "STOPPED"
    assert supervisor.pid(topo, "slowstop") is None
    assert not Path(f"/proc/{pid}").exists()
    supervisor.stop(topo, "slowstop")  # already stopped: nothing to do, no error


def test_stop_all_ends_every_program(topo: Topology) -> None:
    supervisor.start(topo, "sleeper", "signalled")
    supervisor.stop_all(topo)
    assert {p.state for p in supervisor.status(topo).values()} <= {"STOPPED", "EXITED", "FATAL"}
    assert all(p.pid is None for p in supervisor.status(topo).values())


def test_status_lists_every_program_of_the_config(topo: Topology) -> None:
    processes = supervisor.status(topo)
    assert set(processes) == PROGRAMS
    assert {name: p.name for name, p in processes.items()} == {n: n for n in PROGRAMS}
    assert processes["signalled"].state in {"STOPPED", "RUNNING"}


def test_a_signal_reaches_the_program(topo: Topology) -> None:
    supervisor.start(topo, "signalled")
    signals = topo.logs / "signals"
    supervisor.signal(topo, "signalled", "USR1")
    wait_until(lambda: signals.read_text() == "USR1\n", 10, "the program to log the signal")
    supervisor.signal(topo, "signalled", "USR1")
    wait_until(lambda: signals.read_text() == "USR1\n" * 2, 10, "the second signal")
    assert supervisor.status(topo)["signalled"].state == "RUNNING"


def test_signalling_a_stopped_program_names_it_and_the_state_expected(topo: Topology) -> None:
    supervisor.stop(topo, "sleeper")
    with pytest.raises(supervisor.SupervisorError, match=r"send KILL to sleeper: .*RUNNING"):
        supervisor.signal(topo, "sleeper", "KILL")


def test_a_bad_signal_name_is_refused_by_name(topo: Topology) -> None:
    supervisor.start(topo, "sleeper")
    with pytest.raises(supervisor.SupervisorError, match="'NOPE' is not a signal name"):
        supervisor.signal(topo, "sleeper", "NOPE")


@pytest.mark.parametrize(
    "call",
    [
        lambda topo: supervisor.start(topo, "nope"),
        lambda topo: supervisor.stop(topo, "nope"),
        lambda topo: supervisor.signal(topo, "nope", "TERM"),
        lambda topo: supervisor.pid(topo, "nope"),
    ],
    ids=["start", "stop", "signal", "pid"],
)
def test_an_unknown_program_is_a_clear_error(
    topo: Topology, call: Callable[[Topology], object]
) -> None:
    with pytest.raises(supervisor.SupervisorError, match=r"nope.*no program|no program nope"):
        call(topo)


def test_a_program_that_exits_at_once_fails_to_start_naming_the_state_expected(
    topo: Topology,
) -> None:
    with pytest.raises(supervisor.SupervisorError) as error:
        supervisor.start(topo, "crasher")
    assert "cannot start crasher" in str(error.value)
    assert "expected it to reach RUNNING" in str(error.value)
    assert supervisor.status(topo)["crasher"].state in {"FATAL", "BACKOFF", "EXITED"}


def test_without_supervisord_nothing_runs_and_calls_name_the_socket(tmp_path: Path) -> None:
    topo = Topology(state_dir=tmp_path)
    topo.run.mkdir()
    topo.supervisor_sock.touch()  # a stale socket file: nobody listens
    assert not supervisor.running(topo)
    with pytest.raises(
        supervisor.SupervisorError, match=f"does not answer on {topo.supervisor_sock}"
    ):
        supervisor.status(topo)
