"""Find the programs the rehearsal runs; name the Debian packages of the missing ones."""

from __future__ import annotations

import os
import sys

from rehearsal.base.configs import Binaries
from rehearsal.base.errors import RehearsalError
from test_app_tooling.postgres import pg_bindir
from test_app_tooling.tools import REPO, MissingToolError, find_tool


# Debian package of each program, for the install hint.
PACKAGES = {
    "haproxy": "haproxy",
    "supervisord": "supervisor",
    "prometheus": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "prometheus-node-exporter": "prometheus-node-exporter",
    "prometheus-postgres-exporter": "prometheus-postgres-exporter",
    "prometheus-blackbox-exporter": "prometheus-blackbox-exporter",
    "hey": "hey",
    "pg_config": "postgresql-15",
    "etcd": "etcd-server",
}


def _installed(name: str) -> bool:
    try:
        find_tool(name)
    except MissingToolError:
        return False
    return True


def program_of_ours(name: str, what: str) -> str:
    """Return a program of the project's own environments (never a Debian package's version)."""
    try:
        return find_tool(name, path=False)
    except MissingToolError as exc:
        raise RehearsalError(f"{what} is not installed ({exc})") from exc


def find_binaries() -> Binaries:
    """Locate every program; fail with the exact Debian packages to install."""
    missing = [name for name in PACKAGES if not _installed(name)]
    if missing:
        packages = sorted({PACKAGES[m] for m in missing})
        raise RehearsalError(
            f"missing programs: {', '.join(missing)}. Run `scripts/bootstrap` as root, or install: "
            f"apt-get install -y --no-install-recommends {' '.join(packages)}"
        )
    bindir = pg_bindir()
    if not (bindir / "postgres").exists():
        raise RehearsalError(f"no postgres server in {bindir}: install postgresql-15")
    app_command = os.environ.get("REHEARSAL_APP_COMMAND") or program_of_ours("test-app", "the app")
    if not os.path.exists(app_command.split()[0]):  # noqa: PTH110 - a command's first word
        raise RehearsalError(f"the app is not installed ({app_command}): run `scripts/bootstrap`")
    venv_python = REPO / ".venv" / "bin" / "python"
    return Binaries(
        pg_bindir=bindir,
        haproxy=find_tool("haproxy"),
        prometheus=find_tool("prometheus"),
        alertmanager=find_tool("prometheus-alertmanager"),
        node_exporter=find_tool("prometheus-node-exporter"),
        postgres_exporter=find_tool("prometheus-postgres-exporter"),
        blackbox_exporter=find_tool("prometheus-blackbox-exporter"),
        app_command=app_command,
        patroni=program_of_ours("patroni", "Patroni (requirements/venv-patroni.txt)"),
        etcd=find_tool("etcd"),
        python=str(venv_python) if venv_python.exists() else sys.executable,
    )
