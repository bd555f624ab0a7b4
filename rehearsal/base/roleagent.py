"""A tiny HTTP agent that tells HAProxy which role its PostgreSQL node plays.

``GET /primary`` answers 200 when the node accepts writes (``pg_is_in_recovery()`` is false),
``GET /standby`` answers 200 when it is a hot standby, anything else answers 503. HAProxy's
``option httpchk`` on the writer and reader backends calls it, which is how the writer and reader
endpoints follow a promotion the way Aurora's cluster and reader endpoints do.

Run by supervisord: ``python -m rehearsal.roleagent --listen 127.0.0.1:PORT --pg-port PORT``;
credentials come from ``PGUSER``/``PGPASSWORD`` (a role in ``pg_monitor``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os

import asyncpg


QUERY_TIMEOUT_SECONDS = 0.8


class Node:
    """One PostgreSQL node, asked for its role over a connection kept between checks."""

    def __init__(self, port: int, user: str, password: str) -> None:
        self.port = port
        self.user = user
        self.password = password
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def role(self) -> str:
        """``primary``, ``standby`` or ``unreachable``."""
        async with self._lock:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(
                        host="127.0.0.1",
                        port=self.port,
                        user=self.user,
                        password=self.password,
                        database="postgres",
                        ssl=False,
                        timeout=QUERY_TIMEOUT_SECONDS,
                    )
                in_recovery = await self._conn.fetchval(
                    "SELECT pg_is_in_recovery()", timeout=QUERY_TIMEOUT_SECONDS
                )
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await self._drop()
                return "unreachable"
            return "standby" if in_recovery else "primary"

    async def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.terminate()
        self._conn = None


async def handle(node: Node, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer one HTTP request with the node's role."""
    try:
        request_line = await asyncio.wait_for(reader.readline(), timeout=2)
        while (await asyncio.wait_for(reader.readline(), timeout=2)) not in (b"\r\n", b"\n", b""):
            pass
        parts = request_line.decode("latin-1").split()
        path = parts[1] if len(parts) >= 2 else "/"  # noqa: PLR2004
        role = await node.role()
        if path in ("/primary", "/standby"):
            ok = role == path[1:]
            status, body = (200 if ok else 503), f"{role}\n"
            ctype = "text/plain"
        elif path == "/role":
            status, body, ctype = 200, json.dumps({"role": role}) + "\n", "application/json"
        else:
            status, body, ctype = 404, "not found\n", "text/plain"
        reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
        data = body.encode()
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def serve(host: str, port: int, node: Node) -> None:
    """Serve role checks until cancelled."""
    server = await asyncio.start_server(lambda r, w: handle(node, r, w), host, port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Run the agent."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT to serve on")
    parser.add_argument("--pg-port", type=int, required=True, help="port of the PostgreSQL node")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--listen must be HOST:PORT, got {args.listen!r}")
    node = Node(args.pg_port, os.environ.get("PGUSER", "monitor"), os.environ.get("PGPASSWORD", ""))
    asyncio.run(serve(host, int(port), node))


if __name__ == "__main__":
    main()
