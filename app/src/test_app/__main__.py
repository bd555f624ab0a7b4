"""`test-app`: parse the settings, wait for PostgreSQL, then serve.

Exit status: 0 after a clean drain, 1 when PostgreSQL cannot be reached in the startup window,
the listen address cannot be bound, `/tmp` has no room for the metrics files or a worker
died, 2 for invalid configuration, 130 when
interrupted (SIGINT) while waiting for PostgreSQL. Each failure is one JSON line, no traceback.
"""

from __future__ import annotations

import asyncio
import os
import sys

import uvloop

from test_app.logs import configure_logging, get_logger
from test_app.server import BindError, NoSpaceError, run
from test_app.settings import ConfigError, load_settings
from test_app.startup import wait_for_database


log = get_logger("test_app")


def main() -> None:
    """Entry point of the `test-app` command."""
    try:
        settings = load_settings(os.environ)
    except ConfigError as err:
        configure_logging()
        log.error(str(err), problems=err.problems)  # noqa: TRY400 - a message, not a crash
        sys.exit(2)
    configure_logging(settings.log_level)
    if settings.uses_default_password:
        log.warning(
            "POSTGRESQL_PASSWORD is the built-in default; set a real password outside development"
        )
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(wait_for_database(settings))
    except ConnectionError as err:
        log.error(str(err))  # noqa: TRY400 - one clear line, no traceback
        sys.exit(1)
    except KeyboardInterrupt:
        log.info("interrupted while waiting for PostgreSQL")
        sys.exit(130)
    log.info(
        "starting",
        port=settings.port,
        workers=settings.workers,
        writer=f"{settings.writer.host}:{settings.writer.port}",
        reader=f"{settings.reader.host}:{settings.reader.port}",
        database=settings.dbname,
    )
    try:
        status = run(settings)
    except (BindError, NoSpaceError) as err:
        log.error(err.strerror)  # noqa: TRY400 - one clear line, no traceback
        sys.exit(1)
    sys.exit(status)


if __name__ == "__main__":
    main()
