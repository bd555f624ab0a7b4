"""Pull-request plans run with the read-only plan role: what a plan reads must be allowed.

The plan role (infra/stacks/ci) holds AWS's ReadOnlyAccess and the stack's `terraform_plan`
policy. ReadOnlyAccess reads no secret values: its Secrets Manager part is `Describe*`,
`GetResourcePolicy` and `List*`, its KMS part `Describe*`, `Get*` and `List*` (the managed
policy's document, kept by zoph-io/MAMIP `policies/ReadOnlyAccess`). A plan of the database
stack makes two calls beyond that, found in the AWS provider 5.100.0 source:

* the refresh of `aws_secretsmanager_secret_version` calls GetSecretValue even when the value is
  write-only (`resourceSecretVersionRead` -> `findSecretVersionByTwoPartKey`;
  hashicorp/terraform-provider-aws#42383), and Secrets Manager decrypts it with the secret's
  KMS key, asking KMS with its service and the secret's ARN as encryption context;
* Terraform opens the ephemeral `aws_secretsmanager_random_password` at plan time, which calls
  GetRandomPassword (no resource).

The tests hold those calls against the two policies and check the grant stays that narrow. The
emulator test (marker `emulator`) applies the same two blocks to moto with the pinned provider,
plans again and holds every Secrets Manager call of that plan against the role, so the list
above is the provider's behaviour, not a belief. (moto does not encrypt with KMS; the key's
condition is checked by the fast tests only.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
from infra.conftest import TF_WRAPPER

from test_app_tooling.infra.iam import Request, crosscheck, decide, terraform_policy
from test_app_tooling.ports import free_port
from test_app_tooling.tools import REPO


CI_MAIN = REPO / "infra" / "stacks" / "ci" / "main.tf"
DATABASE_MAIN = REPO / "infra" / "stacks" / "database" / "main.tf"
ENVIRONMENT = "test-app-staging"
ACCOUNT = "123456789012"  # moto's account, for the emulator test below
REGION = "eu-central-1"
BASE_VALUES = {
    "data.aws_partition.current.partition": "aws",
    "local.name": ENVIRONMENT,
    "var.region": REGION,
    "data.aws_caller_identity.current.account_id": ACCOUNT,
}
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
SECRETS = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret"
# The part of arn:aws:iam::aws:policy/ReadOnlyAccess that concerns secrets and keys.
READ_ONLY_ACCESS: dict[str, Any] = {
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "kms:Describe*",
                "kms:Get*",
                "kms:List*",
                "secretsmanager:Describe*",
                "secretsmanager:GetResourcePolicy",
                "secretsmanager:List*",
            ],
            "Resource": "*",
        }
    ]
}


def _fill(text: str) -> str:
    for name, value in BASE_VALUES.items():
        text = text.replace("${" + name + "}", value)
    return text.strip('"')


def app_secret_arn() -> str:
    """ARN of the database stack's app secret as AWS forms it: name, dash, six random characters."""
    parsed = hcl2.loads(DATABASE_MAIN.read_text(encoding="utf-8"))
    secret = next(
        r['"aws_secretsmanager_secret"']['"app"']
        for r in parsed["resource"]
        if '"app"' in r.get('"aws_secretsmanager_secret"', {})
    )
    return f"{SECRETS}:{_fill(str(secret['name']))}-AbC123"


def secret_read(secret_arn: str) -> list[Request]:
    """GetSecretValue, and the KMS call Secrets Manager makes for it with the caller's rights."""
    return [
        Request("secretsmanager:GetSecretValue", secret_arn),
        Request(
            "kms:Decrypt",
            KEY,
            context={
                "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com",
                "kms:EncryptionContext:SecretARN": secret_arn,
            },
        ),
    ]


# Block kind and type in the database stack -> the calls its plan makes beyond ReadOnlyAccess.
PLAN_CALLS: dict[tuple[str, str], Callable[[], list[Request]]] = {
    ("resource", "aws_secretsmanager_secret_version"): lambda: secret_read(app_secret_arn()),
    ("ephemeral", "aws_secretsmanager_random_password"): lambda: [
        Request("secretsmanager:GetRandomPassword")
    ],
}


def plan_role() -> str:
    """The terraform-plan entry of the ci stack's roles, as written."""
    role = re.search(
        r"terraform-plan = \{(.*?)\n    \}", CI_MAIN.read_text(encoding="utf-8"), re.DOTALL
    )
    assert role, "infra/stacks/ci/main.tf has no terraform-plan role"
    return role[1]


def plan_role_policies() -> list[dict[str, Any]]:
    """ReadOnlyAccess and the inline policy document the plan role is given."""
    assert "iam::aws:policy/ReadOnlyAccess" in plan_role()
    inline = re.search(r"policy_json\s*=\s*data\.aws_iam_policy_document\.(\w+)\.json", plan_role())
    assert inline, plan_role()
    locals_ = hcl2.loads(CI_MAIN.read_text(encoding="utf-8"))["locals"]
    secret = next((_fill(str(b["app_secret_arn"])) for b in locals_ if "app_secret_arn" in b), "")
    state = f"arn:aws:s3:::test-app-tfstate-{ACCOUNT}-{REGION}"
    values = BASE_VALUES | {"local.app_secret_arn": secret, "local.state_bucket_arn": state}
    return [READ_ONLY_ACCESS, terraform_policy(CI_MAIN, inline[1], values)]


