"""Polling helpers: wait for a condition with a bound, check an HTTP endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from rehearsal.base.errors import RehearsalError


HTTP_OK = 200


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``check`` until true (an exception counts as false); return the seconds it took."""
    start = time.monotonic()
    last = ""
    while True:
        try:
            if check():
                return time.monotonic() - start
        except Exception as exc:  # noqa: BLE001 - "not yet"
            last = f" (last error: {exc})"
        if time.monotonic() - start > timeout:
            raise RehearsalError(f"timed out after {timeout:g}s waiting for {what}{last}")
        time.sleep(0.05)


def http_ok(url: str, expect: str | None = None, timeout: float = 2) -> bool:
    """Return whether ``url`` answers 200 (and contains ``expect``)."""
    response = httpx.get(url, timeout=timeout)
    return response.status_code == HTTP_OK and (expect is None or expect in response.text)


def answers_ok(url: str) -> bool:
    """Like :func:`http_ok` with a 1 s bound, but no answer at all is ``False``, not an error."""
    try:
        return http_ok(url, timeout=1)
    except httpx.HTTPError:
        return False
