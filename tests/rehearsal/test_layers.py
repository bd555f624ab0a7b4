"""The rehearsal's layers: imports point down only, and no scenario imports another."""

from __future__ import annotations

import ast
from pathlib import Path

from test_app_tooling.tools import REPO


PACKAGE = REPO / "rehearsal"
# Lower number = lower layer. A module may import its own layer or a lower one.
LAYERS = {"base": 0, "measure": 1, "scenarios": 2, "cli": 3}


def _layer(module: str) -> str:
    """Layer of a module of the package, e.g. ``rehearsal.base.pair`` -> ``base``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "cli"


def _imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports (``from rehearsal.x import y`` included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rehearsal"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("rehearsal"))
    return {name for name in found if (PACKAGE.parent / (name.replace(".", "/") + ".py")).exists()
            or (PACKAGE.parent / name.replace(".", "/")).is_dir()}  # fmt: skip


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts): path
        for path in PACKAGE.rglob("*.py")
    }


def test_every_layer_exists_and_has_modules():
    modules = _modules()
    for layer in ("base", "measure", "scenarios"):
        assert any(_layer(m) == layer for m in modules), f"no module in rehearsal/{layer}"


def test_imports_point_down_only():
    wrong = [
        f"{module} ({_layer(module)}) imports {target} ({_layer(target)})"
        for module, path in _modules().items()
        for target in _imports(path)
        if LAYERS[_layer(target)] > LAYERS[_layer(module)]
    ]
    assert wrong == []


def test_no_scenario_imports_another():
    scenarios = {m: p for m, p in _modules().items() if _layer(m) == "scenarios"}
    assert len(scenarios) > 1
    wrong = [
        f"{module} imports {target}"
        for module, path in scenarios.items()
        for target in _imports(path)
        if _layer(target) == "scenarios" and target not in (module, "rehearsal.scenarios")
    ]
    assert wrong == []


# What the rehearsal takes from the tooling package instead of doing itself (docs/conventions.md).
OWN_COPIES = {
    "shutil.which": "test_app_tooling.tools.find_tool",
    "pwd.getpwnam": "test_app_tooling.postgres.as_server_user",
    "os.chown": "test_app_tooling.postgres.give_to_server_user",
    "shutil.chown": "test_app_tooling.postgres.give_to_server_user",
}


def copies(tree: ast.AST) -> list[str]:
    """Calls and names in ``tree`` that redo what the tooling package provides."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = f"{owner.id}.{node.func.attr}" if isinstance(owner, ast.Name) else ""
            if name in OWN_COPIES:
                found.append(f"line {node.lineno}: {name} (use {OWN_COPIES[name]})")
            if node.func.attr == "bind":
                found.append(f"line {node.lineno}: a socket bound (use test_app_tooling.ports)")
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "REPO" for t in node.targets
        ):
            found.append(f"line {node.lineno}: REPO defined (use test_app_tooling.tools.REPO)")
        elif isinstance(node, ast.Constant) and node.value == "supervisorctl":
            found.append(f"line {node.lineno}: supervisorctl run (use supervisord's XML-RPC)")
    return found


def test_the_copy_check_finds_each_kind_of_copy():
    source = (
        "import shutil, os\nREPO = 1\nshutil.which('x')\nos.chown(p, 1, 1)\n"
        "sock.bind(('127.0.0.1', 0))\nsubprocess.run(['supervisorctl', 'status'])\n"
    )
    assert [line.split(":")[0] for line in copies(ast.parse(source))] == [
        "line 2", "line 3", "line 4", "line 5", "line 6",
    ]  # fmt: skip


def test_the_rehearsal_keeps_no_copy_of_the_tooling_packages_pieces():
    modules = _modules()
    assert len(modules) > 10
    found = {
        module: hits
        for module, path in modules.items()
        if (hits := copies(ast.parse(path.read_text())))
    }
    assert found == {}
