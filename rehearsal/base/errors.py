"""The error every layer of the rehearsal raises when the topology is not in the wanted state."""

from __future__ import annotations


class RehearsalError(RuntimeError):
    """The rehearsal could not be brought to, or found in, the wanted state."""
