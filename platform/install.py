#!/usr/bin/env python3
"""Install the cluster add-ons of platform/addons.yaml in order, with the helm CLI and kubectl.

    platform/install.py --cluster-name test-app-staging --vpc-id vpc-0123 --dry-run   # the plan
    platform/install.py --cluster-name test-app-staging --vpc-id vpc-0123             # install

The current kubectl context must point at the cluster (`aws eks update-kubeconfig`). Every step
is idempotent (`helm upgrade --install`, `kubectl apply`), so a rerun converges; a step that fails
stops the run with its command and exit code. `--dry-run` needs neither helm nor a cluster: it
validates addons.yaml and prints every command it would run.
"""

# ruff: noqa: T201, S603, S607
# A command-line installer: it prints its plan and progress, and runs helm/kubectl from PATH.
from __future__ import annotations

import argparse
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from test_app_tooling import fields


HERE = Path(__file__).resolve().parent
ADDONS = HERE / "addons.yaml"
EXACT_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")
STEP_TYPES = ("chart", "generated-secret", "manifest")
OPTION_OF = {"CLUSTER_NAME": "--cluster-name", "AWS_REGION": "--region", "VPC_ID": "--vpc-id"}


class AddonError(fields.FieldError):
    """addons.yaml (or an option) is not what the installer expects."""


@dataclass(frozen=True)
class Step:
    """One entry of addons.yaml."""

    name: str
    type: str
    purpose: str
    namespace: str = ""
    repository: str = ""
    chart: str = ""
    version: str = ""
    values: tuple[str, ...] = ()
    path: str = ""
    timeout: str = "10m"
    set: dict[str, str] = field(default_factory=dict)
    secret_name: str = ""
    keys: dict[str, str] = field(default_factory=dict)
    generated_keys: tuple[str, ...] = ()


def _existing(relative: str, where: str) -> str:
    if not (HERE / relative).is_file():
        raise fields.expected(where, "a file under platform/", relative)
    return relative


def parse_step(value: object, where: str) -> Step:
    """Validate one entry of `steps` (`where` is its path, e.g. addons.yaml.steps[3])."""
    entry = fields.mapping(value, where)
    name = fields.text(entry, "name", where)
    kind = fields.one_of(entry, "type", where, STEP_TYPES)
    purpose = fields.text(entry, "purpose", where)
    if kind == "manifest":
        path = _existing(fields.text(entry, "path", where), fields.at(where, "path"))
        return Step(name=name, type=kind, purpose=purpose, path=path)
    namespace = fields.text(entry, "namespace", where)
    if kind == "generated-secret":
        keys = fields.optional(entry, "keys", where, dict, {})
        generated = fields.items(entry, "generatedKeys", where, "a non-empty list of key names")
        return Step(
            name=name,
            type=kind,
            purpose=purpose,
            namespace=namespace,
            secret_name=fields.text(entry, "secretName", where),
            keys={str(k): str(v) for k, v in keys.items()},
            generated_keys=tuple(str(k) for k in generated),
        )
    return _parse_chart(entry, where, name, purpose, namespace)


def _parse_chart(
    entry: dict[str, Any], where: str, name: str, purpose: str, namespace: str
) -> Step:
    """Validate a `type: chart` entry: exact version, https repository, existing values file."""
    exact = "an exact chart version like 1.2.3 (no range, no `v`)"
    version = fields.field(entry, "version", where, str, exact)
    if not EXACT_VERSION.match(version):
        raise fields.expected(fields.at(where, "version"), exact, version)
    repository = fields.text(entry, "repository", where, "an https URL")
    if not repository.startswith("https://"):
        raise fields.expected(fields.at(where, "repository"), "an https URL", repository)
    raw = entry.get("values")
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise fields.expected(fields.at(where, "values"), "a path or a list of paths", raw)
    paths = fields.at(where, "values")
    for index, path in enumerate(values):
        _existing(path, fields.at(paths, index) if raw is values else paths)
    overrides = fields.optional(entry, "set", where, dict, {})
    return Step(
        name=name,
        type="chart",
        purpose=purpose,
        namespace=namespace,
        repository=repository,
        chart=fields.text(entry, "chart", where),
        version=version,
        values=tuple(values),
        timeout=fields.optional(entry, "timeout", where, str, "10m"),
        set={str(k): str(v) for k, v in overrides.items()},
    )


def load_steps(path: Path = ADDONS) -> list[Step]:
    """Read and validate addons.yaml; every error names the step's field (`fields`)."""
    name = path.name
    document = fields.mapping(yaml.safe_load(path.read_text(encoding="utf-8")), name)
    if document.get("kind") != "AddonList":
        kind = document.get("kind", fields.MISSING)
        raise fields.expected(fields.at(name, "kind"), "AddonList", kind)
    steps = [
        parse_step(entry, where)
        for where, entry in fields.entries(document, "steps", name, "a non-empty list of steps")
    ]
    names = [step.name for step in steps]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise fields.expected(fields.at(name, "steps"), "unique step names, repeated", duplicates)
    return steps


def substitute(text: str, variables: dict[str, str]) -> str:
    """Replace ${NAME} placeholders; an unknown or empty placeholder is an error."""

    def replace(match: re.Match[str]) -> str:
        value = variables.get(match.group(1), "")
        if not value:
            option = OPTION_OF.get(match.group(1), "(no option sets it)")
            raise AddonError(f"placeholder ${{{match.group(1)}}} has no value: pass {option}")
        return value

    return PLACEHOLDER.sub(replace, text)


