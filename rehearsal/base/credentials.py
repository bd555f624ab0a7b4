"""The database roles' passwords: generated once, kept in the state folder, rotated on demand.

The app's login lives in a secret shaped like the production one in Secrets Manager (the current
login and the previous one), and reaches the instances as two files (``POSTGRESQL_USER_FILE``,
``POSTGRESQL_PASSWORD_FILE``) laid out and swapped the way the kubelet updates a Secret volume.
Rotation follows AWS's multi-user function (``SecretsManagerRDSPostgreSQLRotationMultiUser``):
the login alternates between ``test_app`` and ``test_app_clone``. Rehearsed: its SQL and its
order (the clone created WITH LOGIN and granted ``test_app`` on the first rotation, later a new
password on the previous user), the logins it tries, and the files changing after it. Not
rehearsed: Secrets Manager's API, staging labels and scheduling (a JSON file plays the secret),
Lambda, External Secrets' polling (the rehearsal swaps the files itself).
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rehearsal.base import postgres
from rehearsal.base.configs import Binaries, Secrets
from rehearsal.base.errors import RehearsalError
from rehearsal.base.postgres import PostgresError
from rehearsal.base.topology import Topology


APP_ROLE = "test_app"
# What AWS's multi-user function appends to the user name for the alternate user.
CLONE_SUFFIX = "_clone"
MAX_ROLE_NAME = 63  # PostgreSQL's NAMEDATALEN - 1
DATA_LINK = "..data"  # the kubelet's name for the link to the current version of the files


@dataclass(frozen=True)
class Login:
    """A user name and its password (the ``username`` and ``password`` of the secret)."""

    username: str
    password: str


@dataclass(frozen=True)
class AppSecret:
    """The app's secret: the login in use (AWSCURRENT) and the one before (AWSPREVIOUS)."""

    current: Login
    previous: Login | None = None


@dataclass(frozen=True)
class RotationStep:
    """What one rotation did: the user it changed and the statements it ran as the master."""

    pending: Login
    statements: list[str]


def new_password() -> str:
    """Return a fresh password (hex: safe in SQL literals and config files)."""
    return pysecrets.token_hex(16)


def alternate_user(username: str) -> str:
    """Return the other user of the pair, as the function's ``get_alt_username`` does."""
    if username.endswith(CLONE_SUFFIX):
        return username[: -len(CLONE_SUFFIX)]
    if len(username) + len(CLONE_SUFFIX) > MAX_ROLE_NAME:
        raise RehearsalError(f"user {username}: with {CLONE_SUFFIX} it exceeds 63 characters")
    return username + CLONE_SUFFIX


def save_secrets(topo: Topology, secrets: Secrets) -> None:
    """Keep the passwords (mode 0600)."""
    topo.secrets.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_private(topo.secrets / "passwords.json", json.dumps(asdict(secrets)))


def load_secrets(topo: Topology) -> Secrets:
    """Passwords for the database roles: generated on first use, kept in the state folder.

    The app's secret starts as ``test_app`` with the generated app password, and its files are
    written when missing.
    """
    path = topo.secrets / "passwords.json"
    if path.exists():
        secrets = Secrets(**json.loads(path.read_text()))
    else:
        secrets = Secrets(*(new_password() for _ in range(4)))
        save_secrets(topo, secrets)
    if not topo.app_secret.exists():
        save_app_secret(topo, AppSecret(Login(APP_ROLE, secrets.app)))
    if not topo.app_password_file.exists():
        write_login_files(topo, load_app_secret(topo).current)
    return secrets


def load_app_secret(topo: Topology) -> AppSecret:
    """Return the app's secret from the state folder."""
    raw = json.loads(topo.app_secret.read_text())
    previous = raw.get("previous")
    return AppSecret(Login(**raw["current"]), Login(**previous) if previous else None)


def save_app_secret(topo: Topology, secret: AppSecret) -> None:
    """Keep the app's secret (mode 0600)."""
    topo.secrets.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_private(topo.app_secret, json.dumps(asdict(secret)))


