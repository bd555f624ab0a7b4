"""A client of supervisord, the rehearsal's process manager, through its XML-RPC interface.

supervisord serves XML-RPC on its control socket (``[unix_http_server]`` and
``[rpcinterface:supervisor]`` in the generated config). Calls return data and faults with
codes, so nothing here reads ``supervisorctl``'s text. The socket is a Unix socket, which
``xmlrpc.client`` cannot reach by itself: ``UnixStreamTransport`` connects its HTTP
connection there (supervisor's own ``SupervisorTransport`` does the same, but the rehearsal's
Python does not have the supervisor package).
"""

from __future__ import annotations

import http.client
import socket
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rehearsal.base.topology import Topology


# supervisord's fault codes (supervisor/xmlrpc.py, class Faults).
BAD_NAME = 10
BAD_SIGNAL = 11
ALREADY_STARTED = 60
NOT_RUNNING = 70
# A call waits for the program's startsecs or stopwaitsecs on the server; past this it fails.
DEFAULT_TIMEOUT = 60.0
# startProcess, stopProcess, stopAllProcesses: answer once the program is RUNNING or STOPPED.
WAIT = True


class SupervisorError(RuntimeError):
    """supervisord refused a call or did not answer; the message names the program."""


@dataclass(frozen=True)
class Process:
    """One supervised program: its state (``RUNNING``, ``STOPPED``, ...) and pid."""

    name: str
    state: str
    pid: int | None


class _UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection over a Unix stream socket."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self._path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


class UnixStreamTransport(xmlrpc.client.Transport):
    """XML-RPC over HTTP on a Unix socket (the URL's host is ignored)."""

    def __init__(self, path: Path, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.path = path
        self.timeout = timeout

    def make_connection(self, host: str | tuple[str, dict[str, str]]) -> http.client.HTTPConnection:
        """Return the connection to the socket (one, kept for the next call)."""
        cached = self._connection[1]
        if cached is not None and self._connection[0] == host:
            return cached
        connection = _UnixHTTPConnection(self.path, self.timeout)
        self._connection = host, connection
        return connection


def _call(topo: Topology, method: str, *args: object, timeout: float = DEFAULT_TIMEOUT) -> Any:  # noqa: ANN401 - XML-RPC answers are untyped; callers check their shape
    """Call ``supervisor.<method>`` on this stack's supervisord."""
    transport = UnixStreamTransport(topo.supervisor_sock, timeout)
    with xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=transport) as proxy:
        try:
            return getattr(proxy.supervisor, method)(*args)
        except (OSError, xmlrpc.client.ProtocolError) as exc:
            raise SupervisorError(
                f"supervisord does not answer on {topo.supervisor_sock} ({method}): {exc}"
            ) from exc


def _fault(exc: xmlrpc.client.Fault, name: str, action: str, expected: str) -> SupervisorError:
    if exc.faultCode == BAD_NAME:
        return SupervisorError(f"cannot {action} {name}: supervisord has no program of that name")
    return SupervisorError(
        f"cannot {action} {name}: supervisord answered {exc.faultString} "
        f"(expected it {expected}; see its log)"
    )


def _refused(exc: xmlrpc.client.Fault, what: str) -> SupervisorError:
    return SupervisorError(f"cannot {what}: supervisord answered {exc.faultString}")


def running(topo: Topology) -> bool:
    """Return whether supervisord answers on its socket."""
    if not topo.supervisor_sock.exists():
        return False
    try:
        pid = _call(topo, "getPID", timeout=10)
    except (SupervisorError, xmlrpc.client.Error):
        return False
    return isinstance(pid, int) and pid > 0


def status(topo: Topology) -> dict[str, Process]:
    """Return every program's state and pid (``None`` when it is not running)."""
    try:
        infos = _call(topo, "getAllProcessInfo")
    except xmlrpc.client.Fault as exc:
        raise _refused(exc, "read the programs' states") from exc
    processes: dict[str, Process] = {}
    for info in infos:
        name = info["name"] if info["group"] == info["name"] else f"{info['group']}:{info['name']}"
        pid = int(info["pid"])
        processes[name] = Process(name, str(info["statename"]), pid or None)
    return processes


def start(topo: Topology, *names: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Start programs in order; each must stay up its ``startsecs`` (already running is fine)."""
    for name in names:
        try:
            _call(topo, "startProcess", name, WAIT, timeout=timeout)
        except xmlrpc.client.Fault as exc:
            if exc.faultCode != ALREADY_STARTED:
                raise _fault(exc, name, "start", "to reach RUNNING") from exc


def stop(topo: Topology, name: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Stop a program (signal, then SIGKILL after its ``stopwaitsecs``); stopped is fine."""
    try:
        _call(topo, "stopProcess", name, WAIT, timeout=timeout)
    except xmlrpc.client.Fault as exc:
        if exc.faultCode != NOT_RUNNING:
            raise _fault(exc, name, "stop", "to reach STOPPED") from exc


def stop_all(topo: Topology, timeout: float = 120) -> None:
    """Stop every program, each as :func:`stop` does."""
    try:
        _call(topo, "stopAllProcesses", WAIT, timeout=timeout)
    except xmlrpc.client.Fault as exc:
        raise _refused(exc, "stop every program") from exc


def shutdown(topo: Topology) -> None:
    """Ask supervisord to stop its programs and exit (it answers before it is gone)."""
    try:
        _call(topo, "shutdown", timeout=30)
    except xmlrpc.client.Fault as exc:
        raise _refused(exc, "shut supervisord down") from exc


def signal(topo: Topology, name: str, sig: str) -> None:
    """Send a signal (a name such as ``TERM`` or ``KILL``) to a running program."""
    try:
        _call(topo, "signalProcess", name, sig)
    except xmlrpc.client.Fault as exc:
        if exc.faultCode == BAD_SIGNAL:
            raise SupervisorError(f"cannot signal {name}: {sig!r} is not a signal name") from exc
        raise _fault(exc, name, f"send {sig} to", "to be RUNNING") from exc


def pid(topo: Topology, name: str) -> int | None:
    """Return a program's pid, or None when it is not running."""
    processes = status(topo)
    if name not in processes:
        raise SupervisorError(f"supervisord has no program {name}: known are {sorted(processes)}")
    return processes[name].pid