def commands(step: Step, variables: dict[str, str], base: Path = HERE) -> list[list[str]]:
    """Return the commands that install one step (values files under `base`)."""
    if step.type == "manifest":
        return [["kubectl", "apply", "--server-side", "-f", "-"]]
    if step.type == "generated-secret":
        literals = [f"--from-literal={k}={v}" for k, v in step.keys.items()]
        literals += [f"--from-literal={k}=<random>" for k in step.generated_keys]
        return [
            ["kubectl", "-n", step.namespace, "get", "secret", step.secret_name],
            [
                "kubectl",
                "-n",
                step.namespace,
                "create",
                "secret",
                "generic",
                step.secret_name,
                *literals,
            ],
        ]
    command = [
        "helm",
        "upgrade",
        "--install",
        step.name,
        step.chart,
        "--repo",
        step.repository,
        "--version",
        step.version,
        "--namespace",
        step.namespace,
        "--create-namespace",
        *[arg for path in step.values for arg in ("--values", os.path.normpath(base / path))],
        "--wait",
        "--rollback-on-failure",
        "--timeout",
        step.timeout,
    ]
    for key, value in step.set.items():
        command += ["--set", f"{key}={substitute(value, variables)}"]
    return [command]


def plan(steps: list[Step], variables: dict[str, str]) -> list[str]:
    """Return the lines of the plan: what an install would do, step by step.

    Every placeholder is resolved first, so a missing option fails before anything is printed.
    """
    lines = [f"Plan: {len(steps)} steps, in this order (nothing is changed in --dry-run)."]
    for number, step in enumerate(steps, start=1):
        what = (
            f"{step.chart} {step.version} -> namespace {step.namespace}"
            if step.type == "chart"
            else step.path or f"Secret {step.namespace}/{step.secret_name}"
        )
        lines.append(f"{number}. {step.name} [{step.type}] {what}")
        lines.append(f"   {substitute(step.purpose, variables)}")
        if step.type == "manifest":
            substitute((HERE / step.path).read_text(encoding="utf-8"), variables)
            lines.append(
                f"   $ kubectl apply --server-side -f - < platform/{step.path}"
                "  # placeholders filled in"
            )
            continue
        lines.extend(
            f"   $ {shlex.join(command)}"
            for command in commands(step, variables, base=Path("platform"))
        )
    return lines


def run(command: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run one command, echoing it; stop with its exit code when it fails."""
    print(f"$ {shlex.join(command)}", flush=True)
    result = subprocess.run(command, input=stdin, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"failed (exit {result.returncode}): {shlex.join(command)}")
    return result


def install(steps: list[Step], variables: dict[str, str]) -> None:
    """Install every step in order."""
    for tool in ("helm", "kubectl"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not on PATH: install it or use --dry-run")
    for number, step in enumerate(steps, start=1):
        print(f"==> {number}/{len(steps)} {step.name}: {substitute(step.purpose, variables)}")
        if step.type == "manifest":
            text = substitute((HERE / step.path).read_text(encoding="utf-8"), variables)
            run(["kubectl", "apply", "--server-side", "-f", "-"], stdin=text)
        elif step.type == "generated-secret":
            exists = subprocess.run(
                ["kubectl", "-n", step.namespace, "get", "secret", step.secret_name],
                capture_output=True,
                check=False,
            )
            if exists.returncode == 0:
                print(f"Secret {step.namespace}/{step.secret_name} exists: kept")
                continue
            literals = [f"--from-literal={k}={v}" for k, v in step.keys.items()]
            literals += [
                f"--from-literal={k}={secrets.token_urlsafe(32)}" for k in step.generated_keys
            ]
            create = ["kubectl", "-n", step.namespace, "create", "secret", "generic"]
            run([*create, step.secret_name, *literals])
        else:
            for command in commands(step, variables):
                run(command)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cluster-name", required=True, help="EKS cluster, e.g. test-app-staging")
    parser.add_argument("--region", default="eu-central-1", help="AWS region of the cluster")
    parser.add_argument(
        "--vpc-id", default="", help="VPC of the cluster (load balancer controller)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="validate addons.yaml and print the plan only"
    )
    parser.add_argument("--only", action="append", default=[], help="install only this step")
    return parser.parse_args(argv)


def select(steps: list[Step], only: list[str]) -> list[Step]:
    """Keep the steps named in `only` (all when empty), in the file's order."""
    unknown = sorted(set(only) - {s.name for s in steps})
    if unknown:
        raise AddonError(f"--only: unknown steps {unknown}")
    return [s for s in steps if not only or s.name in only]


def main(argv: list[str] | None = None) -> int:
    """Validate the options and addons.yaml, then print the plan or install."""
    args = parse_args(argv)
    if not re.fullmatch(r"[A-Za-z][-A-Za-z0-9_]{0,99}", args.cluster_name):
        raise SystemExit(f"--cluster-name: not a valid EKS cluster name: {args.cluster_name!r}")
    if args.vpc_id and not re.fullmatch(r"vpc-[0-9a-f]{8,17}", args.vpc_id):
        raise SystemExit(f"--vpc-id: expected vpc-<hex>, got {args.vpc_id!r}")
    variables = {
        "CLUSTER_NAME": args.cluster_name,
        "AWS_REGION": args.region,
        "VPC_ID": args.vpc_id,
    }
    try:
        steps = select(load_steps(ADDONS), args.only)
        lines = plan(steps, variables)  # resolves every placeholder before anything runs
        if args.dry_run:
            print("\n".join(lines))
        else:
            install(steps, variables)
    except fields.FieldError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
