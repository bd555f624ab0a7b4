"""Input checked in one style: an error names the field, what was expected and what was found.

The package's checkers, the scripts and the add-on installer read their input files (YAML, JSON,
tfvars) through these helpers, so every bad value is reported the same way:

    addons.yaml.steps[4].version: expected an exact chart version like 1.2.3, got '^1.14.0'
    pod.json.pod.cpu_limit: expected a positive number, missing

A path is the file's name followed by keys (`.key`) and list indexes (`[2]`). The service's own
settings (`test_app.settings`, which imports nothing of the repository) word their errors the
same way: `PORT='x': expected an integer port between 1 and 65535`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any, Final, TypeVar


T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "missing"


MISSING: Final = _Missing()

KINDS: Final[dict[type, str]] = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    dict: "a mapping",
    list: "a list",
    dt.date: "a date (YYYY-MM-DD)",
}


class FieldError(ValueError):
    """A value is missing or not of the expected form; the message names the field."""


def message(where: str, what: str, got: object = MISSING) -> str:
    """`<where>: expected <what>, got <value>` (or `, missing`)."""
    found = "missing" if got is MISSING else f"got {got!r}"
    return f"{where}: expected {what}, {found}"


def expected(where: str, what: str, got: object = MISSING) -> FieldError:
    """The error for `where` (see `message`)."""
    return FieldError(message(where, what, got))


def at(where: str, key: str | int) -> str:
    """The path of `key` inside `where`: `steps[2]` for an index, `steps[2].name` for a key."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def _is(value: object, kind: type) -> bool:
    # YAML and JSON booleans are ints to Python: true is not a number, 1 is not a boolean.
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def mapping(value: object, where: str) -> dict[str, Any]:
    """`value` as a mapping with string keys (a YAML or JSON object)."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise expected(where, KINDS[dict], value)
    return value


def field(data: Mapping[str, Any], key: str, where: str, kind: type[T], what: str = "") -> T:
    """`data[key]`, which must be a `kind` (`what` says so in words when given)."""
    path = at(where, key)
    wanted = what or KINDS.get(kind, kind.__name__)
    if key not in data:
        raise expected(path, wanted)
    value = data[key]
    if not _is(value, kind):
        raise expected(path, wanted, value)
    result: T = value
    return result


def optional(data: Mapping[str, Any], key: str, where: str, kind: type[T], default: T) -> T:
    """`data[key]` when it is there and not null, else `default`; of `kind` when given."""
    if data.get(key) is None:
        return default
    return field(data, key, where, kind)


def text(data: Mapping[str, Any], key: str, where: str, what: str = "a non-empty string") -> str:
    """A string with more than white space in it."""
    value = field(data, key, where, str, what)
    if not value.strip():
        raise expected(at(where, key), what, value)
    return value


def positive(data: Mapping[str, Any], key: str, where: str) -> float:
    """A number greater than zero."""
    value = field(data, key, where, float, "a positive number")
    if value <= 0:
        raise expected(at(where, key), "a positive number", value)
    return float(value)


def items(
    data: Mapping[str, Any], key: str, where: str, what: str = "a non-empty list"
) -> list[Any]:
    """A list with at least one item."""
    value = field(data, key, where, list, what)
    if not value:
        raise expected(at(where, key), what, value)
    return value


def entries(
    data: Mapping[str, Any], key: str, where: str, what: str = "a non-empty list of mappings"
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each item of the list `data[key]` as (its path, the mapping it must be)."""
    path = at(where, key)
    for index, value in enumerate(items(data, key, where, what)):
        yield at(path, index), mapping(value, at(path, index))


def one_of(data: Mapping[str, Any], key: str, where: str, choices: tuple[str, ...]) -> str:
    """One of `choices`."""
    what = f"one of {', '.join(choices)}"
    value = field(data, key, where, str, what)
    if value not in choices:
        raise expected(at(where, key), what, value)
    return value
