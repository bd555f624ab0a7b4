"""The Lambda entry point: `test_app_rotation.handler.lambda_handler`.

Secrets Manager invokes it once per step with `{"SecretId", "ClientRequestToken", "Step"}`. As
AWS's multi-user function, it refuses a secret whose rotation was turned off (DescribeSecret's
RotationEnabled present and false: a secret never configured for rotation goes on) and a token
that is not a version of the secret labelled AWSPENDING, returns when that version is already
AWSCURRENT, and otherwise runs the step (`test_app_rotation.steps`).

Secrets Manager is reached with the Lambda runtime's boto3 at `SECRETS_MANAGER_ENDPOINT` (as
AWS's template sets it); PostgreSQL with pg8000 over TLS verify-full against the CA bundle
packaged beside this module (`ca-bundle.pem`: Amazon RDS's global bundle in the Lambda zip).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from test_app_rotation.postgres import Postgres
from test_app_rotation.steps import (
    EXCLUDE_CHARACTERS,
    ApiSecrets,
    NotFoundError,
    RotationError,
    run_step,
)


CA_BUNDLE = Path(__file__).with_name("ca-bundle.pem")
log = logging.getLogger(__name__)
log.setLevel(logging.INFO)


def boto_secrets(endpoint: str | None) -> ApiSecrets:
    """`ApiSecrets` over boto3's secretsmanager client (the Lambda runtime's boto3)."""
    import boto3  # noqa: PLC0415 - the runtime's, imported only where it runs

    client = boto3.client("secretsmanager", endpoint_url=endpoint or None)

    def call(action: str, request: dict[str, Any]) -> dict[str, Any]:
        method = getattr(client, re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower())
        try:
            answer: dict[str, Any] = method(**request)
        except client.exceptions.ResourceNotFoundException as err:
            raise NotFoundError(str(err)) from err
        return answer

    return ApiSecrets(call)


def check_event(sm: ApiSecrets, secret_id: str, token: str) -> bool:
    """Whether the step should run: False when the token's version is already AWSCURRENT."""
    if sm.rotation_disabled(secret_id):
        raise RotationError(f"Secret {secret_id} is not enabled for rotation")
    versions = sm.stages(secret_id)
    if token not in versions:
        raise RotationError(f"Secret version {token} has no stage for rotation of {secret_id}")
    if "AWSCURRENT" in versions[token]:
        log.info("Secret version %s already set as AWSCURRENT for %s", token, secret_id)
        return False
    if "AWSPENDING" not in versions[token]:
        raise RotationError(f"Secret version {token} not set as AWSPENDING for {secret_id}")
    return True


def handle(event: dict[str, Any], sm: ApiSecrets, db: Postgres, exclude: str) -> None:
    """One invocation: check the event, run its step."""
    for key in ("SecretId", "ClientRequestToken", "Step"):
        if not isinstance(event.get(key), str) or not event[key]:
            raise RotationError(f"event.{key}: expected a non-empty string, got {event.get(key)!r}")
    secret_id, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    if not check_event(sm, secret_id, token):
        return
    run_step(step, sm, db, secret_id, token, exclude=exclude)
    log.info("%s: %s done for version %s", secret_id, step, token)


def lambda_handler(event: dict[str, Any], context: object) -> None:  # noqa: ARG001 - Lambda's signature
    """Secrets Manager's rotation event -> the step it names."""
    if not CA_BUNDLE.is_file():
        raise RotationError(f"{CA_BUNDLE.name}: expected the CA bundle beside the handler")
    handle(
        event,
        boto_secrets(os.environ.get("SECRETS_MANAGER_ENDPOINT")),
        Postgres(CA_BUNDLE),
        os.environ.get("EXCLUDE_CHARACTERS", EXCLUDE_CHARACTERS),
    )
