"""The IAM evaluator refuses what AWS refuses, and agrees with an independent evaluator.

Each case is a policy and a request with the verdict AWS gives (IAM User Guide, "Policy
evaluation logic", "IAM JSON policy elements: Action, NotAction, Resource, NotResource,
Condition operators"). The laxer evaluator this one replaced allowed every "refused" case
below: it skipped Deny statements, knew no NotAction/NotResource, compared ARNs and StringLike
values case-insensitively and read `[0-9]` as a character class. The same cases go through npm's
`@cloud-copilot/iam-simulate`, which must give the same verdicts.
"""

from __future__ import annotations

from typing import Any

import pytest

from test_app_tooling.infra.iam import Request, allows, crosscheck, decide


ACCOUNT = "111122223333"
SECRET = f"arn:aws:secretsmanager:eu-central-1:{ACCOUNT}:secret:test-app-staging/app-AbCdEf"
MASTER = f"arn:aws:secretsmanager:eu-central-1:{ACCOUNT}:secret:rds!cluster-0a1b-AbCdEf"
GET = "secretsmanager:GetSecretValue"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(**element: Any) -> dict[str, Any]:
    return {"Effect": "Allow", **element}


def deny(**element: Any) -> dict[str, Any]:
    return {"Effect": "Deny", **element}


# (what AWS does, policy, request, verdict)
CASES: list[tuple[str, dict[str, Any], Request, str]] = [
    (
        "an explicit Deny wins over an Allow",
        policy(
            allow(Action="secretsmanager:*", Resource="*"),
            deny(Action=GET, Resource=MASTER),
        ),
        Request(GET, MASTER),
        "ExplicitlyDenied",
    ),
    (
        "a Deny with a condition that holds wins",
        policy(
            allow(Action=GET, Resource="*"),
            deny(
                Action="*",
                Resource="*",
                Condition={"StringEquals": {"aws:ResourceTag/tier": "master"}},
            ),
        ),
        Request(GET, MASTER, resource_tags={"tier": "master"}),
        "ExplicitlyDenied",
    ),
    (
        "a Deny whose condition does not hold leaves the Allow",
        policy(
            allow(Action=GET, Resource="*"),
            deny(
                Action="*",
                Resource="*",
                Condition={"StringEquals": {"aws:ResourceTag/tier": "master"}},
            ),
        ),
        Request(GET, SECRET, resource_tags={"tier": "app"}),
        "Allowed",
    ),
    (
        "NotAction allows every action but the ones named",
        policy(allow(NotAction="secretsmanager:*", Resource="*")),
        Request(GET, SECRET),
        "ImplicitlyDenied",
    ),
    (
        "NotAction allows the others",
        policy(allow(NotAction="secretsmanager:*", Resource="*")),
        Request("kms:Decrypt", f"arn:aws:kms:eu-central-1:{ACCOUNT}:key/0a1b"),
        "Allowed",
    ),
    (
        "NotResource allows every resource but the ones named",
        policy(allow(Action=GET, NotResource=MASTER)),
        Request(GET, MASTER),
        "ImplicitlyDenied",
    ),
    (
        "a Deny with NotResource refuses all but the ones named",
        policy(allow(Action=GET, Resource="*"), deny(Action=GET, NotResource=SECRET)),
        Request(GET, MASTER),
        "ExplicitlyDenied",
    ),
    (
        "ARNs compare case-sensitively",
        policy(allow(Action=GET, Resource=SECRET.replace("test-app-staging", "Test-App-Staging"))),
        Request(GET, SECRET),
        "ImplicitlyDenied",
    ),
    (
        "a wildcard in an ARN is case-sensitive too",
        policy(allow(Action=GET, Resource=SECRET.rsplit(":", 1)[0] + ":TEST-APP-STAGING/*")),
        Request(GET, SECRET),
        "ImplicitlyDenied",
    ),
    (
        "StringLike compares case-sensitively",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"StringLike": {"aws:ResourceTag/owner": "test-app-*"}},
            )
        ),
        Request(GET, SECRET, resource_tags={"owner": "TEST-APP-staging"}),
        "ImplicitlyDenied",
    ),
    (
        "StringEqualsIgnoreCase does not",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"StringEqualsIgnoreCase": {"aws:ResourceTag/owner": "test-app"}},
            )
        ),
        Request(GET, SECRET, resource_tags={"owner": "TEST-APP"}),
        "Allowed",
    ),
    (
        "[...] is literal, not a character class",
        policy(allow(Action=GET, Resource=SECRET.replace("app-AbCdEf", "app-[A-Z]bCdEf"))),
        Request(GET, SECRET),
        "ImplicitlyDenied",
    ),
    (
        "? matches exactly one character",
        policy(allow(Action=GET, Resource=SECRET.replace("-AbCdEf", "-??????"))),
        Request(GET, SECRET),
        "Allowed",
    ),
    (
        "? does not match two",
        policy(allow(Action=GET, Resource=SECRET.replace("-AbCdEf", "-?????"))),
        Request(GET, SECRET),
        "ImplicitlyDenied",
    ),
    (
        "actions compare case-insensitively",
        policy(allow(Action="SecretsManager:getsecretvalue", Resource=SECRET)),
        Request(GET, SECRET),
        "Allowed",
    ),
    (
        "a condition key absent from the request makes StringEquals false",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"StringEquals": {"aws:ResourceTag/owner": "test-app"}},
            )
        ),
        Request(GET, SECRET),
        "ImplicitlyDenied",
    ),
    (
        "... and StringNotEquals true",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"StringNotEquals": {"aws:ResourceTag/owner": "someone-else"}},
            )
        ),
        Request(GET, SECRET),
        "Allowed",
    ),
    (
        "condition key names compare case-insensitively",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"StringEquals": {"AWS:RESOURCETAG/owner": "test-app"}},
            )
        ),
        Request(GET, SECRET, resource_tags={"owner": "test-app"}),
        "Allowed",
    ),
]


@pytest.mark.parametrize(
    ("policy_", "request_", "verdict"),
    [(p, r, v) for _, p, r, v in CASES],
    ids=[what for what, _, _, _ in CASES],
)
def test_the_evaluator_decides_as_aws(policy_, request_, verdict):
    assert decide([policy_], request_) == verdict
    assert allows(policy_, request_) is (verdict == "Allowed")


def test_the_cases_include_refusals_and_grants():
    verdicts = {v for _, _, _, v in CASES}
    assert verdicts == {"Allowed", "ExplicitlyDenied", "ImplicitlyDenied"}


def test_an_independent_evaluator_agrees_on_every_case():
    theirs = crosscheck([([p], r) for _, p, r, _ in CASES], ACCOUNT)
    assert theirs == [v for _, _, _, v in CASES]


def test_a_statement_without_effect_is_refused_by_name():
    with pytest.raises(ValueError, match="Effect"):
        decide([policy({"Action": GET, "Resource": "*"})], Request(GET, SECRET))
