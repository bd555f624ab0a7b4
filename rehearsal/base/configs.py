"""Render every configuration file of the rehearsal from the topology.

Templates for the hand-read formats (HAProxy, supervisord) live in ``templates/``; the YAML and
JSON files are built as data and dumped, so they are always well formed.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

import yaml

from rehearsal.base.topology import (
    APP_INSTANCES,
    ETCD_MEMBERS,
    PG_NODES,
    SLOTS,
    Topology,
    app_program,
    app_programs,
)
from test_app_tooling.postgres import as_server_user
from test_app_tooling.tools import REPO


TEMPLATES = Path(__file__).with_name("templates")
RULES_GLOB = REPO / "observability" / "rules" / "*.yaml"
BLACKBOX_CONFIG = REPO / "observability" / "blackbox" / "blackbox.yml"
BLACKBOX_MODULE = "http_health_up"
SCRAPE_INTERVAL_SECONDS = 5


@dataclass(frozen=True)
class Secrets:
    """Passwords of the database roles, generated once per state folder."""

    postgres: str
    replicator: str
    app: str
    monitor: str


@dataclass(frozen=True)
class Binaries:
    """Paths of the programs supervisord runs, discovered on this machine."""

    pg_bindir: Path
    haproxy: str
    prometheus: str
    alertmanager: str
    node_exporter: str
    postgres_exporter: str
    blackbox_exporter: str
    app_command: str
    patroni: str = "patroni"
    etcd: str = "etcd"
    python: str = sys.executable


# Patroni's timings (seconds). A crashed primary is seen within one loop (``loop_wait``) and,
# with ``primary_start_timeout: 0``, failed over at once instead of restarted in place; a lost
# node (Patroni gone too) is replaced when its leader key expires (``ttl``). Patroni requires
# loop_wait + 2 * retry_timeout <= ttl.
PATRONI_TTL = 20
PATRONI_LOOP_WAIT = 2
PATRONI_RETRY_TIMEOUT = 5
PATRONI_SCOPE = "test-app-rehearsal"
# Each setting answers a failure the rehearsal has seen (ADR 0016):
# - failsafe_mode: with the etcd quorum lost, a primary that still reaches every member's
#   REST API keeps running instead of demoting itself (the DCS is not the database).
# - max_slot_wal_keep_size: an inactive replication slot (a standby gone for good) may retain
#   at most this much WAL; past it the slot is invalidated instead of filling the WAL disk.
# - the WAL volume: pg_wal on a filesystem of its own, at least as large as the settings let
#   WAL grow (max_wal_size between checkpoints, plus what wal_keep_size or an inactive slot
#   retains), so the settings, not the workload, decide whether it can fill (wal-full).
# - synchronous_mode (not strict): a commit is acknowledged only once the standby Patroni lists
#   in /sync has it. A primary cut from etcd and the standby while its clients still reach it
#   (a zone isolated with its clients) could otherwise acknowledge commits until it demotes
#   itself, and the promoted standby would not have them (they were rewound: rows lost).
PATRONI_FAILSAFE_MODE = True
PATRONI_SYNCHRONOUS_MODE = True
MAX_WAL_SIZE_MB = 1024
WAL_KEEP_SIZE_MB = 128
MAX_SLOT_WAL_KEEP_SIZE_MB = 1024
MAX_SLOT_WAL_KEEP_SIZE = f"{MAX_SLOT_WAL_KEEP_SIZE_MB}MB"
WAL_VOLUME_MB = 3072


def wal_volume_floor_mb() -> int:
    """Return the most WAL the settings let pg_wal hold: max_wal_size plus the larger retention."""
    return MAX_WAL_SIZE_MB + max(WAL_KEEP_SIZE_MB, MAX_SLOT_WAL_KEEP_SIZE_MB)


WATCHDOG_DEVICE = Path("/dev/watchdog")

# The same for both nodes, set in the cluster-wide configuration at bootstrap.
PG_CLUSTER_PARAMETERS: dict[str, object] = {
    "max_connections": 100,
    "wal_level": "replica",
    "max_wal_senders": 5,
    "max_replication_slots": 5,
    "max_wal_size": f"{MAX_WAL_SIZE_MB}MB",
    "wal_keep_size": f"{WAL_KEEP_SIZE_MB}MB",
    "max_slot_wal_keep_size": MAX_SLOT_WAL_KEEP_SIZE,
    "hot_standby": "on",
    "wal_log_hints": "on",  # pg_rewind can rebuild a former primary
}
# Each node's own settings.
PG_LOCAL_PARAMETERS: dict[str, object] = {
    "unix_socket_directories": "",
    "shared_buffers": "64MB",
    "password_encryption": "scram-sha-256",
    "hot_standby_feedback": "on",
    "wal_retrieve_retry_interval": "1s",  # a standby finds a new primary quickly
    "wal_receiver_timeout": "10s",
    "log_line_prefix": "%m [%p] %q%u@%d ",
    "log_connections": "off",
    "log_min_messages": "warning",
}
# TCP on loopback only, passwords (SCRAM) for everyone.
PG_HBA = [
    "host all all 127.0.0.1/32 scram-sha-256",
    "host replication replicator 127.0.0.1/32 scram-sha-256",
]


def pg_hba(topo: Topology) -> list[str]:
    """Loopback, plus the nodes' subnet when they run in network namespaces."""
    if not topo.netns:
        return PG_HBA
    subnet = f"{topo.subnet}.0/24"
    return [
        *PG_HBA,
        f"host all all {subnet} scram-sha-256",
        f"host replication replicator {subnet} scram-sha-256",
    ]


