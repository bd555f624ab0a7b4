"""Pinned platform versions and their end of standard support (`platform/versions.yaml`).

The file lists every platform version the repository pins (Kubernetes on each cloud, database
engines, add-on charts, Helm, Terraform and its providers), the date its standard support ends
and where that date comes from. Its `sites` name where pins are written (a glob and a regular
expression whose first group is the version); every pin found at a site must be the version the
file lists for that component, so a bump that forgets the date cannot pass.

A version known to be past its end whose upgrade cannot be made here yet may carry a dated
acceptance (`accepted_until`, `accepted_because`): it passes until that day and fails like any
other afterwards. An acceptance is written for at most `WARNING_DAYS`.

    python -m test_app_tooling.versions [--file FILE]   # every row, its end and its state
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from test_app_tooling.fields import at, entries, expected, field, mapping, text
from test_app_tooling.tools import REPO


VERSIONS_FILE = REPO / "platform" / "versions.yaml"
WARNING_DAYS = 90


@dataclass(frozen=True)
class Pinned:
    """One pinned version of one component."""

    component: str
    version: str
    end_of_support: dt.date
    source: str
    accepted_until: dt.date | None = None
    accepted_because: str | None = None


@dataclass(frozen=True)
class Site:
    """Where a component's version is written: files matching `glob`, version in group 1."""

    component: str
    glob: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Found:
    """A pin read from the repository."""

    component: str
    version: str
    where: str


def _regex(entry: dict[str, Any], where: str) -> re.Pattern[str]:
    pattern = text(entry, "regex", where, "a regular expression with one group (the version)")
    try:
        compiled = re.compile(pattern, re.MULTILINE)
    except re.error as error:
        raise expected(at(where, "regex"), f"a regular expression ({error})", pattern) from None
    if compiled.groups < 1:
        raise expected(
            at(where, "regex"), "a regular expression with one group (the version)", pattern
        )
    return compiled


def _acceptance(entry: dict[str, Any], where: str) -> tuple[dt.date | None, str | None]:
    """The optional pair `accepted_until` (a date) and `accepted_because` (why): both or none."""
    if "accepted_until" not in entry and "accepted_because" not in entry:
        return None, None
    until = field(entry, "accepted_until", where, dt.date)
    because = text(entry, "accepted_because", where, "why the version is accepted until then")
    return until, because


def load(path: Path = VERSIONS_FILE) -> tuple[list[Pinned], list[Site]]:
    """Read and validate the file; every error names the entry and the field (`fields`)."""
    name = path.name
    data = mapping(yaml.safe_load(path.read_text(encoding="utf-8")), name)
    pinned = [
        Pinned(
            component=text(entry, "component", where),
            version=text(entry, "version", where, "a version string (quoted in YAML)"),
            end_of_support=field(entry, "end_of_support", where, dt.date),
            source=text(entry, "source", where),
            accepted_until=_acceptance(entry, where)[0],
            accepted_because=_acceptance(entry, where)[1],
        )
        for where, entry in entries(data, "versions", name)
    ]
    sites = [
        Site(
            component=text(entry, "component", where),
            glob=text(entry, "glob", where),
            regex=_regex(entry, where),
        )
        for where, entry in entries(data, "sites", name)
    ]
    return pinned, sites


def find_pins(sites: list[Site], root: Path = REPO) -> tuple[list[Found], list[str]]:
    """Every pin at every site, and the sites that match nothing (a site that finds no pin)."""
    found: list[Found] = []
    empty: list[str] = []
    for site in sites:
        before = len(found)
        for path in sorted(root.glob(site.glob)):
            text = path.read_text(encoding="utf-8")
            for match in site.regex.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                where = f"{path.relative_to(root)}:{line}"
                found.append(Found(site.component, match.group(1), where))
        if len(found) == before:
            empty.append(f"{site.component}: {site.glob} /{site.regex.pattern}/ matches nothing")
    return found, empty


# What a pin looks like in the Terraform tree (infra/, its mock tests excepted): a `*version*`
# variable's default, a `*version* = "1.2"` (or `">= 1.2"`, `"~> 1.2"`) argument, and a Lambda
# function's `runtime = "python3.13"`. Each must be read by a site, so a new pin cannot go
# unlisted because nothing reads it.
PIN_FILES = ("infra/**/*.tf", "infra/**/*.tfvars")
PIN_LIKE = (
    re.compile(r'variable "\w*version\w*" \{[^}]*?default\s*=\s*"([0-9][0-9.]*)"'),
    re.compile(r'^\s*\w*version\w*\s*=\s*"(?:~>|>=)?\s*([0-9][0-9.]*)"', re.MULTILINE),
    re.compile(r'^\s*runtime\s*=\s*"[a-z]+([0-9][0-9.]*)', re.MULTILINE),
)


