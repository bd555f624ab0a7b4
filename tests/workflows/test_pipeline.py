"""The release pipeline's shape: what runs when, in which order, with which gates."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import defaultdict
from typing import Any

import pytest
import yaml
from workflows.conftest import WORKFLOWS, workflow_files

from test_app_tooling.tools import REPO
from test_app_tooling.workflows.hygiene import USES_LINE, Workflow, ancestors, steps


def load(name: str) -> Workflow:
    return Workflow.load(WORKFLOWS / name)


def step_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(f"{action}@")]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps(job))


# --- ci.yml -------------------------------------------------------------------------


def test_ci_runs_on_pull_requests_and_main():
    ci = load("ci.yml")
    assert {"pull_request", "push"} <= ci.triggers
    on = ci.on
    assert on["push"]["branches"] == ["main"]


def test_ci_test_job_runs_the_readme_test_command():
    ci = load("ci.yml")
    assert "bash .ci/run" in runs(ci.jobs["test"])
    assert (REPO / ".ci" / "run").is_file()
    assert "exec make test" in (REPO / ".ci" / "run").read_text()


def test_release_jobs_run_only_on_pushes_to_main():
    ci = load("ci.yml")
    condition = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert ci.jobs["publish"]["if"] == condition
    for job_id in ("deploy-staging", "deploy-prod"):
        assert "publish" in ancestors(ci, job_id)


def test_prod_gets_the_digest_staging_got_after_staging():
    ci = load("ci.yml")
    staging, prod = ci.jobs["deploy-staging"], ci.jobs["deploy-prod"]
    assert "deploy-staging" in prod["needs"]
    assert staging["with"]["environment"] == "staging"
    assert prod["with"]["environment"] == "prod"
    digest = "${{ needs.publish.outputs.digest }}"
    assert staging["with"]["digest"] == prod["with"]["digest"] == digest
    assert staging["with"]["git-sha"] == prod["with"]["git-sha"] == "${{ github.sha }}"


def test_images_are_gated_on_critical_and_high_vulnerabilities():
    ci = load("ci.yml")
    for job_id in ("image", "publish"):
        [scan] = step_using(ci.jobs[job_id], "aquasecurity/trivy-action")
        assert scan["with"]["severity"] == "CRITICAL,HIGH"
        assert scan["with"]["exit-code"] == "1"


def test_the_pr_image_build_uses_the_layer_cache_and_the_release_build_does_not():
    ci = load("ci.yml")
    [cached] = step_using(ci.jobs["image"], "docker/build-push-action")
    assert cached["with"]["cache-from"].startswith("type=gha")
    assert cached["with"]["cache-to"].startswith("type=gha")
    [release] = step_using(ci.jobs["publish"], "docker/build-push-action")
    assert release["with"]["no-cache"] is True
    assert "cache-from" not in release["with"]


def test_the_release_is_pushed_by_git_sha_sbom_d_and_signed_by_digest():
    ci = load("ci.yml")
    publish = ci.jobs["publish"]
    [build] = step_using(publish, "docker/build-push-action")
    assert build["with"]["push"] is True
    assert build["with"]["tags"].endswith(":${{ github.sha }}")
    [sbom] = step_using(publish, "anchore/sbom-action")
    assert sbom["with"]["image"] == "${{ steps.image.outputs.ref }}"
    assert 'scripts/sign_image.sh "$IMAGE_REF" sbom.spdx.json' in runs(publish)
    assert (
        step_using(publish, "aws-actions/configure-aws-credentials")[0]["with"]["role-to-assume"]
        == "${{ vars.AWS_CI_PUSH_ROLE_ARN }}"
    )


def test_required_checks_pass_covers_every_pull_request_job():
    ci = load("ci.yml")
    gate = ci.jobs["required-checks-pass"]
    assert gate["if"] == "always()"
    assert step_using(gate, "re-actors/alls-green")[0]["with"]["jobs"] == "${{ toJSON(needs) }}"
    # Jobs that run on a pull request: no `if` of their own or on anything they need.
    conditional = {j for j, job in ci.jobs.items() if "if" in job}
    pr_jobs = {j for j in ci.jobs if not ({j} | ancestors(ci, j)) & conditional}
    assert pr_jobs == {"test", "security", "image"}
    assert set(gate["needs"]) == pr_jobs


# --- deploy.yml and rollback.yml ----------------------------------------------------


def test_deploy_verifies_deploys_smoke_tests_and_rolls_back_in_that_order():
    deploy = load("deploy.yml")
    assert deploy.triggers == {"workflow_call"}
    job = deploy.jobs["deploy"]
    names = [str(s.get("run", s.get("uses", ""))) for s in steps(job)]
    order = [
        next(i for i, n in enumerate(names) if "cosign verify" in n),
        next(i for i, n in enumerate(names) if "scripts/deploy.sh" in n),
        next(i for i, n in enumerate(names) if "scripts/smoke_test.py" in n),
        next(i for i, n in enumerate(names) if n.startswith("helm test")),
        next(i for i, n in enumerate(names) if "scripts/rollback.sh" in n),
    ]
    assert order == sorted(order)
    [rollback] = [s for s in steps(job) if "scripts/rollback.sh" in str(s.get("run"))]
    assert rollback["if"] == "failure() && steps.deploy.outcome == 'success'"


@pytest.mark.parametrize(
    ("workflow", "job"), [("deploy.yml", "deploy"), ("rollback.yml", "rollback")]
)
def test_the_load_balancer_sees_public_paths_and_helm_test_checks_the_build(workflow, job):
    # The Ingress forwards only the public paths: /version (the build) is asked in the cluster.
    runs = [str(s.get("run", "")) for s in steps(load(workflow).jobs[job])]
    [smoke] = [r for r in runs if "scripts/smoke_test.py" in r]
    assert "--connect-to" in smoke
    assert "--scope" not in smoke
    assert "--expect-" not in smoke
    [helm_test] = [r for r in runs if r.startswith("helm test")]
    assert runs.index(helm_test) > runs.index(smoke)
    assert "--logs" in helm_test
    assert "--namespace test-app" in helm_test


def test_deploys_and_rollbacks_share_one_queue_per_environment():
    deploy = load("deploy.yml").jobs["deploy"]
    rollback = load("rollback.yml").jobs["rollback"]
    assert deploy["concurrency"] == rollback["concurrency"]
    assert deploy["concurrency"]["group"] == "deploy-${{ inputs.environment }}"
    assert deploy["environment"]["name"] == rollback["environment"]["name"]


def test_rollback_offers_a_chosen_revision_per_environment():
    rollback = load("rollback.yml")
    inputs = rollback.on["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["options"] == ["staging", "prod"]
    assert "revision" in inputs
    assert 'scripts/rollback.sh "$DEPLOY_ENV" "$REVISION"' in runs(rollback.jobs["rollback"])


# --- terraform.yml ------------------------------------------------------------------


def test_terraform_plans_on_pull_requests_and_applies_on_main_behind_environments():
    tf = load("terraform.yml")
    assert tf.jobs["plan"]["if"].startswith("github.event_name == 'pull_request'")
    assert "scripts/terraform/stacks plan" in runs(tf.jobs["plan"])
    assert tf.jobs["apply-staging"]["environment"] == "infra-staging"
    assert tf.jobs["apply-prod"]["environment"] == "infra-prod"
    assert "apply-staging" in tf.jobs["apply-prod"]["needs"]
    assert "validate" in ancestors(tf, "apply-prod")
    assert tf.jobs["apply-staging"]["if"].startswith(
        "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    )


def test_terraform_builds_the_rotation_zip_only_when_the_database_stack_is_in_the_run():
    # The build downloads the RDS CA bundle and refuses it unless its SHA-256 is the pinned one:
    # a republished bundle must stop the database stack's runs, not every stack's.
    tf = load("terraform.yml")
    builds = {
        name: step
        for name, job in tf.jobs.items()
        for step in steps(job)
        if "test_app_tooling.rotation_package" in str(step.get("run", ""))
    }
    assert set(builds) == {"plan", "apply-staging", "apply-prod"}
    for name, step in builds.items():
        assert step["if"] == "contains(fromJSON(needs.changes.outputs.stacks), 'database')", name
        assert "changes" in tf.jobs[name]["needs"], name
        assert tf.jobs[name]["env"]["STACKS"] == "${{ needs.changes.outputs.stacks }}", name
    # The changes job's output is changed_stacks.py's JSON list, with "database" as an element.
    assert tf.jobs["changes"]["outputs"]["stacks"] == "${{ steps.stacks.outputs.stacks }}"
    picker = subprocess.run(
        ["python3", "scripts/terraform/changed_stacks.py", "--github-output", "--files",
         "rotation/requirements.lock"],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert picker.stdout.strip() == 'stacks=["database"]'


@pytest.mark.parametrize(
    ("configured", "planned"),
    [
        ({"STAGING_BUCKET", "STAGING_ROLE"}, ["staging"]),
        ({"STAGING_BUCKET", "STAGING_ROLE", "PROD_BUCKET"}, ["staging"]),
        ({"STAGING_BUCKET", "STAGING_ROLE", "PROD_BUCKET", "PROD_ROLE"}, ["staging", "prod"]),
        (set(), []),
    ],
)
def test_pull_requests_plan_only_environments_whose_variables_are_set(
    tool, tmp_path, configured, planned
):
    # Prod's variables come late in the walkthrough: until then, no red prod plan.
    tool("jq")
    tf = load("terraform.yml")
    [step] = [s for s in steps(tf.jobs["changes"]) if s.get("id") == "environments"]
    assert set(step["env"]) == {"STAGING_BUCKET", "STAGING_ROLE", "PROD_BUCKET", "PROD_ROLE"}
    output = tmp_path / "output"
    env = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output)}
    env |= {name: ("set" if name in configured else "") for name in step["env"]}
    subprocess.run(["bash", "-euo", "pipefail", "-c", step["run"]], env=env, check=True, timeout=30)
    key, _, value = output.read_text().strip().partition("=")
    assert key == "plan-matrix"
    assert [entry["environment"] for entry in json.loads(value)] == planned
    plan = tf.jobs["plan"]
    assert plan["strategy"]["matrix"]["include"] == (
        "${{ fromJSON(needs.changes.outputs.plan-matrix) }}"
    )
    assert "needs.changes.outputs.plan-matrix != '[]'" in plan["if"]
    assert "vars.TF_STATE_BUCKET_PROD != ''" in tf.jobs["apply-prod"]["if"]


# --- one source of truth: workflows call project commands ---------------------------

MAKE_TARGET = re.compile(r"(?:^|[;&|]\s*)make\s+([A-Za-z0-9_.-]+)")
SCRIPT = re.compile(r"(?:^|\s)((?:scripts|\.ci)/[A-Za-z0-9_./-]+)")


def referenced(pattern: re.Pattern[str]) -> set[str]:
    found = set()
    for path in workflow_files():
        for job in Workflow.load(path).jobs.values():
            for line in runs(job).splitlines():
                found.update(pattern.findall(line.strip()))
    return found


def test_every_make_target_the_workflows_call_exists():
    targets = referenced(MAKE_TARGET)
    assert {"cicd-security"} <= targets
    for target in sorted(targets):
        dry_run = subprocess.run(
            ["make", "-n", target],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert dry_run.returncode == 0, f"make {target}: {dry_run.stderr}"


def test_every_script_the_workflows_call_exists_and_is_executable():
    scripts = referenced(SCRIPT)
    assert {"scripts/deploy.sh", "scripts/smoke_test.py", ".ci/run"} <= scripts
    for script in sorted(scripts):
        path = REPO / script
        assert path.is_file(), script
        assert os.access(path, os.X_OK) or script == ".ci/run", f"{script} is not executable"


def test_each_action_is_pinned_to_one_sha_and_version_everywhere():
    pins: dict[str, set[str]] = defaultdict(set)
    for path in workflow_files():
        for line in path.read_text().splitlines():
            match = USES_LINE.match(line)
            if match and "@" in match["ref"] and not match["ref"].startswith(("./", "$/")):
                action, sha = match["ref"].split("@")
                pins[action].add(f"{sha} {match['comment']}")
    assert len(pins) >= 8, pins
    assert {a: p for a, p in pins.items() if len(p) > 1} == {}


# --- Dependabot ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def dependabot() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text())
    return config


def test_dependabot_updates_actions_python_terraform_and_the_base_image(dependabot):
    assert dependabot["version"] == 2
    seen = {(u["package-ecosystem"], u.get("directory", "")) for u in dependabot["updates"]}
    assert {("github-actions", "/"), ("pip", "/app"), ("docker", "/app")} <= seen
    [terraform] = [u for u in dependabot["updates"] if u["package-ecosystem"] == "terraform"]
    assert "/infra/stacks/*" in terraform["directories"]
    for update in dependabot["updates"]:
        assert update["cooldown"]["default-days"] >= 3, update["package-ecosystem"]


def test_every_pin_is_recorded_as_verified_in_adr_0007():
    # A new pin (e.g. from Dependabot) fails here until someone has checked the SHA and
    # recorded it in the ADR's table: the review step is part of the pipeline.
    adr = (REPO / "docs" / "adr" / "0007-ci-cd-github-actions-oidc.md").read_text()
    recorded = {
        (m["action"], m["version"], m["sha"])
        for m in re.finditer(
            r"^\s*\| (?P<action>[\w.-]+/[\w.-]+) \| (?P<version>v[\d.]+)"
            r" \| `(?P<sha>[0-9a-f]{40})` \|",
            adr,
            re.MULTILINE,
        )
    }
    used = set()
    for path in workflow_files():
        for line in path.read_text().splitlines():
            match = USES_LINE.match(line)
            if match and not match["ref"].startswith(("./", "$/")):
                action, sha = match["ref"].split("@")
                version = match["comment"].lstrip("# ").split()[0]
                used.add((action, version, sha))
    assert used, "no pinned actions found"
    assert used - recorded == set()