def tls_parameters(topo: Topology) -> dict[str, object]:
    """TLS with the rehearsal's own CA (``pg/tls``, made at ``up``), as Aurora serves RDS's."""
    return {
        "ssl": "on",
        "ssl_cert_file": str(topo.pg_root / "tls" / "server.crt"),
        "ssl_key_file": str(topo.pg_root / "tls" / "server.key"),
    }


def watchdog_config(device: Path = WATCHDOG_DEVICE) -> dict[str, object]:
    """Patroni's watchdog: required where the machine has one, else off (and said so).

    With a watchdog, a primary whose Patroni hangs past ``ttl`` is reset by the kernel before
    the standby may be promoted. Without one (containers, most laptops and CI), nothing stops
    a frozen node from running on when it thaws except Patroni's own checks on waking up and
    HAProxy's: docs/rehearsal.md says what that leaves uncovered.
    """
    if device.exists():
        return {"mode": "required", "device": str(device), "safety_margin": 5}
    return {"mode": "off"}


def render_patroni(topo: Topology, secrets: Secrets, bins: Binaries, node: str) -> str:
    """Patroni's config of one node: etcd as the store, automatic failover, pg_rewind."""
    # As root, pg_wal is a link to the node's WAL volume (initdb and pg_basebackup --waldir).
    waldir = [{"waldir": str(topo.pg_wal_dir(node))}] if topo.wal_volumes else []
    parameters: dict[str, object] = {**PG_LOCAL_PARAMETERS, **tls_parameters(topo)}
    config = {
        "scope": PATRONI_SCOPE,
        "name": node,
        "log": {"level": "INFO", "format": "%(asctime)s %(levelname)s: %(message)s"},
        "restapi": {
            "listen": f"{topo.host(node)}:{topo.port('patroni-' + node)}",
            "connect_address": f"{topo.host(node)}:{topo.port('patroni-' + node)}",
        },
        "etcd3": {
            "hosts": [f"{topo.dcs_host}:{topo.port(member)}" for member in ETCD_MEMBERS],
            "protocol": "http",
        },
        "watchdog": watchdog_config(),
        "bootstrap": {
            "dcs": {
                "ttl": PATRONI_TTL,
                "loop_wait": PATRONI_LOOP_WAIT,
                "retry_timeout": PATRONI_RETRY_TIMEOUT,
                "maximum_lag_on_failover": 16 * 1024 * 1024,
                # A crashed primary is failed over, not restarted in place (as Aurora does).
                "primary_start_timeout": 0,
                "failsafe_mode": PATRONI_FAILSAFE_MODE,
                "synchronous_mode": PATRONI_SYNCHRONOUS_MODE,
                "postgresql": {
                    "use_pg_rewind": True,
                    # A rewind that fails (no room on a full WAL volume) left the former primary
                    # unable to start until rebuilt by hand: Patroni rebuilds it from the leader
                    # instead (pg_basebackup), retrying until it has room (ADR 0016, wal-full).
                    "remove_data_directory_on_rewind_failure": True,
                    "use_slots": True,
                    "parameters": PG_CLUSTER_PARAMETERS,
                },
            },
            "initdb": [
                {"encoding": "UTF8"},
                {"locale": "C"},
                {"auth": "scram-sha-256"},
                *waldir,
            ],
        },
        "postgresql": {
            "listen": f"{topo.host(node)}:{topo.port(node)}",
            "connect_address": f"{topo.host(node)}:{topo.port(node)}",
            "data_dir": str(topo.pg_data(node)),
            "bin_dir": str(bins.pg_bindir),
            "pgpass": str(topo.patroni_pgpass(node)),
            "authentication": {
                "superuser": {"username": "postgres", "password": secrets.postgres},
                "replication": {"username": "replicator", "password": secrets.replicator},
                "rewind": {"username": "postgres", "password": secrets.postgres},
            },
            "parameters": parameters,
            "pg_hba": pg_hba(topo),
            # A replica cloned (or rebuilt) by Patroni keeps its WAL on its own volume too.
            **({"basebackup": waldir} if waldir else {}),
        },
    }
    return yaml.safe_dump(config, sort_keys=False)


