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


def _field(entry: dict[str, Any], name: str, kind: type, index: int, section: str) -> Any:  # noqa: ANN401
    value = entry.get(name)
    if not isinstance(value, kind) or value in ("", None):
        msg = f"{VERSIONS_FILE.name}: {section}[{index}].{name} must be a {kind.__name__}"
        raise ValueError(msg)
    return value


def load(path: Path = VERSIONS_FILE) -> tuple[list[Pinned], list[Site]]:
    """Read and validate the file; every error names the entry and the field."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    pinned = [
        Pinned(
            component=_field(e, "component", str, i, "versions"),
            version=str(_field(e, "version", str, i, "versions")),
            end_of_support=_field(e, "end_of_support", dt.date, i, "versions"),
            source=_field(e, "source", str, i, "versions"),
        )
        for i, e in enumerate(data.get("versions") or [])
    ]
    sites = [
        Site(
            component=_field(e, "component", str, i, "sites"),
            glob=_field(e, "glob", str, i, "sites"),
            regex=re.compile(_field(e, "regex", str, i, "sites"), re.MULTILINE),
        )
        for i, e in enumerate(data.get("sites") or [])
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
