"""What a hostile client does, bounded in count and time (the hostile tests and `make hostile`).

- `random_methods(port, count)`: `count` requests with made-up method names to a missing path.
- `random_paths(port, count)`: `count` GET requests to made-up paths.
- `hold_idle(port, count)`: open `count` TCP connections that never send a byte.
- `hold_unread(port, count)`: open `count` connections that pipeline requests and never read.
- `send_queues(port)`: the kernel send queue of each connection the server on `port` holds.
- `label_sweep()`: one request per route and method, and per route without `Host` and with two.
- `series(text)`: the sample lines of a Prometheus text exposition.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path


CONNECTIONS = 8  # requests are spread over this many keep-alive connections (both workers)


def _read_response(sock: socket.socket, buffer: bytes) -> bytes:
    """Read one response with a Content-Length body; return what is left over."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection mid-response")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection mid-body")
        rest += chunk
    return rest[length:]


def send_requests(port: int, requests: list[bytes], timeout: float = 60.0) -> int:
    """Send raw HTTP/1.1 `requests` one at a time over a few keep-alive connections.

    Returns how many were answered. Bounded by `timeout` seconds in total.
    """
    deadline = time.monotonic() + timeout
    answered = 0
    per_conn = [requests[i::CONNECTIONS] for i in range(CONNECTIONS)]
    for batch in per_conn:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            buffer = b""
            for request in batch:
                if time.monotonic() > deadline:
                    return answered
                sock.sendall(request)
                buffer = _read_response(sock, buffer)
                answered += 1
    return answered


def random_methods(port: int, count: int, timeout: float = 60.0) -> int:
    """`count` requests to `/nope`, each with a different method name (valid HTTP tokens)."""
    requests = [
        b"X%dQ /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n" % i
        for i in range(count)
    ]
    return send_requests(port, requests, timeout)


def random_paths(port: int, count: int, timeout: float = 60.0) -> int:
    """`count` GET requests, each to a different path."""
    requests = [b"GET /p%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % i for i in range(count)]
    return send_requests(port, requests, timeout)


@contextlib.contextmanager
def hold_idle(port: int, count: int) -> Iterator[list[socket.socket]]:
    """Open `count` connections that never send a byte; close them all on exit."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.settimeout(5)
            sock.connect(("127.0.0.1", port))
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


PIPELINED = b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n" * 20_000  # about 700 KB of requests
SMALL_RECEIVE_BUFFER = 4096


def open_unread(port: int) -> socket.socket:
    """One connection that pipelines requests and will never read (see `hold_unread`)."""
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RECEIVE_BUFFER)
        sock.settimeout(5)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)  # noqa: FBT003 - the socket API
        with contextlib.suppress(BlockingIOError):
            sock.send(PIPELINED)
    except OSError:
        sock.close()
        raise
    return sock


ROUTES = ("/health", "/health/read", "/livez", "/readyz", "/metrics", "/version", "/x")
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "XQ")


def label_sweep() -> list[bytes]:
    """Return one request per route and method, and per route without `Host` and with two.

    Every label combination a client can choose (CONNECT takes an authority, not a path): most
    are refused (400, 404, 405), the GETs and HEADs of real routes are served.
    """
    requests = [
        b"%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" % (m.encode(), r.encode())
        for r in ROUTES
        for m in METHODS
    ]
    requests += [b"GET %s HTTP/1.1\r\nContent-Length: 0\r\n\r\n" % r.encode() for r in ROUTES]
    requests += [
        b"GET %s HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n" % r.encode()
        for r in ROUTES
    ]
    return requests


@contextlib.contextmanager
def hold_unread(port: int, count: int) -> Iterator[list[socket.socket]]:
    """Open `count` connections that pipeline requests and never read an answer.

    Each has a small receive buffer (set before connecting, so the window is small from the
    start) and sends as much of `PIPELINED` as the server takes without blocking: the server's
    answers stall once its send buffer and this receive buffer are full.
    """
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(open_unread(port))  # noqa: PERF401 - the ones opened before a failure are closed too
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def send_queues(port: int) -> list[int]:
    """Bytes in the kernel send queue of each established connection from local `port`.

    Read from /proc/net/tcp and tcp6 (`tx_queue`), like `ss -tn`'s Send-Q column.
    """
    queues = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, queue = fields[1], fields[3], fields[4]
            if state == "01" and int(local.rpartition(":")[2], 16) == port:
                queues.append(int(queue.partition(":")[0], 16))
    return queues


def closed_by_server(sockets: list[socket.socket]) -> int:
    """How many of `sockets` the server has closed (a read returns EOF or a reset)."""
    closed = 0
    for sock in sockets:
        sock.setblocking(False)  # noqa: FBT003 - the socket API
        try:
            if sock.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            continue
        except OSError:
            closed += 1
    return closed


def series(text: str) -> list[str]:
    """The sample lines (not comments, not blank) of a Prometheus text exposition."""
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def tree_bytes(path: Path) -> int:
    """Total size of the files under `path`."""
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def rss_kib(pid: int) -> int:
    """Resident set size of `pid` in KiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for pid {pid}")


def open_fds(pid: int) -> int:
    """Open file descriptors of `pid`."""
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))
