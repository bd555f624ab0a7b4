"""Where every component of the rehearsal listens and keeps its state.

One port base (``REHEARSAL_PORT_BASE``, default 15400) fixes every port by a constant offset,
so two stacks never collide when they use different bases and a human can remember the map.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass, field
from pathlib import Path

from test_app_tooling.tools import REPO


DEFAULT_PORT_BASE = 15400
DEFAULT_STATE_DIR = REPO / ".state" / "rehearsal"
APP_INSTANCES = 3
SLOTS = ("blue", "green")
PG_NODES = ("pg-a", "pg-b")
ETCD_MEMBERS = ("etcd-1", "etcd-2", "etcd-3")
MAX_PORT_OFFSET = 99
MIN_PORT = 1024

# Offsets from the port base. Kept in one table so docs, configs and tests agree.
OFFSETS: dict[str, int] = {
    "app-lb": 0,
    "haproxy-stats": 1,
    "pg-writer": 2,
    "pg-reader": 3,
    "pg-a": 10,
    "pg-b": 11,
    # Patroni's REST API of each node (HAProxy checks /primary and /replica there).
    "patroni-pg-a": 12,
    "patroni-pg-b": 13,
    # Three etcd members (Patroni's store): one can be lost without losing the quorum.
    "etcd-1": 14,
    "etcd-1-peer": 15,
    "etcd-2": 16,
    "etcd-2-peer": 17,
    "etcd-3": 18,
    "etcd-3-peer": 19,
    # app slots: app<N>-<slot> at 20 + 2*(N-1) + slot index
    "node-exporter": 30,
    "pg-exporter-writer": 31,
    "pg-exporter-reader": 32,
    "blackbox-exporter": 33,
    "prometheus": 90,
    "alertmanager": 93,
}


def app_program(ordinal: int, slot: str) -> str:
    """Name of one app slot, e.g. ``app1-blue``; the rollout moves an instance between slots."""
    return f"app{ordinal}-{slot}"


def app_programs() -> list[str]:
    """Return the names of every app slot."""
    return [app_program(n, s) for n in range(1, APP_INSTANCES + 1) for s in SLOTS]


def parse_port_base(raw: str | None) -> int:
    """Parse ``REHEARSAL_PORT_BASE``; fail with a message naming the variable."""
    if raw is None or raw == "":
        return DEFAULT_PORT_BASE
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"REHEARSAL_PORT_BASE must be an integer, got {raw!r}") from None
    if not MIN_PORT <= value <= 65535 - MAX_PORT_OFFSET:
        raise ValueError(
            f"REHEARSAL_PORT_BASE must be between {MIN_PORT} and "
            f"{65535 - MAX_PORT_OFFSET}, got {value}"
        )
    return value


def _pg_os_user() -> str:
    """PostgreSQL refuses to run as root: use the `postgres` system user when we are root."""
    if os.geteuid() == 0:
        return os.environ.get("REHEARSAL_PG_USER", "postgres")
    return pwd.getpwuid(os.geteuid()).pw_name


@dataclass(frozen=True)
class Topology:
    """Ports and paths of one rehearsal stack."""

    port_base: int = DEFAULT_PORT_BASE
    state_dir: Path = DEFAULT_STATE_DIR
    pg_os_user: str = field(default_factory=_pg_os_user)
    drain_seconds: float = 5.0
    # As root, each database node (Patroni + PostgreSQL) runs in a network namespace of its own
    # on a bridge, so a fault can cut one node off from everything (partition-primary).
    # Without root, every node listens on 127.0.0.1 and that fault cannot be rehearsed.
    netns: bool = field(default_factory=lambda: os.geteuid() == 0)
    # As root, each node's pg_wal lives on a small filesystem of its own (a loop-mounted image),
    # so a fault can fill the WAL volume without touching the machine's disk (wal-full).
    wal_volumes: bool = field(default_factory=lambda: os.geteuid() == 0)

    @classmethod
    def from_env(cls, state_dir: Path | None = None) -> Topology:
        """Read the topology from ``REHEARSAL_*`` variables; bad values name the variable."""
        base = parse_port_base(os.environ.get("REHEARSAL_PORT_BASE"))
        raw_state = os.environ.get("REHEARSAL_STATE_DIR")
        state = state_dir or (Path(raw_state) if raw_state else DEFAULT_STATE_DIR)
        drain_raw = os.environ.get("REHEARSAL_DRAIN_SECONDS", "5")
        try:
            drain = float(drain_raw)
        except ValueError:
            raise ValueError(
                f"REHEARSAL_DRAIN_SECONDS must be a number of seconds, got {drain_raw!r}"
            ) from None
        return cls(port_base=base, state_dir=state.resolve(), drain_seconds=drain)

    def port(self, name: str) -> int:
        """Return the port of a component or app slot."""
        if name in OFFSETS:
            return self.port_base + OFFSETS[name]
        for ordinal in range(1, APP_INSTANCES + 1):
            for index, slot in enumerate(SLOTS):
                if name == app_program(ordinal, slot):
                    return self.port_base + 20 + 2 * (ordinal - 1) + index
        raise KeyError(f"unknown component {name!r}")

    def all_ports(self) -> dict[str, int]:
        """Return every component's port."""
        ports = {name: self.port(name) for name in OFFSETS}
        ports.update({name: self.port(name) for name in app_programs()})
        return ports

    # Paths --------------------------------------------------------------------
    @property
    def etc(self) -> Path:
        """Folder of the generated config files."""
        return self.state_dir / "etc"

    @property
    def logs(self) -> Path:
        """Folder of every component's log."""
        return self.state_dir / "logs"

    def log_lines(self, name: str, after_line: int = 0) -> list[str]:
        """Return the lines of ``name``'s log after the first ``after_line`` ([] when none)."""
        log = self.logs / f"{name}.log"
        return log.read_text(errors="replace").splitlines()[after_line:] if log.exists() else []

    @property
    def run(self) -> Path:
        """Folder of sockets and pid files."""
        return self.state_dir / "run"

    @property
    def secrets(self) -> Path:
        """Folder of the generated passwords (mode 0700)."""
        return self.state_dir / "secrets"

    @property
    def app_secret(self) -> Path:
        """The app's secret, as Secrets Manager keeps it: the current and the previous login."""
        return self.secrets / "app-secret.json"

    @property
    def app_login_dir(self) -> Path:
        """The app's login as the kubelet mounts a Secret: files swapped together, atomically."""
        return self.secrets / "test-app-login"

    @property
    def app_user_file(self) -> Path:
        """The app role's user name, read by every instance (``POSTGRESQL_USER_FILE``)."""
        return self.app_login_dir / "user"

    @property
    def app_password_file(self) -> Path:
        """The app role's password, read by every instance (``POSTGRESQL_PASSWORD_FILE``)."""
        return self.app_login_dir / "password"

    @property
    def pg_link(self) -> Path:
        """``pg`` in the state folder: the folder itself, or a link when the state is private."""
        return self.state_dir / "pg"

    @property
    def pg_root(self) -> Path:
        """Parent of the PostgreSQL data directories, links resolved (the server user's view)."""
        return self.pg_link.resolve()

    def pg_data(self, node: str) -> Path:
        """Return the data directory of one PostgreSQL node."""
        return self.pg_root / node / "data"

    def wal_image(self, node: str) -> Path:
        """Return the image of one node's WAL volume (sparse: it holds only what is written)."""
        return self.pg_root / node / "wal.img"

    def wal_mount(self, node: str) -> Path:
        """Where one node's WAL volume is mounted."""
        return self.pg_root / node / "wal"

    def pg_wal_dir(self, node: str) -> Path:
        """One node's WAL directory on its volume (``pg_wal`` in the data directory links here)."""
        return self.wal_mount(node) / "pg_wal"

    def patroni_conf(self, node: str) -> Path:
        """Patroni's config of one node (holds passwords: owned by the PostgreSQL OS user)."""
        return self.pg_root / node / "patroni.yml"

    def patroni_pgpass(self, node: str) -> Path:
        """Password file Patroni writes for pg_basebackup and pg_rewind of one node."""
        return self.pg_root / node / "pgpass"

    def etcd_data(self, member: str) -> Path:
        """Return the data directory of one etcd member (Patroni's store)."""
        return self.state_dir / "etcd" / member

    @property
    def pgpass(self) -> Path:
        """Password file of the user driving the rehearsal (psql)."""
        return self.secrets / "pgpass"

    @property
    def supervisor_conf(self) -> Path:
        """Config file of supervisord."""
        return self.etc / "supervisord.conf"

    @property
    def supervisor_sock(self) -> Path:
        """Control socket of supervisord."""
        return self.run / "supervisor.sock"

    @property
    def haproxy_sock(self) -> Path:
        """HAProxy's runtime API socket (level admin)."""
        return self.run / "haproxy.sock"

    @property
    def app_targets_file(self) -> Path:
        """file_sd targets of the running app instances."""
        return self.etc / "prometheus-app-targets.json"

    # Network of the database nodes ------------------------------------------
    @property
    def subnet(self) -> str:
        """First three octets of the nodes' /24: one per block of 100 port bases."""
        block = self.port_base // 100
        return f"10.{200 + block // 256}.{block % 256}"

    @property
    def bridge_ip(self) -> str:
        """Address of the bridge in the root namespace (etcd listens there for the nodes)."""
        return f"{self.subnet}.1"

    @property
    def bridge(self) -> str:
        """Name of the bridge the nodes' links are attached to."""
        return f"rh{self.port_base}br"

    def netns_name(self, node: str) -> str:
        """Name of one node's network namespace."""
        return f"rh{self.port_base}-{node}"

    def link(self, node: str) -> str:
        """Return the root side of one node's veth pair (set down, it partitions the node)."""
        return f"rh{self.port_base}{node[-1]}"

    def host(self, name: str) -> str:
        """Address of a component: a node's own in its namespace, else 127.0.0.1."""
        node = name.removeprefix("patroni-")
        if self.netns and node in PG_NODES:
            return f"{self.subnet}.{2 + PG_NODES.index(node)}"
        return "127.0.0.1"

    @property
    def dcs_host(self) -> str:
        """Where the nodes reach etcd: the bridge's address, or loopback without namespaces."""
        return self.bridge_ip if self.netns else "127.0.0.1"

    def host_of_port(self, port: int) -> str:
        """Address of whatever listens on ``port`` (a node's, or 127.0.0.1)."""
        for node in PG_NODES:
            if port in (self.port(node), self.port("patroni-" + node)):
                return self.host(node)
        return "127.0.0.1"

    def url(self, name: str, path: str = "/") -> str:
        """Return the URL of a component (loopback, or a node's own address)."""
        return f"http://{self.host(name)}:{self.port(name)}{path}"
