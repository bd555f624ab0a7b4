"""PostgreSQL chores of the rehearsal: create the cluster, promote, rebuild a standby.

The server refuses to run as root, so when the rehearsal runs as root every server-side command
(initdb, pg_basebackup, pg_rewind, the postmaster itself) runs as the ``postgres`` system user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from rehearsal.base.configs import Binaries, Secrets, slot_name
from rehearsal.base.topology import PG_NODES, Topology


class PostgresError(RuntimeError):
    """A PostgreSQL command failed; the message carries its output."""


def _pg_ids(topo: Topology) -> tuple[int, int] | None:
    """(uid, gid) of the PostgreSQL OS user when we are root (and must switch), else None."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(topo.pg_os_user)
    return entry.pw_uid, entry.pw_gid


def _run_as_pg_user(
    topo: Topology,
    command: list[str],
    timeout: float,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as the PostgreSQL OS user (text mode, output captured, not checked)."""
    ids = _pg_ids(topo)
    return subprocess.run(  # noqa: PLW1510 - the callers check the return code
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        user=ids[0] if ids else None,
        group=ids[1] if ids else None,
        extra_groups=[] if ids else None,
        cwd=cwd,
        env=env,
    )


def run_as_pg(topo: Topology, command: list[str], timeout: float = 120) -> str:
    """Run a server-side command as the PostgreSQL OS user; return its output."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PGPASSFILE": str(topo.pg_pgpass),
        "LC_ALL": "C.UTF-8",
        "HOME": str(topo.pg_root),
    }
    result = _run_as_pg_user(topo, command, timeout, cwd=topo.pg_root, env=env)
    if result.returncode != 0:
        raise PostgresError(
            f"{Path(command[0]).name} failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()}"
        )
    return result.stdout


