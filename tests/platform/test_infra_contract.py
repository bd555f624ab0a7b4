"""The platform and the chart agree with the Terraform stacks they run on: the controllers'
ServiceAccounts are the ones the cluster stack gives Pod Identity roles to, and the chart's
NetworkPolicy CIDRs are the subnets the network stack carves out of the environments' VPC CIDRs
(public subnets for the load balancer, private subnets for the database)."""

from __future__ import annotations

import ipaddress
from typing import Any

import hcl2
import pytest
import yaml

from test_app_tooling.helm_render import chart_values
from test_app_tooling.tools import REPO


PLATFORM = REPO / "platform"
INFRA = REPO / "infra"


def unquote(value: Any) -> str:
    return str(value).strip('"')


def find_key(node: Any, key: str) -> Any:
    """The first value of `key` anywhere in a parsed HCL tree."""
    if isinstance(node, dict):
        if key in node:
            return node[key]
        for child in node.values():
            found = find_key(child, key)
            if found is not None:
                return found
    if isinstance(node, list):
        for child in node:
            found = find_key(child, key)
            if found is not None:
                return found
    return None


def variable_defaults(path: str) -> dict[str, str]:
    parsed = hcl2.loads((INFRA / path).read_text())
    return {
        unquote(name): unquote(body.get("default"))
        for block in parsed.get("variable", [])
        for name, body in block.items()
    }


def pod_identity_service_accounts() -> dict[str, tuple[str, str]]:
    parsed = hcl2.loads((INFRA / "stacks" / "cluster" / "main.tf").read_text())
    roles = find_key(parsed, "pod_identity_roles")
    assert roles, "infra/stacks/cluster/main.tf has no pod_identity_roles"
    defaults = variable_defaults("stacks/cluster/variables.tf")

    def resolve(value: Any) -> str:
        text = unquote(value)
        if text.startswith("${var.") and text.endswith("}"):
            return defaults[text[len("${var.") : -1]]
        return text

    return {
        name: (resolve(role["namespace"]), resolve(role["service_account"]))
        for name, role in roles.items()
    }


@pytest.mark.parametrize(
    ("step", "account_path"),
    [
        ("aws-load-balancer-controller", ("serviceAccount", "name")),
        ("cluster-autoscaler", ("rbac", "serviceAccount", "name")),
        ("external-secrets", ("serviceAccount", "name")),
    ],
)
def test_controllers_use_the_service_accounts_with_pod_identity(step, account_path):
    addons = yaml.safe_load((PLATFORM / "addons.yaml").read_text())
    entry = next(s for s in addons["steps"] if s["name"] == step)
    values = yaml.safe_load((PLATFORM / entry["values"]).read_text())
    account = values
    for key in account_path:
        account = account[key]
    assert entry["serviceAccount"] == account
    assert pod_identity_service_accounts()[step] == (entry["namespace"], account)


def subnets(vpc_cidr: str, newbits: int, first: int, count: int = 3) -> list[str]:
    """Terraform's `cidrsubnet(vpc_cidr, newbits, first + i)` for i in 0..count-1."""
    network = ipaddress.ip_network(vpc_cidr)
    step = 2 ** (network.max_prefixlen - network.prefixlen - newbits)
    base = int(network.network_address)
    prefix = network.prefixlen + newbits
    return [str(ipaddress.ip_network((base + (first + i) * step, prefix))) for i in range(count)]


def test_subnets_follow_terraform_cidrsubnet():
    assert subnets("10.10.0.0/16", 8, 0) == ["10.10.0.0/24", "10.10.1.0/24", "10.10.2.0/24"]
    assert subnets("10.10.0.0/16", 3, 4)[0] == "10.10.128.0/19"


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_network_policy_cidrs_are_the_public_and_private_subnets(environment):
    # With the VPC CNI every pod has a VPC address: the whole VPC CIDR would let any pod of the
    # cluster reach the app. The ALB's nodes are in the public subnets only.
    network = hcl2.loads((INFRA / "envs" / environment / "network.tfvars").read_text())
    vpc_cidr = unquote(network["vpc_cidr"])
    defaults = variable_defaults("modules/vpc/variables.tf")
    public_newbits = int(defaults["public_subnet_newbits"])
    private_newbits = int(defaults["private_subnet_newbits"])
    main = (INFRA / "modules" / "vpc" / "main.tf").read_text()
    assert "cidrsubnet(var.cidr, var.public_subnet_newbits, i)" in main
    private = "pow(2, var.private_subnet_newbits - 1) + i"
    assert f"cidrsubnet(var.cidr, var.private_subnet_newbits, {private})" in main
    policy = chart_values([f"values-{environment}.yaml"])["networkPolicy"]
    assert policy["ingress"]["loadBalancerCidrs"] == subnets(vpc_cidr, public_newbits, 0)
    assert policy["egress"]["databaseCidrs"] == subnets(
        vpc_cidr, private_newbits, 2 ** (private_newbits - 1)
    )


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_node_group_can_hold_the_hpa_ceiling_plus_a_surge(env):
    # Hard pod anti-affinity puts one app pod per node, and a rolling update adds one pod
    # (maxSurge) on top of maxReplicas: the node group must be able to grow that far.
    tfvars = hcl2.loads((INFRA / "envs" / env / "cluster.tfvars").read_text(encoding="utf-8"))
    node_max = int(unquote(find_key(tfvars, "node_max_size")))
    max_replicas = int(chart_values([f"values-{env}.yaml"])["autoscaling"]["maxReplicas"])
    assert node_max >= max_replicas + 1, (
        f"{env}: node_max_size={node_max} cannot hold maxReplicas={max_replicas} + 1 surge pod"
    )
