"""The verdicts the cross-account delivery and secret reachability checks rest on, twice decided.

`registry_access.check` (scripts/day_one.py, over both account layouts the walkthrough allows)
and `secret_reach.reach` decide their requests with the project's IAM evaluator
(test_app_tooling.infra.iam). The same requests, from the same policies, go through npm's
`@cloud-copilot/iam-simulate`: a disagreement is a bug in one of the two evaluators, never a pass.
"""

from __future__ import annotations

import pytest

import day_one
from test_app_tooling.infra import registry_access, secret_reach
from test_app_tooling.infra.iam import crosscheck, decide


def test_cross_account_delivery_rests_on_verdicts_both_evaluators_give():
    walkthrough = day_one.WALKTHROUGH.read_text(encoding="utf-8")
    calls = [
        call
        for _, environments, values in day_one.registry_layouts(walkthrough)
        for call in registry_access.deploy_calls(environments, values.__getitem__)
    ]
    assert calls, "the registry check decides no request"
    ours = [decide([policy], req) for _, policy, req in calls]
    theirs = crosscheck([([policy], req) for _, policy, req in calls])
    assert ours == theirs, [
        (env.name, req) for (env, _, req), o, t in zip(calls, ours, theirs, strict=True) if o != t
    ]
    # Every environment, in every layout, may log in and pull: what the check concludes.
    assert set(ours) == {"Allowed"}


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_secret_reachability_rests_on_verdicts_both_evaluators_give(env):
    reads = secret_reach.secret_reads(env)
    ours = [decide(policies, req) for _, policies, _, req in reads]
    theirs = crosscheck([(policies, req) for _, policies, _, req in reads])
    disagree = [
        (name, secret)
        for (name, _, secret, _), o, t in zip(reads, ours, theirs, strict=True)
        if o != t
    ]
    assert not disagree, disagree
    # Both verdicts occur, or the comparison proves nothing about the check.
    assert {"Allowed", "ImplicitlyDenied"} <= set(ours)
