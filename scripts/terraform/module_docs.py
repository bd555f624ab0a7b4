"""Keep the inputs/outputs tables of the Terraform module READMEs in sync with the code.

    python scripts/terraform/module_docs.py            # rewrite the tables
    python scripts/terraform/module_docs.py --check    # exit 1 when a table is stale

The tables sit between `<!-- BEGIN_TF_DOCS -->` and `<!-- END_TF_DOCS -->` in each
`infra/modules/<name>/README.md` and `infra/azure/modules/<name>/README.md` (the markers
terraform-docs uses, so the tool can take over where it is installed). They are generated
from `variables.tf` and `outputs.tf` with python-hcl2; text outside the markers is left alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions


REPO = Path(__file__).resolve().parents[2]
MODULE_ROOTS = (REPO / "infra" / "modules", REPO / "infra" / "azure" / "modules")
BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False)


class DocsError(RuntimeError):
    """A README cannot be generated (missing file or markers)."""


@dataclass(frozen=True)
class Variable:
    """One input of a module."""

    name: str
    description: str
    type: str
    default: str | None


@dataclass(frozen=True)
class Output:
    """One output of a module."""

    name: str
    description: str


def _blocks(path: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as fh:
        data = hcl2.load(fh, serialization_options=OPTIONS)
    return [(name, body) for block in data.get(kind, []) for name, body in block.items()]


def _expr(value: Any) -> str:  # noqa: ANN401 - HCL values are any JSON-like type
    if isinstance(value, str):
        return value[2:-1] if value.startswith("${") and value.endswith("}") else json.dumps(value)
    cleaned = _strip_markers(value)
    return json.dumps(
        cleaned, separators=(", ", " = ") if isinstance(cleaned, dict) else (", ", ": ")
    )


def _strip_markers(value: Any) -> Any:  # noqa: ANN401 - HCL values are any JSON-like type
    if isinstance(value, dict):
        return {k: _strip_markers(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_strip_markers(v) for v in value]
    return value


def read_variables(module: Path) -> list[Variable]:
    """Return the module's inputs in file order."""
    result = []
    for name, body in _blocks(module / "variables.tf", "variable"):
        if "description" not in body or "type" not in body:
            raise DocsError(f"{module.name}: variable {name!r} needs a description and a type")
        default = _expr(body["default"]) if "default" in body else None
        if "default" in body and body["default"] is None:
            default = "null"
        kind = body["type"]
        kind = _expr(kind) if not isinstance(kind, str) or kind.startswith("${") else kind
        result.append(Variable(name, body["description"], kind, default))
    return result


def read_outputs(module: Path) -> list[Output]:
    """Return the module's outputs in file order."""
    result = []
    for name, body in _blocks(module / "outputs.tf", "output"):
        if "description" not in body:
            raise DocsError(f"{module.name}: output {name!r} needs a description")
        result.append(Output(name, body["description"]))
    return result


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(module: Path) -> str:
    """Render the generated section of one module's README (markers included)."""
    variables = read_variables(module)
    outputs = read_outputs(module)
    if not variables or not outputs:
        raise DocsError(f"{module.name}: no variables or no outputs found")
    lines = [BEGIN, "## Inputs", "", "| Name | Description | Type | Default | Required |"]
    lines.append("|------|-------------|------|---------|:--------:|")
    for v in variables:
        default = "n/a" if v.default is None else f"`{_cell(v.default)}`"
        required = "yes" if v.default is None else "no"
        lines.append(
            f"| `{v.name}` | {_cell(v.description)} | `{_cell(v.type)}` | {default} | {required} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    lines += [f"| `{o.name}` | {_cell(o.description)} |" for o in outputs]
    lines.append(END)
    return "\n".join(lines)


def update(readme: Path, section: str) -> str:
    """Return the README text with its generated section replaced."""
    if not readme.is_file():
        raise DocsError(f"{readme.relative_to(REPO)} is missing")
    text = readme.read_text(encoding="utf-8")
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise DocsError(f"{readme.relative_to(REPO)} needs exactly one {BEGIN} ... {END} pair")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + section + tail


def modules() -> list[Path]:
    """Return every module folder."""
    return sorted(p for root in MODULE_ROOTS for p in root.iterdir() if (p / "main.tf").is_file())


def main() -> int:
    """Rewrite or check the README tables; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale READMEs")
    args = parser.parse_args()
    stale = []
    try:
        for module in modules():
            readme = module / "README.md"
            wanted = update(readme, render(module))
            if readme.read_text(encoding="utf-8") != wanted:
                stale.append(str(readme.relative_to(REPO)))
                if not args.check:
                    readme.write_text(wanted, encoding="utf-8")
    except DocsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check and stale:
        print("stale README tables (run scripts/terraform/module_docs.py):", *stale, sep="\n  ")
        return 1
    for path in stale:
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
