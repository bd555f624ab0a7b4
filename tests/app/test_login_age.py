"""test_app_db_login_changed_timestamp_seconds: when the login in use last changed.

The value is the password file's modification time (the kubelet writes a new file per secret
version), read when the login is read: at start and when a refused login makes the app re-read
the files. A restart therefore keeps the age of an old login, and a stalled rotation shows.
"""

from __future__ import annotations

import os

from test_app import metrics
from test_app.credentials import Credentials
from test_app.settings import load_settings


DAY = 86400.0


def gauge() -> float:
    return float(metrics.LOGIN_CHANGED._value.get())  # noqa: SLF001 - the sample itself


def write(path, value, mtime):
    path.write_text(value + "\n")
    os.utime(path, (mtime, mtime))


def test_the_login_age_comes_from_the_password_file(tmp_path):
    password = tmp_path / "password"
    written = 1_700_000_000.0
    write(password, "first", written)
    login = Credentials(load_settings({"POSTGRESQL_PASSWORD_FILE": str(password)}))
    assert login.password == "first"
    assert gauge() == written

    # A new version arrives; nothing changes until the app re-reads (a refused login).
    write(password, "second", written + 30 * DAY)
    assert gauge() == written
    assert login.reload()
    assert gauge() == written + 30 * DAY


def test_a_restart_keeps_the_age_of_an_old_login(tmp_path):
    password = tmp_path / "password"
    old = 1_600_000_000.0
    write(password, "unrotated", old)
    Credentials(load_settings({"POSTGRESQL_PASSWORD_FILE": str(password)}))
    assert gauge() == old  # not the start time


def test_an_unchanged_login_does_not_move_the_timestamp(tmp_path):
    password = tmp_path / "password"
    write(password, "same", 1_650_000_000.0)
    login = Credentials(load_settings({"POSTGRESQL_PASSWORD_FILE": str(password)}))
    os.utime(password, (1_650_000_000.0 + DAY, 1_650_000_000.0 + DAY))
    assert not login.reload()
    assert gauge() == 1_650_000_000.0
