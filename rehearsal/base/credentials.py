"""The database roles' passwords and the server's certificates, kept in the state folder.

The app's login lives in a secret shaped like the production one (the current login and the
previous one; between runs a JSON file here, during the rotate rehearsal a secret in moto's
Secrets Manager), and reaches the instances as two files (``POSTGRESQL_USER_FILE``,
``POSTGRESQL_PASSWORD_FILE``) laid out and swapped the way the kubelet updates a Secret volume.
Rotation itself is the rotation function's own four steps (``test_app_rotation``, the steps of
AWS's multi-user function, run in Secrets Manager's order by ``test_app_tooling.rotation`` from
``rehearsal/scenarios/rotate.py``), over TLS verified against the CA made here.
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rehearsal.base.configs import Binaries, Secrets
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import PG_NODES, Topology
from test_app_tooling import tls
from test_app_tooling.postgres import give_to_server_user


APP_ROLE = "test_app"
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


def new_password() -> str:
    """Return a fresh password (hex: safe in SQL literals and config files)."""
    return pysecrets.token_hex(16)


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


def server_certificates(topo: Topology) -> tls.Certificates:
    """Return the servers' certificate, its CA and an unrelated CA (``pg/tls``)."""
    return tls.Certificates(topo.pg_root / "tls")


def make_server_certificates(topo: Topology) -> tls.Certificates:
    """Make the servers' certificates once, for every address a client reaches them at.

    Clients reach the servers on 127.0.0.1 (HAProxy's endpoints, or the nodes themselves) or
    at the nodes' own addresses; the key belongs to the PostgreSQL OS user.
    """
    certs = server_certificates(topo)
    if not certs.server_key.exists():
        addresses = sorted({"127.0.0.1", *(topo.host(node) for node in PG_NODES)})
        tls.make_certificates(certs.folder, addresses)
    for path in [certs.folder, *certs.folder.iterdir()]:
        give_to_server_user(path, topo.pg_os_user)
    return certs
