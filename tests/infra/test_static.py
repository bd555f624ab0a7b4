"""Checks that need no provider: formatting, docs in sync, nothing secret or stateful tracked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from test_app_tooling.infra import hcl_check


def test_terraform_fmt(repo_root, run_tf):
    tf_files = list((repo_root / "infra").rglob("*.tf"))
    assert len(tf_files) >= 40, "expected the modules and stacks under infra/"
    result = run_tf(repo_root / "infra", "fmt", "-check", "-recursive", "-diff", "-no-color")
    assert result.returncode == 0, (
        f"run `scripts/terraform/tf fmt -recursive infra`:\n{result.output}"
    )


def test_module_readme_tables_in_sync(repo_root):
    script = repo_root / "scripts" / "terraform" / "module_docs.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_module_readme_lists_every_input_and_output(repo_root, module):
    folder = repo_root / "infra" / "modules" / module
    readme = (folder / "README.md").read_text(encoding="utf-8")
    names = re.findall(r'^variable "(\w+)"', (folder / "variables.tf").read_text(), re.MULTILINE)
    names += re.findall(r'^output "(\w+)"', (folder / "outputs.tf").read_text(), re.MULTILINE)
    assert len(names) >= 5
    missing = [n for n in names if f"| `{n}` |" not in readme]
    assert not missing, f"{module}/README.md lacks {missing}"


def test_stacks_share_identical_common_variables(repo_root):
    files = sorted((repo_root / "infra" / "stacks").glob("*/common_variables.tf"))
    assert len(files) == 6
    first = files[0].read_text(encoding="utf-8")
    differing = [str(f.relative_to(repo_root)) for f in files if f.read_text() != first]
    assert not differing, f"common_variables.tf differs from {files[0]}: {differing}"


def test_every_stack_has_variables_for_each_environment(repo_root):
    stacks = sorted(p.name for p in (repo_root / "infra" / "stacks").iterdir() if p.is_dir())
    assert len(stacks) == 6
    for env in ("staging", "prod", "emulator"):
        folder = repo_root / "infra" / "envs" / env
        missing = [s for s in stacks if not (folder / f"{s}.tfvars").is_file()]
        assert not missing, f"infra/envs/{env} lacks {missing}"
    for env in ("staging", "prod"):
        backend = (repo_root / "infra" / "envs" / env / "backend.tfbackend").read_text()
        assert re.search(r"^use_lockfile\s*=\s*true", backend, re.MULTILINE), backend
        # `encrypt = true` without `kms_key_id` makes Terraform ask S3 for SSE-S3 (AES256) on
        # every write, overriding the bucket's default SSE-KMS with the state key.
        sse_s3 = re.search(r"^encrypt\s*=\s*true", backend, re.MULTILINE) and not re.search(
            r"^kms_key_id\s*=", backend, re.MULTILINE
        )
        assert not sse_s3, f"infra/envs/{env}/backend.tfbackend requests SSE-S3:\n{backend}"
    bucket = (repo_root / "infra" / "modules" / "state-bucket" / "main.tf").read_text()
    assert re.search(r'sse_algorithm\s*=\s*"aws:kms"', bucket)
    assert re.search(r"kms_master_key_id\s*=\s*local\.kms_key_arn", bucket)


def test_prod_keeps_the_protections(repo_root):
    prod = repo_root / "infra" / "envs" / "prod"
    database = (prod / "database.tfvars").read_text()
    assert re.search(r"^deletion_protection\s*=\s*true", database, re.MULTILINE)
    assert re.search(r"^skip_final_snapshot\s*=\s*false", database, re.MULTILINE)
    assert re.search(
        r"^single_nat_gateway\s*=\s*false", (prod / "network.tfvars").read_text(), re.MULTILINE
    )


FORBIDDEN = re.compile(
    r"(^|/)(\.terraform/|terraform\.tfstate\.d/)|\.tfstate(\.|$)|\.tfplan$|(^|/)tfplan$"
    r"|(^|/)\.terraformrc$|(^|/)terraform\.rc$|(^|/)kubeconfig|\.pem$|(^|/)\.env$"
    r"|(^|/)credentials(\.json)?$|(^|/)crash\.log$"
)


def test_no_state_plans_or_credentials_tracked(repo_root):
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=repo_root, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    files = [f for f in files if f]
    assert any(f.startswith("infra/stacks/") for f in files), "git ls-files saw no infra files"
    tracked = [f for f in files if FORBIDDEN.search(f)]
    assert not tracked, f"state, plans, provider folders or credentials are tracked: {tracked}"


def test_forbidden_pattern_catches_what_it_should():
    bad = [
        "infra/stacks/network/terraform.tfstate",
        "infra/stacks/network/terraform.tfstate.backup",
        "infra/stacks/bootstrap/terraform.tfstate.d/staging/terraform.tfstate",
        "infra/stacks/network/.terraform/providers/x",
        "plan.tfplan",
        "kubeconfig-staging",
        "secrets/key.pem",
    ]
    good = ["infra/stacks/network/main.tf", "infra/envs/staging/backend.tfbackend"]
    assert all(FORBIDDEN.search(b) for b in bad)
    assert not any(FORBIDDEN.search(g) for g in good)


def _documented_drift(doc: Path) -> set[tuple[str, str]]:
    text = doc.read_text(encoding="utf-8")
    section = text.split("### Emulator drift", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `(aws_\w+)` \| `(\w+)` \|", section, re.MULTILINE))


def test_emulator_drift_list_is_documented(repo_root):
    """The drift the round trip tolerates is exactly the list in docs/infrastructure.md."""
    script = repo_root / "scripts" / "terraform" / "emulator_roundtrip.py"
    allowed_block = (
        script.read_text(encoding="utf-8").split("ALLOWED_DRIFT", 1)[1].split("}\n", 1)[0]
    )
    allowed = {
        (kind, attr)
        for kind, attrs in re.findall(r'"(aws_\w+)": \{([^}]*)', allowed_block)
        for attr in re.findall(r'"(\w+)"', attrs)
    }
    documented = _documented_drift(repo_root / "docs" / "infrastructure.md")
    assert documented, "docs/infrastructure.md has no emulator drift table"
    assert allowed == documented


def test_modules_set_lower_bounds_and_roots_bound_the_major(repo_root):
    """Modules give `>=` lower bounds (the anchors' style); the roots stay on one major version
    until lock files can be committed (docs/infrastructure.md explains why they are not)."""
    constraint = re.compile(r'^\s*version\s*=\s*"([^"]+)"', re.MULTILINE)
    modules = sorted((repo_root / "infra" / "modules").glob("*/versions.tf"))
    stacks = sorted((repo_root / "infra" / "stacks").glob("*/versions.tf"))
    assert len(modules) >= 7, modules
    assert len(stacks) == 6, stacks
    for path in modules:
        found = constraint.findall(path.read_text(encoding="utf-8"))
        assert found, path
        assert all(c.startswith(">= ") for c in found), (path, found)
    for path in stacks:
        found = constraint.findall(path.read_text(encoding="utf-8"))
        assert found, path
        assert all(c.startswith("~> ") for c in found), (path, found)


def test_the_cluster_is_destroyed_before_its_log_group(repo_root):
    """terraform-aws-eks's order: the log group outlives the cluster's last logs at a destroy."""
    parsed = hcl_check.parse(repo_root / "infra" / "modules" / "eks" / "main.tf")
    clusters = [
        body
        for block in parsed["resource"]
        for kind, named in block.items()
        if hcl_check.unquote(kind) == "aws_eks_cluster"
        for body in named.values()
    ]
    assert clusters, "infra/modules/eks/main.tf declares no aws_eks_cluster"
    for cluster in clusters:
        assert "${aws_cloudwatch_log_group.this}" in cluster.get("depends_on", []), cluster


# The AWS services that publish to a topic, by the resource that makes them publish.
SNS_PUBLISHERS = {
    "aws_cloudwatch_event_target": ("arn", "events.amazonaws.com"),
    "aws_cloudwatch_metric_alarm": ("alarm_actions", "cloudwatch.amazonaws.com"),
}
TOPIC_REF = re.compile(r"\$\{aws_sns_topic\.(\w+)")
KEY_REF = re.compile(r"^\$\{aws_kms_key\.(\w+)(?:\[0\])?\.arn\}$")


def aws_resources_by_file(repo_root: Path) -> list[tuple[Path, dict[str, dict[str, Any]]]]:
    """The resources of each AWS Terraform file, by address (`kind.name`)."""
    found = []
    for path in sorted((repo_root / "infra").rglob("*.tf")):
        if "azure" in path.parts or ".terraform" in path.parts:
            continue
        resources: dict[str, dict[str, Any]] = {}
        for block in hcl_check.parse(path).get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    resources[f"{hcl_check.unquote(kind)}.{hcl_check.unquote(name)}"] = body
        found.append((path, resources))
    return found


def test_topics_aws_services_publish_to_use_a_key_that_admits_them(repo_root):
    """EventBridge and CloudWatch publish to an encrypted topic only under a key they may use.

    The AWS managed key alias/aws/sns admits no service
    (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html): such a topic drops every
    alarm. The key's policy must name the service with kms:Decrypt and kms:GenerateDataKey*.
    """
    checked = 0
    for path, resources in aws_resources_by_file(repo_root):
        for address, body in resources.items():
            kind = address.split(".")[0]
            if kind not in SNS_PUBLISHERS:
                continue
            field, service = SNS_PUBLISHERS[kind]
            for topic in TOPIC_REF.findall(str(body.get(field, ""))):
                key_ref = str(resources[f"aws_sns_topic.{topic}"].get("kms_master_key_id", ""))
                key = KEY_REF.match(key_ref)
                assert key, f"{path}: aws_sns_topic.{topic} ({address}) uses key {key_ref!r}"
                policy = str(resources[f"aws_kms_key.{key[1]}"].get("policy", ""))
                for needed in (service, "kms:Decrypt", "kms:GenerateDataKey*"):
                    assert needed in policy, f"{path}: aws_kms_key.{key[1]} lacks {needed}"
                checked += 1
    assert checked >= 2, "no SNS topic an EventBridge rule or CloudWatch alarm publishes to"


RULE_REF = re.compile(r"\$\{aws_cloudwatch_event_rule\.(\w+)")


def test_event_rules_that_notify_a_topic_also_raise_an_alarm_on_it(repo_root):
    """An event on an alarm topic pages through an alarm message, not only as raw event JSON.

    On-call tools subscribed to the topic as a CloudWatch integration (PagerDuty's "Amazon
    CloudWatch") read alarm messages and drop EventBridge's raw event. Each rule that targets a
    topic needs an alarm on its AWS/Events TriggeredRules (dimension RuleName) on the same topic.
    """
    checked = 0
    for path, resources in aws_resources_by_file(repo_root):
        for address, target in resources.items():
            if not address.startswith("aws_cloudwatch_event_target."):
                continue
            for topic in TOPIC_REF.findall(str(target.get("arn", ""))):
                [rule] = RULE_REF.findall(str(target.get("rule", ""))) or [address]
                alarms = [
                    name
                    for name, alarm in resources.items()
                    if name.startswith("aws_cloudwatch_metric_alarm.")
                    and hcl_check.unquote(str(alarm.get("namespace", ""))) == "AWS/Events"
                    and hcl_check.unquote(str(alarm.get("metric_name", ""))) == "TriggeredRules"
                    and RULE_REF.findall(str((alarm.get("dimensions") or {}).get("RuleName", "")))
                    == [rule]
                    and topic in TOPIC_REF.findall(str(alarm.get("alarm_actions", "")))
                ]
                assert alarms, (
                    f"{path}: {address} sends aws_cloudwatch_event_rule.{rule} to "
                    f"aws_sns_topic.{topic} as raw event JSON only; add an alarm on AWS/Events "
                    f"TriggeredRules (RuleName = the rule) > 0 that publishes to the same topic"
                )
                checked += 1
    assert checked >= 1, "no EventBridge rule sends to an SNS topic"


def test_topic_policies_admit_every_rule_and_alarm_that_publishes(repo_root):
    """A topic's policy names each rule and alarm that publishes to it (aws:SourceArn).

    A publisher the policy does not name is refused by SNS: the alarm changes state in
    CloudWatch and nobody hears of it.
    """
    checked = 0
    for path, resources in aws_resources_by_file(repo_root):
        policies = {
            topic: str(body.get("policy", ""))
            for address, body in resources.items()
            if address.startswith("aws_sns_topic_policy.")
            for topic in TOPIC_REF.findall(str(body.get("arn", "")))
        }
        for address, body in resources.items():
            kind = address.split(".")[0]
            if kind not in SNS_PUBLISHERS:
                continue
            field, _service = SNS_PUBLISHERS[kind]
            publisher = (
                f"aws_cloudwatch_event_rule.{RULE_REF.findall(str(body.get('rule', '')))[0]}"
                if kind == "aws_cloudwatch_event_target"
                else address
            )
            for topic in TOPIC_REF.findall(str(body.get(field, ""))):
                assert topic in policies, f"{path}: aws_sns_topic.{topic} has no topic policy"
                assert re.search(rf"{re.escape(publisher)}(?:\[0\])?\.arn", policies[topic]), (
                    f"{path}: the policy of aws_sns_topic.{topic} does not admit {publisher}"
                )
                checked += 1
    assert checked >= 3, "expected the rotation rule and both rotation alarms to publish"


DRILL = re.compile(r"aws cloudwatch set-alarm-state --alarm-name (test-app-(\w+)-[\w-]+)")


def test_the_walkthroughs_paging_drills_name_alarms_the_database_stack_makes(repo_root):
    """Phases 10 and 11 set a rotation alarm to ALARM by hand to prove the paging path.

    A drill on a name the stack does not make fails in the terminal, but a renamed alarm would
    leave the guide drilling nothing; each drill's name must be one of the stack's alarm names
    for that environment (`local.name` is `test-app-<environment>`).
    """
    main = (repo_root / "infra" / "stacks" / "database" / "main.tf").read_text(encoding="utf-8")
    suffixes = re.findall(r'alarm_name\s*=\s*"\$\{local\.name\}(-[\w-]+)"', main)
    assert suffixes, "no alarm_name in infra/stacks/database/main.tf"
    guide = " ".join(
        (repo_root / "docs" / "getting-started.md").read_text(encoding="utf-8").split()
    ).replace("\\ ", "")
    drills = DRILL.findall(guide)
    assert {env for _, env in drills} == {"staging", "prod"}, drills
    for name, env in drills:
        assert name in {f"test-app-{env}{suffix}" for suffix in suffixes}, (
            f"docs/getting-started.md drills {name}, which the database stack does not make "
            f"(its alarms: {', '.join(f'test-app-{env}{s}' for s in suffixes)})"
        )