def plan_role_allows(req: Request) -> bool:
    # The role's policies are decided together, as IAM does.
    return decide(plan_role_policies(), req) == "Allowed"


def database_blocks() -> set[tuple[str, str]]:
    parsed = hcl2.loads(DATABASE_MAIN.read_text(encoding="utf-8"))
    return {
        (kind, block_type.strip('"'))
        for kind in ("resource", "ephemeral", "data")
        for block in parsed.get(kind, [])
        for block_type in block
    }


def test_the_database_stack_has_the_blocks_whose_plan_reads_secrets():
    # Both parametrised cases below must concern blocks the stack really has.
    assert set(PLAN_CALLS) <= database_blocks(), sorted(database_blocks())


@pytest.mark.parametrize("block", sorted(PLAN_CALLS), ids="-".join)
def test_the_plan_role_allows_what_a_plan_of_the_database_stack_calls(block):
    denied = [r for r in PLAN_CALLS[block]() if not plan_role_allows(r)]
    assert not denied, f"a plan of {block} would get AccessDenied for {denied}"


MASTER_SECRET = f"{SECRETS}:rds!cluster-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9-XyZ789"


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(secret_read(MASTER_SECRET)[0], id="master-secret"),
        pytest.param(secret_read(MASTER_SECRET)[1], id="master-secret-key"),
        pytest.param(
            secret_read(f"{SECRETS}:test-app-prod/database-app-AbC123")[0], id="other-env"
        ),
        pytest.param(
            secret_read(f"{SECRETS}:{ENVIRONMENT}/database-app-extra-AbC123")[0],
            id="longer-name",
        ),
        pytest.param(
            Request(
                "kms:Decrypt",
                KEY,
                context={"kms:EncryptionContext:SecretARN": app_secret_arn()},
            ),
            id="key-outside-secrets-manager",
        ),
        pytest.param(Request("secretsmanager:PutSecretValue", "*"), id="write"),
        pytest.param(Request("kms:GenerateDataKey", KEY), id="encrypt"),
    ],
)
def test_the_plan_role_reads_no_other_secret_and_writes_none(request_):
    assert not plan_role_allows(request_), request_


STATE_BUCKET = f"arn:aws:s3:::test-app-tfstate-{ACCOUNT}-{REGION}"
STATE = f"{STATE_BUCKET}/stacks/database/terraform.tfstate"


def state_key(context_arn: str, *, via: str = f"s3.{REGION}.amazonaws.com") -> Request:
    """The KMS call S3 makes with the caller's rights to read or write the encrypted state.

    The encryption context is the object's ARN, or the bucket's with an S3 Bucket Key.
    """
    return Request(
        "kms:Decrypt",
        KEY,
        context={"kms:ViaService": via, "kms:EncryptionContext:aws:s3:arn": context_arn},
    )


# The state calls of every plan (the `terraform_state` document, the plan role's source).
STATE_CALLS = [
    Request("s3:ListBucket", STATE_BUCKET),
    Request("s3:GetObject", STATE),
    Request("s3:PutObject", f"{STATE}.tflock"),
    Request("s3:DeleteObject", f"{STATE}.tflock"),
    state_key(STATE),
    state_key(STATE_BUCKET),
]
REFUSED = [
    secret_read(MASTER_SECRET)[0],
    secret_read(MASTER_SECRET)[1],
    secret_read(f"{SECRETS}:test-app-prod/database-app-AbC123")[0],
    secret_read(f"{SECRETS}:{ENVIRONMENT}/database-app-extra-AbC123")[0],
    Request("kms:Decrypt", KEY, context={"kms:EncryptionContext:SecretARN": app_secret_arn()}),
    Request("kms:GenerateDataKey", KEY),
    Request("s3:PutObject", STATE),
    state_key("arn:aws:s3:::another-bucket/terraform.tfstate"),
    state_key(STATE, via=f"secretsmanager.{REGION}.amazonaws.com"),
    Request("kms:Decrypt", KEY, context={"kms:EncryptionContext:aws:s3:arn": STATE}),
]


def test_the_plan_role_reads_the_state_and_uses_its_key_only_through_s3():
    # ci/main.tf `terraform_state`: the state key through S3 for the state bucket's objects.
    denied = [r for r in STATE_CALLS if not plan_role_allows(r)]
    assert not denied, f"a plan would get AccessDenied for {denied}"
    allowed = [r for r in REFUSED[-4:] if plan_role_allows(r)]
    assert not allowed, f"the plan role may {allowed}"


def key_context(r: Request) -> bool:
    return any(k.startswith("kms:EncryptionContext:") for k in r.context)


