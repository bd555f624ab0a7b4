"""The docs' `aws <service> <command> --query '...'` filters, checked against botocore's models.

A JMESPath `--query` that names a field the response does not have, or compares a field with a
value outside its enum, prints nothing instead of failing: filtering `clusterVersions` on
`status` equal to `STANDARD_SUPPORT` is always empty, because `status` (deprecated) takes
`standard-support` and `STANDARD_SUPPORT` belongs to `versionStatus`. This module reads every
such command of the docs' shell blocks and walks its query over the operation's output shape:

- every field a query reads must be a member of the shape it is read from;
- a member the model marks `deprecated` (or documents as deprecated) is refused, with the
  model's word on its replacement;
- a comparison of a field with a string literal (`==`, `!=`) must use one of the field's enum
  values when the model gives it an enum;
- a projection (`[]`, `[*]`, `[?...]`) must apply to a list (or a map for `*`).

The service models are botocore's `service-2.json.gz`, read from the moto environment
(`.venvs/moto`, requirements/venv-moto.txt, which ships botocore), newest API version of each
service, as the AWS CLI picks it. The queries are parsed by `jmespath` (the parser the AWS CLI
uses) in that environment's interpreter; nothing from it is imported here. A missing environment
raises `FileNotFoundError` (run scripts/bootstrap).
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from test_app_tooling.tools import REPO
from test_app_tooling.walkthrough import SHELL_BLOCK


VENV = REPO / ".venvs" / "moto"
DATA_GLOB = "lib/python3*/site-packages/botocore/data"
# AWS CLI service names whose botocore model directory is named otherwise.
CLI_SERVICES = {"s3api": "s3", "configservice": "config"}
COMMAND = re.compile(r"\baws\s+([a-z0-9-]+)\s+([a-z0-9-]+)\b")
QUERY = re.compile(r"""--query(?:=|\s+)(?:'([^']*)'|"([^"]*)"|([^\s'"]+))""")
# How a model's documentation marks a deprecated member in an output shape, where the model's
# `deprecated` flag is often only set on the request's member (EKS: "This field is deprecated.
# Use <code>versionStatus</code> instead").
DEPRECATED_DOC = re.compile(r"This (?:field|member|parameter) is deprecated\.[^.]*\.?")
# Parses each query of a JSON list on stdin with jmespath; prints the ASTs (or the error).
PARSE = """
import json, sys
import jmespath.parser
out = []
for q in json.load(sys.stdin):
    try:
        out.append({"ast": jmespath.parser.Parser().parse(q).parsed})
    except Exception as e:
        out.append({"error": str(e)})
json.dump(out, sys.stdout)
"""


@dataclass(frozen=True)
class Query:
    """One `aws <service> <command> ... --query Q` of a page."""

    where: str
    service: str
    command: str
    query: str


def _logical_lines(block: str) -> list[tuple[int, str]]:
    """The block's commands with continued lines (a trailing backslash) joined, by first line."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in enumerate(block.split("\n")):
        start, before = pending or (number, "")
        if line.rstrip().endswith("\\"):
            pending = (start, before + line.rstrip()[:-1] + " ")
            continue
        joined.append((start, before + line))
        pending = None
    return joined


def queries(text: str, page: str) -> list[Query]:
    """Every AWS CLI command with a `--query` in the page's shell blocks, at `<page>:<line>`."""
    found = []
    for block in SHELL_BLOCK.finditer(text):
        first = text.count("\n", 0, block.start(1)) + 1
        for offset, line in _logical_lines(block.group(1)):
            commands = list(COMMAND.finditer(line))
            for index, command in enumerate(commands):
                stop = commands[index + 1].start() if index + 1 < len(commands) else len(line)
                query = QUERY.search(line, command.end(2), stop)
                if query is None:
                    continue
                value = next(g for g in query.groups() if g is not None)
                where = f"{page}:{first + offset}"
                found.append(Query(where, command.group(1), command.group(2), value))
    return found


