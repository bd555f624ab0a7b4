"""PostgreSQL chores of the rehearsal: folders, passwords, SQL, the postmaster's pid.

Patroni creates, promotes and rebuilds the servers. The server refuses to run as root, so when
the rehearsal runs as root, Patroni (and with it every server-side command) runs as the
``postgres`` system user, and the folders it uses belong to that user.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from rehearsal.base.configs import Binaries, Secrets
from rehearsal.base.topology import Topology
from test_app_tooling.postgres import as_server_user, give_to_server_user


class PostgresError(RuntimeError):
    """A PostgreSQL command failed; the message carries its output."""


def psql(  # noqa: PLR0913 - every argument has a sensible default but the first four
    topo: Topology,
    bins: Binaries,
    port: int,
    sql: str,
    *,
    user: str = "postgres",
    timeout: float = 10,
    password: str | None = None,
    dbname: str = "postgres",
) -> str:
    """Run SQL as ``user`` over TCP; return the unaligned output.

    The password comes from the rehearsal's password file, or is ``password`` when given.
    """
    env = {**os.environ, "PGPASSFILE": str(topo.pgpass), "PGCONNECT_TIMEOUT": "2"}
    if password is not None:
        env["PGPASSWORD"] = password
    result = subprocess.run(  # noqa: PLW1510 - checked below
        [
            str(bins.pg_bindir / "psql"),
            (
                f"host={topo.host_of_port(port)} port={port} user={user} dbname={dbname} "
                "sslmode=disable"
            ),
            "-XAtq",
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
            "-",
        ],
        input=sql,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise PostgresError(f"psql on port {port} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def prepare_pg_root(topo: Topology) -> None:
    """Create the folder of the data directories, owned by the PostgreSQL OS user.

    When that user cannot reach the state folder (e.g. a clone under /root), the data lives in
    a private temporary folder and ``pg`` in the state folder is a link to it.
    """
    link = topo.pg_link
    if link.is_symlink() and not link.exists():
        link.unlink()
    if not link.exists():
        topo.state_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0 and not _pg_user_can_enter(topo, topo.state_dir):
            target = Path(tempfile.mkdtemp(prefix="test-app-rehearsal-pg-"))
            link.symlink_to(target)
        else:
            link.mkdir(mode=0o700)
    root = topo.pg_root
    give_to_server_user(root, topo.pg_os_user)
    if os.geteuid() == 0 and not _pg_user_can_enter(topo, root):
        raise PostgresError(
            f"the {topo.pg_os_user!r} user cannot enter {root}; "
            "set REHEARSAL_STATE_DIR to a folder it can reach"
        )


def _pg_user_can_enter(topo: Topology, path: Path) -> bool:
    try:
        command = as_server_user(["test", "-x", str(path)], topo.pg_os_user)
        return subprocess.run(command, capture_output=True, timeout=5, check=False).returncode == 0
    except OSError:
        return False


def write_pgpass(topo: Topology, secrets: Secrets) -> None:
    """Write the password file of the user driving the rehearsal (psql)."""
    lines = "".join(
        f"*:*:*:{user}:{password}\n"
        for user, password in (
            ("postgres", secrets.postgres),
            ("replicator", secrets.replicator),
            ("test_app", secrets.app),
            ("monitor", secrets.monitor),
        )
    )
    topo.pgpass.write_text(lines)
    topo.pgpass.chmod(0o600)


def prepare_node_dir(topo: Topology, node: str) -> None:
    """Create the folder of one node (its data directory and Patroni's files go there)."""
    folder = topo.pg_data(node).parent
    folder.mkdir(mode=0o700, exist_ok=True)
    give_to_server_user(folder, topo.pg_os_user)


def has_data(topo: Topology, node: str) -> bool:
    """Return whether ``node`` has a data directory (Patroni bootstrapped or cloned it)."""
    return (topo.pg_data(node) / "PG_VERSION").exists()


def postmaster_pid(topo: Topology, node: str) -> int | None:
    """Return the pid of ``node``'s postmaster (first line of ``postmaster.pid``), if running."""
    try:
        first = (topo.pg_data(node) / "postmaster.pid").read_text().split("\n", 1)[0]
    except FileNotFoundError:
        return None
    return int(first) if first.strip().isdigit() else None


def bootstrap_sql(secrets: Secrets) -> str:
    """Return the SQL of the monitoring role and the app's database; safe to run again.

    Patroni creates the superuser and the replication role; the app's own step
    (``test-app-db-role``) creates the app role.
    """
    # The password is a generated hex string (credentials.new_password), never input.
    return f"""
SELECT 'CREATE ROLE monitor LOGIN IN ROLE pg_monitor'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'monitor') \\gexec
ALTER ROLE monitor WITH LOGIN PASSWORD '{secrets.monitor}';
SELECT 'CREATE DATABASE test_app'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'test_app') \\gexec
"""  # noqa: S608
