"""The HAProxy runtime API (admin socket): read server states, drain and enable servers."""

from __future__ import annotations

import csv
import io
import socket
import time
from pathlib import Path


class HAProxyError(RuntimeError):
    """The admin socket refused a command."""


def command(sock_path: Path, line: str, timeout: float = 5) -> str:
    """Send one runtime API command; return the answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(sock_path))
        sock.sendall(line.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def stats(sock_path: Path) -> list[dict[str, str]]:
    """``show stat`` as rows keyed by the CSV header (pxname, svname, status, ...)."""
    raw = command(sock_path, "show stat")
    text = raw.lstrip("# ")
    return list(csv.DictReader(io.StringIO(text)))


def server_status(sock_path: Path, backend: str) -> dict[str, str]:
    """Status of each server of ``backend``: UP, DOWN, MAINT, DRAIN, ..."""
    return {
        row["svname"]: row["status"]
        for row in stats(sock_path)
        if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")
    }


def set_state(sock_path: Path, backend: str, server: str, state: str) -> None:
    """``state`` is ``ready``, ``drain`` or ``maint`` (the runtime API's words)."""
    out = command(sock_path, f"set server {backend}/{server} state {state}").strip()
    if out:
        raise HAProxyError(f"set server {backend}/{server} state {state}: {out}")


def wait_status(
    sock_path: Path, backend: str, server: str, wanted: set[str], timeout: float
) -> float:
    """Wait until the server's status is one of ``wanted``; return the seconds it took."""
    start = time.monotonic()
    while True:
        current = server_status(sock_path, backend).get(server, "")
        if any(current.startswith(w) for w in wanted):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise HAProxyError(
                f"{backend}/{server} is {current!r}, not {sorted(wanted)} after {timeout:g}s"
            )
        time.sleep(0.1)


def server_checks(sock_path: Path, backend: str, server: str) -> dict[str, int]:
    """One server's check counters: failed checks, UP -> DOWN transitions."""
    for row in stats(sock_path):
        if row["pxname"] == backend and row["svname"] == server:
            return {key: int(row.get(key) or 0) for key in ("chkfail", "chkdown")}
    raise HAProxyError(f"server {backend}/{server} not found in `show stat`")


def in_rotation_and_checked(sock_path: Path, backend: str, server: str) -> bool:
    """Return whether the server is UP and its last health check passed (``L7OK``)."""
    for row in stats(sock_path):
        if row["pxname"] == backend and row["svname"] == server:
            return row["status"] == "UP" and row.get("check_status") == "L7OK"
    raise HAProxyError(f"server {backend}/{server} not found in `show stat`")


def counters(sock_path: Path, backend: str) -> dict[str, int]:
    """Backend totals: retries, redispatches, 5xx answers, connection errors."""
    for row in stats(sock_path):
        if row["pxname"] == backend and row["svname"] == "BACKEND":
            return {
                key: int(row.get(key) or 0)
                for key in ("wretr", "wredis", "hrsp_5xx", "econ", "eresp", "stot")
            }
    raise HAProxyError(f"backend {backend!r} not found in `show stat`")
