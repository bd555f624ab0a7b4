"""A fork changes one file: infra/envs/project.toml holds every repository and account identifier.

The scan fails on a copy of the project file's values (the GitHub repository, account IDs,
administrator ARNs), or on any other 12-digit account ID, in the files that configure a
deployment. The AWS documentation's example account 111122223333 is allowed: it is a
placeholder no real account has. The script that hands the values to each stack is tested on
the cases the walkthrough names (one account, two accounts, the registry account).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from test_app_tooling import fork
from test_app_tooling.tools import REPO


PROJECT = REPO / "infra" / "envs" / "project.toml"
SCRIPT = REPO / "scripts" / "terraform" / "project_vars.py"
EXAMPLE_ACCOUNT = "111122223333"
# Twelve digits standing alone: inside a hash (lock files, checksums) they touch letters.
ACCOUNT_LITERAL = re.compile(r"(?<![0-9A-Za-z])[0-9]{12}(?![0-9A-Za-z])")
# Accounts AWS publishes from, the same for every fork.
PUBLIC_ACCOUNTS = {
    "297356227824",  # Serverless Application Repository: AWS's secret rotation functions
}
# What configures a deployment: the image (app/, its labels), workflows, environments, stacks,
# scripts, the platform and the chart's environment values. Places that name the repository
# for documentation (chart `home`, CODEOWNERS, runbook URLs in alert rules, docs/) follow the
# project file through `make fork-sync` (checked at the end of this file).
SCANNED = [
    "app/**",
    ".github/workflows/*",
    "infra/envs/staging/*",
    "infra/envs/prod/*",
    "infra/stacks/*/*.tf",
    "infra/azure/envs/staging/*",
    "infra/azure/envs/prod/*",
    "infra/azure/stacks/*/*.tf",
    "scripts/*",
    "scripts/terraform/*",
    "platform/**",
    "charts/test-app/values*.yaml",
    "Makefile",
    "mk/*",
]


def tracked(patterns: list[str]) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--", *patterns],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    return [REPO / p for p in listed if (REPO / p).resolve() != PROJECT]


def identifiers(project: dict[str, Any]) -> set[str]:
    found = {project["github_repository"]}
    for table in project["environments"].values():
        if table.get("account_id"):
            found.add(str(table["account_id"]))
        found |= {str(a) for a in table.get("admin_principal_arns", [])}
    return found


def leftovers(files: list[Path], values: set[str]) -> list[str]:
    hits = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}:{number}"
            hits += [f"{where}: {v}" for v in sorted(values) if v in line]
            hits += [
                f"{where}: account ID {m}"
                for m in ACCOUNT_LITERAL.findall(line)
                if m != EXAMPLE_ACCOUNT and m not in PUBLIC_ACCOUNTS and m not in values
            ]
    return hits


def test_identifiers_live_only_in_the_project_file():
    project = tomllib.loads(PROJECT.read_text(encoding="utf-8"))
    files = tracked(SCANNED)
    assert len(files) > 50, f"the scan found only {len(files)} files: the patterns are wrong"
    hits = leftovers(files, identifiers(project))
    assert not hits, "identifiers outside infra/envs/project.toml:\n" + "\n".join(hits)


def test_the_scan_finds_a_planted_literal(tmp_path):
    planted = tmp_path / "ci.tfvars"
    planted.write_text(
        'github_repository = "someone/fork"\n# registry 222222222222\n'
        "arn:aws:iam::333333333333:role/x sha256:ab333333333333cd\n"
    )
    assert len(leftovers([planted], {"someone/fork"})) == 3


PROJECT_TEMPLATE = """
github_repository = "someone/fork"
registry_environment = "staging"
[environments.staging]
account_id = "{staging}"
admin_principal_arns = ["arn:aws:iam::{staging}:role/admin"]
[environments.prod]
account_id = "{prod}"
admin_principal_arns = ["arn:aws:iam::{prod}:role/admin"]
"""


def project_vars(tmp_path: Path, env: str, stack: str, **accounts: str) -> dict[str, Any]:
    project = tmp_path / "project.toml"
    project.write_text(PROJECT_TEMPLATE.format(**accounts), encoding="utf-8")
    out = tmp_path / "out.tfvars.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), env, stack, str(out), "--project", str(project)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    loaded: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return loaded


ARN = "arn:aws:iam::123456789012"
TWO = {"staging": "123456789012", "prod": "210987654321"}
ONE = {"staging": "123456789012", "prod": "123456789012"}


@pytest.mark.parametrize(
    ("env", "stack", "accounts", "expected"),
    [
        ("staging", "ci", TWO, {"github_repository": "someone/fork",
                                "allowed_account_ids": ["123456789012"]}),
        ("prod", "ci", TWO, {"github_repository": "someone/fork",
                             "allowed_account_ids": ["210987654321"],
                             "registry_account_id": "123456789012"}),
        ("prod", "ci", ONE, {"github_repository": "someone/fork",
                             "allowed_account_ids": ["123456789012"],
                             "create_oidc_provider": False}),
        ("staging", "registry", TWO, {"allowed_account_ids": ["123456789012"],
                                      "pull_account_ids": ["210987654321"]}),
        ("staging", "registry", ONE, {"allowed_account_ids": ["123456789012"],
                                      "pull_account_ids": []}),
        ("staging", "cluster", TWO, {"allowed_account_ids": ["123456789012"],
                                     "admin_principal_arns": [f"{ARN}:role/admin"]}),
        ("prod", "network", TWO, {"allowed_account_ids": ["210987654321"]}),
    ],
)  # fmt: skip
def test_each_stack_gets_the_values_it_declares(tmp_path, env, stack, accounts, expected):
    assert project_vars(tmp_path, env, stack, **accounts) == expected


def test_an_environment_without_administrators_is_refused(tmp_path):
    project = tmp_path / "project.toml"
    text = PROJECT_TEMPLATE.format(**TWO).replace(
        'admin_principal_arns = ["arn:aws:iam::210987654321:role/admin"]',
        "admin_principal_arns = []",
    )
    project.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "prod", "cluster", str(tmp_path / "o.json"),
         "--project", str(project)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "environments.prod.admin_principal_arns is empty" in proc.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("someone/fork", "not a repo"), "github_repository must be owner/name"),
        (('account_id = "123456789012"', 'account_id = "1234"'), "account_id must be 12 digits"),
        (("role/admin", "assumed-role/admin/session"), "EKS rejects sts assumed-role"),
    ],
)
def test_bad_values_are_named(tmp_path, change, message):
    project = tmp_path / "project.toml"
    old, new = change
    text = PROJECT_TEMPLATE.format(**TWO).replace(old, new, 1)
    text = text.replace(":role/assumed-role/", ":assumed-role/")
    project.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "staging", "ci", str(tmp_path / "o.json"),
         "--project", str(project)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr


AZURE_PROJECT = """
[azure]
unique_name = "{unique}"
[azure.environments.staging]
subscription_id = ""
[azure.environments.prod]
subscription_id = "00000000-0000-0000-0000-0000000000aa"
"""


def azure_vars(
    tmp_path: Path, env: str, stack: str, unique: str
) -> subprocess.CompletedProcess[str]:
    project = tmp_path / "project.toml"
    text = PROJECT_TEMPLATE.format(**TWO) + AZURE_PROJECT.format(unique=unique)
    project.write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(SCRIPT), env, stack, str(tmp_path / "o.json"),
         "--project", str(project), "--cloud", "azure"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("env", "stack", "expected"),
    [
        ("staging", "ci", {"github_repository": "someone/fork", "unique_name": "zz9"}),
        ("staging", "network", {"unique_name": "zz9"}),
        ("prod", "database", {"unique_name": "zz9",
                              "subscription_id": "00000000-0000-0000-0000-0000000000aa"}),
    ],
)  # fmt: skip
def test_azure_stacks_get_the_unique_name_and_the_repository(tmp_path, env, stack, expected):
    proc = azure_vars(tmp_path, env, stack, "zz9")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "o.json").read_text(encoding="utf-8")) == expected


def test_a_bad_azure_unique_name_is_named(tmp_path):
    proc = azure_vars(tmp_path, "staging", "ci", "Acme-1")
    assert proc.returncode == 2
    assert "azure.unique_name must be 3 to 7 lower-case letters" in proc.stderr


def test_the_image_source_label_comes_from_the_project_file(tmp_path):
    # app/Dockerfile takes the label as a build argument; both CI builds pass the project file's.
    dockerfile = (REPO / "app" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG IMAGE_SOURCE$", dockerfile, re.MULTILINE), "no ARG IMAGE_SOURCE"
    assert 'org.opencontainers.image.source="${IMAGE_SOURCE}"' in dockerfile
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    builds = [
        step
        for job in ci["jobs"].values()
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith("docker/build-push-action@")
    ]
    assert len(builds) == 2, "the pull-request build and the release build"
    for build in builds:
        assert (
            "IMAGE_SOURCE=${{ steps.project.outputs.image-source }}" in build["with"]["build-args"]
        )
    for job in ci["jobs"].values():
        steps = job.get("steps", [])
        if any(step in builds for step in steps):
            [project] = [step for step in steps if step.get("id") == "project"]
            assert "scripts/terraform/project_vars.py --image-source" in project["run"]
    project = tmp_path / "project.toml"
    project.write_text(PROJECT_TEMPLATE.format(**TWO), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--image-source", "--project", str(project)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout) == (0, "image-source=https://github.com/someone/fork\n")


def test_the_stack_arguments_are_named_when_missing():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "staging"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "ENV, STACK and OUT are required" in proc.stderr


# The repository's own owner/name, written beyond the project file (chart metadata, CODEOWNERS,
# runbook links, clone command, schema ids, OIDC subjects of the Terraform tests): every
# occurrence follows github_repository, and `make fork-sync` (test_app_tooling.fork) writes it.
def test_every_occurrence_of_the_repository_follows_the_project_file():
    found = fork.occurrences()
    assert len(found) >= 100, f"only {len(found)} occurrences found: the forms are wrong"
    assert {"link", "chart metadata", "CODEOWNERS team", "OIDC subject", "clone command"} <= {
        o.kind for o in found
    }
    wrong = [f"{o.path}:{o.line}: {o.kind} {o.value}" for o in fork.differing()]
    assert not wrong, (
        f"not {fork.github_repository()} (infra/envs/project.toml); run make fork-sync:\n"
        + "\n".join(wrong)
    )


def test_a_fork_edits_the_project_file_and_fork_sync_writes_the_rest(tmp_path, capsys):
    old = fork.github_repository()
    root = tmp_path / "copy"
    for relative in fork.tracked_files(REPO):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / relative, root / relative)
    project = root / fork.PROJECT_FILE
    text = project.read_text(encoding="utf-8")
    project.write_text(text.replace(f'"{old}"', '"someone/fork"', 1), encoding="utf-8")
    # The check fails on every occurrence of the old value ...
    assert fork.main(["--check", "--root", str(root)]) == 1
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == len(fork.occurrences()), listed
    assert "charts/test-app/Chart.yaml:13: chart metadata " + old in listed
    # ... fork-sync rewrites them, after which nothing of the old value is left anywhere.
    assert fork.main(["--root", str(root)]) == 0
    assert fork.differing(root) == []
    owner = old.split("/", 1)[0]
    left = [
        f"{p}: {line}"
        for p in fork.tracked_files(root)
        if p.suffix not in fork.SKIPPED_SUFFIXES
        for line in (root / p).read_text(encoding="utf-8", errors="replace").splitlines()
        if old in line or (p == fork.CODEOWNERS and f"@{owner}/" in line)
    ]
    assert not left, "\n".join(left)
    chart = yaml.safe_load((root / "charts" / "test-app" / "Chart.yaml").read_text())
    assert chart["home"] == "https://github.com/someone/fork"
    rules = (root / "charts" / "test-app" / "files" / "rules" / "test-app.yaml").read_text()
    assert "https://github.com/someone/fork/blob/main/docs/runbooks/" in rules


def test_links_to_other_projects_and_planted_values_are_left_alone(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "[ours](https://github.com/x/y/blob/main/docs/a.md) "
        "[theirs](https://github.com/kubernetes/autoscaler/blob/master/charts/README.md) "
        "[theirs too](https://github.com/argoproj/argo-helm/blob/main/charts/argo-rollouts) "
        "[project](https://github.com/re-actors/alls-green)\n",
        encoding="utf-8",
    )
    files = [Path("docs") / "a.md"]
    assert [o.value for o in fork.occurrences(tmp_path, files)] == ["x/y"]


def test_a_bad_repository_in_the_project_file_is_named(tmp_path):
    (tmp_path / fork.PROJECT_FILE).parent.mkdir(parents=True)
    (tmp_path / fork.PROJECT_FILE).write_text('github_repository = "no-slash"\n')
    with pytest.raises(fork.ProjectFileError, match="github_repository must be owner/name"):
        fork.github_repository(tmp_path)
