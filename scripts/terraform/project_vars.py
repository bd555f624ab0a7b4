#!/usr/bin/env python3
"""Write the values of infra/envs/project.toml that one stack declares, as a Terraform var file.

    scripts/terraform/project_vars.py ENV STACK OUT.tfvars.json [--project FILE] [--cloud azure]
    scripts/terraform/project_vars.py --image-source [--project FILE] >> "$GITHUB_OUTPUT"

`--cloud azure` reads the stacks of infra/azure/stacks and hands them the `[azure]` values
(`unique_name`, the environment's `subscription_id`) and `github_repository`.
The second form prints `image-source=https://github.com/<github_repository>`, the image's
`org.opencontainers.image.source` label (ci.yml passes it to app/Dockerfile as IMAGE_SOURCE).

infra/envs/project.toml is the one place for the repository- and account-specific identifiers
(docs/infrastructure.md). Each stack gets only the variables it declares, so Terraform never
warns about undeclared ones. Standard library only: CI runs it with the runner's python3.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any


REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "infra" / "envs" / "project.toml"
ENVIRONMENTS = ("staging", "prod")
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
UNIQUE_NAME = re.compile(r"^[a-z][a-z0-9]{2,6}$")
SUBSCRIPTION = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STACK_ROOTS = {"aws": REPO / "infra" / "stacks", "azure": REPO / "infra" / "azure" / "stacks"}
VARIABLE = re.compile(r'^variable\s+"([a-z0-9_]+)"', re.MULTILINE)


class ProjectError(ValueError):
    """infra/envs/project.toml holds a value of the wrong form."""


def declared(stack: str, cloud: str = "aws") -> set[str]:
    """Return the variables a stack declares (every `variable "x"` of its .tf files)."""
    folder = STACK_ROOTS[cloud] / stack
    if not folder.is_dir():
        msg = f"unknown stack {stack!r} (no folder {folder.relative_to(REPO)})"
        raise ProjectError(msg)
    return {m for tf in folder.glob("*.tf") for m in VARIABLE.findall(tf.read_text("utf-8"))}


def load(path: Path) -> dict[str, Any]:
    """Read project.toml and check it: every bad value is named with what was expected."""
    project = tomllib.loads(path.read_text(encoding="utf-8"))
    repository = project.get("github_repository", "")
    if not isinstance(repository, str) or not REPOSITORY.match(repository):
        msg = f"{path}: github_repository must be owner/name, got {repository!r}"
        raise ProjectError(msg)
    if project.get("registry_environment") not in ENVIRONMENTS:
        msg = f"{path}: registry_environment must be staging or prod"
        raise ProjectError(msg)
    for env in ENVIRONMENTS:
        table = project.get("environments", {}).get(env)
        if not isinstance(table, dict):
            msg = f"{path}: [environments.{env}] is missing"
            raise ProjectError(msg)
        account = table.get("account_id", "")
        if account and not ACCOUNT_ID.match(str(account)):
            msg = f"{path}: environments.{env}.account_id must be 12 digits in quotes or empty"
            raise ProjectError(msg)
        arns = table.get("admin_principal_arns", [])
        if not isinstance(arns, list) or any(":assumed-role/" in str(a) for a in arns):
            msg = (
                f"{path}: environments.{env}.admin_principal_arns must be a list of IAM role or "
                "user ARNs (EKS rejects sts assumed-role session ARNs)"
            )
            raise ProjectError(msg)
        if account and not arns:
            msg = (
                f"{path}: environments.{env}.admin_principal_arns is empty: the cluster of "
                f"{env} would have no administrator (its creator gets no implicit access)"
            )
            raise ProjectError(msg)
    _check_azure(path, project)
    return project


def _check_azure(path: Path, project: dict[str, Any]) -> None:
    azure = project.get("azure")
    if azure is None:
        return
    unique = azure.get("unique_name", "") if isinstance(azure, dict) else ""
    if not isinstance(unique, str) or not UNIQUE_NAME.match(unique):
        msg = (
            f"{path}: azure.unique_name must be 3 to 7 lower-case letters and digits starting "
            f"with a letter, got {unique!r}"
        )
        raise ProjectError(msg)
    for env in ENVIRONMENTS:
        table = azure.get("environments", {}).get(env, {})
        subscription = table.get("subscription_id", "") if isinstance(table, dict) else None
        if subscription is None or (subscription and not SUBSCRIPTION.match(str(subscription))):
            msg = f"{path}: azure.environments.{env}.subscription_id must be a GUID or empty"
            raise ProjectError(msg)


def azure_values(project: dict[str, Any], env: str) -> dict[str, Any]:
    """Return every Terraform variable the project file decides for one Azure environment."""
    azure = project.get("azure")
    if not isinstance(azure, dict):
        msg = "infra/envs/project.toml has no [azure] table (azure.unique_name is needed)"
        raise ProjectError(msg)
    out: dict[str, Any] = {
        "github_repository": project["github_repository"],
        "unique_name": azure["unique_name"],
    }
    subscription = azure.get("environments", {}).get(env, {}).get("subscription_id", "")
    if subscription:
        out["subscription_id"] = subscription
    return out


def values(project: dict[str, Any], env: str) -> dict[str, Any]:
    """Return every Terraform variable the project file decides for one environment."""
    envs = project["environments"]
    account = envs[env].get("account_id", "")
    registry_env = project["registry_environment"]
    registry_account = envs[registry_env].get("account_id", "")
    others = [
        envs[e]["account_id"]
        for e in ENVIRONMENTS
        if e != env and envs[e].get("account_id") and envs[e]["account_id"] != account
    ]
    out: dict[str, Any] = {
        "github_repository": project["github_repository"],
        "admin_principal_arns": list(envs[env].get("admin_principal_arns", [])),
    }
    if account:
        out["allowed_account_ids"] = [account]
    if env == registry_env:
        out["pull_account_ids"] = others
    elif registry_account and account and registry_account != account:
        out["registry_account_id"] = registry_account
    if env != registry_env and account and account == registry_account:
        # One account for both environments: the registry environment's ci stack made the
        # account's GitHub OIDC provider already.
        out["create_oidc_provider"] = False
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env", nargs="?", choices=ENVIRONMENTS)
    parser.add_argument("stack", nargs="?")
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--project", type=Path, default=PROJECT)
    parser.add_argument("--cloud", choices=sorted(STACK_ROOTS), default="aws")
    parser.add_argument(
        "--image-source",
        action="store_true",
        help="print image-source=<the repository's URL> (a GitHub step output) instead",
    )
    args = parser.parse_args(argv)
    if args.image_source:
        try:
            repository = load(args.project)["github_repository"]
        except (ProjectError, tomllib.TOMLDecodeError) as error:
            print(f"project_vars: {error}", file=sys.stderr)
            return 2
        print(f"image-source=https://github.com/{repository}")
        return 0
    if args.out is None:
        parser.error("ENV, STACK and OUT are required (or --image-source)")
    try:
        project = load(args.project)
        decided = (
            azure_values(project, args.env) if args.cloud == "azure" else values(project, args.env)
        )
        wanted = declared(args.stack, args.cloud)
        chosen = {k: v for k, v in decided.items() if k in wanted}
    except (ProjectError, tomllib.TOMLDecodeError) as error:
        print(f"project_vars: {error}", file=sys.stderr)
        return 2
    args.out.write_text(json.dumps(chosen, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