def _spans(path: Path, patterns: list[re.Pattern[str]]) -> set[tuple[int, int]]:
    text = path.read_text(encoding="utf-8")
    return {m.span(1) for pattern in patterns for m in pattern.finditer(text)}


def unread_pins(sites: list[Site], root: Path = REPO) -> list[str]:
    """Version pins of the Terraform tree that no site reads (so none can be checked)."""
    problems = []
    reads = [(set(root.glob(s.glob)), s.regex) for s in sites]
    for path in sorted({p for glob in PIN_FILES for p in root.glob(glob)}):
        relative = path.relative_to(root)
        if "tests" in relative.parts or ".terraform" in relative.parts:
            continue
        read = _spans(path, [regex for paths, regex in reads if path in paths])
        text = path.read_text(encoding="utf-8")
        for start, end in sorted(_spans(path, list(PIN_LIKE)) - read):
            line = text.count("\n", 0, start) + 1
            problems.append(
                f"{relative}:{line}: version {text[start:end]} is pinned here, but no site of "
                f"{VERSIONS_FILE.name} reads it (add a site and the component's row)"
            )
    return problems


def unlisted(pinned: list[Pinned], found: list[Found]) -> list[str]:
    """Pins in the repository whose component and version the file does not list."""
    listed = {(p.component, p.version) for p in pinned}
    return [
        f"{f.where}: {f.component} {f.version} is not in {VERSIONS_FILE.name}"
        for f in found
        if (f.component, f.version) not in listed
    ]


def _near_end(p: Pinned, today: dt.date, warning_days: int) -> bool:
    return p.end_of_support <= today + dt.timedelta(days=warning_days)


def _accepted(p: Pinned, today: dt.date) -> bool:
    return p.accepted_until is not None and today <= p.accepted_until


def out_of_support(
    pinned: list[Pinned], today: dt.date, warning_days: int = WARNING_DAYS
) -> list[str]:
    """Versions past or within `warning_days` of their end that no acceptance covers today.

    Each message names the end, its source and what to do.
    """
    return [
        f"{p.component} {p.version}: standard support ends {p.end_of_support} "
        f"({'passed' if p.end_of_support < today else f'within {warning_days} days'}; "
        f"source: {p.source}). Move every pin of {p.component} (the sites of "
        f"{VERSIONS_FILE.name}) to a supported version and update its row"
        + (f"; its acceptance ended {p.accepted_until}" if p.accepted_until else "")
        for p in pinned
        if _near_end(p, today, warning_days) and not _accepted(p, today)
    ]


def accepted(pinned: list[Pinned], today: dt.date, warning_days: int = WARNING_DAYS) -> list[str]:
    """Versions past or near their end that pass today only by their dated acceptance."""
    return [
        f"{p.component} {p.version}: support ended or ends {p.end_of_support}; accepted until "
        f"{p.accepted_until}: {p.accepted_because}"
        for p in pinned
        if _near_end(p, today, warning_days) and _accepted(p, today)
    ]


def acceptances_too_long(pinned: list[Pinned], written: dt.date) -> list[str]:
    """Acceptances reaching more than `WARNING_DAYS` past `written`.

    The test passes the day it runs, so an acceptance can only be written for 90 days at most.
    """
    limit = written + dt.timedelta(days=WARNING_DAYS)
    return [
        f"{p.component} {p.version}: accepted_until {p.accepted_until} is more than "
        f"{WARNING_DAYS} days after {written}"
        for p in pinned
        if p.accepted_until is not None and p.accepted_until > limit
    ]


def main(argv: list[str] | None = None) -> int:
    """Print every pinned version with its end of support; 1 when one is out of support."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=VERSIONS_FILE, help="the versions file")
    args = parser.parse_args(argv)
    pinned, _ = load(args.file)
    today = dt.datetime.now(tz=dt.UTC).date()
    for p in pinned:
        state = f"accepted until {p.accepted_until}" if _accepted(p, today) else "ok"
        if _near_end(p, today, WARNING_DAYS) and not _accepted(p, today):
            state = "OUT OF SUPPORT"
        sys.stdout.write(f"{p.component} {p.version}: ends {p.end_of_support} ({state})\n")
    errors = out_of_support(pinned, today)
    sys.stdout.write("".join(f"{e}\n" for e in errors))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
