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

from test_app_tooling.infra.iam import Request, allows, crosscheck, decide, terraform_policy


ACCOUNT = "111122223333"
SECRET = f"arn:aws:secretsmanager:eu-central-1:{ACCOUNT}:secret:test-app-staging/app-AbCdEf"
MASTER = f"arn:aws:secretsmanager:eu-central-1:{ACCOUNT}:secret:rds!cluster-0a1b-AbCdEf"
SECRETS = f"arn:aws:secretsmanager:eu-central-1:{ACCOUNT}:secret"
LOG_GROUP = f"arn:aws:logs:eu-central-1:{ACCOUNT}:log-group:app"
GET = "secretsmanager:GetSecretValue"
TAG = "secretsmanager:TagResource"


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
    # Resource: a `*` ending an ARN segment may match beyond the colon (IAM User Guide, "IAM JSON
    # policy elements: Resource", wildcards); ArnLike/ArnEquals compare each segment alone.
    (
        "a Deny on a short ARN ending in * covers the rest of the ARN",
        policy(
            allow(Action=GET, Resource="*"), deny(Action=GET, Resource="arn:aws:secretsmanager:*")
        ),
        Request(GET, SECRET),
        "ExplicitlyDenied",
    ),
    (
        "an Allow on a short ARN ending in * grants the rest of the ARN",
        policy(allow(Action=GET, Resource="arn:aws:secretsmanager:eu-central-1:*")),
        Request(GET, SECRET),
        "Allowed",
    ),
    (
        "ArnLike compares segment by segment: a * never crosses a colon",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"ArnLike": {"aws:SourceArn": f"arn:aws:*:{ACCOUNT}:log-group:app"}},
            )
        ),
        Request(GET, SECRET, context={"aws:SourceArn": LOG_GROUP}),
        "ImplicitlyDenied",
    ),
    (
        "ArnLike matches wildcards within segments",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"ArnLike": {"aws:SourceArn": f"arn:aws:logs:*:{ACCOUNT}:log-group:*"}},
            )
        ),
        Request(GET, SECRET, context={"aws:SourceArn": LOG_GROUP}),
        "Allowed",
    ),
    (
        "ArnEquals takes wildcards too",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={
                    "ArnEquals": {"aws:SourceArn": f"arn:aws:logs:eu-central-?:{ACCOUNT}:*"}
                },
            )
        ),
        Request(GET, SECRET, context={"aws:SourceArn": LOG_GROUP}),
        "Allowed",
    ),
    (
        "ArnNotLike holds on an absent key",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"ArnNotLike": {"aws:SourceArn": f"arn:aws:logs:*:{ACCOUNT}:*"}},
            )
        ),
        Request(GET, SECRET),
        "Allowed",
    ),
    # Set qualifiers ("Single-valued vs. multivalued context keys"): ForAnyValue is false on an
    # absent key whatever the operator, ForAllValues true.
    (
        "ForAnyValue with a negated operator is false on an absent key",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["x"]}},
            )
        ),
        Request(GET, SECRET),
        "ImplicitlyDenied",
    ),
    (
        "ForAnyValue:StringNotLike is false on an absent key",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"ForAnyValue:StringNotLike": {"aws:TagKeys": "x*"}},
            )
        ),
        Request(GET, SECRET),
        "ImplicitlyDenied",
    ),
    (
        "ForAnyValue ...IfExists is false on an absent key too",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "x"}},
            )
        ),
        Request(GET, SECRET),
        "ImplicitlyDenied",
    ),
    (
        "ForAllValues is true on an absent key",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"ForAllValues:StringNotEquals": {"aws:TagKeys": ["x"]}},
            )
        ),
        Request(GET, SECRET),
        "Allowed",
    ),
    (
        "ForAllValues fails when one value is outside the set",
        policy(
            allow(
                Action=TAG,
                Resource="*",
                Condition={"ForAllValues:StringEquals": {"aws:TagKeys": "a"}},
            )
        ),
        Request(TAG, SECRET, request_tags={"a": "1", "b": "2"}),
        "ImplicitlyDenied",
    ),
    (
        "ForAllValues:StringLike holds when every value matches",
        policy(
            allow(
                Action=TAG,
                Resource="*",
                Condition={"ForAllValues:StringLike": {"aws:TagKeys": "test-app/*"}},
            )
        ),
        Request(TAG, SECRET, request_tags={"test-app/a": "1", "test-app/b": "2"}),
        "Allowed",
    ),
    (
        "a Deny with ForAnyValue matches on one of several values",
        policy(
            allow(Action=TAG, Resource="*"),
            deny(
                Action=TAG,
                Resource="*",
                Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": "b"}},
            ),
        ),
        Request(TAG, SECRET, request_tags={"a": "1", "b": "2"}),
        "ExplicitlyDenied",
    ),
    (
        "every value of a multivalued key counts, not the first",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={
                    "ForAnyValue:StringEquals": {"aws:CalledVia": "cloudformation.amazonaws.com"}
                },
            )
        ),
        Request(
            GET,
            SECRET,
            context={"aws:CalledVia": ["athena.amazonaws.com", "cloudformation.amazonaws.com"]},
        ),
        "Allowed",
    ),
    # Policy variables ("IAM policy elements: Variables and tags") are filled from the request.
    (
        "a Deny on a Resource with a policy variable",
        policy(
            allow(Action=GET, Resource="*"),
            deny(Action=GET, Resource=f"{SECRETS}:${{aws:PrincipalTag/env}}/*"),
        ),
        Request(GET, SECRET, context={"aws:PrincipalTag/env": "test-app-staging"}),
        "ExplicitlyDenied",
    ),
    (
        "an Allow on a Resource with a policy variable",
        policy(allow(Action=GET, Resource=f"{SECRETS}:${{aws:PrincipalTag/env}}/*")),
        Request(GET, SECRET, context={"aws:PrincipalTag/env": "test-app-staging"}),
        "Allowed",
    ),
    (
        "a NotResource with a policy variable",
        policy(allow(Action=GET, NotResource=f"{SECRETS}:${{aws:PrincipalTag/env}}/*")),
        Request(GET, SECRET, context={"aws:PrincipalTag/env": "test-app-staging"}),
        "ImplicitlyDenied",
    ),
    (
        "StringNotEquals against a policy variable",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"StringNotEquals": {"aws:ResourceTag/env": "${aws:PrincipalTag/env}"}},
            )
        ),
        Request(GET, SECRET, resource_tags={"env": "a"}, context={"aws:PrincipalTag/env": "a"}),
        "ImplicitlyDenied",
    ),
    (
        "StringLike with a policy variable and a wildcard",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"StringLike": {"aws:ResourceTag/owner": "${aws:PrincipalTag/team}-*"}},
            )
        ),
        Request(
            GET,
            SECRET,
            resource_tags={"owner": "test-app-staging"},
            context={"aws:PrincipalTag/team": "test-app"},
        ),
        "Allowed",
    ),
    (
        "a policy variable's default stands in for an absent key",
        policy(
            allow(Action=GET, Resource=f"{SECRETS}:${{aws:PrincipalTag/env, 'test-app-staging'}}/*")
        ),
        Request(GET, SECRET),
        "Allowed",
    ),
    # ...IfExists, Null, Bool (IAM User Guide, "Condition operators").
    (
        "StringEqualsIfExists holds on an absent key",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"StringEqualsIfExists": {"aws:ResourceTag/owner": "test-app"}},
            )
        ),
        Request(GET, SECRET),
        "Allowed",
    ),
    (
        "StringEqualsIfExists compares a present key",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"StringEqualsIfExists": {"aws:ResourceTag/owner": "test-app"}},
            )
        ),
        Request(GET, SECRET, resource_tags={"owner": "someone-else"}),
        "ImplicitlyDenied",
    ),
    (
        "Null true holds on an absent key",
        policy(
            allow(Action=GET, Resource="*", Condition={"Null": {"aws:ResourceTag/owner": "true"}})
        ),
        Request(GET, SECRET),
        "Allowed",
    ),
    (
        "Null false fails on an absent key",
        policy(
            allow(Action=GET, Resource="*", Condition={"Null": {"aws:ResourceTag/owner": "false"}})
        ),
        Request(GET, SECRET),
        "ImplicitlyDenied",
    ),
    (
        "Null false holds on a present key",
        policy(
            allow(Action=GET, Resource="*", Condition={"Null": {"aws:ResourceTag/owner": "false"}})
        ),
        Request(GET, SECRET, resource_tags={"owner": "x"}),
        "Allowed",
    ),
    (
        "Bool compares the value case-insensitively",
        policy(
            allow(Action=GET, Resource="*", Condition={"Bool": {"aws:SecureTransport": "TRUE"}})
        ),
        Request(GET, SECRET, context={"aws:SecureTransport": "true"}),
        "Allowed",
    ),
    (
        "Bool fails on the other value",
        policy(
            allow(Action=GET, Resource="*", Condition={"Bool": {"aws:SecureTransport": "true"}})
        ),
        Request(GET, SECRET, context={"aws:SecureTransport": "false"}),
        "ImplicitlyDenied",
    ),
    (
        "Bool fails on an absent key",
        policy(
            allow(Action=GET, Resource="*", Condition={"Bool": {"aws:SecureTransport": "true"}})
        ),
        Request(GET, SECRET),
        "ImplicitlyDenied",
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


# What IAM refuses, or what no evaluator can decide without a guess: the evaluator raises,
# naming the statement and what it expected, rather than giving a verdict.
REFUSED: list[tuple[str, dict[str, Any], Request, str]] = [
    (
        "a statement with neither Resource nor NotResource (MalformedPolicyDocument)",
        policy(allow(Action=GET)),
        Request(GET, SECRET),
        r"Statement\[0\]: expected exactly one of Resource and NotResource",
    ),
    (
        "a single-valued operator on a multivalued key",
        policy(allow(Action=TAG, Resource="*", Condition={"StringEquals": {"aws:TagKeys": "a"}})),
        Request(TAG, SECRET, request_tags={"a": "1", "b": "2"}),
        r"StringEquals\.aws:TagKeys: expected ForAnyValue: or ForAllValues:",
    ),
    (
        "a negated single-valued operator on a multivalued key",
        policy(
            allow(Action=TAG, Resource="*", Condition={"StringNotEquals": {"aws:TagKeys": ["a"]}})
        ),
        Request(TAG, SECRET, request_tags={"a": "1", "b": "2"}),
        r"StringNotEquals\.aws:TagKeys: expected ForAnyValue: or ForAllValues:",
    ),
    (
        "a single-valued operator on a key the request gives several values",
        policy(allow(Action=GET, Resource="*", Condition={"StringLike": {"aws:CalledVia": "*"}})),
        Request(GET, SECRET, context={"aws:CalledVia": ["athena.amazonaws.com"]}),
        r"StringLike\.aws:CalledVia: expected ForAnyValue: or ForAllValues:",
    ),
    (
        "a policy variable whose key the request lacks, in a Deny's Resource",
        policy(
            allow(Action=GET, Resource="*"),
            deny(Action=GET, Resource=f"{SECRETS}:${{aws:PrincipalTag/env}}/*"),
        ),
        Request(GET, SECRET),
        r"Statement\[1\]\.Resource: policy variable \$\{aws:PrincipalTag/env\}: expected a key",
    ),
    (
        "a policy variable whose key the request lacks, in a condition value",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"StringEquals": {"aws:ResourceTag/env": "${aws:username}"}},
            )
        ),
        Request(GET, SECRET, resource_tags={"env": "a"}),
        r"policy variable \$\{aws:username\}: expected a key the request carries",
    ),
    (
        "a multivalued key as a policy variable",
        policy(allow(Action=TAG, Resource=f"{SECRETS}:${{aws:TagKeys}}")),
        Request(TAG, SECRET, request_tags={"a": "1"}),
        r"policy variable \$\{aws:TagKeys\}: expected a single-valued key",
    ),
    (
        "a policy variable in a policy of Version 2008-10-17, which reads it literally",
        {
            "Version": "2008-10-17",
            "Statement": [allow(Action=GET, Resource=f"{SECRETS}:${{aws:PrincipalTag/env}}/*")],
        },
        Request(GET, SECRET, context={"aws:PrincipalTag/env": "test-app-staging"}),
        r"policy Version: expected 2012-10-17",
    ),
    (
        "Terraform's &{...} spelling left in a JSON policy",
        policy(allow(Action=GET, Resource=f"{SECRETS}:&{{aws:PrincipalTag/env}}/*")),
        Request(GET, SECRET, context={"aws:PrincipalTag/env": "test-app-staging"}),
        r"Resource: expected IAM's \$\{\.\.\.\}",
    ),
    (
        "a short ARN that does not end in *",
        policy(allow(Action=GET, Resource="arn:aws:secretsmanager")),
        Request(GET, SECRET),
        r"Resource: expected an ARN of six colon-separated segments, or fewer ending in \*",
    ),
    (
        "a verdict hanging on a * that ends an inner segment crossing a colon",
        policy(allow(Action=GET, Resource=f"arn:aws:*:{ACCOUNT}:secret:test-app-staging/*")),
        Request(GET, SECRET),
        r"does not hang on a \* crossing a colon",
    ),
    (
        "an ArnLike value of fewer than six segments",
        policy(
            allow(Action=GET, Resource="*", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:*"}})
        ),
        Request(GET, SECRET, context={"aws:SourceArn": LOG_GROUP}),
        r"ArnLike\.aws:SourceArn: expected an ARN of six colon-separated segments",
    ),
    (
        "an operator the evaluator does not model, even on an absent key",
        policy(
            allow(
                Action=GET,
                Resource="*",
                Condition={"NumericLessThan": {"secretsmanager:RecoveryWindowInDays": "7"}},
            )
        ),
        Request(GET, SECRET),
        r"NumericLessThan\.secretsmanager:RecoveryWindowInDays: expected an operator of",
    ),
    (
        "a Principal in an identity policy",
        policy(allow(Principal={"AWS": "*"}, Action=GET, Resource="*")),
        Request(GET, SECRET),
        r"Statement\[0\]\.Principal: expected none in an identity policy",
    ),
]


