"""test_app_db_login_info: which login the process uses, the same in every pod holding it.

Prometheus derives the login's age from it (test_app:db_login_current_since:timestamp), so the
labels must depend on the login only: a new pod reading a freshly written copy of the same
secret must export the same series, and a new password or user a new one.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY

from test_app import credentials, metrics
from test_app.credentials import Credentials, fingerprint
from test_app.settings import load_settings
from test_app_tooling.tools import REPO


NAME = "test_app_db_login_info"


def exported() -> dict[tuple[str, str], float]:
    """(user, fingerprint) -> value of every login this process has reported."""
    return {
        (s.labels["user"], s.labels["fingerprint"]): s.value
        for family in REGISTRY.collect()
        if family.name == NAME
        for s in family.samples
    }


def login(folder, user, password, mtime):
    """A pod's secret volume: the files written now (fresh modification times)."""
    folder.mkdir(exist_ok=True)
    for name, value in (("user", user), ("password", password)):
        (folder / name).write_text(value + "\n")
        os.utime(folder / name, (mtime, mtime))
    return Credentials(
        load_settings(
            {
                "POSTGRESQL_USER_FILE": str(folder / "user"),
                "POSTGRESQL_PASSWORD_FILE": str(folder / "password"),
            }
        )
    )


def test_a_new_pod_with_the_same_login_exports_the_same_series(tmp_path):
    metrics.LOGIN_INFO.clear()
    login(tmp_path / "old-pod", "test_app", "s3cret-one", 1_600_000_000.0)
    before = exported()
    metrics.LOGIN_INFO.clear()
    login(tmp_path / "new-pod", "test_app", "s3cret-one", 1_700_000_000.0)
    assert exported() == before == {("test_app", fingerprint("test_app", "s3cret-one")): 1.0}


def test_a_new_password_or_user_is_a_new_login_and_the_old_one_goes_to_zero(tmp_path):
    metrics.LOGIN_INFO.clear()
    pod = login(tmp_path, "test_app", "first", 1_700_000_000.0)
    first = ("test_app", fingerprint("test_app", "first"))
    # The same user with a new password (the pod kept its user over a rotation).
    (tmp_path / "password").write_text("second\n")
    assert pod.reload()
    second = ("test_app", fingerprint("test_app", "second"))
    assert exported() == {first: 0.0, second: 1.0}
    # The alternate user.
    (tmp_path / "user").write_text("test_app_clone\n")
    (tmp_path / "password").write_text("third\n")
    assert pod.reload()
    third = ("test_app_clone", fingerprint("test_app_clone", "third"))
    assert exported() == {first: 0.0, second: 0.0, third: 1.0}
    # Files rewritten with the same login (the kubelet's swap): nothing changes.
    (tmp_path / "password").write_text("third\n")
    assert not pod.reload()
    assert exported() == {first: 0.0, second: 0.0, third: 1.0}


def test_the_fingerprint_tells_logins_apart_without_the_password():
    value = fingerprint("test_app", "correct-horse")
    assert len(value) == 12
    assert int(value, 16) >= 0
    assert "correct-horse" not in value
    assert value == fingerprint("test_app", "correct-horse")
    assert value != fingerprint("test_app_clone", "correct-horse")
    assert value != fingerprint("test_app", "correct-horsf")


def test_a_login_from_the_environment_exports_nothing():
    metrics.LOGIN_INFO.clear()
    Credentials(load_settings({"POSTGRESQL_USER": "test_app", "POSTGRESQL_PASSWORD": "x"}))
    assert exported() == {}


def test_the_security_docs_state_the_fingerprint_as_built():
    row = next(
        line
        for line in (REPO / "docs" / "security.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| login fingerprint |")
    )
    assert f"{credentials.FINGERPRINT_BYTES * 8} bits of PBKDF2-SHA256" in row
    assert f"{credentials.FINGERPRINT_ROUNDS:,} rounds" in row
    assert len(fingerprint("u", "p")) == credentials.FINGERPRINT_BYTES * 2
