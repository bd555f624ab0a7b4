"""POSTGRESQL_PASSWORD_FILE: a rotated password is picked up with no restart and no failure."""

import asyncio
import secrets
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from test_app.credentials import Credentials, fingerprint
from test_app.database import Target
from test_app.settings import load_settings


ROLE_QUERY = (
    "SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}' "
    "AND backend_start > to_timestamp({since})"
)


def write_secret(path, value):
    """Replace the file in one rename, as the kubelet swaps a secret volume's content."""
    staged = path.with_name(path.name + ".new")
    staged.write_text(value + "\n")
    staged.replace(path)


class Role:
    """A throwaway login role on the real primary and the file holding its password."""

    def __init__(self, postgres, secret_path):
        self.postgres = postgres
        self.name = f"rotate_{secrets.token_hex(4)}"
        self.file = secret_path
        self.password = secrets.token_urlsafe(12)
        postgres.primary.sql(f"CREATE ROLE {self.name} LOGIN PASSWORD '{self.password}'")
        write_secret(self.file, self.password)

    def env(self):
        env = {**self.postgres.env(reader=False), "POSTGRESQL_USER": self.name}
        del env["POSTGRESQL_PASSWORD"]
        # A generous ping bound: on a loaded machine only a refused login may fail a ping.
        return {**env, "POSTGRESQL_PASSWORD_FILE": str(self.file), "PING_TIMEOUT_SECONDS": "5"}

    def alter_password(self):
        """Change the password in PostgreSQL only (the file still holds the old one)."""
        self.password = secrets.token_urlsafe(12)
        self.postgres.primary.sql(f"ALTER ROLE {self.name} PASSWORD '{self.password}'")

    def backends_since(self, since):
        return int(self.postgres.primary.sql(ROLE_QUERY.format(role=self.name, since=since)))

    def drop(self):
        self.postgres.primary.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608 - our own name
            f"WHERE usename = '{self.name}'"
        )
        self.postgres.primary.sql(f"DROP ROLE {self.name}")


def login_info(app):
    """(user, fingerprint) -> value of test_app_db_login_info on the app's /metrics."""
    found = {}
    for family in text_string_to_metric_families(app.get("/metrics").text):
        if family.name == "test_app_db_login_info":
            for sample in family.samples:
                found[sample.labels["user"], sample.labels["fingerprint"]] = sample.value
    return found


@pytest.fixture
def role(postgres, tmp_path):
    made = Role(postgres, tmp_path / "password")
    yield made
    made.drop()


def test_reload_picks_up_changed_files_and_keeps_the_login_otherwise(tmp_path):
    user, secret = tmp_path / "user", tmp_path / "password"
    write_secret(user, "app")
    write_secret(secret, "first")
    env = {"POSTGRESQL_USER_FILE": str(user), "POSTGRESQL_PASSWORD_FILE": str(secret)}
    login = Credentials(load_settings(env))
    assert (login.user, login.password) == ("app", "first")
    assert not login.reload(), "unchanged files are not a change"
    write_secret(secret, "second")
    assert login.reload()
    assert (login.user, login.password) == ("app", "second")
    write_secret(user, "app_clone")
    assert login.reload()
    assert (login.user, login.password) == ("app_clone", "second")
    secret.unlink()
    assert not login.reload(), "a missing file keeps the working password"
    secret.write_text("")
    assert not login.reload(), "an empty file keeps the working password"
    assert (login.user, login.password) == ("app_clone", "second")


def test_an_unreadable_login_file_is_logged_once_per_state_change(tmp_path, capsys):
    secret = tmp_path / "password"
    write_secret(secret, "first")
    login = Credentials(load_settings({"POSTGRESQL_PASSWORD_FILE": str(secret)}))
    secret.unlink()
    for _ in range(50):  # one reload per refused login: a burst of them
        assert not login.reload()
    write_secret(secret, "first")
    assert not login.reload()
    secret.write_text("")
    assert not login.reload()
    logged = capsys.readouterr().out
    assert logged.count("cannot re-read a login file") == 2, logged  # missing, then empty
    assert logged.count("login file readable again") == 1, logged


