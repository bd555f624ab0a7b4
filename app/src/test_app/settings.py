"""Every setting of the service, parsed once from the environment at start.

Bad input raises `ConfigError` naming each variable, its value and what was expected, so the
process can exit with one clear message instead of failing later on a request.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from test_app.proxies import Network, parse_networks


T = TypeVar("T")

DEFAULT_PASSWORD = "mysecretpassword"  # noqa: S105 - the original program's default, kept for compatibility
SSL_MODES = ("disable", "prefer", "require", "verify-ca", "verify-full")
LOG_LEVELS = ("debug", "info", "warning", "error")
_SERVICE_LINK = re.compile(r"^tcp://(?P<host>[^:/]+):(?P<port>\d+)$")


class ConfigError(ValueError):
    """One or more environment variables have unusable values."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where one side (writer or reader) of the database is reached."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Settings:
    """The service's configuration. `password` never appears in `repr()`."""

    port: int = 8080
    host: str = "0.0.0.0"  # noqa: S104 - a container listens on all interfaces
    writer: Endpoint = Endpoint("localhost", 5432)
    reader: Endpoint = Endpoint("localhost", 5432)
    user: str = "postgres"
    user_file: str | None = None
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    password_file: str | None = None
    dbname: str = "postgres"
    sslmode: str = "prefer"
    workers: int = 1
    pool_min_size: int = 1
    pool_max_size: int = 4
    startup_timeout: float = 10.0
    ping_timeout: float = 1.0
    drain_seconds: float = 5.0
    replica_lag_interval: float = 5.0
    log_level: str = "info"
    access_log: bool = True
    access_log_probes: bool = False
    git_sha: str = "unknown"
    trusted_proxies: tuple[Network, ...] = ()
    max_in_flight: int = 300

    @property
    def uses_default_password(self) -> bool:
        """True when POSTGRESQL_PASSWORD was not set to anything but the built-in default."""
        return self.password == DEFAULT_PASSWORD

    @property
    def has_separate_reader(self) -> bool:
        """True when reads go to a different endpoint than writes."""
        return self.reader != self.writer


