"""Log lines as they reach stdout: JSON, every field capped, written by the writer thread."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from test_app import logs
from test_app.logs import MAX_FIELD_CHARS, configure_logging, get_logger


@pytest.fixture
def configured():
    """The service's logging, for this test only: later tests get the defaults back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.mark.usefixtures("configured")
def test_every_logged_string_is_capped_also_in_lists(capfd):
    huge = "x" * 100_000
    get_logger("test").error(huge, value=huge, problems=[huge, "short"])
    assert logs.flush(timeout=5)
    (line,) = [json.loads(text) for text in capfd.readouterr().out.splitlines() if text]
    assert len(json.dumps(line)) < 4 * MAX_FIELD_CHARS
    assert line["event"].endswith("...[cut]")
    assert line["value"].startswith("x" * MAX_FIELD_CHARS)
    assert line["problems"][1] == "short"
    assert len(line["problems"][0]) == MAX_FIELD_CHARS + len("...[cut]")
