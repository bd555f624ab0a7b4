"""Cheap checks of the rehearsal's generated configs and its measurement code (no servers)."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from rehearsal.base import binaries, configs
from rehearsal.base.configs import Binaries, Secrets
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import (
    APP_INSTANCES,
    PG_NODES,
    Topology,
    app_programs,
    parse_port_base,
)
from rehearsal.measure.load import LoadError, LoadResult, LoadSpec, Sample, parse_csv
from rehearsal.measure.probe import Observation, down_seconds, recovered_at
from rehearsal.scenarios import outage
from test_app.proxies import client_address, parse_networks
from test_app_tooling.tools import REPO


SECRETS = Secrets(postgres="p" * 32, replicator="r" * 32, app="a" * 32, monitor="m" * 32)


@pytest.fixture
def topo(tmp_path):
    return Topology(port_base=21000, state_dir=tmp_path / "state", pg_os_user="postgres")


@pytest.fixture
def bins():
    return Binaries(
        pg_bindir=Path("/pg/bin"),
        haproxy="/bin/haproxy",
        prometheus="/bin/prometheus",
        alertmanager="/bin/alertmanager",
        node_exporter="/bin/node-exporter",
        postgres_exporter="/bin/postgres-exporter",
        blackbox_exporter="/bin/blackbox-exporter",
        app_command="/venv/bin/test-app",
        patroni="/bin/patroni",
        etcd="/bin/etcd",
    )


def test_ports_are_unique_and_follow_the_base(topo):
    ports = topo.all_ports()
    assert len(set(ports.values())) == len(ports)
    assert min(ports.values()) == 21000
    assert max(ports.values()) < 21000 + 100
    assert len(app_programs()) == 2 * APP_INSTANCES


@pytest.mark.parametrize(("raw", "message"), [("abc", "integer"), ("80", "between")])
def test_bad_port_base_names_the_variable(raw, message):
    with pytest.raises(ValueError, match=f"REHEARSAL_PORT_BASE.*{message}"):
        parse_port_base(raw)


def test_bad_drain_seconds_names_the_variable(monkeypatch):
    monkeypatch.setenv("REHEARSAL_DRAIN_SECONDS", "soon")
    with pytest.raises(ValueError, match="REHEARSAL_DRAIN_SECONDS"):
        Topology.from_env()


def test_haproxy_config_is_valid_and_has_the_production_shape(topo, tmp_path, tool):
    text = configs.render_haproxy(topo)
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    result = subprocess.run(
        [tool("haproxy"), "-c", "-f", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sections = _sections(text)
    app_servers = [line for line in sections["backend app"] if line.startswith("server app")]
    assert len(app_servers) == 2 * APP_INSTANCES
    assert sum("disabled" in line for line in app_servers) == APP_INSTANCES
    for needle in (
        "uri /readyz",
        "retry-on conn-failure",
        "option redispatch",
        "level admin",
        "OPTIONS /primary",
        "OPTIONS /replica",
        "nbsrv(pg_replicas)",
        "on-marked-down shutdown-sessions",
    ):
        assert needle in text, needle


def _sections(text: str) -> dict[str, list[str]]:
    """HAProxy config sections (``backend app``, ...) and their stripped lines."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            current = sections.setdefault(line.strip(), [])
        elif line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
    return sections


def test_the_app_balancer_fails_open_and_forwards_the_client_address_like_an_alb(topo):
    sections = _sections(configs.render_haproxy(topo))
    frontend = sections["frontend app"]
    # Ready instances while there is one; every running instance when none is ready.
    assert "use_backend app if { nbsrv(app) gt 0 }" in frontend
    assert "default_backend app_fail_open" in frontend
    fail_open = sections["backend app_fail_open"]
    servers = [line for line in fail_open if line.startswith("server app")]
    assert len(servers) == 2 * APP_INSTANCES
    assert not any("disabled" in line for line in servers)
    assert "http-check send meth GET uri /livez" in fail_open
    for backend in ("backend app", "backend app_fail_open"):
        assert "option forwardfor" in sections[backend], backend


