"""Fixtures shared by every test area.

- `tool("name")`: path of a command-line tool, or the test fails (never skips).
- `postgres`: a real PostgreSQL primary + streaming standby on loopback (session-wide).
  `postgres.env()` gives the app's POSTGRESQL_* variables (reader = the standby).
- `run_app(env=..., **kw)`: starts the installed `test-app` on a free port; returns an
  `AppProcess` with `.url`, `.get(path)`, `.signal()`, `.wait()`, `.stop()`, `.log`.
  Every app started this way is stopped when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from test_app_tooling.app import AppProcess, start_app
from test_app_tooling.postgres import PostgresCluster, start_cluster
from test_app_tooling.tools import REPO, MissingToolError, find_tool


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def tool() -> Callable[[str], str]:
    """`tool("promtool")` returns the tool's path or fails the test if it is missing."""

    def locate(name: str) -> str:
        try:
            return find_tool(name)
        except MissingToolError as error:
            pytest.fail(str(error), pytrace=False)

    return locate


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def solo() -> Iterator[PostgresCluster]:
    """A primary of the module's own, without a standby: for tests that stop, freeze or
    restart it."""
    cluster = start_cluster(with_replica=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def run_app(tmp_path: Path) -> Iterator[Callable[..., AppProcess]]:
    started: list[AppProcess] = []

    def run(env: dict[str, str] | None = None, **kwargs: object) -> AppProcess:
        log = tmp_path / f"app-{len(started)}.log"
        app = start_app(dict(env or {}), log, **kwargs)  # type: ignore[arg-type]
        started.append(app)
        return app

    yield run
    for app in started:
        app.stop()
