"""The one Terraform stack runner (scripts/terraform/stacks) and the changed-stacks picker, run
against a recording fake of terraform."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_app_tooling.fakes import Fakes, make_fakes
from test_app_tooling.tools import REPO


STACKS = REPO / "scripts" / "terraform" / "stacks"
# plan -detailed-exitcode: 0 no changes, 2 changes; `show` prints a plan.
TERRAFORM = """
if [[ "$*" == *" plan "* ]]; then exit "${PLAN_EXIT:-2}"; fi
if [[ "$*" == *" show "* ]]; then echo "Plan: 3 to add, 0 to change"; fi
"""


@pytest.fixture
def fakes(tmp_path) -> Fakes:
    made = make_fakes(tmp_path)
    made.env["TERRAFORM"] = str(made.add("terraform", TERRAFORM))
    made.env["TF_STATE_BUCKET"] = "state-bucket"
    return made


def run(fakes: Fakes, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STACKS), *args],
        capture_output=True,
        text=True,
        env=fakes.env | env,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def verbs(fakes: Fakes) -> list[str]:
    """terraform's subcommand of each call (the first argument not an option)."""
    return [next(a for a in argv[1:] if not a.startswith("-")) for argv in fakes.calls()]


def test_plan_uses_the_env_backend_without_a_lock_and_shows_the_plan(fakes, tmp_path):
    summary = tmp_path / "summary.md"
    result = run(fakes, "plan", "staging", "network", GITHUB_STEP_SUMMARY=str(summary))
    assert result.returncode == 0, result.stderr
    init, plan, show = fakes.calls()
    assert "-backend-config=bucket=state-bucket" in init
    assert "-backend-config=key=staging/network.tfstate" in init
    assert "-lock=false" in plan
    assert f"-var-file={REPO}/infra/envs/staging/network.tfvars" in plan
    # Then the identifiers of infra/envs/project.toml (a temporary file, so they win).
    var_files = [a for a in plan if a.startswith("-var-file=")]
    assert len(var_files) == 2
    assert var_files[0].endswith("network.tfvars")
    assert show[-3:] == ["show", "-no-color", ".terraform/staging.tfplan"]
    assert "Plan: 3 to add, 0 to change" in summary.read_text()
    assert "<code>staging/network</code>" in summary.read_text()


def test_apply_applies_the_plan_it_made_in_the_order_given(fakes):
    result = run(fakes, "apply", "prod", "registry", "ci", AUTO_APPROVE="1")
    assert result.returncode == 0, result.stderr
    assert verbs(fakes) == ["init", "plan", "apply"] * 2
    calls = fakes.calls()
    assert [c for c in calls if "init" in c][1][-1] == "-backend-config=key=prod/ci.tfstate"
    assert all("-lock=false" not in argv for argv in calls if "plan" in argv)
    assert [argv[-1] for argv in calls if "apply" in argv] == [".terraform/prod.tfplan"] * 2


def test_apply_skips_a_stack_without_changes(fakes):
    result = run(fakes, "apply", "prod", "registry", AUTO_APPROVE="1", PLAN_EXIT="0")
    assert result.returncode == 0, result.stderr
    assert verbs(fakes) == ["init", "plan"]
    assert "registry: no changes" in result.stderr


def test_apply_stops_without_confirmation(fakes):
    result = run(fakes, "apply", "staging", "network", "cluster")
    assert result.returncode == 1
    assert "stopped before network" in result.stderr
    assert verbs(fakes) == ["init", "plan"]


def test_a_failed_plan_stops_the_run_with_its_exit_code(fakes):
    result = run(fakes, "apply", "staging", "network", "cluster", PLAN_EXIT="1")
    assert result.returncode == 1
    assert "plan of network failed" in result.stderr
    assert verbs(fakes) == ["init", "plan"]


def test_no_stacks_means_every_stack_in_dependency_order(fakes):
    result = run(fakes, "plan", "staging")
    assert result.returncode == 0, result.stderr
    keys = [argv[-1] for argv in fakes.calls() if "init" in argv]
    assert keys == [f"-backend-config=key=staging/{s}.tfstate" for s in changed_order()]


def test_destroy_goes_in_reverse_order(fakes):
    result = run(fakes, "destroy", "staging", "network", "cluster", AUTO_APPROVE="1")
    assert result.returncode == 0, result.stderr
    destroys = [argv for argv in fakes.calls() if "destroy" in argv]
    assert [Path(next(a for a in d if a.startswith("-chdir="))).name for d in destroys] == [
        "cluster",
        "network",
    ]
    assert all("-auto-approve" in d for d in destroys)