def test_database_endpoints_check_patroni_rest_api_and_the_postgresql_port(topo):
    sections = _sections(configs.render_haproxy(topo))
    for backend, uri in (("backend pg_primary", "/primary"), ("backend pg_replicas", "/replica")):
        lines = sections[backend]
        rules = [line for line in lines if line.startswith("tcp-check ")]
        # One ruleset, in order: Patroni's REST API (the check port), then PostgreSQL's port.
        assert "option tcp-check" in lines
        assert not any(line.startswith(("option httpchk", "http-check")) for line in lines)
        assert [rule.split()[1] for rule in rules] == [
            "connect", "send", "expect", "connect", "send-binary", "expect",
        ]  # fmt: skip
        # OPTIONS, not GET: Patroni answers without a body, and logs no reset connection.
        assert rules[1] == f'tcp-check send "OPTIONS {uri} HTTP/1.0\\r\\n\\r\\n"'
        assert "rstring ^HTTP/1\\.[01]\\ 200" in rules[2]
        assert rules[0].startswith("tcp-check connect linger")
        assert rules[3].startswith("tcp-check connect port srv_id ")
        startup = configs.pg_startup_message(configs.HAPROXY_CHECK_USER)
        assert rules[4] == f"tcp-check send-binary {startup.hex()}"
        assert "rbinary ^(52|45)" in rules[5], "an authentication request (R) or an error (E)"
        servers = [line for line in lines if line.startswith("server pg-")]
        assert [s.split()[1] for s in servers] == list(PG_NODES)
        for line, node in zip(servers, PG_NODES, strict=True):
            assert f"check port {topo.port('patroni-' + node)}" in line
            # srv_id is the port of the second connection: the server's own PostgreSQL port.
            assert f":{topo.port(node)} id {topo.port(node)} " in line


def test_the_startup_message_is_postgresql_protocol_3():
    message = configs.pg_startup_message("haproxy_check")
    assert int.from_bytes(message[:4], "big") == len(message)
    assert message[4:8] == bytes.fromhex("00030000")
    assert message[8:] == b"user\0haproxy_check\0\0"
    with pytest.raises(ValueError, match="HAProxy check user: expected letters"):
        configs.pg_startup_message("x\0y")


def test_the_wal_volume_holds_what_the_settings_let_pg_wal_keep(topo, bins):
    # max_wal_size between checkpoints plus the larger of wal_keep_size and what an inactive
    # slot may retain: a volume below that fills by configuration, not by a fault.
    params = yaml.safe_load(configs.render_patroni(topo, SECRETS, bins, "pg-a"))["bootstrap"][
        "dcs"
    ]["postgresql"]["parameters"]
    mb = {key: int(str(params[key]).removesuffix("MB")) for key in (
        "max_wal_size", "wal_keep_size", "max_slot_wal_keep_size")}  # fmt: skip
    floor = mb["max_wal_size"] + max(mb["wal_keep_size"], mb["max_slot_wal_keep_size"])
    assert configs.wal_volume_floor_mb() == floor
    assert floor * 1.25 <= configs.WAL_VOLUME_MB, "a quarter above the floor: max_wal_size is soft"


@pytest.mark.parametrize("volumes", [True, False])
def test_pg_wal_goes_to_the_wal_volume_as_root_only(tmp_path, bins, volumes):
    topo = Topology(port_base=21000, state_dir=tmp_path, pg_os_user="postgres",
                    wal_volumes=volumes)  # fmt: skip
    for node in PG_NODES:
        config = yaml.safe_load(configs.render_patroni(topo, SECRETS, bins, node))
        waldir = {"waldir": str(topo.pg_wal_dir(node))}
        # initdb on the node that bootstraps, pg_basebackup on the one that clones it.
        assert (waldir in config["bootstrap"]["initdb"]) is volumes
        assert (config["postgresql"].get("basebackup") == [waldir]) is volumes
        assert topo.pg_wal_dir(node).parent == topo.wal_mount(node)


def test_patroni_fails_over_on_a_crash_and_rejoins_with_pg_rewind(topo, bins):
    for node in PG_NODES:
        config = yaml.safe_load(configs.render_patroni(topo, SECRETS, bins, node))
        assert config["name"] == node
        dcs = config["bootstrap"]["dcs"]
        assert dcs["primary_start_timeout"] == 0, "a crashed primary must fail over"
        assert dcs["postgresql"]["use_pg_rewind"] is True
        # A failed rewind (a full WAL volume) must not leave the node for a person to rebuild.
        assert dcs["postgresql"]["remove_data_directory_on_rewind_failure"] is True
        assert dcs["loop_wait"] + 2 * dcs["retry_timeout"] <= dcs["ttl"]
        assert config["etcd3"]["hosts"] == [
            f"{topo.dcs_host}:{topo.port(m)}" for m in ("etcd-1", "etcd-2", "etcd-3")
        ]
        assert dcs["failsafe_mode"] is True, "a lost etcd quorum must not demote the primary"
        parameters = dcs["postgresql"]["parameters"]
        assert parameters["max_slot_wal_keep_size"] == configs.MAX_SLOT_WAL_KEEP_SIZE
        assert config["restapi"]["listen"] == f"{topo.host(node)}:{topo.port('patroni-' + node)}"
        assert config["postgresql"]["listen"] == f"{topo.host(node)}:{topo.port(node)}"
        assert config["postgresql"]["data_dir"] == str(topo.pg_data(node))


