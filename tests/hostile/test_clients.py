"""Hostile clients against a real instance (2 workers, real PostgreSQL): bounded outcomes only.

Each attack is bounded in count and time; each assertion is about what the service does
(series, bytes, answers, closed connections), never about how fast this machine is.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from test_app_tooling.hostile import (
    _read_response,
    closed_by_server,
    hold_idle,
    hold_unread,
    label_sweep,
    random_methods,
    random_paths,
    send_queues,
    send_requests,
    series,
)


pytestmark = [pytest.mark.integration, pytest.mark.hostile]

ATTACK = 2000  # requests per attack; series would grow by 16 per request without the fix
IDLE = 3000  # idle connections: above granian's old per-worker limit of 1024 x 2 workers
HEADER_TIMEOUT = 5.0  # test_app.server.HEADER_READ_TIMEOUT_MS
SEND_STALL = 10.0  # test_app.listener.SEND_STALL_TIMEOUT_MS
UNREAD = 40  # connections that pipeline requests and never read
# test_app.listener.SEND_BUFFER_BYTES doubled by the kernel, and slack for its accounting;
# without the bound each such connection held about 3 MB here.
MAX_SEND_QUEUE = 32 * 1024


@pytest.fixture
def app(postgres, run_app):
    return run_app({**postgres.env(), "WORKERS": "2", "ACCESS_LOG": "false"})


def raw(port: int, request: bytes) -> bytes:
    """Send one raw request; return what the server answers before it closes or goes quiet."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(request)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            pass  # an HTTP/2 server keeps the connection open after its SETTINGS frame
    return answer


def test_random_methods_and_paths_do_not_grow_the_metrics(app):
    # Every closed-set label value these attacks can reach, once: `other` route and method.
    random_methods(app.port, 3)
    random_paths(app.port, 3)
    app.get("/metrics")  # a scrape counts itself: the second one shows the first
    before = app.get("/metrics").text
    assert random_methods(app.port, ATTACK) == ATTACK
    assert random_paths(app.port, ATTACK) == ATTACK
    after = app.get("/metrics").text
    assert len(series(after)) == len(series(before))
    assert len(after) < 1.1 * len(before), (len(before), len(after))
    assert 'method="other",route="other",status="404"' in after


def test_livez_answers_while_3000_idle_connections_are_held(app):
    with hold_idle(app.port, IDLE) as sockets:
        answers = [app.get("/livez", timeout=2).status_code for _ in range(5)]
        assert answers == [200] * 5
        # The header-read timeout starts at accept: every idle connection is closed by the
        # server within the timeout (plus scheduling slack on a loaded machine).
        deadline = time.monotonic() + HEADER_TIMEOUT + 15
        while closed_by_server(sockets) < IDLE and time.monotonic() < deadline:
            time.sleep(0.5)
        assert closed_by_server(sockets) == IDLE


def test_clients_that_never_read_are_closed_and_hold_little(app):
    # The clients' unread answers stay readable after the server has gone, so the server's own
    # connections are counted (the kernel's table), not EOFs on the clients' side.
    with hold_unread(app.port, UNREAD):
        held = send_queues(app.port)
        assert len(held) == UNREAD
        largest = max(held)
        assert app.get("/livez", timeout=2).status_code == 200
        deadline = time.monotonic() + SEND_STALL + 20
        while (held := send_queues(app.port)) and time.monotonic() < deadline:
            largest = max([largest, *held])
            time.sleep(0.5)
        assert held == [], f"{len(held)} stalled writers were left open"
    assert 0 < largest <= MAX_SEND_QUEUE, largest


def test_a_connection_sending_headers_too_slowly_is_closed(app):
    with socket.create_connection(("127.0.0.1", app.port), timeout=30) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n")  # never finishes the headers
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        waited = time.monotonic() - started
    assert b"200 OK" not in answer
    assert waited >= HEADER_TIMEOUT - 0.5


@pytest.mark.parametrize(("size", "status"), [(16_000, b"200"), (100_000, b"431")])
def test_request_heads_are_bounded(app, size, status):
    header = b"X-Big: " + b"a" * size + b"\r\n"
    request = b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + header + b"\r\n"
    assert raw(app.port, request).split(b"\r\n")[0] == b"HTTP/1.1 " + status + (
        b" OK" if status == b"200" else b" Request Header Fields Too Large"
    )


def test_every_response_is_uncacheable_and_not_sniffed(app):
    for path in ("/health", "/health/read", "/livez", "/readyz", "/metrics", "/version", "/x"):
        headers = app.get(path).headers
        assert headers["cache-control"] == "no-store", path
        assert headers["x-content-type-options"] == "nosniff", path


def test_http11_without_host_is_rejected_http10_is_served(app):
    assert raw(app.port, b"GET /livez HTTP/1.1\r\nConnection: close\r\n\r\n").startswith(
        b"HTTP/1.1 400"
    )
    assert raw(app.port, b"GET /livez HTTP/1.0\r\n\r\n").split(b"\r\n")[0].endswith(b"200 OK")


def test_duplicate_host_headers_are_rejected(app):
    request = b"GET /livez HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"
    assert raw(app.port, request).startswith(b"HTTP/1.1 400")


def test_refused_requests_are_counted_without_the_clients_route_and_method(app):
    crafted = label_sweep()
    assert send_requests(app.port, crafted) == len(crafted)
    refused = [
        line
        for line in series(app.get("/metrics").text)
        if line.startswith("test_app_http_requests_total{")
        and any(f'status="{code}"' in line for code in ("400", "404", "405"))
    ]
    assert len(refused) == 3, refused  # one series per refusal code, whatever the client sent
    assert all('method="other",route="other"' in line for line in refused), refused

    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    settings_frame = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    answer = raw(app.port, preface + settings_frame)
    # An HTTP/2 server answers with its own SETTINGS frame (type 0x04) first.
    assert answer[3:4] != b"\x04", answer[:32]
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:64]


def request_log(app, forwarded_for: str) -> dict[str, object]:
    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as sock:
        sock.sendall(
            b"GET /version HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %s\r\n\r\n"
            % forwarded_for.encode()
        )
        _read_response(sock, b"")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in app.log.splitlines() if line.startswith("{")]
        requests = [line for line in lines if line.get("event") == "request"]
        if requests:
            last: dict[str, object] = requests[-1]
            return last
        time.sleep(0.05)
    raise AssertionError(f"no access log line:\n{app.log}")


@pytest.mark.parametrize(
    ("trusted", "client"),
    [
        ("127.0.0.1/32", "198.51.100.7"),  # the peer is a trusted proxy: its entry counts
        ("10.0.0.0/8", "127.0.0.1"),  # the peer is not trusted: the header is ignored
        (None, "127.0.0.1"),  # nothing trusted (the default)
    ],
)
def test_forwarded_client_is_logged_from_trusted_proxies_only(postgres, run_app, trusted, client):
    env = postgres.env()
    if trusted:
        env["TRUSTED_PROXIES"] = trusted
    app = run_app(env)
    line = request_log(app, "203.0.113.9, 198.51.100.7")
    assert (line["client"], line["peer"]) == (client, "127.0.0.1")
