"""`test-app-db-role rotate` on AKS: the app's login alternates between the role and its clone
on real PostgreSQL (test_app_tooling.postgres), and the new login is written to Key Vault, here a
recording fake of Entra ID's token endpoint and Key Vault's secrets API on a loopback port."""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from test_app.keyvault import KeyVault, KeyVaultError, WorkloadIdentity
from test_app.rotation import alternate_user, parse_login
from test_app_tooling.tools import REPO


pytestmark = pytest.mark.integration

COMMAND = REPO / ".venv" / "bin" / "test-app-db-role"
CLIENT_ID = "0b9d3c4e-1111-4222-8333-944455556666"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@dataclass
class FakeAzure:
    """Entra ID's token endpoint and one vault's secrets, recording every request."""

    secrets: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    deny_writes: bool = False
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:  # noqa: C901 - one handler per verb
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                entry = {"method": self.command, "path": self.path, "body": body,
                         "authorization": self.headers.get("Authorization")}  # fmt: skip
                fake.requests.append(entry)
                return entry

            def do_POST(self) -> None:
                entry = self._record()
                form = urllib.parse.parse_qs(entry["body"])
                if self.path == f"/{TENANT_ID}/oauth2/v2.0/token" and form["client_id"] == [
                    CLIENT_ID
                ]:
                    self._reply(200, {"access_token": "token-1", "token_type": "Bearer"})
                else:
                    self._reply(400, {"error": "invalid_client"})

            def _name(self) -> str | None:
                path, _, query = self.path.partition("?")
                if not path.startswith("/secrets/") or query != "api-version=7.4":
                    return None
                return path.removeprefix("/secrets/")

            def do_GET(self) -> None:
                self._record()
                name = self._name()
                if self.headers.get("Authorization") != "Bearer token-1":
                    self._reply(401, {"error": {"code": "Unauthorized", "message": "no token"}})
                elif name in fake.secrets:
                    self._reply(
                        200, {"value": fake.secrets[name], "id": f"{fake.url}/secrets/{name}/1"}
                    )
                else:
                    self._reply(404, {"error": {"code": "SecretNotFound", "message": name}})

            def do_PUT(self) -> None:
                entry = self._record()
                name = self._name()
                if fake.deny_writes or name is None:
                    self._reply(403, {"error": {"code": "Forbidden", "message": "no write"}})
                    return
                fake.secrets[name] = json.loads(entry["body"])["value"]
                self._reply(200, {"id": f"{fake.url}/secrets/{name}/2"})

        return Handler

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "PUT"]


@pytest.fixture
def azure() -> Iterator[FakeAzure]:
    fake = FakeAzure()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@dataclass
class Setup:
    postgres: Any
    azure: FakeAzure
    env: dict[str, str]
    db: str
    role: str

    def rotate(self) -> subprocess.CompletedProcess[str]:
        argv = [str(COMMAND), "rotate", "--role", self.role, "--key-vault-url", self.azure.url,
                "--secret-name", "test-app-staging-database",
                "--admin-secret-name", "test-app-staging-database-admin"]  # fmt: skip
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, check=False,
                              timeout=60)  # fmt: skip

    def login(self) -> dict[str, str]:
        login: dict[str, str] = json.loads(self.azure.secrets["test-app-staging-database"])
        return login

    async def can_log_in(self, username: str, password: str) -> bool:
        try:
            conn = await asyncpg.connect(
                host="127.0.0.1", port=self.postgres.port, user=username, password=password,
                database=self.db, ssl=False,
            )  # fmt: skip
        except asyncpg.InvalidPasswordError:
            return False
        await conn.close()
        return True


@pytest.fixture
def setup(postgres, azure, tmp_path) -> Iterator[Setup]:
    suffix = secrets.token_hex(4)
    db, role, password = f"rot_{suffix}", f"app_{suffix}", secrets.token_hex(16)
    postgres.primary.sql(f"CREATE DATABASE {db}")
    password_file = tmp_path / "app-password"
    password_file.write_text(password)
    env = {**postgres.env(reader=False), "POSTGRESQL_DBNAME": db}
    argv = [str(COMMAND), "--role", role, "--password-file", str(password_file)]
    made = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert made.returncode == 0, made.stderr
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text("federated-service-account-token\n")
    azure.secrets = {
        "test-app-staging-database": json.dumps({"username": role, "password": password}),
        "test-app-staging-database-admin": json.dumps(
            {"username": postgres.user, "password": postgres.password}
        ),
    }
    # The pod's environment: the database hosts, and what the workload identity webhook injects.
    pod_env = {
        k: v for k, v in env.items() if not k.startswith(("POSTGRESQL_USER", "POSTGRESQL_PASSWORD"))
    }
    pod_env |= {
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_TENANT_ID": TENANT_ID,
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
        "AZURE_AUTHORITY_HOST": azure.url + "/",
    }
    yield Setup(postgres, azure, pod_env, db, role)
    postgres.primary.sql(f"DROP DATABASE {db} WITH (FORCE)")
    postgres.primary.sql(f"DROP ROLE IF EXISTS {role}_clone")
    postgres.primary.sql(f"DROP ROLE IF EXISTS {role}")


