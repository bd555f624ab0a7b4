"""Every pinned platform version is listed with its end of standard support, and none is past it
or within 90 days of it (`platform/versions.yaml`, `test_app_tooling.versions`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from test_app_tooling.fields import FieldError
from test_app_tooling.helm_render import chart_values
from test_app_tooling.tools import REPO
from test_app_tooling.versions import (
    Pinned,
    Site,
    acceptances_too_long,
    accepted,
    find_pins,
    load,
    main,
    out_of_support,
    unlisted,
    unread_pins,
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


def test_every_version_pin_of_the_terraform_tree_is_read_by_a_site():
    # A pin no site reads would never be held to a row: the rotation application's version was
    # such a pin before it had its row and site.
    _, sites = load()
    errors = unread_pins(sites)
    assert not errors, "\n".join(errors)


def test_the_rotation_function_runtime_is_listed_and_its_pin_read():
    pinned, sites = load()
    [row] = [p for p in pinned if p.component == "Lambda runtime (rotation function)"]
    assert "lambda-python.html" in row.source
    found, _ = find_pins(sites)
    pins = {f.where.split(":")[0]: f.version for f in found if f.component == row.component}
    # The function's runtime and the Python the zip is built for are the same row.
    assert pins == {
        "infra/stacks/database/main.tf": row.version,
        "tooling/src/test_app_tooling/rotation_package.py": row.version,
    }
    # Without its row the pins are unlisted; without its site, no site reads the runtime.
    assert unlisted([p for p in pinned if p != row], found)
    [unread] = unread_pins([s for s in sites if s.component != row.component])
    assert unread.startswith("infra/stacks/database/main.tf:")
    assert unread.endswith(f"version {row.version} is pinned here, but no site of versions.yaml "
                           "reads it (add a site and the component's row)")  # fmt: skip


def test_the_admission_proxy_image_is_listed_and_its_pin_read():
    pinned, sites = load()
    [row] = [p for p in pinned if p.component == "HAProxy (admission proxy)"]
    assert "endoflife.date/haproxy" in row.source
    found, _ = find_pins(sites)
    pins = {f.where.split(":")[0]: f.version for f in found if f.component == row.component}
    assert pins == {"charts/test-app/values.yaml": row.version}
    # The site reads the value the chart renders (through Helm): a release of the pinned branch.
    tag = chart_values()["admissionProxy"]["image"]["tag"]
    assert re.fullmatch(rf"{re.escape(row.version)}\.[0-9]+-alpine", tag), tag
    # Without its row the pin is unlisted.
    assert unlisted([p for p in pinned if p != row], found)


def test_a_version_pin_no_site_reads_is_refused(tmp_path: Path):
    stack = tmp_path / "infra" / "stacks" / "x"
    stack.mkdir(parents=True)
    (stack / "variables.tf").write_text(
        'variable "engine_version" {\n  type    = string\n  default = "17.7"\n}\n'
        'variable "widget_version" {\n  default = "2.0.1"\n}\n',
        encoding="utf-8",
    )
    (stack / "x.tfvars").write_text('addon_version = "1.4"\nname = "1.2"\n', encoding="utf-8")
    (stack / "tests").mkdir()
    (stack / "tests" / "t.tf").write_text('cluster_version = "1.27"\n', encoding="utf-8")
    engine = Site(
        "Aurora PostgreSQL",
        "infra/stacks/*/variables.tf",
        re.compile(r'variable "engine_version" \{[^}]*?default\s*=\s*"([0-9.]+)"'),
    )
    unread = (
        "is pinned here, but no site of versions.yaml reads it (add a site and the component's row)"
    )
    assert unread_pins([engine], tmp_path) == [
        f"infra/stacks/x/variables.tf:6: version 2.0.1 {unread}",
        f"infra/stacks/x/x.tfvars:1: version 1.4 {unread}",
    ]


def test_no_pinned_version_is_past_or_near_its_end_of_support():
    # Rows accepted for now pass; `python -m test_app_tooling.versions` lists them.
    pinned, _ = load()
    today = dt.datetime.now(tz=dt.UTC).date()
    errors = out_of_support(pinned, today)
    assert not errors, "\n".join(errors)


def test_the_command_lists_every_row_and_fails_on_an_unaccepted_end(tmp_path: Path, capsys):
    assert main([]) == 0
    listed = capsys.readouterr().out
    pinned, _ = load()
    assert all(f"{p.component} {p.version}" in listed for p in pinned)
    assert "accepted until 2027-02-28" in listed
    expired = tmp_path / "versions.yaml"
    expired.write_text(
        "versions:\n  - component: Helm\n    version: '3.18.4'\n    end_of_support: 2026-01-01\n"
        "    source: x\n"
        "sites:\n  - {component: Helm, glob: 'Makefile', regex: 'helm (\\S+)'}\n",
        encoding="utf-8",
    )
    assert main(["--file", str(expired)]) == 1
    assert "Helm 3.18.4: standard support ends 2026-01-01 (passed" in capsys.readouterr().out


def test_acceptances_are_written_for_at_most_90_days():
    pinned, _ = load()
    errors = acceptances_too_long(pinned, dt.datetime.now(tz=dt.UTC).date())
    assert not errors, "\n".join(errors)


def test_every_row_is_needed_by_a_pin():
    # Removing any row leaves its pins unlisted: every row is pinned somewhere, and every
    # component has a site that finds it.
    pinned, sites = load()
    found, _ = find_pins(sites)
    for row in pinned:
        rest = [p for p in pinned if p != row]
        assert unlisted(rest, found), f"nothing pins {row.component} {row.version}"


def test_every_add_on_chart_has_a_site():
    # platform/addons.yaml: each chart's version is read by a site of its own.
    _, sites = load()
    addons = yaml.safe_load((REPO / "platform" / "addons.yaml").read_text(encoding="utf-8"))
    charts = {s["chart"] for s in addons["steps"] if s["type"] == "chart"}
    assert charts == {
        s.component.removesuffix(" chart") for s in sites if s.glob == "platform/addons.yaml"
    } - {"Kubernetes on EKS"}


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


def test_an_acceptance_passes_until_its_day_and_fails_after():
    past = dataclasses.replace(
        _pin(dt.date(2025, 6, 18)), accepted_until=dt.date(2027, 2, 28), accepted_because="why"
    )
    assert not out_of_support([past], dt.date(2027, 2, 28))
    assert accepted([past], dt.date(2027, 2, 28))
    [error] = out_of_support([past], dt.date(2027, 3, 1))
    assert "its acceptance ended 2027-02-28" in error
    assert "Move every pin of Kubernetes on EKS" in error
    assert acceptances_too_long([past], dt.date(2026, 11, 29))
    assert not acceptances_too_long([past], dt.date(2026, 11, 30))


def test_the_eks_pin_fails_from_90_days_before_its_end():
    # The check that moved 1.35 to 1.36: 1.35's end (2027-03-27) enters the window on
    # 2026-12-27, and the message says what to do.
    eks_135 = Pinned("Kubernetes on EKS", "1.35", dt.date(2027, 3, 27), "EKS calendar")
    assert not out_of_support([eks_135], dt.date(2026, 12, 26))
    [error] = out_of_support([eks_135], dt.date(2026, 12, 27))
    assert "within 90 days" in error
    assert "Move every pin of Kubernetes on EKS" in error


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


def test_an_acceptance_without_its_reason_is_named(tmp_path: Path):
    bad = tmp_path / "versions.yaml"
    bad.write_text(
        "versions:\n  - component: Helm\n    version: '3.18.4'\n    end_of_support: 2026-01-01\n"
        "    source: x\n    accepted_until: 2027-01-01\n",
        encoding="utf-8",
    )
    with pytest.raises(FieldError, match=r"versions\[0\]\.accepted_because: expected why"):
        load(bad)


def test_the_cost_table_prices_the_pinned_eks_version_in_standard_support():
    # docs/infrastructure.md's cost table names the pinned EKS version, bills the standard
    # support rate and names the day that rate ends; an extended-support version would cost six
    # times as much.
    pinned, _ = load()
    [eks] = [p for p in pinned if p.component == "Kubernetes on EKS"]
    text = (REPO / "docs" / "infrastructure.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| EKS control plane"))
    assert f"Kubernetes {eks.version} |" in row, row
    assert "$0.10/h" in row.split("|")[2], row
    assert f"standard support (until {eks.end_of_support}," in row, row


def test_the_cost_table_prices_the_pinned_aurora_version_in_standard_support():
    # The Aurora row names the pinned engine version and its major's end of standard support;
    # past it, RDS Extended Support is billed on top of the instances.
    pinned, _ = load()
    [aurora] = [p for p in pinned if p.component == "Aurora PostgreSQL"]
    text = (REPO / "docs" / "infrastructure.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| Aurora PostgreSQL"))
    assert row.startswith(f"| Aurora PostgreSQL {aurora.version} |"), row
    assert f"in standard support (until {aurora.end_of_support}," in row, row


def test_the_guide_names_the_rotation_runtime_and_its_end():
    pinned, _ = load()
    [row] = [p for p in pinned if p.component == "Lambda runtime (rotation function)"]
    joined = " ".join((REPO / "docs" / "getting-started.md").read_text(encoding="utf-8").split())
    assert f"`python{row.version}`, which Lambda supports until {row.end_of_support}" in joined
