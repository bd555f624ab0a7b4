"""Day one as a script (scripts/day_one.py): the walkthrough's phases in dependency order.

The repository's walkthrough must pass every check; each check must also catch its defect on a
small example: a phase that uses a later phase's output, a workflow reading a GitHub variable
set later, a Terraform output the stack does not declare, a page that differs from the phases.
The emulator half (the stacks really produce the outputs) runs in tests/infra/test_emulator.py
on the same round trip.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import day_one
from test_app_tooling.infra import registry_access
from test_app_tooling.tools import REPO
from test_app_tooling.walkthrough import sections


SCRIPT = REPO / "scripts" / "day_one.py"


Phase = day_one.Phase


def test_the_walkthrough_passes_every_check():
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    phases = day_one.load()
    assert len(phases) >= 10
    assert f"day one: {len(phases)} phases, 0 problems" in result.stdout


def test_every_phase_says_what_it_costs():
    assert all(p.cost.strip() for p in day_one.load())


def test_a_phase_using_what_a_later_phase_makes_fails():
    phases = [
        Phase("deploy", "Deploy", "free", uses=["alb-address"], produces=["release"]),
        Phase("dns", "DNS", "free", uses=["release"], produces=["alb-address"]),
    ]
    assert day_one.check_order(phases) == [
        "phase 'deploy' uses alb-address, but only phase 'dns' (later) produces it"
    ]


def test_a_workflow_reading_a_variable_set_later_fails(tmp_path: Path):
    workflow = tmp_path / "deploy.yml"
    workflow.write_text("jobs:\n  d:\n    env:\n      URL: ${{ vars.APP_URL }}\n")
    phases = [
        Phase("deploy", "Deploy", "free", runs=[{"workflow": str(workflow)}]),
        Phase("dns", "DNS", "free", produces=["github-variable:APP_URL"]),
    ]
    assert day_one.check_order(phases) == [
        "phase 'deploy' uses github-variable:APP_URL, but only phase 'dns' (later) produces it"
    ]
    phases[0].runs[0]["optional_vars"] = ["APP_URL"]
    assert day_one.check_order(phases) == []


def test_a_terraform_output_the_stack_lacks_fails():
    phases = [Phase("x", "X", "free", produces=["terraform:database.cluster_reader_host"])]
    [problem] = day_one.check_terraform_outputs(phases)
    assert problem == (
        "phase 'x': terraform:database.cluster_reader_host is not an output of "
        "infra/stacks/database"
    )


def test_a_page_with_other_phases_or_no_cost_fails():
    phases = [Phase("a", "First", "free"), Phase("b", "Second", "$1 a month")]
    good = "## 1. First\n\nfree\n\n## 2. Second\n\n$1 a month\n"
    assert day_one.check_walkthrough(phases, good) == []
    swapped = "## 1. Second\n\n## 2. First\n\nfree $1 a month\n"
    assert "phases differ" in day_one.check_walkthrough(phases, swapped)[0]
    no_cost = "## 1. First\n\nfree\n\n## 2. Second\n"
    assert day_one.check_walkthrough(phases, no_cost) == [
        "docs/getting-started.md does not state the cost of phase 'b': '$1 a month'"
    ]


def test_emulator_outputs_must_hold_every_output_a_phase_produces():
    phases = [Phase("stacks", "S", "free", produces=["terraform:network.vpc_id"])]
    assert day_one.check_emulator_outputs(phases, {"network": {"vpc_id": {"value": "vpc-1"}}}) == []
    assert day_one.check_emulator_outputs(phases, {"network": {"vpc_id": {"value": ""}}}) == [
        "phase 'stacks': the emulator run produced no terraform:network.vpc_id"
    ]


# Cross-account delivery: the registry lives in staging's account; prod verifies and pulls there.
STAGING, PROD = "111111111111", "222222222222"


def environments() -> list[registry_access.Environment]:
    variables = {"AWS_ACCOUNT_ID": STAGING}
    return [
        registry_access.Environment("staging", STAGING, variables),
        registry_access.Environment("prod", PROD, variables),
    ]


def project_values(pull_account_ids: list[str]) -> Callable[[str], dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {
        "staging": {"pull_account_ids": pull_account_ids},
        "prod": {"registry_account_id": STAGING},
    }
    return values.__getitem__


def deploy_workflow(registries: str | None) -> dict[str, Any]:
    workflow = registry_access.load_workflow()
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith(registry_access.ECR_LOGIN):
                step.pop("with", None)
                if registries is not None:
                    step["with"] = {"registries": registries}
    return workflow


def test_the_deploy_workflow_and_terraform_give_prod_the_staging_registry():
    problems = registry_access.check(
        environments(),
        "staging",
        project_values([PROD]),
        deploy_workflow("${{ vars.AWS_ACCOUNT_ID }}"),
    )
    assert problems == []


def test_an_ecr_login_without_registries_leaves_prod_without_credentials():
    # The defect of deploy.yml before: amazon-ecr-login logged in to prod's own registry only.
    problems = registry_access.check(
        environments(), "staging", project_values([PROD]), deploy_workflow(None)
    )
    assert problems == [
        (
            "prod: no ECR credentials for 111111111111.dkr.ecr.eu-central-1.amazonaws.com (cosign "
            "verify gets 401): name it in amazon-ecr-login's `registries`"
        )
    ]


def test_a_repository_policy_without_prod_is_found():
    problems = registry_access.check(
        environments(), "staging", project_values([]), deploy_workflow("${{ vars.AWS_ACCOUNT_ID }}")
    )
    assert len(problems) == 1
    assert problems[0].startswith("prod: the repository policy in account 111111111111")


def test_project_vars_hand_the_registry_stack_the_other_account(tmp_path: Path):
    values = day_one.project_values({"staging": STAGING, "prod": PROD}, tmp_path)
    assert values["staging"]["pull_account_ids"] == [PROD]
    assert values["prod"]["registry_account_id"] == STAGING


def test_a_walkthrough_that_never_reapplies_the_registry_fails():
    phases = day_one.load()
    for phase in phases:
        phase.produces = [i for i in phase.produces if not i.startswith("registry-admits:")]
    text = day_one.WALKTHROUGH.read_text(encoding="utf-8")
    assert day_one.check_registry_access(phases, text) == [
        (
            "no phase produces registry-admits:prod: the registry stack of staging must be "
            "re-applied once prod's account is in infra/envs/project.toml"
        )
    ]


# Rotation in the walkthrough ---------------------------------------------------------------------

ENVIRONMENTS = list(day_one.LAYOUTS["separate accounts"])  # staging, prod: the check's order


def _rotation_problems(phases: list[Any], text: str) -> list[str]:
    return day_one.check_rotation(phases, text)


def test_every_environment_turns_rotation_on_after_its_app_role():
    phases = day_one.load()
    for env in ENVIRONMENTS:
        [phase] = [p for p in phases if f"rotation-enabled:{env}" in p.produces]
        assert f"app-role:{env}" in phase.uses, phase.id
    assert _rotation_problems(phases, day_one.WALKTHROUGH.read_text(encoding="utf-8")) == []


def test_an_environment_that_never_rotates_fails():
    phases = day_one.load()
    for phase in phases:
        phase.produces = [i for i in phase.produces if i != "rotation-enabled:prod"]
    text = day_one.WALKTHROUGH.read_text(encoding="utf-8")
    assert _rotation_problems(phases, text) == [
        "no phase produces rotation-enabled:prod: prod never rotates"
    ]


def test_rotation_turned_on_without_the_app_role_fails():
    phases = day_one.load()
    for phase in phases:
        phase.uses = [i for i in phase.uses if i != "app-role:staging"]
    text = day_one.WALKTHROUGH.read_text(encoding="utf-8")
    assert _rotation_problems(phases, text) == [
        "phase 'verify' turns staging's rotation on without using app-role:staging"
    ]


def test_rotation_turned_on_before_the_alarm_topic_is_subscribed_fails():
    text = day_one.WALKTHROUGH.read_text(encoding="utf-8")
    prod = sections(text)["Set up prod the same way"]
    unsubscribed = text.replace(prod, prod.replace("aws sns subscribe", "aws sns list-topics"))
    assert _rotation_problems(day_one.load(), unsubscribed) == [
        (
            "phase 'prod' turns prod's rotation on before `aws sns subscribe` of its alarm topic: "
            "a failing rotation would page nobody"
        )
    ]


def test_a_teardown_that_leaves_rotation_on_fails():
    """The walkthrough before the teardown turned rotation off: a re-create's phase 4 fails."""
    text = day_one.WALKTHROUGH.read_text(encoding="utf-8")
    teardown = sections(text)["Tear everything down"]
    kept = teardown.replace(
        "enable_app_secret_rotation = true/enable_app_secret_rotation = false", "kept"
    )
    phases = day_one.load()
    assert _rotation_problems(phases, text.replace(teardown, kept)) == [
        f"phase 'teardown' produces rotation-disabled:{env} but does not set "
        f"enable_app_secret_rotation = false in infra/envs/{env}/database.tfvars"
        for env in ENVIRONMENTS
    ]
    for phase in phases:
        phase.produces = [i for i in phase.produces if not i.startswith("rotation-disabled:")]
    assert _rotation_problems(phases, text) == [
        (
            "no phase after 'verify' produces rotation-disabled:staging: a re-create would turn "
            "staging's rotation on at its first apply, before the app role exists"
        ),
        (
            "no phase after 'prod' produces rotation-disabled:prod: a re-create would turn "
            "prod's rotation on at its first apply, before the app role exists"
        ),
    ]