def test_supervisord_config_starts_nothing_by_itself_and_drains_apps(topo, bins):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(configs.render_supervisord(topo, SECRETS, bins))
    programs = {
        s.split(":", 1)[1]: parser[s] for s in parser.sections() if s.startswith("program:")
    }
    assert set(app_programs()) <= set(programs)
    assert {
        "pg-a", "pg-b", "etcd-1", "etcd-2", "etcd-3", "haproxy", "prometheus", "alertmanager",
        "blackbox-exporter",
    } <= set(programs)  # fmt: skip
    for member in ("etcd-1", "etcd-2", "etcd-3"):
        command = programs[member]["command"]
        assert f"--name={member}" in command
        assert "--initial-cluster=etcd-1=http://127.0.0.1:" in command
        cluster = next(a for a in command.split() if a.startswith("--initial-cluster="))
        assert [m.split("=")[0] for m in cluster.split("=", 1)[1].split(",")] == [
            "etcd-1", "etcd-2", "etcd-3"
        ], "every member in the cluster"  # fmt: skip
        assert programs[member]["autorestart"] == "false", "a killed member stays down"
    for node in PG_NODES:
        assert programs[node]["command"].endswith(str(topo.patroni_conf(node)))
        assert programs[node]["autorestart"] == "true"
    assert all(p["autostart"] == "false" for p in programs.values())
    for name in app_programs():
        assert programs[name]["stopsignal"] == "TERM"
        assert float(programs[name]["stopwaitsecs"]) > topo.drain_seconds
        assert programs[name]["stopasgroup"] == "false"
    assert "--cluster.listen-address=" in programs["alertmanager"]["command"]
    assert "127.0.0.1:" in programs["prometheus"]["command"]


def test_supervisord_serves_xml_rpc_on_the_socket_the_client_calls_and_nowhere_else(topo, bins):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(configs.render_supervisord(topo, SECRETS, bins))
    assert parser["unix_http_server"]["file"] == str(topo.supervisor_sock)
    assert parser["unix_http_server"]["chmod"] == "0700"
    factory = parser["rpcinterface:supervisor"]["supervisor.rpcinterface_factory"]
    assert factory == "supervisor.rpcinterface:make_main_rpcinterface"
    assert "inet_http_server" not in parser


def test_supervisord_refuses_values_it_would_misparse(topo, bins):
    bad = Secrets(postgres="x", replicator="x", app="x", monitor="50%off")
    with pytest.raises(ValueError, match="DATA_SOURCE_NAME"):
        configs.render_supervisord(topo, bad, bins)


def test_app_environment_points_at_the_endpoints(topo):
    env = configs.app_environment(topo, 21020, "blue")
    assert env["POSTGRESQL_PORT"] == str(topo.port("pg-writer"))
    assert env["POSTGRESQL_READ_PORT"] == str(topo.port("pg-reader"))
    assert env["HOST"] == "127.0.0.1"


def test_the_app_logs_the_client_haproxy_forwards(topo):
    env = configs.app_environment(topo, 21020, "blue")
    trusted = parse_networks(env["TRUSTED_PROXIES"])
    # HAProxy connects to the app from loopback and appends the client it saw.
    assert client_address("127.0.0.1", "198.51.100.7", trusted) == "198.51.100.7"
    # Only HAProxy is trusted: a peer elsewhere cannot choose the logged address.
    assert client_address("192.0.2.10", "198.51.100.7", trusted) == "192.0.2.10"


def test_the_app_reads_its_login_from_files_never_from_the_supervisord_config(topo, bins):
    env = configs.app_environment(topo, 21020, "blue")
    assert env["POSTGRESQL_PASSWORD_FILE"] == str(topo.app_password_file)
    assert "POSTGRESQL_PASSWORD" not in env
    assert SECRETS.app not in configs.render_supervisord(topo, SECRETS, bins)