def test_an_independent_evaluator_gives_the_same_verdicts():
    # iam-simulate decides the plan's calls and the refusals from the same policies, except
    # the KMS calls keyed on kms:EncryptionContext:<key>: see the xfail below.
    allowed = [r for make in PLAN_CALLS.values() for r in make()] + STATE_CALLS
    allowed = [r for r in allowed if not key_context(r)]
    refused = [r for r in REFUSED if not key_context(r)]
    assert allowed
    assert refused
    cases = [(plan_role_policies(), r) for r in allowed + refused]
    theirs = crosscheck(cases, ACCOUNT)
    assert [decide(policies, r) for policies, r in cases] == theirs
    assert [v == "Allowed" for v in theirs] == [True] * len(allowed) + [False] * len(refused)


# The iam-simulate version that drops kms:EncryptionContext:<key> from the request: its match
# of variable condition keys knows only the `prefix/<name>` form (`listHasVariableKeyMatch` in
# dist/esm/simulation_engine/simulationEngine.js), so crosscheck refuses every such case.
DROPS_KEY_CONTEXT = "0.1.173"


@pytest.mark.xfail(
    raises=TypeError,
    strict=True,
    reason=(
        f"iam-simulate {DROPS_KEY_CONTEXT} drops kms:EncryptionContext:<key> "
        "(listHasVariableKeyMatch knows only prefix/<name> keys); a version that keeps it "
        "passes, and this strict xfail fails"
    ),
)
def test_an_independent_evaluator_decides_the_key_context_cases():
    package = json.loads((REPO / "tooling" / "node" / "package.json").read_text(encoding="utf-8"))
    installed = package["devDependencies"]["@cloud-copilot/iam-simulate"]
    assert installed == DROPS_KEY_CONTEXT, (
        f"iam-simulate is {installed} now: see whether it keeps kms:EncryptionContext:<key>"
    )
    allowed = [r for make in PLAN_CALLS.values() for r in make()] + STATE_CALLS
    allowed = [r for r in allowed if key_context(r)]
    refused = [r for r in REFUSED if key_context(r)]
    assert allowed
    assert refused
    cases = [(plan_role_policies(), r) for r in allowed + refused]
    theirs = crosscheck(cases, ACCOUNT)
    assert [decide(policies, r) for policies, r in cases] == theirs
    assert [v == "Allowed" for v in theirs] == [True] * len(allowed) + [False] * len(refused)


# The same two blocks as the database stack, against the emulator: which Secrets Manager calls
# does the provider really make in a plan after the apply?
PROBE = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}

provider "aws" {
  region                      = "%(region)s"
  access_key                  = "emulator"
  secret_key                  = "emulator"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    secretsmanager = "%(endpoint)s"
  }
}

ephemeral "aws_secretsmanager_random_password" "app" {
  password_length = 32
}

resource "aws_secretsmanager_secret" "app" {
  name = "%(name)s"
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id                = aws_secretsmanager_secret.app.id
  secret_string_wo         = ephemeral.aws_secretsmanager_random_password.app.random_password
  secret_string_wo_version = 1
}

output "secret_arn" {
  value = aws_secretsmanager_secret.app.arn
}
"""
MOTO_START_SECONDS = 30
TF_SECONDS = 300


@pytest.fixture
def moto_endpoint(tool, tmp_path) -> Iterator[str]:
    port = free_port()
    with (tmp_path / "moto.log").open("wb") as log:
        moto = subprocess.Popen(
            [tool("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + MOTO_START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):  # noqa: S310
                    break
            except OSError:
                assert time.monotonic() < deadline, "moto did not answer"
                time.sleep(0.3)
        yield endpoint
    finally:
        os.killpg(moto.pid, signal.SIGTERM)
        moto.wait(timeout=15)


def _terraform(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TF_WRAPPER), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TF_SECONDS,
        check=False,
    )


@pytest.mark.emulator
def test_the_plan_role_allows_every_call_of_a_real_plan(moto_endpoint, terraform_env, tmp_path):
    work = tmp_path / "probe"
    work.mkdir()
    name = app_secret_arn().split(":secret:")[1].rsplit("-", 1)[0]
    (work / "main.tf").write_text(
        PROBE % {"region": REGION, "endpoint": moto_endpoint, "name": name}, encoding="utf-8"
    )
    env = terraform_env | {"TF_LOG_PROVIDER": "debug"}
    for args in (("init", "-input=false"), ("apply", "-auto-approve", "-input=false")):
        done = _terraform(work, env, *args)
        assert done.returncode == 0, done.stdout + done.stderr
    arn = json.loads(_terraform(work, env, "output", "-json").stdout)["secret_arn"]["value"]
    plan = _terraform(work, env, "plan", "-input=false", "-detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr  # refreshed, nothing to change
    called = set(re.findall(r"rpc\.method=(\w+)", plan.stderr + plan.stdout))
    # The refresh reads the value, the ephemeral password is opened: the two calls at issue.
    assert {"GetSecretValue", "GetRandomPassword"} <= called, called
    requests = [
        Request(f"secretsmanager:{op}", "*" if op == "GetRandomPassword" else arn)
        for op in sorted(called)
    ]
    denied = [r for r in requests if not plan_role_allows(r)]
    assert not denied, f"the plan role would be refused {denied}"