def psql(  # noqa: PLR0913 - every argument has a sensible default but the first four
    topo: Topology,
    bins: Binaries,
    port: int,
    sql: str,
    *,
    user: str = "postgres",
    timeout: float = 10,
) -> str:
    """Run SQL as ``user`` over TCP; return the unaligned output."""
    env = {**os.environ, "PGPASSFILE": str(topo.pgpass), "PGCONNECT_TIMEOUT": "2"}
    result = subprocess.run(  # noqa: PLW1510 - checked below
        [
            str(bins.pg_bindir / "psql"),
            f"host=127.0.0.1 port={port} user={user} dbname=postgres sslmode=disable",
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


def pg_isready(bins: Binaries, port: int) -> bool:
    """Return whether the server on ``port`` accepts connections."""
    result = subprocess.run(
        [str(bins.pg_bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "1"],
        check=False,
        timeout=5,
    )
    return result.returncode == 0


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
    if os.geteuid() == 0:
        entry = pwd.getpwnam(topo.pg_os_user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        if not _pg_user_can_enter(topo, root):
            raise PostgresError(
                f"the {topo.pg_os_user!r} user cannot enter {root}; "
                "set REHEARSAL_STATE_DIR to a folder it can reach"
            )


def _pg_user_can_enter(topo: Topology, path: Path) -> bool:
    try:
        return _run_as_pg_user(topo, ["test", "-x", str(path)], 5).returncode == 0
    except OSError:
        return False


def write_pgpass(topo: Topology, secrets: Secrets) -> None:
    """Write the password file of the driver and of the PostgreSQL OS user."""
    lines = "".join(
        f"127.0.0.1:*:*:{user}:{password}\n"
        for user, password in (
            ("postgres", secrets.postgres),
            ("replicator", secrets.replicator),
            ("test_app", secrets.app),
            ("monitor", secrets.monitor),
        )
    )
    for path, pg_owned in ((topo.pgpass, False), (topo.pg_pgpass, True)):
        path.write_text(lines)
        path.chmod(0o600)
        if pg_owned and os.geteuid() == 0:
            entry = pwd.getpwnam(topo.pg_os_user)
            os.chown(path, entry.pw_uid, entry.pw_gid)


HBA = """\
# Generated by the rehearsal. TCP on loopback only, passwords (SCRAM) for everyone.
host    all            all            127.0.0.1/32    scram-sha-256
host    replication    replicator     127.0.0.1/32    scram-sha-256
"""

SETTINGS = """\
# Generated by the rehearsal. Port, cluster_name and the standby's primary_conninfo and
# primary_slot_name come from the command line, so both nodes share one file.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 100
shared_buffers = 64MB
password_encryption = scram-sha-256
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
wal_keep_size = 128MB
wal_log_hints = on                  # pg_rewind can rebuild a former primary
hot_standby = on
hot_standby_feedback = on
wal_retrieve_retry_interval = 1s    # a standby finds a new primary quickly
wal_receiver_timeout = 10s
log_line_prefix = '%m [%p] %q%u@%d '
log_connections = off
log_min_messages = warning
"""


def initdb(topo: Topology, bins: Binaries, node: str, secrets: Secrets) -> None:
    """Create the first data directory with the rehearsal's settings and pg_hba."""
    data = topo.pg_data(node)
    data.parent.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(topo.pg_os_user)
        os.chown(data.parent, entry.pw_uid, entry.pw_gid)
    pwfile = topo.pg_root / "initdb-password"
    pwfile.write_text(secrets.postgres + "\n")
    pwfile.chmod(0o600)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(topo.pg_os_user)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    try:
        run_as_pg(
            topo,
            [
                str(bins.pg_bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ],
        )
    finally:
        pwfile.unlink(missing_ok=True)
    (data / "pg_hba.conf").write_text(HBA)
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\ninclude = 'rehearsal.conf'\n")
    (data / "rehearsal.conf").write_text(SETTINGS)


def bootstrap_sql(secrets: Secrets) -> str:
    """Roles and database of the rehearsal, least privilege for each client."""
    return f"""
CREATE ROLE replicator WITH LOGIN REPLICATION PASSWORD '{secrets.replicator}';
CREATE ROLE test_app WITH LOGIN PASSWORD '{secrets.app}';
CREATE ROLE monitor WITH LOGIN PASSWORD '{secrets.monitor}' IN ROLE pg_monitor;
CREATE DATABASE test_app OWNER test_app;
""" + "".join(
        f"SELECT pg_create_physical_replication_slot('{slot_name(n)}', true);\n" for n in PG_NODES
    )


def ensure_slot(topo: Topology, bins: Binaries, primary_port: int, node: str) -> None:
    """Create the replication slot ``node`` streams from, if it is missing."""
    name = slot_name(node)
    psql(
        topo,
        bins,
        primary_port,
        # name is derived from a fixed node name, never from input.
        f"SELECT pg_create_physical_replication_slot('{name}', true) "  # noqa: S608
        f"WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '{name}')",
    )


def base_backup(topo: Topology, bins: Binaries, node: str, source_port: int) -> None:
    """Make ``node`` a fresh standby of the server on ``source_port``."""
    data = topo.pg_data(node)
    if data.exists():
        shutil.rmtree(data)
    data.parent.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(topo.pg_os_user)
        os.chown(data.parent, entry.pw_uid, entry.pw_gid)
    run_as_pg(
        topo,
        [
            str(bins.pg_bindir / "pg_basebackup"),
            "-d",
            f"host=127.0.0.1 port={source_port} user=replicator sslmode=disable",
            "-D",
            str(data),
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        ],
        timeout=300,
    )
    make_standby(topo, node)


def make_standby(topo: Topology, node: str) -> None:
    """Mark a data directory as a standby (its primary_conninfo is on the command line)."""
    signal = topo.pg_data(node) / "standby.signal"
    run_as_pg(topo, ["touch", str(signal)])


def rewind(topo: Topology, bins: Binaries, node: str, source_port: int) -> None:
    """Rebuild a former primary as a standby of the server on ``source_port`` with pg_rewind."""
    run_as_pg(
        topo,
        [
            str(bins.pg_bindir / "pg_rewind"),
            "-D",
            str(topo.pg_data(node)),
            "--source-server",
            f"host=127.0.0.1 port={source_port} user=postgres dbname=postgres sslmode=disable",
            "--no-sync",
        ],
        timeout=300,
    )
    make_standby(topo, node)


def is_standby_dir(topo: Topology, node: str) -> bool:
    """Return whether ``node``'s data directory is marked as a standby."""
    return (topo.pg_data(node) / "standby.signal").exists()


def cluster_is_whole(topo: Topology) -> bool:
    """Both data directories exist and exactly one of them is a standby."""
    if not all((topo.pg_data(n) / "PG_VERSION").exists() for n in PG_NODES):
        return False
    return sum(is_standby_dir(topo, n) for n in PG_NODES) == 1
