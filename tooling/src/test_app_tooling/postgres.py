"""A throwaway PostgreSQL primary with a streaming hot standby, on loopback ports.

The server refuses to run as root, so when the tests run as root every server command runs as
the `postgres` system user (created by Debian's postgresql package) through `setpriv`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from test_app_tooling.ports import free_port
from test_app_tooling.process import wait_until


PASSWORD = "test-password-1"
SERVER_USER = "postgres"


def pg_bindir() -> Path:
    """Where the PostgreSQL server binaries live (`pg_config --bindir`, or Debian's layout)."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if (Path(found) / "initdb").exists():
            return Path(found)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if candidates:
        return candidates[0].parent
    raise FileNotFoundError("PostgreSQL server binaries not found; run scripts/bootstrap")


def as_server_user(cmd: list[str], user: str = SERVER_USER) -> list[str]:
    """`cmd` run as the server's OS user when we are root (the server refuses root), else as is.

    The user's group and supplementary groups come with it. setpriv and env switch and then
    execute the command in the same process, so the pid a supervisor starts or signals is the
    program's own; runuser and su fork and wait, and a SIGKILL or SIGSTOP sent to them would
    miss the program.
    """
    if os.geteuid() != 0:
        return cmd
    entry = pwd.getpwnam(user)
    switch = ["setpriv", f"--reuid={user}", f"--regid={entry.pw_gid}", "--init-groups", "--"]
    # The user's own home, as su and runuser set it (libpq looks for certificates there).
    return [*switch, "env", f"HOME={entry.pw_dir}", f"USER={user}", f"LOGNAME={user}", *cmd]


def give_to_server_user(path: Path, user: str = SERVER_USER) -> None:
    """Hand `path` to the server's OS user (its group too) when we are root."""
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class Node:
    """One PostgreSQL server: data directory, port, log file."""

    name: str
    datadir: Path
    port: int
    bindir: Path
    socket_dir: Path

    @property
    def log(self) -> Path:
        return self.datadir.parent / f"{self.name}.log"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args]
        return subprocess.run(
            as_server_user(cmd), capture_output=True, text=True, check=check, timeout=60
        )

    def start(self) -> None:
        self._ctl(
            "-l",
            str(self.log),
            "-w",
            "-t",
            "30",
            "-o",
            f"-p {self.port} -k {self.socket_dir}",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop", check=False)

    def promote(self) -> None:
        self._ctl("-w", "promote")

    def is_running(self) -> bool:
        return self._ctl("status", check=False).returncode == 0

    def sql(self, query: str) -> str:
        cmd = [
            str(self.bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-Atc",
            query,
        ]
        env = {**os.environ, "PGPASSWORD": PASSWORD, "PGCONNECT_TIMEOUT": "5"}
        return subprocess.run(
            cmd, capture_output=True, text=True, check=True, env=env, timeout=30
        ).stdout.strip()


@dataclass
class PostgresCluster:
    """A primary and a streaming standby. `env()` gives the app's POSTGRESQL_* variables."""

    base: Path
    primary: Node
    replica: Node
    user: str = "postgres"
    password: str = PASSWORD
    dbname: str = "postgres"
    host: str = "127.0.0.1"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return self.primary.port

    @property
    def replica_port(self) -> int:
        return self.replica.port

    def env(self, *, reader: bool = True) -> dict[str, str]:
        values = {
            "POSTGRESQL_HOST": self.host,
            "POSTGRESQL_PORT": str(self.primary.port),
            "POSTGRESQL_USER": self.user,
            "POSTGRESQL_PASSWORD": self.password,
            "POSTGRESQL_DBNAME": self.dbname,
            "POSTGRESQL_SSLMODE": "disable",
        }
        if reader:
            values["POSTGRESQL_READ_HOST"] = self.host
            values["POSTGRESQL_READ_PORT"] = str(self.replica.port)
        return values

    def wait_streaming(self, timeout: float = 30) -> None:
        streaming = "SELECT count(*) FROM pg_stat_replication"
        wait_until(lambda: self.primary.sql(streaming) == "1", timeout, "the standby to stream")

    def stop(self) -> None:
        for node in (self.replica, self.primary):
            node.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


def start_cluster(with_replica: bool = True) -> PostgresCluster:
    """Initdb a primary, start it, clone a standby with pg_basebackup, start it streaming."""
    bindir = pg_bindir()
    base = Path(tempfile.mkdtemp(prefix="test-app-pg-"))
    sockets = base / "sockets"
    sockets.mkdir()
    pwfile = base / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    for path in (base, sockets, pwfile):
        give_to_server_user(path)
    base.chmod(0o755)
    primary = Node("primary", base / "primary", free_port(), bindir, sockets)
    replica = Node("replica", base / "replica", free_port(), bindir, sockets)
    subprocess.run(
        as_server_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(primary.datadir),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
                "--no-sync",
            ]
        ),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    conf = primary.datadir / "postgresql.conf"
    settings = (
        "\nlisten_addresses = '127.0.0.1'\n"
        "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        "shared_buffers = 32MB\nmax_connections = 200\nwal_level = replica\n"
        "max_wal_senders = 5\nmax_replication_slots = 5\nhot_standby = on\n"
        "wal_log_hints = on\n"
    )
    subprocess.run(
        as_server_user(["sh", "-c", f"cat >> '{conf}'"]),
        input=settings,
        text=True,
        check=True,
    )
    cluster = PostgresCluster(base=base, primary=primary, replica=replica)
    try:
        primary.start()
        if with_replica:
            subprocess.run(
                as_server_user(
                    [
                        "env",
                        f"PGPASSWORD={PASSWORD}",
                        str(bindir / "pg_basebackup"),
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(primary.port),
                        "-U",
                        "postgres",
                        "-D",
                        str(replica.datadir),
                        "-R",
                        "-X",
                        "stream",
                        "-C",
                        "-S",
                        "replica_1",
                        "--no-sync",
                    ]
                ),
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
            replica.start()
            cluster.wait_streaming()
    except BaseException:
        cluster.stop()
        raise
    return cluster
