"""`test-app-db-role` on real PostgreSQL: a role that serves /health and /health/read, no more."""

import asyncio
import json
import re
import secrets
import subprocess

import asyncpg
import pytest

from test_app_tooling.tools import REPO


pytestmark = pytest.mark.integration

COMMAND = REPO / ".venv" / "bin" / "test-app-db-role"
CATALOG = """
SELECT (SELECT row(r.*)::text FROM pg_roles r WHERE rolname = '{role}'),
       (SELECT datacl::text FROM pg_database WHERE datname = '{db}'),
       (SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public')
"""


class Database:
    """A fresh database on the shared cluster, a role name and its initial password file."""

    def __init__(self, postgres, tmp_path):
        self.postgres = postgres
        suffix = secrets.token_hex(4)
        self.name, self.role = f"prov_{suffix}", f"app_{suffix}"
        self.clone = f"{self.role}_clone"
        self.password = secrets.token_urlsafe(16)
        self.password_file = tmp_path / "app-password"
        self.password_file.write_text(self.password + "\n")
        postgres.primary.sql(f"CREATE DATABASE {self.name}")

    def provision(self, *args, password_file=True):
        env = {**self.postgres.env(reader=False), "POSTGRESQL_DBNAME": self.name}
        argv = [str(COMMAND), "--role", self.role, *args]
        if password_file:
            argv += ["--password-file", str(self.password_file)]
        return subprocess.run(
            argv, check=False, env=env, capture_output=True, text=True, timeout=60
        )

    def changes(self, *args):
        done = self.provision(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["changes"]

    async def sql(self, query):
        """Run `query` in this database as the administrator."""
        conn = await asyncpg.connect(
            host="127.0.0.1",
            port=self.postgres.port,
            user=self.postgres.user,
            password=self.postgres.password,
            database=self.name,
            ssl=False,
        )
        try:
            await conn.execute(query)
        finally:
            await conn.close()

    def catalog(self):
        return self.postgres.primary.sql(CATALOG.format(role=self.role, db=self.name))

    async def connect_as_role(self, port=None):
        return await asyncpg.connect(
            host="127.0.0.1",
            port=port or self.postgres.port,
            user=self.role,
            password=self.password,
            database=self.name,
            ssl=False,
        )

    def drop(self):
        self.postgres.primary.sql(f"DROP DATABASE {self.name} WITH (FORCE)")
        self.postgres.primary.sql(f"DROP ROLE IF EXISTS {self.clone}")
        self.postgres.primary.sql(f"DROP ROLE IF EXISTS {self.role}")

    def clone_as_rotation_does(self, password):
        """What AWS's multi-user rotation function runs on its first rotation (setSecret)."""
        self.postgres.primary.sql(
            f"CREATE ROLE {self.clone} WITH LOGIN PASSWORD '{password}'; "
            f"GRANT {self.role} TO {self.clone}"
        )


@pytest.fixture
def database(postgres, tmp_path):
    made = Database(postgres, tmp_path)
    yield made
    made.drop()


async def test_the_role_logs_in_and_can_create_nothing(database):
    changes = database.changes()
    assert changes[0].startswith(f'CREATE ROLE "{database.role}" LOGIN NOSUPERUSER')
    assert database.password not in json.dumps(changes), "the password is never printed"
    attributes = database.postgres.primary.sql(
        "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "  # noqa: S608
        f"FROM pg_roles WHERE rolname = '{database.role}'"
    )
    assert attributes == "t|f|f|f|f|f"
    conn = await database.connect_as_role()
    try:
        assert await conn.fetchval("SELECT 1") == 1
        for statement in (
            "CREATE TABLE public.t (id int)",
            "CREATE TEMPORARY TABLE t (id int)",
            "CREATE SCHEMA s",
            "CREATE DATABASE d",
            "CREATE ROLE r",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_the_app_serves_health_and_health_read_as_the_role(database, run_app):
    database.changes()
    database.postgres.wait_streaming()
    env = {
        **database.postgres.env(),
        "POSTGRESQL_DBNAME": database.name,
        "POSTGRESQL_USER": database.role,
        "POSTGRESQL_PASSWORD": database.password,
        "REPLICA_LAG_INTERVAL_SECONDS": "0.2",
    }
    app = run_app(env)
    assert (app.get("/health").status_code, app.get("/health").text) == (200, "UP\n")
    assert (app.get("/health/read").status_code, app.get("/health/read").text) == (200, "UP\n")
    # The lag functions run on the standby as the role: the gauge appears.
    deadline_polls = 50
    for _ in range(deadline_polls):
        if re.search(
            r"^test_app_db_replica_lag_seconds \d", app.get("/metrics").text, re.MULTILINE
        ):
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail(f"no replica lag sample as the role:\n{app.log[-2000:]}")


def test_a_second_run_changes_nothing(database):
    assert database.changes()
    before = database.catalog()
    assert database.changes() == []
    assert database.catalog() == before


async def test_an_existing_role_is_repaired_but_keeps_its_password(database):
    database.postgres.primary.sql(
        f"CREATE ROLE {database.role} LOGIN CREATEDB PASSWORD '{database.password}'"
    )
    await database.sql(
        "GRANT CREATE ON SCHEMA public TO PUBLIC; "
        f"GRANT CREATE, TEMPORARY ON DATABASE {database.name} TO {database.role}"
    )
    database.password_file.write_text("a-different-password\n")
    changes = database.changes()
    assert changes == [
        f'ALTER ROLE "{database.role}" NOCREATEDB',
        f'GRANT CONNECT ON DATABASE {database.name} TO "{database.role}"',
        f'REVOKE CREATE, TEMPORARY ON DATABASE {database.name} FROM "{database.role}"',
        f"REVOKE TEMPORARY ON DATABASE {database.name} FROM PUBLIC",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    ]
    conn = await database.connect_as_role()  # the rotation owns the password: unchanged
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.t (id int)")
    finally:
        await conn.close()


def test_a_missing_role_without_a_password_file_is_refused_by_name(database):
    done = database.provision(password_file=False)
    assert done.returncode == 1
    assert f"role {database.role} does not exist and no --password-file was given" in done.stderr


def test_an_unusable_password_file_is_refused_before_connecting(database):
    database.password_file.write_text("has a space\n")
    done = database.provision()
    assert done.returncode == 2
    assert f"--password-file={str(database.password_file)!r}: expected a readable file" in (
        done.stderr
    )
    assert "printable ASCII" in done.stderr


async def test_the_rotation_clone_inherits_the_role_and_can_create_nothing(database):
    database.changes()
    clone_password = secrets.token_hex(16)
    database.clone_as_rotation_does(clone_password)
    assert database.changes() == [], "the clone as the rotation creates it is already right"
    conn = await asyncpg.connect(
        host="127.0.0.1",
        port=database.postgres.port,
        user=database.clone,
        password=clone_password,
        database=database.name,
        ssl=False,
    )
    try:
        assert await conn.fetchval("SELECT 1") == 1
        for statement in ("CREATE TABLE public.t (id int)", "CREATE TEMPORARY TABLE t (id int)"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_a_clone_with_more_than_the_role_is_repaired_but_keeps_its_password(database):
    database.changes()
    database.clone_as_rotation_does(secrets.token_hex(16))
    database.postgres.primary.sql(
        f"ALTER ROLE {database.clone} CREATEDB NOLOGIN; "
        f"GRANT pg_read_all_data TO {database.clone}; REVOKE {database.role} FROM {database.clone}"
    )
    await database.sql(
        f"GRANT CREATE, TEMPORARY ON DATABASE {database.name} TO {database.clone}; "
        f"GRANT CREATE ON SCHEMA public TO {database.clone}"
    )
    clone = f'"{database.clone}"'
    assert database.changes() == [
        f"ALTER ROLE {clone} NOCREATEDB LOGIN",
        f"REVOKE pg_read_all_data FROM {clone}",
        f'GRANT "{database.role}" TO {clone}',
        f"REVOKE CREATE, TEMPORARY ON DATABASE {database.name} FROM {clone}",
        f"REVOKE CREATE ON SCHEMA public FROM {clone}",
    ]
    assert database.changes() == []