def test_prometheus_config_loads_the_production_rules(topo, tmp_path, tool):
    topo.etc.mkdir(parents=True)
    topo.app_targets_file.write_text(configs.render_app_targets(topo, app_programs()[:3]))
    path = tmp_path / "prometheus.yml"
    path.write_text(configs.render_prometheus(topo))
    result = subprocess.run(
        [tool("promtool"), "check", "config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rule files found" in result.stdout
    assert " 0 rule files found" not in result.stdout, "the production rule files were not loaded"
    jobs = {job["job_name"] for job in yaml.safe_load(path.read_text())["scrape_configs"]}
    # The job names the production rules select on.
    assert {"test-app", "test-app-health", "postgres", "node", "haproxy"} <= jobs
    targets = json.loads(topo.app_targets_file.read_text())
    assert {t["labels"]["namespace"] for t in targets} == {"test-app"}


def test_prometheus_config_tolerates_no_rule_files(topo, tmp_path, tool):
    topo.etc.mkdir(parents=True)
    path = tmp_path / "prometheus.yml"
    path.write_text(configs.render_prometheus(topo, tmp_path / "none" / "*.yaml"))
    result = subprocess.run(
        [tool("promtool"), "check", "config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_config_is_valid(tmp_path, tool):
    path = tmp_path / "alertmanager.yml"
    path.write_text(configs.render_alertmanager())
    result = subprocess.run(
        [tool("amtool"), "check-config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_outage_rehearsal_finds_the_database_alert_in_the_production_rules():
    name, for_seconds = outage.database_alert()
    # Not another alert that reads test_app_db_up (TestAppWriterRefusesNewConnections needs it 1).
    assert name == "TestAppDatabaseUnreachable"
    assert for_seconds > 0


def test_the_outage_rehearsal_fails_without_rule_files(tmp_path):
    with pytest.raises(RuntimeError, match="no rule files"):
        outage.database_alert(tmp_path / "*.yaml")


@pytest.mark.parametrize(("text", "seconds"), [("2m", 120), ("1h30m", 5400), ("90s", 90)])
def test_prometheus_durations(text, seconds):
    assert outage.parse_duration(text) == seconds


def test_bad_prometheus_duration_is_refused():
    with pytest.raises(ValueError, match="`for`"):
        outage.parse_duration("two minutes")


def test_hey_csv_is_parsed_and_unanswered_requests_count_as_failed():
    text = (
        "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset\n"
        "0.0020,0.0005,0.0000,0.0001,0.0013,0.0001,200,0.10\n"
        "0.0040,0.0003,0.0000,0.0000,0.0017,0.0001,503,1.20\n"
        "0.0030,0.0003,0.0000,0.0000,0.0017,0.0001,200,2.20\n"
    )
    samples = parse_csv(text)
    result = LoadResult(LoadSpec("http://x", concurrency=2, rate=1, requests=4), samples, 0.0)
    assert result.sent == 4
    assert result.unanswered == 1
    assert result.failed() == 2  # one 503 and one request without an answer
    assert result.failed(1.0, 2.0) == 1
    assert result.latency_ms(0, 1)["p50"] == 2.0


def test_hey_csv_with_an_unknown_header_is_refused():
    with pytest.raises(LoadError, match="header"):
        parse_csv("a,b\n1,2\n")


def test_down_seconds_counts_each_bad_run_until_the_next_good_answer():
    obs = [
        Observation(t, "x", s)
        for t, s in [(0, 200), (1, 500), (2, 0), (3, 200), (4, 500), (5, 200)]
    ]
    assert down_seconds(obs) == 3.0
    assert down_seconds([Observation(0, "x", 200)]) == 0.0


def test_load_spec_nominal_duration():
    assert LoadSpec("http://x", concurrency=4, rate=25, requests=1000).nominal_seconds == 10


def test_missing_programs_are_named_with_the_exact_install_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RehearsalError) as error:
        binaries.find_binaries()
    message = str(error.value)
    assert "apt-get install -y --no-install-recommends" in message
    for package in (
        "haproxy", "supervisor", "prometheus-alertmanager", "postgresql-15", "hey", "etcd-server",
    ):  # fmt: skip
        assert package in message


def test_failures_are_counted_by_type():
    samples = [Sample(0.1, 0.01, 200), Sample(0.2, 0.01, 500), Sample(0.3, 0.01, 500),
               Sample(0.4, 0.01, 503)]  # fmt: skip
    result = LoadResult(LoadSpec("http://x", concurrency=1, rate=1, requests=6), samples, 0.0)
    assert result.failures_by_type() == {"HTTP 500": 2, "HTTP 503": 1, "no answer": 2}
    assert sum(result.failures_by_type().values()) == result.failed()


def test_recovered_at_is_the_end_of_the_last_bad_run_after_the_failure():
    obs = [
        Observation(t, "x", s)
        for t, s in [(0, 200), (1, 200), (2, 500), (3, 0), (4, 200), (5, 500), (6, 200), (7, 200)]
    ]
    assert recovered_at(obs, after=1.5) == 6
    assert recovered_at(obs, after=6.5) is None  # nothing went wrong after 6.5
    assert recovered_at(obs[:6], after=1.5) is None  # still DOWN at the end


def test_the_command_line_offers_every_scenario_in_the_run_order():
    from rehearsal import __main__ as cli  # noqa: PLC0415
    from rehearsal import rehearse  # noqa: PLC0415

    assert tuple(rehearse.RUNNERS) == cli.SCENARIOS
    assert cli.SCENARIOS[-1] == "outage", "the outage must come last: it fires the alert"


def test_rehearse_without_names_means_every_scenario(tmp_path, capsys):
    from rehearsal import __main__ as cli  # noqa: PLC0415

    # No running topology in an empty state folder: the command gets past parsing and says so.
    assert cli.main(["rehearse", "--state-dir", str(tmp_path / "state")]) == 1
    assert "the rehearsal is not running" in capsys.readouterr().err


def test_an_unknown_scenario_is_refused_by_name(capsys):
    from rehearsal import __main__ as cli  # noqa: PLC0415

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["rehearse", "rolout"])
    assert exit_info.value.code == 2
    assert "unknown scenario rolout: expected rollout, failover" in capsys.readouterr().err


def test_the_watchdog_is_required_where_the_machine_has_one(tmp_path):
    device = tmp_path / "watchdog"
    assert configs.watchdog_config(device) == {"mode": "off"}
    device.touch()
    assert configs.watchdog_config(device) == {
        "mode": "required",
        "device": str(device),
        "safety_margin": 5,
    }


def test_prometheus_scrapes_patroni_and_every_etcd_member(topo):
    config = yaml.safe_load(configs.render_prometheus(topo))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    patroni = [t for group in jobs["patroni"]["static_configs"] for t in group["targets"]]
    assert patroni == [f"{topo.host(node)}:{topo.port('patroni-' + node)}" for node in PG_NODES]
    etcd = [t for group in jobs["etcd"]["static_configs"] for t in group["targets"]]
    assert etcd == [f"127.0.0.1:{topo.port(m)}" for m in ("etcd-1", "etcd-2", "etcd-3")]


def test_the_patroni_environment_is_pinned_and_locked():
    lines = [
        line
        for line in (REPO / "requirements" / "venv-patroni.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert "patroni[etcd3,psycopg3]==4.1.5" in lines
    assert all("==" in line for line in lines), "every package pinned"
    assert any(line.startswith("python-etcd==") for line in lines), "the etcd3 extra is locked"


@pytest.mark.parametrize("netns", [True, False])
def test_nodes_live_in_namespaces_as_root_and_on_loopback_otherwise(tmp_path, bins, netns):
    topo = Topology(port_base=21000, state_dir=tmp_path / "state", netns=netns)
    hosts = [topo.host(node) for node in PG_NODES]
    if netns:
        assert hosts == ["10.200.210.2", "10.200.210.3"]
        assert topo.dcs_host == topo.bridge_ip == "10.200.210.1"
        # Another stack's base (tests pick bases 100 apart) gets another subnet and names.
        other = Topology(port_base=21100, state_dir=tmp_path / "other", netns=True)
        assert other.subnet != topo.subnet
        assert {other.netns_name(n) for n in PG_NODES}.isdisjoint(
            topo.netns_name(n) for n in PG_NODES
        )
        assert all(len(topo.link(n) + "n") <= 15 for n in PG_NODES), "IFNAMSIZ"
    else:
        assert hosts == ["127.0.0.1", "127.0.0.1"]
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(configs.render_supervisord(topo, SECRETS, bins))
    command = parser["program:pg-a"]["command"]
    stdin_null = "/bin/sh -c 'exec \"$@\" < /dev/null' stdin-null "
    assert command.startswith(stdin_null), "Patroni's stdin must not be supervisord's pipe"
    assert (
        command.removeprefix(stdin_null).startswith(
            f"ip netns exec {topo.netns_name('pg-a')} setpriv"
        )
        is netns
    )
    # As root, Patroni runs as the PostgreSQL user by the one switch the project uses (setpriv).
    assert ("setpriv --reuid=postgres" in command) is (os.geteuid() == 0)
    assert "user" not in parser["program:pg-a"]
    haproxy_cfg = configs.render_haproxy(topo)
    assert f"server pg-a {hosts[0]}:{topo.port('pg-a')}" in haproxy_cfg
    assert topo.host_of_port(topo.port("patroni-pg-b")) == hosts[1]
    assert topo.host_of_port(topo.port("pg-writer")) == "127.0.0.1"