class _Reader:
    """Reads variables from a mapping, collecting every problem instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def get(self, name: str, cast: Callable[[str], T], default: T, expected: str) -> T:
        raw = self.environ.get(name)
        if raw is None:
            return default
        try:
            return cast(raw)
        except ValueError as err:
            hint = f" ({err})" if str(err) else ""
            self.problems.append(f"{name}={raw!r}: expected {expected}{hint}")
            return default


MAX_SECRET_FILE_BYTES = 64 * 1024  # a user name or password is a few hundred bytes at most


def read_secret_file(path: str) -> str:
    """Return a mounted secret file's content without trailing newlines (the `_FILE` convention).

    Only a regular file (or a link to one, as Kubernetes mounts them) of at most
    `MAX_SECRET_FILE_BYTES`: a FIFO or a device would block or never end, a huge file would
    take memory. The open never blocks (`O_NONBLOCK`), so a FIFO is refused, not waited on.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValueError("not a regular file")
            data = os.read(fd, MAX_SECRET_FILE_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as err:
        raise ValueError(err.strerror or type(err).__name__) from err
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise ValueError(f"the file is larger than {MAX_SECRET_FILE_BYTES} bytes")
    try:
        value = data.decode("utf-8").rstrip("\n")
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None
    if not value:
        raise ValueError("the file is empty")
    return value


def _value_or_file(  # noqa: PLR0913 - the arguments of `_Reader.get` plus what the file holds
    env: _Reader, name: str, cast: Callable[[str], str], default: str, expected: str, *, what: str
) -> tuple[str, str | None]:
    """Return `name`'s value and, when it comes from the `<name>_FILE` variable, that file."""
    file_name = f"{name}_FILE"
    path = env.environ.get(file_name)
    if path is None:
        return env.get(name, cast, default, expected), None
    if name in env.environ:
        env.problems.append(f"{name} and {file_name} are both set: expected only one")
        return default, None
    expected_file = f"the path of a readable, non-empty file holding {what}"
    return env.get(file_name, read_secret_file, default, expected_file), path


def _text(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("")
    return value


_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
HOST_NAME = (
    "a non-empty host name (ASCII labels of 1 to 63 letters, digits, hyphens or underscores, "
    "253 characters at most), an IP address or a socket folder"
)


def _db_host(raw: str) -> str:
    """Return a database host as asyncpg takes it: a DNS name, an IP address or a socket folder.

    Checked here because a name the resolver cannot even encode (an empty label, a label over
    63 characters, non-ASCII text) fails deep in the resolver with a traceback, not a message.
    """
    value = _text(raw)
    if value.startswith("/"):
        return value
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        pass
    name = value.removesuffix(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):  # noqa: PLR2004 - RFC 1035's limit
        raise ValueError("")
    return value


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def cast(raw: str) -> int:
        if not re.fullmatch(r"[0-9]+", raw.strip()):  # int() also takes "18_081" and "١٢"
            raise ValueError("")
        value = int(raw.strip())
        if not low <= value <= high:
            raise ValueError("")
        return value

    return cast


def _listen_address(raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise ValueError("") from None


def _port(raw: str) -> int:
    link = _SERVICE_LINK.match(raw.strip())
    if link:
        raise ValueError(
            "this looks like a Kubernetes service link: a Service named 'postgresql' exists in the "
            "namespace and Kubernetes injected its address; set enableServiceLinks: false on the "
            f"pod or set the variable explicitly (e.g. {link['port']})"
        )
    return _int_in(1, 65535)(raw)


def _seconds(low: float, high: float) -> Callable[[str], float]:
    def cast(raw: str) -> float:
        value = float(raw.strip())
        if not low <= value <= high:
            raise ValueError("")
        return value

    return cast


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def cast(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError("")
        return value

    return cast


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"true", "1"}:
        return True
    if value in {"false", "0"}:
        return False
    raise ValueError("")


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Parse every setting from `environ`; raise `ConfigError` listing all bad values."""
    env = _Reader(environ)
    port_range = "an integer port between 1 and 65535"
    writer_host = env.get("POSTGRESQL_HOST", _db_host, "localhost", HOST_NAME)
    writer_port = env.get("POSTGRESQL_PORT", _port, 5432, port_range)
    pool_min = env.get("POOL_MIN_SIZE", _int_in(0, 100), 1, "an integer between 0 and 100")
    pool_max = env.get("POOL_MAX_SIZE", _int_in(1, 100), 4, "an integer between 1 and 100")
    if pool_min > pool_max:
        env.problems.append(
            f"POOL_MIN_SIZE={pool_min} is larger than POOL_MAX_SIZE={pool_max}: "
            "expected POOL_MIN_SIZE <= POOL_MAX_SIZE"
        )
    user, user_file = _value_or_file(
        env, "POSTGRESQL_USER", _text, "postgres", "a non-empty user name", what="the user name"
    )
    password, password_file = _value_or_file(
        env, "POSTGRESQL_PASSWORD", str, DEFAULT_PASSWORD, "a password", what="the password"
    )
    settings = Settings(
        port=env.get("PORT", _port, 8080, port_range),
        host=env.get("HOST", _listen_address, "0.0.0.0", "an IPv4 or IPv6 address"),  # noqa: S104
        writer=Endpoint(writer_host, writer_port),
        reader=Endpoint(
            env.get("POSTGRESQL_READ_HOST", _db_host, writer_host, HOST_NAME),
            env.get("POSTGRESQL_READ_PORT", _port, writer_port, port_range),
        ),
        user=user,
        user_file=user_file,
        password=password,
        password_file=password_file,
        dbname=env.get("POSTGRESQL_DBNAME", _text, "postgres", "a non-empty database name"),
        sslmode=env.get("POSTGRESQL_SSLMODE", _choice(SSL_MODES), "prefer", f"one of {SSL_MODES}"),
        workers=env.get("WORKERS", _int_in(1, 64), 1, "an integer between 1 and 64"),
        pool_min_size=pool_min,
        pool_max_size=pool_max,
        startup_timeout=env.get(
            "STARTUP_TIMEOUT_SECONDS", _seconds(0.1, 600), 10.0, "seconds between 0.1 and 600"
        ),
        ping_timeout=env.get(
            "PING_TIMEOUT_SECONDS", _seconds(0.01, 60), 1.0, "seconds between 0.01 and 60"
        ),
        drain_seconds=env.get("DRAIN_SECONDS", _seconds(0, 300), 5.0, "seconds between 0 and 300"),
        replica_lag_interval=env.get(
            "REPLICA_LAG_INTERVAL_SECONDS", _seconds(0.1, 3600), 5.0, "seconds between 0.1 and 3600"
        ),
        log_level=env.get("LOG_LEVEL", _choice(LOG_LEVELS), "info", f"one of {LOG_LEVELS}"),
        access_log=env.get("ACCESS_LOG", _bool, True, "true, false, 1 or 0"),
        access_log_probes=env.get("ACCESS_LOG_PROBES", _bool, False, "true, false, 1 or 0"),
        git_sha=env.get("GIT_SHA", _text, "unknown", "a non-empty commit id"),
        trusted_proxies=env.get(
            "TRUSTED_PROXIES", parse_networks, (), "comma-separated CIDRs of trusted proxies"
        ),
        max_in_flight=env.get(
            "MAX_IN_FLIGHT", _int_in(1, 100_000), 300, "an integer between 1 and 100000"
        ),
    )
    if env.problems:
        raise ConfigError(env.problems)
    return settings
