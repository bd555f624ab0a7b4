"""The startup module's loop hygiene: a timed-out connect's late failure is not a second alarm."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket

from test_app.startup import quiet_orphaned_lookups


def orphan(loop: asyncio.AbstractEventLoop, error: BaseException) -> None:
    """A future that fails after its waiter went away, as a resolver thread's does."""
    future = loop.create_future()
    future.set_exception(error)
    del future
    gc.collect()  # asyncio reports the unretrieved exception when the future is collected


async def test_a_late_lookup_failure_is_not_logged_as_an_error(caplog):
    loop = asyncio.get_running_loop()
    quiet_orphaned_lookups(loop)
    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        orphan(loop, socket.gaierror(-2, "Name or service not known"))
        orphan(loop, RuntimeError("a bug, not the network"))
    errors = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert len(errors) == 1, errors  # the bug still reaches asyncio's handler, the lookup not
    assert "RuntimeError" in str(caplog.records[-1].exc_info)
