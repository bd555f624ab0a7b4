"""One licence for the whole repository: the LICENSE file, and every place that names it."""

from __future__ import annotations

import re
import tomllib

import yaml

from test_app_tooling.tools import REPO


def declared() -> dict[str, str]:
    """Each place that states the licence, with the SPDX identifier it states."""
    found = {}
    for pyproject in ("app/pyproject.toml", "tooling/pyproject.toml"):
        project = tomllib.loads((REPO / pyproject).read_text(encoding="utf-8"))["project"]
        found[pyproject] = project["license"]
    chart = yaml.safe_load((REPO / "charts/test-app/Chart.yaml").read_text(encoding="utf-8"))
    found["charts/test-app/Chart.yaml"] = chart["annotations"]["artifacthub.io/license"]
    label = re.search(
        r'org\.opencontainers\.image\.licenses="([^"]+)"',
        (REPO / "app/Dockerfile").read_text(encoding="utf-8"),
    )
    assert label, "app/Dockerfile: the image names no licence"
    found["app/Dockerfile"] = label.group(1)
    return found


def test_every_place_names_the_licence_of_the_license_file():
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n"), text[:80]
    statements = declared()
    assert len(statements) == 4
    assert set(statements.values()) == {"MIT"}, statements
