"""Pinned platform versions and their end of standard support (`platform/versions.yaml`).

The file lists every platform version the repository pins (Kubernetes on each cloud, database
engines, add-on charts, Helm, Terraform and its providers), the date its standard support ends
and where that date comes from. Its `sites` name where pins are written (a glob and a regular
expression whose first group is the version); every pin found at a site must be the version the
file lists for that component, so a bump that forgets the date cannot pass.
"""

from __future__ import annotations

import datetime as dt
import re
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


def unlisted(pinned: list[Pinned], found: list[Found]) -> list[str]:
    """Pins in the repository whose component and version the file does not list."""
    listed = {(p.component, p.version) for p in pinned}
    return [
        f"{f.where}: {f.component} {f.version} is not in {VERSIONS_FILE.name}"
        for f in found
        if (f.component, f.version) not in listed
    ]


def out_of_support(
    pinned: list[Pinned], today: dt.date, warning_days: int = WARNING_DAYS
) -> list[str]:
    """Versions past their end of standard support, or within `warning_days` of it."""
    limit = today + dt.timedelta(days=warning_days)
    return [
        f"{p.component} {p.version}: standard support ends {p.end_of_support} "
        f"({'passed' if p.end_of_support < today else f'within {warning_days} days'}; "
        f"source: {p.source})"
        for p in pinned
        if p.end_of_support <= limit
    ]