def data_root(venv: Path = VENV) -> Path:
    """The botocore data directory of the environment; raises when it is missing."""
    found = sorted(venv.glob(DATA_GLOB))
    if len(found) != 1:
        msg = f"expected botocore's data directory under {venv}, found {found}: "
        msg += "run scripts/bootstrap"
        raise FileNotFoundError(msg)
    return found[0]


def load_model(service: str, root: Path | None = None) -> dict[str, Any]:
    """The newest API version of a service's model (`service` as the AWS CLI names it)."""
    base = (root or data_root()) / CLI_SERVICES.get(service, service)
    versions = sorted(p for p in base.glob("*/service-2.json.gz"))
    if not versions:
        raise FileNotFoundError(f"no botocore model for service {service!r} under {base}")
    with gzip.open(versions[-1], "rt", encoding="utf-8") as handle:
        model: dict[str, Any] = json.load(handle)
    return model


def parse(texts: list[str], venv: Path = VENV) -> list[dict[str, Any]]:
    """JMESPath ASTs of `texts` (`{"ast": ...}` or `{"error": ...}`) parsed in the environment."""
    python = venv / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing: run scripts/bootstrap")
    result = subprocess.run(
        [str(python), "-c", PARSE],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    parsed: list[dict[str, Any]] = json.loads(result.stdout)
    return parsed


def _words(name: str) -> str:
    return name.replace("-", "").lower()


def operation(model: Mapping[str, Any], command: str) -> str | None:
    """The operation a CLI command calls (`describe-db-instances`: DescribeDBInstances)."""
    wanted = _words(command)
    return next((op for op in model["operations"] if op.lower() == wanted), None)


@dataclass(frozen=True)
class Shape:
    """A shape of the model, or a list the query made (a projection's result)."""

    name: str
    spec: Mapping[str, Any]
    element: Shape | None = None  # for lists made by a projection


@dataclass
class _Walk:
    model: Mapping[str, Any]
    where: str
    problems: list[str] = field(default_factory=list)

    def shape(self, name: str) -> Shape:
        return Shape(name, self.model["shapes"][name])

    def fail(self, message: str) -> None:
        self.problems.append(f"{self.where}: {message}")

    def element(self, shape: Shape | None, what: str) -> Shape | None:
        if shape is None:
            return None
        if shape.element is not None:
            return shape.element
        kind = shape.spec.get("type")
        if kind == "list":
            return self.shape(shape.spec["member"]["shape"])
        self.fail(f"{what} projects {shape.name}, a {kind}, not a list: it yields nothing")
        return None

    def field(self, shape: Shape | None, name: str) -> Shape | None:
        if shape is None:
            return None
        if shape.element is not None or shape.spec.get("type") != "structure":
            kind = "list" if shape.element is not None else shape.spec.get("type")
            self.fail(f"`{name}` is read from {shape.name}, a {kind}: it yields null")
            return None
        members: Mapping[str, Any] = shape.spec.get("members", {})
        if name not in members:
            self.fail(f"{shape.name} has no field `{name}` (it has: {', '.join(sorted(members))})")
            return None
        member = members[name]
        said = DEPRECATED_DOC.search(member.get("documentation", ""))
        if member.get("deprecated") or said:
            why = member.get("deprecatedMessage") or re.sub(r"<[^>]+>", "", said[0] if said else "")
            self.fail(f"{shape.name}.{name} is deprecated ({why.strip()})")
        target = self.shape(member["shape"])
        if target.spec.get("deprecated"):
            self.fail(f"{shape.name}.{name} ({target.name}) is deprecated")
        return target

    def compare(self, node: Mapping[str, Any], current: Shape | None) -> None:
        sides = node["children"]
        literals = [s for s in sides if s["type"] in ("literal", "raw_literal")]
        fields = [s for s in sides if s["type"] not in ("literal", "raw_literal")]
        shapes = [self.walk(s, current) for s in fields]
        if node.get("value") not in ("eq", "ne") or len(literals) != 1 or len(shapes) != 1:
            return
        value, shape = literals[0].get("value"), shapes[0]
        if shape is None or not isinstance(value, str):
            return
        enum = shape.spec.get("enum")
        if enum is not None and value not in enum:
            self.fail(f"`{value}` is not a value of {shape.name} (one of: {', '.join(enum)})")

    def walk(self, node: Mapping[str, Any], current: Shape | None) -> Shape | None:
        """The shape `node` yields when applied to `current` (None when unknown or broken)."""
        kind = node["type"]
        children: list[Mapping[str, Any]] = node.get("children", [])
        if kind == "field":
            return self.field(current, node["value"])
        if kind in ("identity", "current"):
            return current
        if kind in ("subexpression", "pipe"):
            return self.walk(children[1], self.walk(children[0], current))
        if kind in ("index_expression", "flatten", "projection", "filter_projection"):
            return self.project(node, current)
        if kind == "comparator":
            self.compare(node, current)
        elif kind == "function_expression":
            self.function(children, current)
        elif kind == "value_projection":
            left = self.walk(children[0], current)
            if left is not None and left.spec.get("type") == "map":
                self.walk(children[1], self.shape(left.spec["value"]["shape"]))
        else:  # key_val_pair, and/or/not, multi-selects: check each part, type unknown
            for child in children:
                self.walk(child, current)
        return None

    def function(self, args: list[Mapping[str, Any]], current: Shape | None) -> None:
        """A function's arguments; an `&expr` applies to the items of the first argument."""
        values = [self.walk(a, current) for a in args if a["type"] != "expref"]
        for ref in (a for a in args if a["type"] == "expref"):
            self.walk(ref["children"][0], self.element(values[0] if values else None, "&"))

    def project(self, node: Mapping[str, Any], current: Shape | None) -> Shape | None:
        """An index, `[]`, `[*]` or `[?...]` over a list."""
        kind = node["type"]
        children: list[Mapping[str, Any]] = node["children"]
        left = self.walk(children[0], current)
        if kind == "index_expression":
            return self.element(left, "an index") if children[1]["type"] == "index" else left
        inner = self.element(left, "`[]`" if kind == "flatten" else "`[...]`")
        if kind == "flatten":
            return None if inner is None else _list_of(inner)
        if kind == "filter_projection":
            self.walk(children[2], inner)
        out = self.walk(children[1], inner)
        return None if out is None else _list_of(out)


def _list_of(shape: Shape) -> Shape:
    return Shape(f"list of {shape.name}", {"type": "list"}, shape)


def check(found: Iterable[Query], root: Path | None = None, venv: Path = VENV) -> list[str]:
    """Problems of each query against its operation's output shape (empty when all are sound)."""
    found = list(found)
    problems: list[str] = []
    asts = parse([q.query for q in found], venv)
    models: dict[str, dict[str, Any]] = {}
    for query, parsed in zip(found, asts, strict=True):
        if query.service not in models:
            models[query.service] = load_model(query.service, root)
        model = models[query.service]
        op = operation(model, query.command)
        if op is None:
            problems.append(f"{query.where}: aws {query.service} has no command {query.command}")
            continue
        if "error" in parsed:
            problems.append(
                f"{query.where}: --query {query.query!r} does not parse: {parsed['error']}"
            )
            continue
        walk = _Walk(model, f"{query.where} (aws {query.service} {query.command})")
        output = model["operations"][op].get("output")
        if output is None:
            problems.append(f"{walk.where}: {op} returns nothing to query")
            continue
        walk.walk(parsed["ast"], walk.shape(output["shape"]))
        problems += walk.problems
    return problems


def page_queries(pages: Iterable[Path], root: Path = REPO) -> list[Query]:
    """The queries of every page, each located as `<path from root>:<line>`."""
    return [
        q
        for page in pages
        for q in queries(page.read_text(encoding="utf-8"), str(page.relative_to(root)))
    ]
