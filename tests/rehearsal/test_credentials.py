"""The rehearsal's app login: the secret, its files and the alternating users (no servers)."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from rehearsal.base import configs, credentials
from rehearsal.base.credentials import AppSecret, Login
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import Topology
from rehearsal.measure import report
from rehearsal.scenarios import rotate
from test_app_tooling import login_rotation, tls
from test_app_tooling.tools import REPO


BINS = configs.Binaries(Path("/usr/lib/postgresql/bin"), *["x"] * 7)


@pytest.fixture
def topo(tmp_path):
    return Topology(port_base=21000, state_dir=tmp_path / "state", pg_os_user="postgres")


def test_the_app_reads_user_and_password_from_the_files_rotation_rewrites(topo):
    env = configs.app_environment(topo, 21020, "blue")
    assert env["POSTGRESQL_USER_FILE"] == str(topo.app_user_file)
    assert env["POSTGRESQL_PASSWORD_FILE"] == str(topo.app_password_file)
    assert "POSTGRESQL_USER" not in env
    assert "POSTGRESQL_PASSWORD" not in env
    assert topo.app_user_file.parent == topo.app_password_file.parent


def test_a_new_state_starts_with_test_app_in_the_secret_and_the_files(topo):
    secrets = credentials.load_secrets(topo)
    assert credentials.load_app_secret(topo) == AppSecret(Login("test_app", secrets.app))
    assert topo.app_user_file.read_text() == "test_app\n"
    assert topo.app_password_file.read_text() == secrets.app + "\n"
    assert credentials.load_secrets(topo) == secrets, "generated once"


def test_the_secret_keeps_the_current_and_the_previous_login(topo):
    secret = AppSecret(Login("test_app_clone", "b" * 32), Login("test_app", "a" * 32))
    credentials.save_app_secret(topo, secret)
    assert credentials.load_app_secret(topo) == secret
    assert oct(topo.app_secret.stat().st_mode & 0o777) == "0o600"


def test_the_login_files_change_together_like_a_kubelet_secret_volume(topo):
    credentials.write_login_files(topo, Login("test_app", "a" * 32))
    first = (topo.app_login_dir / credentials.DATA_LINK).resolve()
    seen: set[tuple[str, str]] = set()
    half_written: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            # Through the link, one version at a time (what a reader of ..data sees).
            folder = (topo.app_login_dir / credentials.DATA_LINK).resolve()
            try:
                seen.add(((folder / "user").read_text(), (folder / "password").read_text()))
            except FileNotFoundError as err:
                # An old version may be emptied and removed after the reader resolved the link;
                # a file missing from the version ..data points to now is a half-written swap.
                if folder == (topo.app_login_dir / credentials.DATA_LINK).resolve():
                    half_written.append(str(err))

    reader = threading.Thread(target=read)
    reader.start()
    for n in range(50):
        user = "test_app_clone" if n % 2 == 0 else "test_app"
        credentials.write_login_files(topo, Login(user, ("b" if n % 2 == 0 else "a") * 32))
    stop.set()
    reader.join()
    assert half_written == []
    assert seen <= {("test_app\n", "a" * 32 + "\n"), ("test_app_clone\n", "b" * 32 + "\n")}
    assert topo.app_user_file.is_symlink()
    assert topo.app_password_file.is_symlink()
    assert not first.exists(), "the previous version is removed"
    assert len([p for p in topo.app_login_dir.iterdir() if p.name.startswith("..2")]) == 1


def test_the_instances_switch_is_read_from_the_apps_json_log():
    lines = [
        json.dumps({"logger": "test_app.database", "event": "database up again"}),
        json.dumps(
            {
                "logger": "test_app.credentials",
                "event": "database login files changed: new connections use them",
                "user": "test_app_clone",
            }
        ),
        "not json",
    ]
    assert rotate.switched_users(lines) == ["test_app_clone"]
    assert rotate.switched_users(lines[:1]) == []


def test_the_rehearsal_ends_sessions_of_the_app_users_only():
    assert "usename = 'test_app_clone' AND state = 'idle'" in rotate.terminate_idle_sql(
        "test_app_clone"
    )
    with pytest.raises(RehearsalError, match="user 'postgres': expected one of test_app, test"):
        rotate.terminate_idle_sql("postgres")


def test_the_servers_certificate_verifies_against_its_ca_only(topo, tool):
    certs = credentials.make_server_certificates(topo)
    assert oct(certs.server_key.stat().st_mode & 0o777) == "0o600"
    parameters = yaml.safe_load(
        configs.render_patroni(topo, configs.Secrets("a", "b", "c", "d"), BINS, "pg-a")
    )["postgresql"]["parameters"]
    assert parameters["ssl"] == "on"
    assert parameters["ssl_cert_file"] == str(certs.server_cert)
    assert parameters["ssl_key_file"] == str(certs.server_key)

    def verify(ca):
        return subprocess.run(
            [tool("openssl"), "verify", "-CAfile", str(ca), "-verify_ip", "127.0.0.1",
             str(certs.server_cert)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    assert verify(certs.ca).returncode == 0, verify(certs.ca).stderr
    assert verify(certs.other_ca).returncode != 0
    before = certs.server_cert.read_bytes()
    assert credentials.make_server_certificates(topo).server_cert.read_bytes() == before, "once"


def test_a_certificate_needs_ip_addresses(tmp_path):
    with pytest.raises(ValueError, match=r"addresses: expected IP addresses, got 'db\.local'"):
        tls.make_certificates(tmp_path, ["db.local"])
    with pytest.raises(ValueError, match="addresses: expected at least one"):
        tls.make_certificates(tmp_path, [])


def _stall(**changes):
    attempt = {
        "fault": "wrong-ca",
        "error": rotate.EXPECTED_ERROR["wrong-ca"] + " (x)",
        "as_expected": True,
        "awscurrent_unchanged": True,
        "current_login_works": True,
    }
    stall = {"faults": ["wrong-ca"], "attempts": [attempt], "t_first_failure": 100.0,
             "t_pending": 150.0, "t_firing": 160.0, "t_fixed": 165.0, "t_resolved": 175.0,
             "reattempted_failed_token": True}  # fmt: skip
    attempt.update(changes.pop("attempt", {}))
    return {**stall, **changes}


def test_a_stall_that_failed_and_paged_passes():
    rep = report.Report("rotate", "t", "c", echo=False)
    rotate.check_stall(rep, _stall())
    assert rep.passed, rep.checks


@pytest.mark.parametrize(
    ("changes", "failed"),
    [
        # A rotation given the wrong CA that reports success is a failed check, not a pass.
        ({"attempt": {"error": "", "as_expected": False}}, "reported as failed in setSecret"),
        ({"attempt": {"awscurrent_unchanged": False}}, "AWSCURRENT unchanged"),
        ({"t_pending": None, "t_firing": None}, "firing after the first failure"),
        ({"t_firing": 200.0}, "firing after the first failure"),  # later than threshold + for
        ({"t_firing": 152.0}, "pending -> firing"),  # sooner than `for`
        ({"t_resolved": None}, "fixed -> resolved"),
        ({"reattempted_failed_token": False}, "fixed -> resolved"),
        ({"attempts": []}, "reported as failed in setSecret"),
    ],
)
def test_a_stall_check_fails_on_each_broken_promise(changes, failed):
    rep = report.Report("rotate", "t", "c", echo=False)
    rotate.check_stall(rep, _stall(**changes))
    assert any(failed in c.name for c in rep.checks if not c.ok), rep.checks


def test_the_alert_watch_reads_states_between_times():
    watch = rotate.AlertWatch(Topology(), "A")
    watch.changes = [(0.0, "inactive"), (10.0, "pending"), (20.0, "firing"), (30.0, "inactive")]
    assert watch.states(1.0, 9.0) == {"inactive"}
    assert watch.states(5.0, 25.0) == {"inactive", "pending", "firing"}
    assert watch.first("pending", 5.0) == 10.0
    assert watch.first("pending", 15.0) == 20.0  # firing means it was pending before
    assert watch.first("firing", 0.0) == 20.0
    assert watch.first("inactive", 21.0) == 30.0
    assert watch.first("firing", 31.0) is None


def test_the_docs_quote_the_schedules_the_code_uses():
    rehearsal = rotate.SCHEDULE
    production = yaml.safe_load((REPO / "observability" / "login-rotation.yaml").read_text())
    guide = " ".join((REPO / "docs" / "rehearsal.md").read_text().split())
    assert (
        f"a rotation every {rehearsal.schedule} s, window {rehearsal.window} s, grace "
        f"{rehearsal.grace} s, `for: {rehearsal.for_}s`"
    ) in guide
    runbook = REPO / "docs" / "runbooks" / "database" / "TestAppDatabaseLoginNotRotated.md"
    assert f"rotation every {rehearsal.schedule} seconds" in " ".join(runbook.read_text().split())
    observability = " ".join((REPO / "docs" / "observability.md").read_text().split())
    quoted = ", ".join(f"`{key}: {production[key]}`" for key in ("schedule", "window", "grace"))
    assert f"{quoted}, `for: {production['for']}`" in observability
    threshold = login_rotation.load(REPO / "observability" / "login-rotation.yaml").threshold
    assert f"({threshold // 86400} days for {production['schedule'][:-1]}-day rotation)" in (
        observability
    )