async def test_rotation_alternates_users_and_the_previous_login_keeps_working(setup):
    first = setup.login()
    done = setup.rotate()
    assert done.returncode == 0, done.stderr
    second = setup.login()
    assert second["username"] == f"{setup.role}_clone"
    assert second["password"] != first["password"]
    assert await setup.can_log_in(**second)
    assert await setup.can_log_in(**first), "the pods' login must work until the next rotation"
    result = json.loads(done.stdout)
    assert f"CREATE ROLE {setup.role}_clone WITH LOGIN PASSWORD <new password>" in result["changes"]
    assert second["password"] not in done.stdout + done.stderr

    again = setup.rotate()
    assert again.returncode == 0, again.stderr
    third = setup.login()
    assert third["username"] == setup.role
    assert await setup.can_log_in(**third)
    assert await setup.can_log_in(**second)
    assert not await setup.can_log_in(**first), "two rotations on, the first password is gone"


async def test_the_clone_holds_the_role_and_can_create_nothing(setup):
    assert setup.rotate().returncode == 0
    clone = setup.login()
    conn = await asyncpg.connect(host="127.0.0.1", port=setup.postgres.port, ssl=False,
                                 database=setup.db, user=clone["username"],
                                 password=clone["password"])  # fmt: skip
    try:
        assert await conn.fetchval("SELECT 1") == 1
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE t (x int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TEMP TABLE t (x int)")
    finally:
        await conn.close()


def test_the_key_vault_calls_are_those_of_workload_identity(setup):
    assert setup.rotate().returncode == 0
    [token, *rest] = setup.azure.requests
    assert token["path"] == f"/{TENANT_ID}/oauth2/v2.0/token"
    form = urllib.parse.parse_qs(token["body"])
    assert form == {
        "client_id": [CLIENT_ID],
        "scope": ["https://vault.azure.net/.default"],
        "grant_type": ["client_credentials"],
        "client_assertion_type": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
        "client_assertion": ["federated-service-account-token"],
    }
    assert [(r["method"], r["path"]) for r in rest] == [
        ("GET", "/secrets/test-app-staging-database-admin?api-version=7.4"),
        ("GET", "/secrets/test-app-staging-database?api-version=7.4"),
        ("PUT", "/secrets/test-app-staging-database?api-version=7.4"),
    ]
    assert all(r["authorization"] == "Bearer token-1" for r in rest)
    assert json.loads(rest[-1]["body"])["contentType"] == "application/json"


async def test_a_password_the_database_does_not_know_is_adopted_then_rotated(setup):
    # What `terraform apply -replace=random_password.app` would leave: a new value in the vault.
    replaced = {"username": setup.role, "password": secrets.token_hex(16)}
    setup.azure.secrets["test-app-staging-database"] = json.dumps(replaced)
    assert not await setup.can_log_in(**replaced)
    done = setup.rotate()
    assert done.returncode == 0, done.stderr
    changes = json.loads(done.stdout)["changes"]
    assert f"ALTER ROLE {setup.role} WITH PASSWORD <the secret's password>" in changes
    assert await setup.can_log_in(**replaced)
    assert await setup.can_log_in(**setup.login())


async def test_a_refused_key_vault_write_leaves_the_working_login_in_place(setup):
    before = setup.login()
    setup.azure.deny_writes = True
    done = setup.rotate()
    assert done.returncode == 1
    assert (
        "Key Vault PUT secret test-app-staging-database: HTTP 403 Forbidden: no write"
        in done.stderr
    )
    assert setup.login() == before
    assert await setup.can_log_in(**before)
    setup.azure.deny_writes = False
    assert setup.rotate().returncode == 0, "the next run completes the rotation"
    assert await setup.can_log_in(**setup.login())


def test_without_the_webhooks_variables_the_error_names_them(setup):
    env = {k: v for k, v in setup.env.items() if k != "AZURE_FEDERATED_TOKEN_FILE"}
    setup.env = env
    done = setup.rotate()
    assert done.returncode == 2
    assert "AZURE_FEDERATED_TOKEN_FILE not set" in done.stderr
    assert setup.azure.requests == []


def test_bad_secret_values_are_named():
    with pytest.raises(ValueError, match=r"app-secret: `password` must be a non-empty string"):
        parse_login('{"username": "test_app"}', "app-secret")
    with pytest.raises(ValueError, match=r"expected 'test_app' or 'test_app_clone'"):
        alternate_user("postgres", "test_app")


def test_a_vault_url_must_be_https(tmp_path: Path):
    (tmp_path / "token").write_text("federated")
    identity = WorkloadIdentity(CLIENT_ID, TENANT_ID, tmp_path / "token")
    with pytest.raises(ValueError, match=r"expected https://<name>.vault.azure.net"):
        KeyVault("http://vault.example", identity)
    refusing = KeyVault(
        "https://v.vault.azure.net", identity, transport=lambda *_: (400, {"error": "x"})
    )
    with pytest.raises(KeyVaultError, match=r"HTTP 400"):
        refusing.get_secret("x")