def test_a_teardown_that_turns_off_a_running_environment_fails():
    """The teardown as it was: it destroyed staging and committed prod's flag as false too."""
    text = day_one.WALKTHROUGH.read_text(encoding="utf-8")
    teardown = sections(text)["Tear everything down"]
    assert teardown.count("make infra-destroy ENV=prod") == 1
    staging_only = teardown.replace("make infra-destroy ENV=prod", "")
    message = (
        "phase 'teardown' sets enable_app_secret_rotation = false in "
        "infra/envs/{env}/database.tfvars without destroying {env} before it "
        "(make infra-destroy ENV={env}): {env}'s next apply would cancel its rotation while it runs"
    )
    phases = day_one.load()
    assert _rotation_problems(phases, text.replace(teardown, staging_only)) == [
        message.format(env="prod")
    ]
    # Naming the destroy in prose does not destroy anything.
    prose = "\nRun `make infra-destroy ENV=prod` first.\n" + staging_only
    assert _rotation_problems(phases, text.replace(teardown, prose)) == [message.format(env="prod")]
    # The flag set before the destroy is refused too: the commit would reach the running stack.
    first = "sed -i 's/^enable_app_secret_rotation = true/enable_app_secret_rotation = false/'"
    destroy = "make infra-destroy ENV=staging"
    early = teardown.replace(destroy, f"{first} infra/envs/staging/database.tfvars\n{destroy}")
    assert _rotation_problems(phases, text.replace(teardown, early)) == [
        message.format(env="staging")
    ]


