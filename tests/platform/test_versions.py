"""Every pinned platform version is listed with its end of standard support, and none is past it
or within 90 days of it (`platform/versions.yaml`, `test_app_tooling.versions`)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from test_app_tooling.fields import FieldError
from test_app_tooling.tools import REPO
from test_app_tooling.versions import (
    Pinned,
    Site,
    find_pins,
    load,
    out_of_support,
    unlisted,
)


def test_the_file_lists_versions_and_sites():
    pinned, sites = load()
    assert len(pinned) >= 1
    assert len(sites) >= 1


def test_every_site_finds_a_pin():
    _, sites = load()
    found, empty = find_pins(sites)
    assert not empty, "\n".join(empty)
    assert found


def test_every_pin_in_the_repository_is_listed():
    pinned, sites = load()
    found, _ = find_pins(sites)
    errors = unlisted(pinned, found)
    assert not errors, "\n".join(errors)


def test_no_pinned_version_is_past_or_near_its_end_of_support():
    pinned, _ = load()
    errors = out_of_support(pinned, dt.datetime.now(tz=dt.UTC).date())
    assert not errors, "\n".join(errors)


# The checker against known refusals: it must refuse what is past or near its end.
def _pin(end: dt.date) -> Pinned:
    return Pinned("Kubernetes on EKS", "1.33", end, "a source")


def test_a_version_past_its_end_is_refused():
    today = dt.date(2026, 12, 7)
    assert out_of_support([_pin(dt.date(2026, 7, 29))], today)


def test_a_version_within_90_days_is_refused_and_one_beyond_is_not():
    today = dt.date(2026, 12, 7)
    assert out_of_support([_pin(today + dt.timedelta(days=90))], today)
    assert not out_of_support([_pin(today + dt.timedelta(days=91))], today)


def test_an_unlisted_pin_and_an_empty_site_are_refused(tmp_path: Path):
    (tmp_path / "a.tfvars").write_text('cluster_version = "1.34"\n', encoding="utf-8")
    site = Site("Kubernetes on EKS", "*.tfvars", re.compile(r'cluster_version = "([^"]+)"'))
    found, empty = find_pins([site], tmp_path)
    assert [f.version for f in found] == ["1.34"]
    assert not empty
    assert unlisted([_pin(dt.date(2030, 1, 1))], found)  # 1.33 listed, 1.34 pinned
    nothing = Site("Helm", "*.yml", re.compile(r"version: v([0-9.]+)"))
    assert find_pins([nothing], tmp_path)[1]


GOOD = "versions:\n  - {component: Helm, version: '4.1.0', end_of_support: 2027-12-31, source: x}\n"
ONE_PIN = "versions:\n  - {component: Helm, version: %s, end_of_support: %s, source: x}\n"
SITE = "sites:\n  - {component: Helm, glob: '*.yml', regex: '%s'}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            ONE_PIN % ("'3.18.4'", "soon"),
            "versions.yaml.versions[0].end_of_support: expected a date (YYYY-MM-DD), got 'soon'",
        ),
        (
            ONE_PIN % ("3.18", "2027-01-01"),
            "versions[0].version: expected a version string (quoted in YAML), got 3.18",
        ),
        (
            "versions:\n  - {version: '1.35', end_of_support: 2027-01-01, source: x}\n",
            "versions.yaml.versions[0].component: expected a non-empty string, missing",
        ),
        ("- component: Helm\n", "versions.yaml: expected a mapping, got [{'component': 'Helm'}]"),
        (GOOD + SITE % "v([", "versions.yaml.sites[0].regex: expected a regular expression ("),
        (
            GOOD + SITE % "v[0-9.]+",
            "sites[0].regex: expected a regular expression with one group (the version), got 'v",
        ),
    ],
)
def test_a_bad_field_is_named_with_what_was_expected(tmp_path: Path, text, message):
    bad = tmp_path / "versions.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(FieldError) as caught:
        load(bad)
    assert message in str(caught.value)


def test_the_cost_table_prices_the_pinned_eks_version_in_standard_support():
    # docs/infrastructure.md's cost table names the pinned EKS version and bills the standard
    # support rate; an extended-support version would cost six times as much.
    pinned, _ = load()
    [eks] = [p for p in pinned if p.component == "Kubernetes on EKS"]
    text = (REPO / "docs" / "infrastructure.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| EKS control plane"))
    assert f"Kubernetes {eks.version} |" in row, row
    assert "$0.10/h" in row.split("|")[2], row
