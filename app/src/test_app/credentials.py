"""The database login: fixed from the environment, or from mounted files that can change.

A rotated secret reaches the pod as new file contents. The files are read at start and again only
when PostgreSQL refuses a new connection's login: connections already open stay valid after a
password change (PostgreSQL checks the password at login only), so the moment a new connection is
refused is the moment the files matter. The user name can come from a file too
(`POSTGRESQL_USER_FILE`), for rotation schemes that alternate between two users.

`test_app_db_login_info{user, fingerprint}` is 1 for the login in use (0 for one this process
used before): the user and a fingerprint of the password, the same in every pod holding the same
login. Prometheus remembers since when each login has been in use
(`test_app:db_login_current_since:timestamp`), so neither a restart nor a new pod makes an old
login look new, and a rotation that stalls shows as a growing age (alert
TestAppDatabaseLoginNotRotated). The fingerprint is a slow key derivation (PBKDF2-SHA256), cut
to 48 bits: it tells logins apart, and checking one guessed password against it costs as much as
a login attempt would; Secrets Manager's generated passwords are far beyond guessing.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import asyncpg

from test_app import metrics
from test_app.logs import get_logger
from test_app.settings import read_secret_file


if TYPE_CHECKING:
    from test_app.settings import Settings

log = get_logger(__name__)

# SQLSTATE class 28: 28000 (invalid_authorization_specification, e.g. an unknown role) and its
# subclass 28P01 (invalid_password).
AUTH_ERRORS = (asyncpg.InvalidAuthorizationSpecificationError,)

FINGERPRINT_SALT = b"test-app database login fingerprint:"
FINGERPRINT_ROUNDS = 100_000
FINGERPRINT_BYTES = 6


def fingerprint(user: str, password: str) -> str:
    """Return a short, stable label telling logins apart without revealing the password."""
    digest = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), FINGERPRINT_SALT + user.encode(), FINGERPRINT_ROUNDS
    )
    return digest[:FINGERPRINT_BYTES].hex()


class Credentials:
    """The user and password new connections log in with."""

    def __init__(self, settings: Settings) -> None:
        self.user = settings.user
        self.password = settings.password
        self._files = {"POSTGRESQL_USER_FILE": settings.user_file}
        self._files["POSTGRESQL_PASSWORD_FILE"] = settings.password_file
        self._unreadable: dict[str, str] = {}  # variable -> the error last logged for it
        self._reported: tuple[str, str] | None = None  # the login info's labels set to 1
        self._report_change()

    def reload(self) -> bool:
        """Read the `_FILE` variables' files again; return True when the login changed.

        An unreadable or empty file keeps the current value: a secret volume being swapped
        must not replace a working login with nothing. It is logged once per state change (a
        new error, then readable again), not on every refused login. Blocking file reads: call
        it off the event loop.
        """
        user = self._read("POSTGRESQL_USER_FILE", self.user)
        password = self._read("POSTGRESQL_PASSWORD_FILE", self.password)
        if (user, password) == (self.user, self.password):
            return False
        self.user, self.password = user, password
        log.info("database login files changed: new connections use them", user=user)
        self._report_change()
        return True

    def _report_change(self) -> None:
        """Mark the login in use in `test_app_db_login_info`; only a login read from a file.

        The previous login goes to 0 rather than away: with several workers the samples live
        in memory-mapped files, where a removed series would keep its last value.
        """
        if self._files["POSTGRESQL_PASSWORD_FILE"] is None:
            return
        if self._reported is not None:
            metrics.LOGIN_INFO.labels(*self._reported).set(0)
        self._reported = (self.user, fingerprint(self.user, self.password))
        metrics.LOGIN_INFO.labels(*self._reported).set(1)

    def _read(self, variable: str, current: str) -> str:
        path = self._files[variable]
        if path is None:
            return current
        try:
            value = read_secret_file(path)
        except ValueError as err:
            if self._unreadable.get(variable) != str(err):
                self._unreadable[variable] = str(err)
                log.warning("cannot re-read a login file", variable=variable, error=str(err))
            return current
        if self._unreadable.pop(variable, None) is not None:
            log.info("login file readable again", variable=variable)
        return value