# The user named in HAProxy's PostgreSQL check. It never logs in (the check hangs up at the
# authentication request), so it needs no role: the server answers any name with a request.
HAPROXY_CHECK_USER = "haproxy_check"
PG_PROTOCOL_3_0 = 196608  # the StartupMessage's protocol version: 3.0


def pg_startup_message(user: str) -> bytes:
    """PostgreSQL's StartupMessage for ``user`` (database defaults to the user's name)."""
    if not user.isascii() or not user.replace("_", "").isalnum():
        raise ValueError(f"HAProxy check user: expected letters, digits and _, got {user!r}")
    body = PG_PROTOCOL_3_0.to_bytes(4, "big") + b"user\0" + user.encode() + b"\0\0"
    return (len(body) + 4).to_bytes(4, "big") + body


def render_haproxy(topo: Topology, active_slot: dict[int, str] | None = None) -> str:
    """HAProxy config; ``active_slot`` says which slot of each instance starts in rotation."""
    active = active_slot or dict.fromkeys(range(1, APP_INSTANCES + 1), SLOTS[0])
    app_lines = []
    for ordinal in range(1, APP_INSTANCES + 1):
        for slot in SLOTS:
            name = app_program(ordinal, slot)
            state = "" if active[ordinal] == slot else " disabled"
            app_lines.append(f"    server {name} 127.0.0.1:{topo.port(name)}{state}")

    def pg_lines() -> str:
        # `id`: the server's PostgreSQL port, which the data-path check reads (`srv_id`).
        return "\n".join(
            f"    server {node} {topo.host(node)}:{topo.port(node)} id {topo.port(node)} "
            f"check port {topo.port('patroni-' + node)}"
            for node in PG_NODES
        )

    return Template((TEMPLATES / "haproxy.cfg.tmpl").read_text()).substitute(
        haproxy_sock=topo.haproxy_sock,
        app_lb_port=topo.port("app-lb"),
        app_servers="\n".join(app_lines),
        app_fail_open_servers="\n".join(
            f"    server {name} 127.0.0.1:{topo.port(name)}" for name in app_programs()
        ),
        writer_port=topo.port("pg-writer"),
        reader_port=topo.port("pg-reader"),
        pg_primary_servers=pg_lines(),
        pg_replica_servers=pg_lines(),
        pg_startup_message=pg_startup_message(HAPROXY_CHECK_USER).hex(),
        stats_port=topo.port("haproxy-stats"),
    )


def _env(values: dict[str, str]) -> str:
    for key, value in values.items():
        if any(ch in value for ch in '"%\n,'):
            raise ValueError(f"environment value of {key} has a character supervisord cannot take")
    return ",".join(f'{key}="{value}"' for key, value in values.items())


