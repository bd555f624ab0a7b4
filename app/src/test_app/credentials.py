"""The database password as asyncpg asks for it: fixed, or from a mounted file that can change.

A rotated secret reaches the pod as a new file content. The file is read at start and again only
when PostgreSQL refuses a new connection's login: connections already open stay valid after a
password change (PostgreSQL checks the password at login only), so the moment a new connection is
refused is the moment the file matters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg

from test_app.logs import get_logger
from test_app.settings import read_secret_file


if TYPE_CHECKING:
    from test_app.settings import Settings

log = get_logger(__name__)

# SQLSTATE class 28: 28000 (invalid_authorization_specification) and its subclass 28P01
# (invalid_password).
AUTH_ERRORS = (asyncpg.InvalidAuthorizationSpecificationError,)


class Password:
    """A callable for asyncpg's `password=`: asyncpg calls it for every new connection."""

    def __init__(self, settings: Settings) -> None:
        self._value = settings.password
        self._path = settings.password_file

    def __call__(self) -> str:
        """Return the password new connections use."""
        return self._value

    def reload(self) -> bool:
        """Read POSTGRESQL_PASSWORD_FILE again; True when the password changed.

        An unreadable or empty file keeps the current password (and is logged): a secret volume
        being swapped must not replace a working password with nothing.
        """
        if self._path is None:
            return False
        try:
            value = read_secret_file(self._path)
        except ValueError as err:
            log.warning("cannot re-read POSTGRESQL_PASSWORD_FILE", path=self._path, error=str(err))
            return False
        if value == self._value:
            return False
        self._value = value
        log.info("POSTGRESQL_PASSWORD_FILE changed: new connections use the new password")
        return True