KEY = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# The database stack's outputs as `terraform output` prints them; FINAL_SNAPSHOT unset means the
# state predates the output.
TERRAFORM_WITH_OUTPUTS = """
case "$*" in
  *" output -raw final_snapshot_identifier"*)
    [[ -v FINAL_SNAPSHOT ]] || { echo "Output not found" >&2; exit 1; }
    printf '%s' "$FINAL_SNAPSHOT" ;;
  *" output -raw kms_key_arn"*) printf '%s' "$KEY" ;;
  *" output -json"*) echo "$OUTPUTS_JSON" ;;
esac
"""
# describe-key answers the state the destroy left the key in.
AWS = """
if [[ "$*" == *"describe-key"* ]]; then echo "${KEY_STATE:-PendingDeletion}"; fi
"""


@pytest.fixture
def database_fakes(fakes: Fakes) -> Fakes:
    fakes.add("terraform", TERRAFORM_WITH_OUTPUTS)
    fakes.add("aws", AWS)
    fakes.env["KEY"] = KEY
    fakes.env["OUTPUTS_JSON"] = json.dumps({"kms_key_arn": {"value": KEY}})
    return fakes


def test_a_destroy_with_a_final_snapshot_keeps_the_snapshots_key(database_fakes):
    """Deleting the key would make the final snapshot unrestorable once its deletion window ends."""
    result = run(
        database_fakes,
        "destroy",
        "prod",
        "database",
        AUTO_APPROVE="1",
        FINAL_SNAPSHOT="test-app-prod-final-20261207134500",
    )
    assert result.returncode == 0, result.stderr
    calls = database_fakes.calls()
    destroy = next(i for i, c in enumerate(calls) if c[0] == "terraform" and "destroy" in c)
    kms = [c for c in calls[destroy + 1 :] if c[0] == "aws"]
    assert kms == [
        [
            "aws",
            "kms",
            "describe-key",
            "--region",
            "eu-central-1",
            "--key-id",
            KEY,
            "--query",
            "KeyMetadata.KeyState",
            "--output",
            "text",
        ],
        ["aws", "kms", "cancel-key-deletion", "--region", "eu-central-1", "--key-id", KEY],
    ]
    assert "test-app-prod-final-20261207134500" in result.stderr
    assert "aws kms enable-key" in result.stderr


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"FINAL_SNAPSHOT": ""}, "no final snapshot (staging)"),
        ({"FINAL_SNAPSHOT": "test-app-prod-final-1", "KEY_STATE": "Enabled"}, "destroy declined"),
        ({"OUTPUTS_JSON": "{}"}, "nothing in the state"),
    ],
)
def test_the_key_is_left_alone_without_a_snapshot_or_a_destroy(database_fakes, env, why):
    result = run(database_fakes, "destroy", "prod", "database", AUTO_APPROVE="1", **env)
    assert result.returncode == 0, (why, result.stderr)
    assert not [c for c in database_fakes.calls() if c[:3] == ["aws", "kms", "cancel-key-deletion"]]
    assert any("destroy" in c for c in database_fakes.calls()), why


def test_the_database_destroy_hashes_a_placeholder_not_the_rotation_zip(database_fakes, tmp_path):
    # Terraform evaluates source_code_hash (filebase64sha256) even when destroying: the runner
    # passes a placeholder, so a teardown needs no zip and no RDS bundle download.
    seen = tmp_path / "seen"
    database_fakes.add(
        "terraform",
        TERRAFORM_WITH_OUTPUTS
        + """
for arg in "$@"; do
  if [[ "$arg" == -var=rotation_package=* ]]; then cp "${arg#*=rotation_package=}" "$SEEN"; fi
done
""",
    )
    result = run(database_fakes, "destroy", "staging", "network", "database", AUTO_APPROVE="1",
                 FINAL_SNAPSHOT="", SEEN=str(seen))  # fmt: skip
    assert result.returncode == 0, result.stderr
    destroys = {
        Path(next(a for a in c if a.startswith("-chdir="))).name: c
        for c in database_fakes.calls()
        if "destroy" in c
    }
    assert list(destroys) == ["database", "network"]
    placeholder = [a for a in destroys["database"] if a.startswith("-var=rotation_package=")]
    assert len(placeholder) == 1
    assert placeholder[0].endswith("/rotation-package.destroy-placeholder")
    assert "Not the rotation function" in seen.read_text()  # there while terraform ran
    assert not Path(placeholder[0].split("=", 2)[2]).exists()  # removed afterwards
    assert not [a for a in destroys["network"] if "rotation_package" in a]


def test_a_state_without_the_snapshot_output_is_refused_before_the_destroy(database_fakes):
    result = run(database_fakes, "destroy", "prod", "database", AUTO_APPROVE="1")
    assert result.returncode == 2
    assert "no output final_snapshot_identifier: apply the database stack first" in result.stderr
    assert not any("destroy" in c for c in database_fakes.calls())


def test_a_destroy_with_a_final_snapshot_needs_the_aws_cli(database_fakes):
    (database_fakes.bin_dir / "aws").unlink()
    path = f"{database_fakes.bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    assert shutil.which("aws", path=path) is None, (
        "an aws CLI outside the fakes is on the test's PATH"
    )
    result = run(
        database_fakes,
        "destroy",
        "prod",
        "database",
        AUTO_APPROVE="1",
        FINAL_SNAPSHOT="test-app-prod-final-1",
        PATH=path,
    )
    assert result.returncode == 2
    assert "the AWS CLI is not installed" in result.stderr
    assert not any("destroy" in c for c in database_fakes.calls())


