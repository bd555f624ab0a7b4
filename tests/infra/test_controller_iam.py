"""The AWS permissions of the cluster add-ons, held against upstream and against real tags.

Every add-on with a Pod Identity role (infra/stacks/cluster) must grant each action of the
upstream policy of the version pinned in platform/addons.yaml (platform/iam-policies/), and its
conditions must let the controller act on the resources as AWS tags them: the EKS cluster
security group (the load balancer controller's ALB -> pod rule) and the node group's Auto
Scaling group (the cluster autoscaler), while still refusing resources of other owners.
"""

from __future__ import annotations

from typing import Any

import hcl2
import pytest
import yaml

from test_app_tooling.infra.iam import (
    PLATFORM_POLICIES,
    Request,
    action_matches,
    actions,
    allows,
    crosscheck,
    decide,
    resource_tags,
    terraform_policy,
    upstream_index,
    upstream_policy,
)
from test_app_tooling.tools import REPO


CLUSTER_MAIN = REPO / "infra" / "stacks" / "cluster" / "main.tf"
CLUSTER = "test-app-staging"
ACCOUNT = "111122223333"
REGION = "eu-central-1"
STACK_VALUES = {
    "local.partition": "aws",
    "local.name": CLUSTER,
    "var.region": REGION,
    "data.aws_caller_identity.current.account_id": ACCOUNT,
}
TAG_VALUES = {"CLUSTER_NAME": CLUSTER, "NODE_GROUP_NAME": f"{CLUSTER}-a"}
OTHER_TAGS = {"CLUSTER_NAME": "someone-else", "NODE_GROUP_NAME": "someone-else-a"}
OWN_LB_TAG = {"elbv2.k8s.aws/cluster": CLUSTER}
ELB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
SG = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0"
LB = f"{ELB}:loadbalancer/app/k8s-testapp/0123abcd"
LISTENER = f"{ELB}:listener/app/k8s-testapp/0123abcd/4567ef01"
RULE = f"{ELB}:listener-rule/app/k8s-testapp/0123abcd/4567ef01/89ab2345"
TG = f"{ELB}:targetgroup/k8s-testapp-http/0123abcd"
ASG = f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:0a1b:autoScalingGroupName/eks-a"
RECEIVERS = (
    f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{CLUSTER}/alertmanager-receivers-AbCdEf"
)
OTHER_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:someone-else/token-AbCdEf"


def pod_identity_policies() -> dict[str, str]:
    """Add-on -> name of its aws_iam_policy_document, for every role with an inline policy."""
    parsed = hcl2.loads(CLUSTER_MAIN.read_text(encoding="utf-8"))
    eks = next(m['"eks"'] for m in parsed["module"] if '"eks"' in m)
    found = {}
    for addon, role in eks["pod_identity_roles"].items():
        if "policy_json" in role:
            reference = str(role["policy_json"]).strip('"${}')
            found[addon] = reference.split(".")[2]
    return found


def addon_versions() -> dict[str, str]:
    addons = yaml.safe_load((REPO / "platform" / "addons.yaml").read_text(encoding="utf-8"))
    return {s["name"]: str(s["version"]) for s in addons["steps"] if s["type"] == "chart"}


def cluster_policy(addon: str) -> dict[str, Any]:
    return terraform_policy(CLUSTER_MAIN, pod_identity_policies()[addon], STACK_VALUES)


def test_every_policy_owning_addon_is_found():
    # The parametrised tests below run over this list; an empty list would check nothing.
    assert set(pod_identity_policies()) >= {
        "aws-load-balancer-controller",
        "cluster-autoscaler",
        "external-secrets",
    }


@pytest.mark.parametrize("addon", sorted(pod_identity_policies()))
def test_upstream_policy_is_kept_for_the_pinned_version(addon):
    index = upstream_index()["policies"]
    assert addon in index, f"platform/iam-policies/policies.yaml has no entry for {addon}"
    entry = index[addon]
    pinned = addon_versions()[addon]
    assert str(entry["chart_version"]) == pinned, (
        f"{addon}: platform/addons.yaml pins chart {pinned}, the upstream IAM policy on file is "
        f"for {entry['chart_version']}; add the policy of {pinned} from {entry['source']}"
    )
    assert (PLATFORM_POLICIES / entry["file"]).is_file()
    assert entry["source"].startswith("https://")
    assert entry["terraform"] == pod_identity_policies()[addon]


@pytest.mark.parametrize("addon", sorted(pod_identity_policies()))
def test_terraform_grants_every_upstream_action(addon):
    entry = upstream_index()["policies"][addon]
    granted = actions(cluster_policy(addon))
    wanted = {entry["renamed"].get(a, a) for a in actions(upstream_policy(addon))}
    wanted -= set(entry["not_granted"])
    missing = sorted(a for a in wanted if not any(action_matches(g, a) for g in granted))
    assert wanted
    assert not missing, f"{addon}: the Terraform policy lacks upstream actions {missing}"


def tags(kind: str, values: dict[str, str] = TAG_VALUES) -> dict[str, str]:
    return resource_tags(kind, values)


