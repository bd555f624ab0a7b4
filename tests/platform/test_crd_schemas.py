"""The custom resource schemas (test_app_tooling.crd_schemas) record where they come from, and
each is tied to the CRD version the platform installs: bumping an add-on without reviewing its
schemas fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import install
from test_app_tooling.crd_schemas import CRD_SCHEMAS, SOURCES, Source, load_sources
from test_app_tooling.fields import FieldError
from test_app_tooling.tools import REPO
from test_app_tooling.versions import load as load_versions


def source(project: str) -> Source:
    found = [s for s in SOURCES if s.project == project]
    assert len(found) == 1, f"sources.yaml lists {project} {len(found)} times"
    return found[0]


def test_every_schema_has_a_source_and_describes_its_kind():
    assert len(CRD_SCHEMAS) >= 7, "too few schemas to be the chart's and the platform's"
    for src in SOURCES:
        for kind in src.kinds:
            properties = CRD_SCHEMAS[(src.api_version, kind)]["properties"]
            assert properties["apiVersion"] == {"const": src.api_version}, (src.project, kind)
            assert properties["kind"] == {"const": kind}, (src.project, kind)
    assert {(s.api_version, k) for s in SOURCES for k in s.kinds} == set(CRD_SCHEMAS)


def test_every_source_is_an_add_on_at_the_chart_version_the_platform_pins():
    charts = {step.name: step for step in install.load_steps() if step.type == "chart"}
    for src in SOURCES:
        assert src.addon in charts, f"{src.project}: no chart step {src.addon} in addons.yaml"
        pinned = charts[src.addon].version
        assert src.chart_version == pinned, (
            f"{src.project}: the schemas were written for {src.addon} {src.chart_version}, the "
            f"platform installs {pinned}; review them against its CRDs, then update sources.yaml"
        )


def test_the_rollout_schemas_are_of_the_controller_the_platform_pins():
    rollouts = source("Argo Rollouts")
    values = yaml.safe_load((REPO / "platform" / "values" / "argo-rollouts.yaml").read_text())
    assert rollouts.crd_version == values["controller"]["image"]["tag"]
    pinned, _ = load_versions()
    [listed] = [p.version for p in pinned if p.component == "Argo Rollouts"]
    assert rollouts.crd_version == f"v{listed}"


def test_the_external_secrets_schemas_are_of_the_operator_its_chart_installs():
    # External Secrets releases its chart with the operator's own version number.
    eso = source("External Secrets Operator")
    assert eso.crd_version == f"v{eso.chart_version}"


def test_a_bad_sources_file_names_the_field(tmp_path: Path):
    (tmp_path / "a.json").write_text("{}", encoding="utf-8")
    bad = tmp_path / "sources.yaml"
    entry = {
        "project": "P",
        "api_version": "x/v1",
        "kinds": {"A": "a.json", "B": "missing.json"},
        "addon": "p",
        "chart_version": "1.0.0",
        "crd_version": "v1.0.0",
        "reference": "r",
    }
    bad.write_text(yaml.safe_dump({"sources": [entry]}), encoding="utf-8")
    with pytest.raises(
        FieldError, match=r"^sources\.yaml\.sources\[0\]\.kinds\.B: expected a file"
    ):
        load_sources(bad)
    bad.write_text(
        yaml.safe_dump({"sources": [{**entry, "kinds": {"A": "a.json"}, "chart_version": 1}]})
    )
    with pytest.raises(
        FieldError, match=r"^sources\.yaml\.sources\[0\]\.chart_version: expected a quoted chart"
    ):
        load_sources(bad)