def test_the_outputs_the_runner_reads_are_the_database_stacks():
    """The fakes above answer for these names: the real stack must declare them."""
    read = set(re.findall(r"output -raw (\w+)", STACKS.read_text()))
    declared = set(
        re.findall(
            r'^output "(\w+)"',
            (REPO / "infra" / "stacks" / "database" / "outputs.tf").read_text(),
            re.MULTILINE,
        )
    )
    assert {"final_snapshot_identifier", "kms_key_arn"} <= read, read
    assert read - {"state_bucket_name"} <= declared, read - declared


def test_validate_needs_no_backend_and_no_bucket(fakes):
    result = run(fakes, "validate", "staging", "ci", TF_STATE_BUCKET="")
    assert result.returncode == 0, result.stderr
    fmt, init, validate = fakes.calls()
    assert fmt[-2:] == ["-check", "-diff"]
    assert "-backend=false" in init
    assert validate[-2:] == ["validate", "-no-color"]


@pytest.mark.parametrize(
    ("args", "bucket", "message"),
    [
        (["teleport", "prod", "ci"], "b", "unknown action 'teleport'"),
        (["plan", "dev", "ci"], "b", "ENV must be staging or prod, got 'dev'"),
        (["plan", "prod", "ci"], "", "no state bucket (TF_STATE_BUCKET)"),
        (["plan", "prod", "nope"], "b", "unknown stack 'nope'"),
        (["apply", "prod", "bootstrap"], "b", "bootstrap stack is applied by hand"),
    ],
)
def test_rejects_bad_input_naming_the_field(fakes, args, bucket, message):
    result = run(fakes, *args, TF_STATE_BUCKET=bucket)
    assert result.returncode == 2
    assert message in result.stderr
    assert fakes.calls() == []


# --- changed_stacks.py --------------------------------------------------------------


def changed_order() -> list[str]:
    """The apply order the picker uses, without the hand-applied bootstrap stack."""
    return changed(REPO, "infra/envs/")


@pytest.fixture
def infra_tree(tmp_path):
    """A small infra/ tree: stacks using modules, one module using another."""

    def tf(path: str, text: str = "") -> None:
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    tf("infra/stacks/bootstrap/main.tf", 'module "s" { source = "../../modules/state-bucket" }')
    tf("infra/stacks/network/main.tf", 'module "v" { source = "../../modules/vpc" }')
    tf("infra/stacks/cluster/main.tf", 'module "e" { source = "../../modules/eks" }')
    tf("infra/stacks/ci/main.tf", 'module "g" { source = "../../modules/github-oidc" }')
    tf("infra/modules/eks/main.tf", 'module "n" { source = "../vpc-endpoints" }')
    tf("infra/modules/vpc-endpoints/main.tf")
    tf("infra/modules/vpc/main.tf")
    return tmp_path


def changed(root: Path, *files: str) -> list[str]:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "terraform" / "changed_stacks.py"),
            "--root",
            str(root),
            "--files",
            *files,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    stacks: list[str] = json.loads(result.stdout)
    return stacks


@pytest.mark.parametrize(
    ("files", "stacks"),
    [
        (["infra/stacks/ci/main.tf"], ["ci"]),
        (["infra/modules/vpc/main.tf"], ["network"]),
        (["infra/modules/vpc-endpoints/main.tf"], ["cluster"]),
        (["infra/stacks/ci/x.tf", "infra/stacks/network/y.tf"], ["network", "ci"]),
        (["infra/envs/prod/ci.tfvars"], ["network", "cluster", "ci"]),
        (["scripts/terraform/stacks"], ["network", "cluster", "ci"]),
        (["infra/stacks/bootstrap/main.tf"], []),
        (["app/src/test_app/app.py", "README.md"], []),
    ],
)
def test_changed_stacks(infra_tree, files, stacks):
    assert changed(infra_tree, *files) == stacks


def test_changed_stacks_on_the_real_tree():
    # The registry stack has no module dependencies on vpc; network and cluster do.
    found = changed(REPO, "infra/modules/vpc/main.tf")
    assert "network" in found
    assert "registry" not in found


@pytest.mark.parametrize(
    "path",
    [
        "rotation/src/test_app_rotation/steps.py",
        "rotation/requirements.lock",
        "tooling/src/test_app_tooling/rotation_package.py",
    ],
)
def test_a_change_of_the_rotation_function_plans_the_database_stack(path):
    assert (REPO / path).is_file(), path
    assert changed(REPO, path) == ["database"]


def test_the_runner_and_the_picker_agree_on_the_order():
    runner_order = next(
        line for line in STACKS.read_text().splitlines() if line.startswith("ORDER=(")
    )
    assert runner_order == f"ORDER=({' '.join(changed_order())})"