@pytest.mark.parametrize(
    ("policy_", "request_", "error"),
    [(p, r, e) for _, p, r, e in REFUSED],
    ids=[what for what, _, _, _ in REFUSED],
)
def test_the_evaluator_refuses_what_it_cannot_decide_as_aws(policy_, request_, error):
    with pytest.raises(ValueError, match=error):
        decide([policy_], request_)


def test_iam_simulate_refuses_a_statement_without_resource_as_well():
    with pytest.raises(TypeError, match="iam-simulate refused the case"):
        crosscheck([([policy(allow(Action=GET))], Request(GET, SECRET))], ACCOUNT)


STACK = """
data "aws_iam_policy_document" "base" {
  statement {
    sid       = "Read"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["${local.secrets}:*"]
  }
  statement {
    sid       = "Keys"
    actions   = ["kms:Decrypt"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "role" {
  source_policy_documents = [data.aws_iam_policy_document.base.json]

  statement {
    sid       = "Read"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["${local.secrets}:&{aws:PrincipalTag/env}/*"]
  }
}

data "aws_iam_policy_document" "no_resources" {
  statement {
    actions = ["secretsmanager:GetSecretValue"]
  }
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}
"""


@pytest.fixture
def stack(tmp_path):
    path = tmp_path / "main.tf"
    path.write_text(STACK, encoding="utf-8")
    return path


def test_terraform_policies_take_their_source_documents_and_iam_variables(stack):
    role = terraform_policy(stack, "role", {"local.secrets": SECRETS})
    # The source document's statements come first; one of the same sid is replaced.
    assert [s["Sid"] for s in role["Statement"]] == ["Keys", "Read"]
    assert role["Statement"][1]["Resource"] == [f"{SECRETS}:${{aws:PrincipalTag/env}}/*"]
    staging = Request(GET, SECRET, context={"aws:PrincipalTag/env": "test-app-staging"})
    prod = Request(GET, SECRET, context={"aws:PrincipalTag/env": "test-app-prod"})
    assert allows(role, staging)
    assert not allows(role, prod)
    assert allows(role, Request("kms:Decrypt", f"arn:aws:kms:eu-central-1:{ACCOUNT}:key/0a1b"))


def test_terraform_policies_refuse_what_an_identity_policy_cannot_hold(stack):
    with pytest.raises(ValueError, match=r"no_resources\.statement\[0\]: expected resources"):
        terraform_policy(stack, "no_resources", {})
    with pytest.raises(ValueError, match=r"trust\.statement\[0\]\.principals: expected none"):
        terraform_policy(stack, "trust", {})
