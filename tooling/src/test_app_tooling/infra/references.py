"""What `terraform validate` would check inside one folder, short of the provider.

Every `var.`, `local.`, `module.<name>.<output>` and resource or data reference points at something
the folder (or the called module) declares, and every module call passes only declared inputs
and all required ones.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from test_app_tooling.infra.hcl_check import COMMENTS, IGNORED_KEYS, parse, unquote


MODULE_META = {"source", "count", "for_each", "depends_on", "providers", "version"}
VAR = re.compile(r"(?<![\w.])var\.(\w+)")
LOCAL = re.compile(r"(?<![\w.])local\.(\w+)")
MODULE_OUTPUT = re.compile(r"(?<![\w.])module\.(\w+)\.(\w+)")
DATA = re.compile(r"(?<![\w.])data\.(\w+)\.(\w+)")
RESOURCE = re.compile(r"(?<![\w.])((?:azurerm|azapi|random)_\w+)\.(\w+)")
EPHEMERAL = re.compile(r"(?<![\w.])ephemeral\.(\w+)\.(\w+)")
COMMENT_LINE = re.compile(r"^\s*(#|//).*$", re.MULTILINE)


def _labels(content: dict[str, Any], kind: str) -> set[str]:
    return {unquote(name) for group in content.get(kind, []) for name in group}


def _pairs(content: dict[str, Any], kind: str) -> set[tuple[str, str]]:
    return {
        (unquote(type_), unquote(name))
        for group in content.get(kind, [])
        for type_, named in group.items()
        for name in named
    }


def _declared_outputs(folder: Path) -> set[str]:
    return {n for p in folder.glob("*.tf") for n in _labels(parse(p), "output")}


def _variables(folder: Path) -> dict[str, bool]:
    """Declared inputs of a folder: name -> required (no default)."""
    found: dict[str, bool] = {}
    for path in folder.glob("*.tf"):
        for group in parse(path).get("variable", []):
            for name, body in group.items():
                found[unquote(name)] = "default" not in body
    return found


def _module_calls(folder: Path, contents: list[dict[str, Any]]) -> list[str]:
    errors = []
    for content in contents:
        for group in content.get("module", []):
            for label, body in group.items():
                name = unquote(label)
                target = (folder / unquote(str(body["source"]))).resolve()
                if not (target / "variables.tf").is_file():
                    errors.append(f"{folder}: module {name}: source {target} has no variables.tf")
                    continue
                inputs = _variables(target)
                given = set(body) - MODULE_META - IGNORED_KEYS
                errors += [
                    f"{folder}: module {name}: unknown input {k!r}"
                    for k in sorted(given - set(inputs))
                ]
                missing = sorted(k for k, required in inputs.items() if required and k not in given)
                if missing:
                    errors.append(f"{folder}: module {name}: required inputs {missing} not set")
    return errors


def check_folder(folder: Path) -> list[str]:
    """Undeclared references and bad module calls of one module or stack folder."""
    files = sorted(folder.glob("*.tf"))
    contents = [parse(p) for p in files]
    text = "\n".join(COMMENT_LINE.sub("", p.read_text(encoding="utf-8")) for p in files)
    variables = set(_variables(folder))
    locals_ = {k for c in contents for block in c.get("locals", []) for k in block if k != COMMENTS}
    modules = {
        unquote(n): (folder / unquote(str(b["source"]))).resolve()
        for c in contents
        for g in c.get("module", [])
        for n, b in g.items()
    }
    resources = set().union(*(_pairs(c, "resource") for c in contents))
    data = set().union(*(_pairs(c, "data") for c in contents))
    ephemeral = set().union(*(_pairs(c, "ephemeral") for c in contents))
    errors = [
        f"{folder}: var.{v} is not declared" for v in sorted(set(VAR.findall(text)) - variables)
    ]
    errors += [
        f"{folder}: local.{v} is not defined" for v in sorted(set(LOCAL.findall(text)) - locals_)
    ]
    for module, output in sorted(set(MODULE_OUTPUT.findall(text))):
        if module not in modules:
            errors.append(f"{folder}: module.{module} is not called here")
        elif output not in _declared_outputs(modules[module]):
            errors.append(f"{folder}: module.{module} has no output {output!r}")
    errors += [
        f"{folder}: data.{t}.{n} is not declared" for t, n in sorted(set(DATA.findall(text)) - data)
    ]
    errors += [
        f"{folder}: ephemeral.{t}.{n} is not declared"
        for t, n in sorted(set(EPHEMERAL.findall(text)) - ephemeral)
    ]
    referenced = set(RESOURCE.findall(text))
    errors += [f"{folder}: {t}.{n} is not declared" for t, n in sorted(referenced - resources)]
    return errors + _module_calls(folder, contents)
