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
