"""Checks of the Azure tree that need no provider: formatting, layout, environments, variables."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from infra_azure.conftest import AZURE, ENVIRONMENTS, STACKS, literal

from test_app_tooling.infra.hcl_check import COMMENTS, parse


def test_terraform_fmt(tool, tmp_path):
    terraform = tool("terraform")
    proc = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", "-no-color", str(AZURE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, f"run `terraform fmt -recursive infra/azure`:\n{proc.stdout}"


def test_terraform_fmt_rejects_unformatted_code(tool, tmp_path):
    terraform = tool("terraform")
    (tmp_path / "bad.tf").write_text('resource "x" "y" {\nname="a"\n}\n', encoding="utf-8")
    proc = subprocess.run(
        [terraform, "fmt", "-check", "-no-color", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0


def test_layout_matches_the_aws_side():
    stacks = sorted(p.name for p in (AZURE / "stacks").iterdir() if p.is_dir())
    assert stacks == sorted(STACKS)
    for stack in STACKS:
        for name in ("main.tf", "variables.tf", "outputs.tf", "providers.tf", "versions.tf"):
            assert (AZURE / "stacks" / stack / name).is_file(), f"{stack} lacks {name}"
    modules = sorted(p for p in (AZURE / "modules").iterdir() if p.is_dir())
    assert len(modules) >= 7
    for module in modules:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
            assert (module / name).is_file(), f"{module.name} lacks {name}"


def test_stacks_share_identical_common_variables():
    files = sorted((AZURE / "stacks").glob("*/common_variables.tf"))
    assert len(files) == len(STACKS)
    first = files[0].read_text(encoding="utf-8")
    differing = [f.parent.name for f in files if f.read_text(encoding="utf-8") != first]
    assert not differing, f"common_variables.tf differs from {files[0].parent.name}: {differing}"


def test_backends_lock_and_authenticate_with_entra_id():
    for stack in STACKS:
        backend = parse(AZURE / "stacks" / stack / "versions.tf")["terraform"][0]["backend"][0]
        expected = "local" if stack == "bootstrap" else "azurerm"
        assert [literal(k) for k in backend] == [expected], f"{stack}: backend {list(backend)}"
    for env in ENVIRONMENTS:
        config = parse(AZURE / "envs" / env / "backend.tfbackend")
        assert config["use_azuread_auth"] is True, env
        assert literal(config["container_name"]) == "tfstate", env


def _declared(stack: str) -> set[str]:
    names: set[str] = set()
    for path in (AZURE / "stacks" / stack).glob("*.tf"):
        for group in parse(path).get("variable", []):
            names |= {literal(k) for k in group}  # type: ignore[misc]
    return {str(n) for n in names}


def test_every_environment_sets_declared_variables_of_every_stack():
    for env in ENVIRONMENTS:
        for stack in STACKS:
            path = AZURE / "envs" / env / f"{stack}.tfvars"
            assert path.is_file(), f"infra/azure/envs/{env} lacks {stack}.tfvars"
            values = {k: v for k, v in parse(path).items() if k != COMMENTS}
            assert literal(values["environment"]) == env, path
            unknown = set(values) - _declared(stack)
            assert not unknown, f"{path} sets undeclared {sorted(unknown)}"
            # The project file decides these (scripts/terraform/project_vars.py --cloud azure).
            required = _required(stack) - {"unique_name", "github_repository"}
            missing = required - set(values)
            assert not missing, f"{path} lacks required {sorted(missing)}"


def _required(stack: str) -> set[str]:
    required: set[str] = set()
    for path in (AZURE / "stacks" / stack).glob("*.tf"):
        for group in parse(path).get("variable", []):
            for name, body in group.items():
                if "default" not in body:
                    required.add(str(literal(name)))
    return required


def test_prod_keeps_the_protections():
    database = parse(AZURE / "envs" / "prod" / "database.tfvars")
    assert database["geo_redundant_backup_enabled"] is True
    assert database["backup_retention_days"] >= 14
    assert len(database["replica_zones"]) >= 2


def test_every_variable_and_output_is_documented_and_typed():
    problems = []
    for path in sorted(AZURE.rglob("*.tf")):
        content = parse(path)
        for group in content.get("variable", []):
            problems += [
                f"{path}: variable {n}"
                for n, b in group.items()
                if "description" not in b or "type" not in b
            ]
        for group in content.get("output", []):
            problems += [f"{path}: output {n}" for n, b in group.items() if "description" not in b]
    assert not problems, problems


def test_no_state_or_credentials_under_infra_azure(repo_root: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "infra/azure"],
        cwd=repo_root,
        capture_output=True,
        check=True,
        text=True,
    ).stdout.split()
    assert len(files) >= 60
    forbidden = re.compile(r"\.tfstate|\.terraform/|\.tfplan$|\.pem$|(^|/)\.env$")
    assert not [f for f in files if forbidden.search(f)]


def _convention(thing: str) -> str:
    text = (AZURE.parents[1] / "docs" / "conventions.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.search(r"`([^`]+)`", cells[1]) if len(cells) >= 2 else None
        if match and cells[0].startswith(thing):
            return match.group(1)
    raise AssertionError(f"docs/conventions.md has no row starting with {thing!r}")


def test_region_version_and_names_follow_the_conventions():
    region = _convention("Azure region")
    version = _convention("AKS / Kubernetes version")
    common = parse(AZURE / "stacks" / "network" / "common_variables.tf")
    location = next(g['"location"'] for g in common["variable"] if '"location"' in g)
    assert literal(location["default"]) == region
    assert literal(common["locals"][0]["name"]) == "test-app-${var.environment}"
    for env in ENVIRONMENTS:
        for stack in STACKS:
            values = parse(AZURE / "envs" / env / f"{stack}.tfvars")
            assert literal(values.get("location", f'"{region}"')) == region, (env, stack)
        cluster = parse(AZURE / "envs" / env / "cluster.tfvars")
        assert literal(cluster["kubernetes_version"]) == version, env
    groups = _convention("Azure resource groups")
    assert groups == "test-app-<env>-<stack>"
    for stack in ("network", "registry", "cluster", "database", "ci"):
        main = (AZURE / "stacks" / stack / "main.tf").read_text(encoding="utf-8")
        assert f'name     = "${{local.name}}-{stack}"' in main, stack