# (add-on, what the controller does, the request, whether it must be allowed)
CALLS = [
    (
        "aws-load-balancer-controller",
        "ALB -> pod rule on the EKS cluster security group",
        Request("ec2:AuthorizeSecurityGroupIngress", SG, tags("cluster_security_group")),
        True,
    ),
    (
        "aws-load-balancer-controller",
        "removes that rule again",
        Request("ec2:RevokeSecurityGroupIngress", SG, tags("cluster_security_group")),
        True,
    ),
    (
        "aws-load-balancer-controller",
        "never deletes the cluster security group",
        Request("ec2:DeleteSecurityGroup", SG, tags("cluster_security_group")),
        False,
    ),
    (
        "aws-load-balancer-controller",
        "creates the ALB's security group",
        Request("ec2:CreateSecurityGroup", SG, request_tags=OWN_LB_TAG),
        True,
    ),
    (
        "aws-load-balancer-controller",
        "tags its security group on creation",
        Request(
            "ec2:CreateTags",
            SG,
            request_tags=OWN_LB_TAG,
            context={"ec2:CreateAction": "CreateSecurityGroup"},
        ),
        True,
    ),
    (
        "aws-load-balancer-controller",
        "deletes its own security group",
        Request("ec2:DeleteSecurityGroup", SG, OWN_LB_TAG),
        True,
    ),
    (
        "aws-load-balancer-controller",
        "creates the ALB",
        Request("elasticloadbalancing:CreateLoadBalancer", LB, request_tags=OWN_LB_TAG),
        True,
    ),
    (
        "aws-load-balancer-controller",
        "tags the ALB on creation",
        Request(
            "elasticloadbalancing:AddTags",
            LB,
            request_tags=OWN_LB_TAG,
            context={"elasticloadbalancing:CreateAction": "CreateLoadBalancer"},
        ),
        True,
    ),
    (
        "aws-load-balancer-controller",
        "creates the target group",
        Request("elasticloadbalancing:CreateTargetGroup", TG, request_tags=OWN_LB_TAG),
        True,
    ),
    (
        "aws-load-balancer-controller",
        "registers pod IPs",
        Request("elasticloadbalancing:RegisterTargets", TG, OWN_LB_TAG),
        True,
    ),
    (
        "aws-load-balancer-controller",
        "orders the listener rules",
        Request("elasticloadbalancing:SetRulePriorities", RULE),
        True,
    ),
    (
        "aws-load-balancer-controller",
        "sets listener attributes of its ALB",
        Request("elasticloadbalancing:ModifyListenerAttributes", LISTENER, OWN_LB_TAG),
        True,
    ),
    (
        "aws-load-balancer-controller",
        "sets the capacity reservation of its ALB",
        Request("elasticloadbalancing:ModifyCapacityReservation", LB, OWN_LB_TAG),
        True,
    ),
    ("aws-load-balancer-controller", "reads IPAM pools", Request("ec2:DescribeIpamPools"), True),
    (
        "aws-load-balancer-controller",
        "never deletes a load balancer it does not own",
        Request("elasticloadbalancing:DeleteLoadBalancer", LB),
        False,
    ),
    (
        "cluster-autoscaler",
        "scales a node group of the cluster",
        Request("autoscaling:SetDesiredCapacity", ASG, tags("node_group_asg")),
        True,
    ),
    (
        "cluster-autoscaler",
        "removes an empty node",
        Request("autoscaling:TerminateInstanceInAutoScalingGroup", ASG, tags("node_group_asg")),
        True,
    ),
    (
        "cluster-autoscaler",
        "never scales another cluster's node group",
        Request("autoscaling:SetDesiredCapacity", ASG, tags("node_group_asg", OTHER_TAGS)),
        False,
    ),
    (
        "external-secrets",
        "reads the Alertmanager receivers secret",
        Request("secretsmanager:GetSecretValue", RECEIVERS),
        True,
    ),
    (
        "external-secrets",
        "lists that secret's versions",
        Request("secretsmanager:ListSecretVersionIds", RECEIVERS),
        True,
    ),
    (
        "external-secrets",
        "never reads another secret",
        Request("secretsmanager:GetSecretValue", OTHER_SECRET),
        False,
    ),
]


@pytest.mark.parametrize(
    ("addon", "request_", "allowed"),
    [(a, r, ok) for a, _, r, ok in CALLS],
    ids=[f"{a}: {what}" for a, what, _, _ in CALLS],
)
def test_conditions_against_the_tags_aws_sets(addon, request_, allowed):
    assert allows(cluster_policy(addon), request_) is allowed
    if allowed and addon == "aws-load-balancer-controller":
        # The scenario is the controller's real behaviour: upstream's policy allows it too.
        assert allows(upstream_policy(addon), request_)


def test_an_independent_evaluator_gives_the_same_verdicts():
    # iam-simulate (npm @cloud-copilot/iam-simulate) decides every call above from the same
    # policies; a disagreement is a bug in one of the two evaluators, never a pass.
    cases = [([cluster_policy(a)], r) for a, _, r, _ in CALLS]
    theirs = crosscheck(cases, ACCOUNT)
    ours = [decide(policies, r) for policies, r in cases]
    assert ours == theirs
    assert [v == "Allowed" for v in theirs] == [ok for _, _, _, ok in CALLS]
