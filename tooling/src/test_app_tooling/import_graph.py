"""The import graph of the repository's own Python, and its cycles.

    python -m test_app_tooling.import_graph            # folders, modules, edges and cycles
    python -m test_app_tooling.import_graph --dot      # Graphviz DOT, one cluster per folder

Every `import` counts, including those inside functions (a cycle hidden in a function is still
a cycle). Imports of third-party and standard-library modules are left out. A module is named
the way the code imports it: relative to a base folder that holds it (mypy's `mypy_path` in
pyproject.toml: the installed packages' `src/` folders, the folders of modules imported by bare
name), else relative to the repository root; a bare import is also looked up beside the
importing file, as Python does for a script. Exits 1 when there is a cycle.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from test_app_tooling.tools import REPO


SKIPPED = {".git", ".venv", ".venvs", ".state", ".cache", "node_modules", "__pycache__"}


@dataclass
class Graph:
    """Modules (repository-relative paths) and the modules each one imports."""

    root: Path
    edges: dict[str, set[str]] = field(default_factory=dict)

    @property
    def modules(self) -> list[str]:
        """Every module, sorted."""
        return sorted(self.edges)

    def folder(self, module: str) -> str:
        """The top-level folder of a module (`rehearsal`, `tests`, ...)."""
        return module.split("/", 1)[0]

    def cycles(self) -> list[list[str]]:
        """Each set of modules that reach each other through imports, sorted.

        A module importing itself counts.
        """
        reach = {module: _reachable(self.edges, module) for module in self.edges}
        found = {
            frozenset({module} | {other for other in reach[module] if module in reach[other]})
            for module in self.edges
            if module in reach[module]
        }
        return sorted(sorted(cycle) for cycle in found)


def python_files(root: Path) -> Iterator[Path]:
    """The repository's Python files (environments, caches and state left out)."""
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if not SKIPPED.intersection(relative.parts[:-1]) and not relative.parts[0].startswith("."):
            yield path


def bases(root: Path) -> list[Path]:
    """The folders modules are imported relative to (pyproject.toml's mypy `mypy_path`)."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return [Path(folder) for folder in config["tool"]["mypy"]["mypy_path"]]


def module_names(root: Path, files: Iterable[Path]) -> dict[str, Path]:
    """Dotted name -> file, for every name the file can be imported as."""
    names: dict[str, Path] = {}
    folders = bases(root)
    for path in files:
        relative = path.relative_to(root)
        bases_of_path = [base for base in folders if relative.is_relative_to(base)]
        for base in [*bases_of_path, Path()]:
            parts = list(relative.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts:
                names.setdefault(".".join(parts), path)
    return names


def imported_names(path: Path, package: list[str]) -> list[list[str]]:
    """What each import statement of `path` may name, most specific first.

    `from a import b` names the module `a.b` if there is one, else the module `a` (b is an
    attribute); relative imports are resolved in `package`.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[list[str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [[alias.name] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            found += [[f"{base}.{alias.name}", base] for alias in node.names]
    return found


def resolve(name: str, importer: Path, names: dict[str, Path]) -> Path | None:
    """The repository file `name` means when `importer` imports it, or None (not ours)."""
    if name in names:
        return names[name]
    sibling = importer.parent / (name.replace(".", "/") + ".py")
    return sibling if sibling.is_file() else None


def build(root: Path = REPO) -> Graph:
    """The import graph of every Python file under `root`."""
    files = list(python_files(root))
    names = module_names(root, files)
    graph = Graph(root)
    for path in files:
        relative = path.relative_to(root)
        package = list(relative.parent.parts)
        targets: set[str] = set()
        for candidates in imported_names(path, package):
            target = next(
                (found for name in candidates if (found := resolve(name, path, names))), None
            )
            if target is not None:
                targets.add(str(target.relative_to(root)))
        graph.edges[str(relative)] = targets
    return graph


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    """Every module `start` reaches through one or more imports."""
    seen: set[str] = set()
    todo = list(edges.get(start, ()))
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += edges.get(module, ())
    return seen


def dot(graph: Graph) -> str:
    """The graph in Graphviz DOT, one cluster per top-level folder."""
    lines = ["digraph imports {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    folders = sorted({graph.folder(m) for m in graph.modules})
    for number, folder in enumerate(folders):
        lines.append(f'  subgraph cluster_{number} {{ label="{folder}/";')
        lines += [f'    "{m}";' for m in graph.modules if graph.folder(m) == folder]
        lines.append("  }")
    lines += [f'  "{m}" -> "{t}";' for m in graph.modules for t in sorted(graph.edges[m])]
    lines.append("}")
    return "\n".join(lines) + "\n"


def summary(graph: Graph) -> str:
    """Modules and edges per folder, the imports between folders, and the cycles."""
    lines = []
    folders = sorted({graph.folder(m) for m in graph.modules})
    for folder in folders:
        modules = [m for m in graph.modules if graph.folder(m) == folder]
        edges = sum(len(graph.edges[m]) for m in modules)
        lines.append(f"{folder}/: {len(modules)} modules, {edges} imports of project modules")
    between = sorted(
        {
            (graph.folder(m), graph.folder(t))
            for m in graph.modules
            for t in graph.edges[m]
            if graph.folder(m) != graph.folder(t)
        }
    )
    lines += [f"{source}/ -> {target}/" for source, target in between]
    cycles = graph.cycles()
    lines.append(f"cycles: {len(cycles)}")
    lines += ["  " + " <-> ".join(cycle) for cycle in cycles]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the graph (a summary, or DOT with `--dot`); exit 1 when it has a cycle."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dot", action="store_true", help="print Graphviz DOT")
    args = parser.parse_args(argv)
    graph = build()
    sys.stdout.write(dot(graph) if args.dot else summary(graph))
    return 1 if graph.cycles() else 0


if __name__ == "__main__":
    raise SystemExit(main())