def test_a_login_from_the_environment_is_never_reloaded():
    login = Credentials(load_settings({"POSTGRESQL_PASSWORD": "fixed"}))
    assert not login.reload()
    assert (login.user, login.password) == ("postgres", "fixed")


@pytest.mark.integration
async def test_rotation_under_load_loses_no_ping(role):
    settings = load_settings(role.env())
    target = Target("writer", settings.writer, settings)
    await target.open()
    results: list[bool] = []
    stop = asyncio.Event()

    async def load():
        while not stop.is_set() and len(results) < 50_000:
            results.append(await target.ping())
            await asyncio.sleep(0.001)

    workers = [asyncio.create_task(load()) for _ in range(4)]
    try:
        await asyncio.sleep(0.3)
        rotated_at = time.time()
        await asyncio.to_thread(role.alter_password)
        # The kubelet's delay: PostgreSQL has the new password, the file still the old one.
        await asyncio.sleep(0.3)
        before_file = len(results)
        write_secret(role.file, role.password)
        # What max_inactive_connection_lifetime does after its 300 s: the pool replaces its
        # connections, and the replacements must log in with the new password.
        await target._require_pool().expire_connections()  # noqa: SLF001
        deadline = time.monotonic() + 20
        while await asyncio.to_thread(role.backends_since, rotated_at) == 0:
            assert time.monotonic() < deadline, "no new connection logged in after the rotation"
            await asyncio.sleep(0.1)
        after_reconnect = len(results)
        await asyncio.sleep(0.3)
    finally:
        stop.set()
        await asyncio.gather(*workers)
        await target.close()
    assert before_file > 0
    assert len(results) > after_reconnect, "pings kept flowing on the new connection"
    assert results.count(False) == 0, f"{results.count(False)} of {len(results)} pings failed"


@pytest.mark.integration
def test_the_running_app_logs_in_with_the_rewritten_file_without_a_restart(role, run_app):
    # POOL_MIN_SIZE=0: the worker holds no connection, so the next request must log in anew.
    app = run_app({**role.env(), "POOL_MIN_SIZE": "0"})
    role.alter_password()
    assert app.get("/health").status_code == 500, "the file still holds the old password"
    write_secret(role.file, role.password)
    assert (app.get("/health").status_code, app.get("/health").text) == (200, "UP\n")
    assert app.proc.poll() is None, "no restart"
    assert "database login files changed" in app.log
    assert role.password not in app.log


@pytest.mark.integration
def test_the_app_follows_a_switch_to_the_alternate_user(role, run_app, tmp_path):
    """Alternating users: the rotation creates `<user>_clone` and points the secret at it."""
    user_file = tmp_path / "user"
    write_secret(user_file, role.name)
    env = {**role.env(), "POOL_MIN_SIZE": "0", "POSTGRESQL_USER_FILE": str(user_file)}
    del env["POSTGRESQL_USER"]
    app = run_app(env)
    assert login_info(app) == {(role.name, fingerprint(role.name, role.password)): 1.0}
    clone, clone_password = f"{role.name}_clone", secrets.token_urlsafe(12)
    primary = role.postgres.primary
    primary.sql(
        f"CREATE ROLE {clone} LOGIN PASSWORD '{clone_password}'; GRANT {role.name} TO {clone}"
    )
    try:
        write_secret(user_file, clone)
        write_secret(role.file, clone_password)
        old_password = role.password
        role.alter_password()  # the next rotation changes the previous user's password
        assert (app.get("/health").status_code, app.get("/health").text) == (200, "UP\n")
        logged_in = primary.sql(
            "SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity "  # noqa: S608
            f"WHERE application_name = 'test-app' AND usename IN ('{role.name}', '{clone}')"
        )
        assert logged_in == clone
        # The login Prometheus ages: the new one at 1, the previous one at 0.
        assert login_info(app) == {
            (role.name, fingerprint(role.name, old_password)): 0.0,
            (clone, fingerprint(clone, clone_password)): 1.0,
        }
    finally:
        app.stop()
        primary.sql(f"DROP ROLE {clone}")
