"""JSON Schemas of the custom resources the chart and the platform render, with their provenance.

One JSON Schema file per kind, and `sources.yaml`: per upstream project, its API version, the
schema file of each kind, the add-on of platform/addons.yaml that installs the CRDs, its pinned
chart version and the CRD version the schemas describe (tests/platform/test_crd_schemas.py ties
them to the platform's pins). The schemas are hand-maintained because no package of a registry
reachable here ships these CRDs' schemas as data for the versions the platform pins
(docs/conventions.md, "Custom resource schemas", lists what was searched).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from test_app_tooling import fields


HERE = Path(__file__).resolve().parent
SOURCES_FILE = HERE / "sources.yaml"


@dataclass(frozen=True)
class Source:
    """The CRDs of one upstream project: where they come from and which version they are."""

    project: str
    api_version: str
    kinds: dict[str, str]  # kind -> schema file in this folder
    addon: str  # the step of platform/addons.yaml that installs the CRDs
    chart_version: str  # that step's pinned chart version
    crd_version: str  # the controller (and CRD) version that chart installs
    reference: str


def load_sources(path: Path = SOURCES_FILE) -> list[Source]:
    """Read sources.yaml; every error names the field (`fields`)."""
    document = fields.mapping(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    sources = []
    for where, entry in fields.entries(document, "sources", path.name):
        kinds = fields.mapping(fields.field(entry, "kinds", where, dict), fields.at(where, "kinds"))
        for kind in kinds:
            schema = fields.text(kinds, kind, fields.at(where, "kinds"), "a schema file name")
            if not (path.parent / schema).is_file():
                raise fields.expected(
                    fields.at(fields.at(where, "kinds"), kind), "a file beside it", schema
                )
        sources.append(
            Source(
                project=fields.text(entry, "project", where),
                api_version=fields.text(entry, "api_version", where),
                kinds=dict(kinds),
                addon=fields.text(entry, "addon", where),
                chart_version=fields.text(entry, "chart_version", where, "a quoted chart version"),
                crd_version=fields.text(entry, "crd_version", where),
                reference=fields.text(entry, "reference", where),
            )
        )
    return sources


def load_schemas(sources: list[Source]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every schema by (apiVersion, kind)."""
    return {
        (source.api_version, kind): json.loads((HERE / name).read_text(encoding="utf-8"))
        for source in sources
        for kind, name in source.kinds.items()
    }


SOURCES = load_sources()
CRD_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = load_schemas(SOURCES)