def test_the_seven_day_note_names_every_environments_app_secret():
    """The note named staging's secret only; re-creating prod within 7 days fails the same way."""
    teardown = sections(day_one.WALKTHROUGH.read_text(encoding="utf-8"))["Tear everything down"]
    stack = REPO / "infra" / "stacks" / "database"
    main = (stack / "main.tf").read_text(encoding="utf-8")
    assert 'name                    = "${local.name}/database-app"' in main
    assert "recovery_window_in_days = 7" in main
    common = (stack / "common_variables.tf").read_text(encoding="utf-8")
    [prefix] = re.findall(r'name = "([a-z-]+)\$\{var\.environment\}"', common)
    missing = [e for e in ENVIRONMENTS if f"{prefix}{e}/database-app" not in teardown]
    assert missing == []


def test_prod_applies_its_stacks_without_its_own_registry():
    # What the message says of a declined stack: the runner stops there.
    runner = (REPO / "scripts" / "terraform" / "stacks").read_text(encoding="utf-8")
    assert 'echo "stopped before $stack: later stacks depend on it" >&2\n      exit 1' in runner
    text = day_one.WALKTHROUGH.read_text(encoding="utf-8")
    assert registry_access.own_registry_applies(text, "prod") == []
    # Phase 11 as it was: "repeat phases 2 to 6" (make infra ENV=prod) and `make infra ENV=prod`
    # to turn prod's rotation on; answering no to prod's registry stopped both runs.
    named = "scripts/terraform/stacks apply prod network cluster database ci"
    old = text.replace(named, "").replace(
        "scripts/terraform/stacks apply prod database", "make infra ENV=prod"
    )
    assert registry_access.own_registry_applies(old, "prod") == [
        (
            "`make infra ENV=prod` applies every stack of prod, its own registry included: "
            "answering no stops the run before the stacks after it; name prod's stacks without "
            f"registry ({named})"
        ),
        f"the walkthrough never applies prod's stacks by name ({named})",
    ]
    for stacks in ("", " network registry cluster"):
        block = f"```bash\nscripts/terraform/stacks apply prod{stacks}\n```\n"
        [problem] = registry_access.own_registry_applies(block, "prod")
        assert problem.endswith("applies prod's own registry stack, which prod does not use")
    # Prose is not a command.
    prose = f"`make infra ENV=prod` would plan it.\n```bash\n{named}\n```\n"
    assert registry_access.own_registry_applies(prose, "prod") == []


def test_the_walkthrough_before_this_check_fails():
    """The phases file as it was: one `rotation-enabled` for staging only, no env named."""
    phases = day_one.load()
    for phase in phases:
        phase.produces = [
            "rotation-enabled" if i == "rotation-enabled:staging" else i
            for i in phase.produces
            if not i.startswith(("rotation-enabled:prod", "rotation-disabled:"))
        ]
    text = day_one.WALKTHROUGH.read_text(encoding="utf-8")
    assert _rotation_problems(phases, text) == [
        "no phase produces rotation-enabled:staging: staging never rotates",
        "no phase produces rotation-enabled:prod: prod never rotates",
    ]


def test_the_teardown_deletes_a_re_created_control_plane_log_group():
    """EKS may re-create /aws/eks/<name>/cluster after the destroy; a re-create would then fail."""
    teardown = sections(day_one.WALKTHROUGH.read_text(encoding="utf-8"))["Tear everything down"]
    eks = (REPO / "infra" / "modules" / "eks" / "main.tf").read_text(encoding="utf-8")
    assert 'log_group  = "/aws/eks/${var.cluster_name}/cluster"' in eks
    delete = "aws logs delete-log-group --log-group-name /aws/eks/test-app-staging/cluster"
    assert delete in teardown
