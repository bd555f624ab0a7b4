"""The import graph of the repository's Python: imports point one way and form no cycle."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

from test_app_tooling.import_graph import Graph
from test_app_tooling.import_graph import build as build_graph
from test_app_tooling.tools import REPO


# A cycle the rehearsal's reshaping into layers removes (a branch of its own). When it is gone,
# test_known_cycles_still_exist fails: delete the entry then.
# Which top-level folders may import which (besides themselves): the service and the rotation
# function stand alone; the tooling builds only on the rotation function (its rehearsal runs the
# steps that ship); scripts, the add-on installer, the rehearsal and the observability generator
# build on the tooling; tests may use everything.
MAY_IMPORT = {
    "app": set(),
    "rotation": set(),
    "tooling": {"rotation"},
    "observability": {"tooling"},
    "platform": {"tooling"},
    "scripts": {"tooling"},
    "rehearsal": {"tooling"},
    "tests": {"app", "rotation", "tooling", "scripts", "platform", "observability", "rehearsal"},
}


@cache
def repository() -> Graph:
    return build_graph()


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def tree(tmp_path: Path, files: dict[str, str]) -> Graph:
    config = '[tool.mypy]\nmypy_path = ["src", "tests"]\n'
    return build_graph(write(tmp_path, {"pyproject.toml": config, **files}))


def test_finds_a_cycle_hidden_in_a_function(tmp_path):
    graph = tree(
        tmp_path,
        {
            "src/pkg/__init__.py": "",
            "src/pkg/a.py": "import json\nfrom pkg import b\n",
            "src/pkg/b.py": "def heal():\n    from pkg.a import x\n",
            "src/pkg/c.py": "from . import a\n",
        },
    )
    assert graph.edges["src/pkg/c.py"] == {"src/pkg/a.py"}  # relative import, json left out
    assert graph.cycles() == [["src/pkg/a.py", "src/pkg/b.py"]]


def test_a_chain_is_no_cycle_and_sibling_scripts_resolve(tmp_path):
    graph = tree(
        tmp_path,
        {
            "scripts/run.py": "import helper\n",
            "scripts/helper.py": "import yaml\nfrom pkg.core import f\n",
            "src/pkg/__init__.py": "",
            "src/pkg/core.py": "",
            "tests/area/test_x.py": "from area.support import y\n",
            "tests/area/support.py": "",
        },
    )
    assert graph.edges["scripts/run.py"] == {"scripts/helper.py"}
    assert graph.edges["scripts/helper.py"] == {"src/pkg/core.py"}
    assert graph.edges["tests/area/test_x.py"] == {"tests/area/support.py"}
    assert graph.cycles() == []


def test_a_module_importing_its_own_name_is_a_cycle(tmp_path):
    # What scripts/diagrams.py did: a script named like the library it imports.
    graph = tree(tmp_path, {"scripts/diagrams.py": "from diagrams import Diagram\n"})
    assert graph.cycles() == [["scripts/diagrams.py"]]


def test_the_graph_covers_the_repository():
    graph = repository()
    folders = {graph.folder(m) for m in graph.modules}
    assert set(MAY_IMPORT) <= folders, folders
    assert len(graph.modules) >= 80
    assert sum(len(targets) for targets in graph.edges.values()) >= 100


def test_no_cycles():
    cycles = repository().cycles()
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_imports_point_one_way():
    graph = repository()
    wrong = sorted(
        f"{module} -> {target}"
        for module in graph.modules
        for target in graph.edges[module]
        if graph.folder(target) != graph.folder(module)
        and graph.folder(target) not in MAY_IMPORT[graph.folder(module)]
    )
    assert not wrong, "\n".join(wrong)


def test_the_command_prints_the_cycles_and_fails_on_them():
    result = subprocess.run(
        [sys.executable, "-m", "test_app_tooling.import_graph"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=120,
    )
    cycles = repository().cycles()
    assert f"cycles: {len(cycles)}" in result.stdout
    assert result.returncode == (1 if cycles else 0), result.stderr
    assert "tests/ -> tooling/" in result.stdout
