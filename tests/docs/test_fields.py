"""One validator style (test_app_tooling.fields): a bad input names the field, what was expected
and what was found, in the form the service's settings use too."""

from __future__ import annotations

import ast
import datetime as dt
import re

import pytest

from test_app_tooling import fields
from test_app_tooling.fields import FieldError
from test_app_tooling.quantities import QuantityError, cpu_cores
from test_app_tooling.tools import REPO


def test_a_missing_field_and_a_wrong_kind_read_the_same_way():
    data = {"cpus": "two", "flag": True, "when": "soon"}
    with pytest.raises(FieldError, match=r"^pod\.json\.workers: expected a whole number, missing$"):
        fields.field(data, "workers", "pod.json", int)
    with pytest.raises(
        FieldError, match=r"^pod\.json\.cpus: expected a positive number, got 'two'$"
    ):
        fields.positive(data, "cpus", "pod.json")
    # A YAML boolean is no number, and a number no boolean.
    with pytest.raises(FieldError, match=r"^x\.flag: expected a whole number, got True$"):
        fields.field(data, "flag", "x", int)
    with pytest.raises(FieldError, match=r"^x\.when: expected a date \(YYYY-MM-DD\), got 'soon'$"):
        fields.field(data, "when", "x", dt.date)


def test_paths_name_keys_and_indexes():
    assert fields.at(fields.at(fields.at("addons.yaml", "steps"), 3), "version") == (
        "addons.yaml.steps[3].version"
    )
    assert fields.at("", "name") == "name"


def test_the_helpers_check_what_they_promise():
    data = {"name": "  ", "rows": [], "kind": "Pod", "n": 0, "set": None}
    with pytest.raises(FieldError, match=r"^f\.name: expected a non-empty string, got '  '$"):
        fields.text(data, "name", "f")
    with pytest.raises(FieldError, match=r"^f\.rows: expected a non-empty list, got \[\]$"):
        fields.items(data, "rows", "f")
    with pytest.raises(FieldError, match=r"^f\.kind: expected one of Job, CronJob, got 'Pod'$"):
        fields.one_of(data, "kind", "f", ("Job", "CronJob"))
    with pytest.raises(FieldError, match=r"^f\.n: expected a positive number, got 0$"):
        fields.positive(data, "n", "f")
    with pytest.raises(FieldError, match=r"^f: expected a mapping, got \[1\]$"):
        fields.mapping([1], "f")
    assert fields.optional(data, "set", "f", dict, {"a": "b"}) == {"a": "b"}
    assert fields.optional(data, "absent", "f", str, "10m") == "10m"
    assert fields.one_of({"kind": "Job"}, "kind", "f", ("Job",)) == "Job"


def test_a_quantity_error_is_a_field_error_of_the_same_form():
    with pytest.raises(FieldError, match=r"^resources\.requests\.cpu: expected a CPU quantity"):
        cpu_cores("one", "resources.requests.cpu")
    assert issubclass(QuantityError, FieldError)


# The readers of input files that once checked their input each their own way.
READERS = (
    "platform/install.py",
    "scripts/scaling_table.py",
    "tooling/src/test_app_tooling/crd_schemas/__init__.py",
    "tooling/src/test_app_tooling/infra/azure_names.py",
    "tooling/src/test_app_tooling/infra/azure_network.py",
    "tooling/src/test_app_tooling/infra/drift.py",
    "tooling/src/test_app_tooling/infra/iam.py",
    "tooling/src/test_app_tooling/infra/nsg.py",
    "tooling/src/test_app_tooling/login_rotation.py",
    "tooling/src/test_app_tooling/versions.py",
)


@pytest.mark.parametrize("relative", READERS)
def test_the_input_readers_use_the_one_style(relative):
    tree = ast.parse((REPO / relative).read_text(encoding="utf-8"))
    imported = {
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for name in (node.module, *(f"{node.module}.{alias.name}" for alias in node.names))
    }
    assert "test_app_tooling.fields" in imported, f"{relative} does not use test_app_tooling.fields"
    own = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name in {"_field", "_require", "_positive"}
    ]
    assert own == [], f"{relative} defines its own field checks: {own}"
    assert _worded_own_way(tree) == [], f"{relative} words an error its own way"


def _worded_own_way(tree: ast.Module) -> list[str]:
    """Strings (docstrings aside) that word a rule as "... must be ..." instead of "expected"."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        text.value
        for text in ast.walk(tree)
        if isinstance(text, ast.Constant) and isinstance(text.value, str)
        if id(text) not in docstrings and " must be " in text.value
    ]


def test_the_standard_library_smoke_test_words_its_errors_the_same_way():
    # It runs on a bare runner (standard library only), so it cannot import the tooling.
    tree = ast.parse((REPO / "scripts" / "smoke_test.py").read_text(encoding="utf-8"))
    assert _worded_own_way(tree) == []


# Reading the chart's values files by hand: yaml on a path under charts/test-app holding values.
HAND_READ = re.compile(
    r"safe_load\((?=[^\n]*(?:CHART|charts[\"' /]+test-app))(?=[^\n]*values)[^\n]*", re.IGNORECASE
)
# The render helper itself, and the README check, which compares the file's keys to its table.
READS_VALUES_FILES = {"tooling/src/test_app_tooling/helm_render.py", "tests/chart/test_readme.py"}


def test_chart_values_are_read_through_helm():
    files = [
        path
        for folder in (
            "app",
            "tooling",
            "scripts",
            "platform",
            "observability",
            "rehearsal",
            "tests",
        )
        for path in (REPO / folder).rglob("*.py")
        if ".venv" not in path.parts and "node_modules" not in path.parts
    ]
    assert len(files) > 100, "too few Python files: the search looks in the wrong place"
    found = [
        f"{path.relative_to(REPO)}: {match.group(0).strip()}"
        for path in files
        if str(path.relative_to(REPO)) not in READS_VALUES_FILES
        for match in HAND_READ.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "read the chart's values with helm_render (chart_values or a render)"