def _program(name: str, command: list[str], log_dir: Path, **options: str) -> str:
    lines = [
        f"[program:{name}]",
        f"command={shlex.join(command)}",
        "autostart=false",
        "startsecs=1",
        "redirect_stderr=true",
        f"stdout_logfile={log_dir / (name + '.log')}",
        "stdout_logfile_maxbytes=20MB",
        "stdout_logfile_backups=1",
    ]
    lines += [f"{key}={value}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def _etcd_hosts(topo: Topology) -> list[str]:
    """Loopback for the tools, and the bridge for the nodes in their namespaces."""
    return ["127.0.0.1", topo.bridge_ip] if topo.netns else ["127.0.0.1"]


# Patroni's (and so PostgreSQL's) stdin is /dev/null, as under systemd, not supervisord's pipe.
# A backend waiting for synchronous replication when its postmaster is killed stops sending to
# its client and reads its next command from stdin: from a pipe that stays open it never returns,
# and its shared memory keeps the node from starting again (seen after `kill -9` of a primary);
# from /dev/null it reads the end and exits.
STDIN_NULL = ["/bin/sh", "-c", 'exec "$@" < /dev/null', "stdin-null"]


def _node_command(topo: Topology, bins: Binaries, node: str) -> list[str]:
    """Patroni of one node, as the PostgreSQL user when root, in the node's network namespace."""
    patroni = as_server_user([bins.patroni, str(topo.patroni_conf(node))], topo.pg_os_user)
    if not topo.netns:
        return [*STDIN_NULL, *patroni]
    return [*STDIN_NULL, "ip", "netns", "exec", topo.netns_name(node), *patroni]


def app_environment(topo: Topology, port: int, slot: str) -> dict[str, str]:
    """Return the app's environment: the contract in docs/conventions.md, on the endpoints."""
    return {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "POSTGRESQL_HOST": "127.0.0.1",
        "POSTGRESQL_PORT": str(topo.port("pg-writer")),
        "POSTGRESQL_READ_HOST": "127.0.0.1",
        "POSTGRESQL_READ_PORT": str(topo.port("pg-reader")),
        # Files, as the chart mounts the secret: both re-read when a new login is refused
        # (rotation alternates the user between test_app and test_app_clone).
        "POSTGRESQL_USER_FILE": str(topo.app_user_file),
        "POSTGRESQL_PASSWORD_FILE": str(topo.app_password_file),
        "POSTGRESQL_DBNAME": "test_app",
        # HAProxy passes TCP through and the local servers have no certificate.
        "POSTGRESQL_SSLMODE": "disable",
        "DRAIN_SECONDS": f"{topo.drain_seconds:g}",
        "WORKERS": "1",
        "STARTUP_TIMEOUT_SECONDS": "30",
        # One JSON line per request would cost more CPU than the app under load on 2 cores.
        "ACCESS_LOG": "false",
        # HAProxy (the ALB's stand-in) connects from loopback and appends the client to
        # X-Forwarded-For: believe it, as the chart does with the ALB's subnets.
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "REHEARSAL_SLOT": slot,
    }


def _etcd_programs(topo: Topology, bins: Binaries) -> list[str]:
    """Build the programs of the three etcd members of the DCS."""
    programs: list[str] = []
    cluster = ",".join(f"{m}=http://127.0.0.1:{topo.port(m + '-peer')}" for m in ETCD_MEMBERS)
    programs.extend(
        _program(
            member,
            [
                bins.etcd,
                f"--name={member}",
                f"--data-dir={topo.etcd_data(member)}",
                "--listen-client-urls="
                + ",".join(f"http://{h}:{topo.port(member)}" for h in _etcd_hosts(topo)),
                f"--advertise-client-urls=http://{topo.dcs_host}:{topo.port(member)}",
                f"--listen-peer-urls=http://127.0.0.1:{topo.port(member + '-peer')}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{topo.port(member + '-peer')}",
                f"--initial-cluster={cluster}",
                f"--initial-cluster-token={PATRONI_SCOPE}-{topo.port_base}",
                "--initial-cluster-state=new",
                "--logger=zap",
                "--log-level=warn",
            ],
            topo.logs,
            # A killed member stays down until the rehearsal starts it (the dcs-loss fault).
            autorestart="false",
            stopwaitsecs="10",
        )
        for member in ETCD_MEMBERS
    )
    return programs


def _database_programs(topo: Topology, bins: Binaries) -> list[str]:
    """Build the programs of Patroni (and its PostgreSQL) on each node, and HAProxy in front."""
    programs: list[str] = []
    programs.extend(
        _program(
            node,
            _node_command(topo, bins, node),
            topo.logs,
            # Patroni stops PostgreSQL (fast) and hands the leader key over on SIGTERM.
            stopsignal="TERM",
            stopwaitsecs="40",
            killasgroup="true",
            # Patroni is the HA agent: supervisord keeps it running, it keeps PostgreSQL.
            autorestart="true",
            directory=str(topo.pg_root),
        )
        for node in PG_NODES
    )
    programs.append(
        _program(
            "haproxy",
            [bins.haproxy, "-W", "-db", "-f", str(topo.etc / "haproxy.cfg")],
            topo.logs,
            autorestart="true",
            stopwaitsecs="10",
        )
    )
    return programs


def _app_programs(topo: Topology, bins: Binaries) -> list[str]:
    """Build the programs of every slot of every app instance."""
    programs: list[str] = []
    for ordinal in range(1, APP_INSTANCES + 1):
        for slot in SLOTS:
            name = app_program(ordinal, slot)
            programs.append(
                _program(
                    name,
                    shlex.split(bins.app_command),
                    topo.logs,
                    autorestart="true",
                    stopsignal="TERM",
                    stopwaitsecs=str(int(topo.drain_seconds) + 20),
                    # Like Kubernetes: SIGTERM to the main process only, SIGKILL to all at the end.
                    stopasgroup="false",
                    killasgroup="true",
                    environment=_env(app_environment(topo, topo.port(name), slot)),
                )
            )
    return programs


def _monitoring_programs(topo: Topology, secrets: Secrets, bins: Binaries) -> list[str]:
    """Build the programs of the exporters, Prometheus and Alertmanager."""
    programs: list[str] = []
    programs.append(
        _program(
            "node-exporter",
            [
                bins.node_exporter,
                f"--web.listen-address=127.0.0.1:{topo.port('node-exporter')}",
                "--collector.disable-defaults",
                *[
                    f"--collector.{c}"
                    for c in ("cpu", "meminfo", "loadavg", "filesystem", "netdev", "pressure")
                ],
            ],
            topo.logs,
            autorestart="true",
        )
    )
    programs.append(
        _program(
            "blackbox-exporter",
            [
                bins.blackbox_exporter,
                f"--config.file={BLACKBOX_CONFIG}",
                f"--web.listen-address=127.0.0.1:{topo.port('blackbox-exporter')}",
            ],
            topo.logs,
            autorestart="true",
        )
    )
    for role in ("writer", "reader"):
        dsn = (
            f"postgresql://monitor:{secrets.monitor}@127.0.0.1:{topo.port('pg-' + role)}"
            "/postgres?sslmode=disable"
        )
        programs.append(
            _program(
                f"pg-exporter-{role}",
                [
                    bins.postgres_exporter,
                    f"--web.listen-address=127.0.0.1:{topo.port('pg-exporter-' + role)}",
                ],
                topo.logs,
                autorestart="true",
                environment=_env({"DATA_SOURCE_NAME": dsn}),
            )
        )
    programs.append(
        _program(
            "prometheus",
            [
                bins.prometheus,
                f"--config.file={topo.etc / 'prometheus.yml'}",
                f"--storage.tsdb.path={topo.state_dir / 'prometheus'}",
                "--storage.tsdb.retention.time=2d",
                f"--web.listen-address=127.0.0.1:{topo.port('prometheus')}",
                "--web.enable-lifecycle",
            ],
            topo.logs,
            autorestart="true",
            stopwaitsecs="20",
        )
    )
    programs.append(
        _program(
            "alertmanager",
            [
                bins.alertmanager,
                f"--config.file={topo.etc / 'alertmanager.yml'}",
                f"--storage.path={topo.state_dir / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{topo.port('alertmanager')}",
                # No gossip: a single Alertmanager must not open a cluster port on all addresses.
                "--cluster.listen-address=",
            ],
            topo.logs,
            autorestart="true",
        )
    )
    return programs


def render_supervisord(topo: Topology, secrets: Secrets, bins: Binaries) -> str:
    """Render supervisord's config: one program per process, all started stopped."""
    programs = [
        *_etcd_programs(topo, bins),
        *_database_programs(topo, bins),
        *_app_programs(topo, bins),
        *_monitoring_programs(topo, secrets, bins),
    ]
    return Template((TEMPLATES / "supervisord.conf.tmpl").read_text()).substitute(
        supervisor_sock=topo.supervisor_sock,
        logs=topo.logs,
        run=topo.run,
        state_dir=topo.state_dir,
        repo=REPO,
        programs="\n".join(programs),
    )


def render_prometheus(topo: Topology, rules_glob: Path = RULES_GLOB) -> str:
    """Render prometheus.yml: static targets, file_sd for the apps, production rules."""

    def static(job: str, targets: list[str], **extra: object) -> dict[str, object]:
        return {"job_name": job, "static_configs": [{"targets": targets}], **extra}

    config = {
        "global": {
            "scrape_interval": f"{SCRAPE_INTERVAL_SECONDS}s",
            "evaluation_interval": f"{SCRAPE_INTERVAL_SECONDS}s",
            "external_labels": {"environment": "rehearsal"},
        },
        # The SAME rule files production loads; a glob that matches nothing is valid. A scenario
        # may add rules of its own in etc/rules (rotate: the login-age rule on its schedule).
        "rule_files": [str(rules_glob), str(topo.etc / "rules" / "*.yaml")],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"127.0.0.1:{topo.port('alertmanager')}"]}]}
            ]
        },
        "scrape_configs": [
            # The app instances change during a rollout: a file the rehearsal rewrites plays
            # the part of Kubernetes service discovery.
            {
                "job_name": "test-app",
                "file_sd_configs": [
                    {"files": [str(topo.app_targets_file)], "refresh_interval": "5s"}
                ],
            },
            # The external availability probe (production: a Probe through the public ALB).
            {
                "job_name": "test-app-health",
                "metrics_path": "/probe",
                "params": {"module": [BLACKBOX_MODULE]},
                "static_configs": [{"targets": [topo.url("app-lb", "/health")]}],
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {
                        "target_label": "__address__",
                        "replacement": f"127.0.0.1:{topo.port('blackbox-exporter')}",
                    },
                ],
            },
            static("haproxy", [f"127.0.0.1:{topo.port('haproxy-stats')}"]),
            # The HA layer's own metrics: Patroni's REST API and every etcd member.
            {
                "job_name": "patroni",
                "metrics_path": "/metrics",
                "static_configs": [
                    {
                        "targets": [f"{topo.host(node)}:{topo.port('patroni-' + node)}"],
                        "labels": {"node": node},
                    }
                    for node in PG_NODES
                ],
            },
            {
                "job_name": "etcd",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{topo.port(m)}"], "labels": {"member": m}}
                    for m in ETCD_MEMBERS
                ],
            },
            {
                "job_name": "postgres",
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{topo.port('pg-exporter-' + role)}"],
                        "labels": {"endpoint": role},
                    }
                    for role in ("writer", "reader")
                ],
            },
            static("node", [f"127.0.0.1:{topo.port('node-exporter')}"]),
            static("prometheus", [f"127.0.0.1:{topo.port('prometheus')}"]),
            static("alertmanager", [f"127.0.0.1:{topo.port('alertmanager')}"]),
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


def render_alertmanager() -> str:
    """Alertmanager routes everything to a receiver with no integration: nothing leaves the box."""
    config = {
        "route": {
            "receiver": "rehearsal",
            "group_by": ["alertname"],
            "group_wait": "5s",
            "group_interval": "30s",
            "repeat_interval": "1h",
        },
        "receivers": [{"name": "rehearsal"}],
    }
    return yaml.safe_dump(config, sort_keys=False)


def render_app_targets(topo: Topology, running: list[str]) -> str:
    """file_sd targets of the running app instances, labelled like Kubernetes pods."""
    groups = [
        {
            "targets": [f"127.0.0.1:{topo.port(name)}"],
            "labels": {"namespace": "test-app", "pod": name, "service": "test-app"},
        }
        for name in sorted(running)
    ]
    return json.dumps(groups, indent=2) + "\n"