def write_login_files(topo: Topology, login: Login) -> None:
    """Swap the user and password files together, as the kubelet updates a Secret volume.

    The files are links through ``..data`` to a versioned folder; a new folder is written,
    then ``..data`` is replaced in one rename, so a reader sees the old pair or the new pair.
    """
    folder = topo.app_login_dir
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    version = folder / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{pysecrets.token_hex(4)}"
    version.mkdir(mode=0o700)
    for name, value in (("user", login.username), ("password", login.password)):
        _write_private(version / name, value + "\n")
    link = folder / DATA_LINK
    old = link.resolve() if link.is_symlink() else None
    tmp = folder / (DATA_LINK + "_tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(version.name)
    tmp.replace(link)
    for name in ("user", "password"):
        if not (folder / name).is_symlink():
            (folder / name).symlink_to(f"{DATA_LINK}/{name}")
    if old is not None and old != version.resolve():
        for child in old.iterdir():
            child.unlink()
        old.rmdir()


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    tmp.replace(path)


def provision_app_role(topo: Topology, bins: Binaries, secrets: Secrets) -> list[str]:
    """Create or repair the app role with the app's own step; return the changes it made.

    ``test-app-db-role`` (the step production runs as a hook) connects as the superuser through
    the writer endpoint and gives ``test_app`` LOGIN and CONNECT only; a new role gets the
    password in the app's password file, an existing one keeps its (rotated) password.
    """
    admin = topo.secrets / "postgres-password"
    admin.write_text(secrets.postgres + "\n")
    admin.chmod(0o600)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "POSTGRESQL_HOST": "127.0.0.1",
        "POSTGRESQL_PORT": str(topo.port("pg-writer")),
        "POSTGRESQL_USER": "postgres",
        "POSTGRESQL_PASSWORD_FILE": str(admin),
        "POSTGRESQL_DBNAME": "test_app",
        "POSTGRESQL_SSLMODE": "disable",
    }
    command = [bins.python, "-m", "test_app.provision", "--role", "test_app"]
    result = subprocess.run(  # noqa: PLW1510 - checked below
        [*command, "--password-file", str(topo.app_password_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RehearsalError(
            f"test-app-db-role failed ({result.returncode}): {result.stderr.strip()}"
        )
    changes: list[str] = json.loads(result.stdout)["changes"]
    return changes


def _can_log_in(topo: Topology, bins: Binaries, login: Login) -> bool:
    """Return whether ``login`` opens a session on the writer (the function's get_connection)."""
    try:
        postgres.psql(topo, bins, topo.port("pg-writer"), "SELECT now()",
                      user=login.username, password=login.password, dbname="test_app")  # fmt: skip
    except PostgresError:
        return False
    return True


def rotate_app_secret(topo: Topology, bins: Binaries) -> RotationStep:
    """Rotate the app's secret the way AWS's multi-user function does; return what it did.

    createSecret: the pending login is the other user with a new password. setSecret: if the
    pending login works already, nothing; else the current login must work, and as the master
    user the pending user is created (``CREATE ROLE ... WITH LOGIN PASSWORD``, then ``GRANT
    <current> TO <pending>``) or given the new password (``ALTER USER``). testSecret: the
    pending login opens a session. finishSecret: the pending login becomes current, the
    current one previous. The login files do not change here: in production they follow
    minutes later (External Secrets, then the kubelet); call ``write_login_files``.
    """
    secret = load_app_secret(topo)
    pending = Login(alternate_user(secret.current.username), new_password())
    statements: list[str] = []
    if not _can_log_in(topo, bins, pending):
        if not _can_log_in(topo, bins, secret.current):
            raise RehearsalError(f"the current login {secret.current.username} does not work")
        exists = postgres.psql(
            topo, bins, topo.port("pg-writer"),
            f"SELECT count(*) FROM pg_roles WHERE rolname = '{pending.username}'",  # noqa: S608 - a checked name
        )  # fmt: skip
        # Generated names and hex passwords, never input.
        if exists == "0":
            statements = [
                f"CREATE ROLE {pending.username} WITH LOGIN PASSWORD '{pending.password}'",
                f"GRANT {secret.current.username} TO {pending.username}",
            ]
        else:
            statements = [f"ALTER USER {pending.username} WITH PASSWORD '{pending.password}'"]
        postgres.psql(topo, bins, topo.port("pg-writer"),
                      "BEGIN;\n" + ";\n".join(statements) + ";\nCOMMIT;\n")  # fmt: skip
    if not _can_log_in(topo, bins, pending):
        raise RehearsalError(f"testSecret: the pending login {pending.username} does not work")
    save_app_secret(topo, AppSecret(pending, secret.current))
    return RotationStep(pending, [_hide(statement, pending.password) for statement in statements])


def _hide(statement: str, password: str) -> str:
    return statement.replace(password, "<new password>")
