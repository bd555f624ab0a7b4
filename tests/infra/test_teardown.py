"""The teardown waits for the load balancer controller's security groups (infra/teardown).

The teardown used to wait for the ALB only and uninstall the controller at once: a group left
behind fails the network stack's destroy with DependencyViolation.
"""

from __future__ import annotations

import re

import day_one
from test_app_tooling.infra import cli_queries
from test_app_tooling.infra import teardown as teardown_check
from test_app_tooling.tools import REPO
from test_app_tooling.walkthrough import sections


STAGING = "test-app-staging"


def _teardown(text: str) -> str:
    return sections(text)["Tear everything down"]


def teardown_problems(teardown: str) -> list[str]:
    return teardown_check.problems(teardown, STAGING)


def test_the_teardown_waits_for_the_controllers_security_groups():
    text = day_one.WALKTHROUGH.read_text(encoding="utf-8")
    assert teardown_problems(_teardown(text)) == []
    assert day_one.check_teardown(day_one.load(), text) == []


def test_the_teardown_that_waited_for_the_alb_only_fails():
    teardown = _teardown(day_one.WALKTHROUGH.read_text(encoding="utf-8"))
    start = teardown.index("   aws ec2 describe-security-groups")
    end = teardown.index("\n", teardown.index("--query", start)) + 1
    old = teardown[:start] + teardown[end:]
    [problem] = teardown_problems(old)
    assert problem.startswith("the teardown uninstalls aws-load-balancer-controller without")
    # Waiting after the controller is gone is too late: nothing deletes the groups any more.
    uninstall = (
        "   helm uninstall cluster-autoscaler aws-load-balancer-controller metrics-server "
        "-n kube-system\n"
    )
    assert uninstall in old
    late = old.replace(uninstall, uninstall + teardown[start:end], 1)
    assert teardown_problems(late) == [problem]


def test_the_wait_names_the_staging_cluster_the_stacks_create():
    eks = (REPO / "infra" / "stacks" / "cluster" / "main.tf").read_text(encoding="utf-8")
    assert "local.name" in eks
    common = (REPO / "infra" / "stacks" / "cluster" / "common_variables.tf").read_text(
        encoding="utf-8"
    )
    [prefix] = re.findall(r'name = "([a-z-]+)\$\{var\.environment\}"', common)
    assert f"{prefix}staging" == STAGING


def test_the_security_group_query_reads_fields_the_api_has():
    found = [
        q
        for q in cli_queries.queries(day_one.WALKTHROUGH.read_text(encoding="utf-8"), "guide")
        if (q.service, q.command) == ("ec2", "describe-security-groups")
    ]
    assert [q.query for q in found] == ["SecurityGroups[].[GroupId,GroupName]"]
    assert cli_queries.check(found) == []
    wrong = [cli_queries.Query("g:1", "ec2", "describe-security-groups", "SecurityGroups[].Id")]
    [problem] = cli_queries.check(wrong)
    assert "has no field `Id`" in problem
