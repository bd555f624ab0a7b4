"""The four steps of the alternating-users rotation, as AWS's multi-user function performs them.

The steps follow `SecretsManagerRDSPostgreSQLRotationMultiUser`
(aws-samples/aws-secrets-manager-rotation-lambdas, `lambda_function.py`):

* createSecret: unless the token's version already holds a value, the alternate user of
  AWSCURRENT (`test_app` <-> `test_app_clone`) with a new password (GetRandomPassword) is put as
  AWSPENDING under the rotation token;
* setSecret: returns when the pending login already works; else checks that the pending user
  is the current one's alternate on the same host, logs in with the current login (the
  confused-deputy check), then with the master secret's login, and creates the alternate
  (`CREATE ROLE ... WITH LOGIN PASSWORD`, `GRANT <current> TO <alternate>`, one transaction) or
  sets its password;
* testSecret: logs in with the pending login and runs `SELECT now()`;
* finishSecret: moves AWSCURRENT to the token's version.

The steps see Secrets Manager and PostgreSQL only through the two protocols below, so the same
code runs in the Lambda (boto3, pg8000) and in the rehearsal (moto). Statements are built by the
server (`format()` with `%I` for names and `%L` for the password) from bound parameters, never
by pasting values into SQL. A failing step raises `RotationError` and leaves AWSCURRENT where it
was, so the current login keeps working.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol


CLONE_SUFFIX = "_clone"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
# AWS's default EXCLUDE_CHARACTERS: characters that break connection strings.
EXCLUDE_CHARACTERS = ":/@\"'\\"
PASSWORD_LENGTH = 32
MAX_NAME = 63  # PostgreSQL's NAMEDATALEN - 1

Login = Mapping[str, Any]
Rows = list[list[Any]]


class RotationError(RuntimeError):
    """A rotation step failed; the secret's AWSCURRENT version is unchanged."""


class Secrets(Protocol):
    """What the steps need of Secrets Manager."""

    def value(self, secret_id: str, stage: str, token: str | None = None) -> dict[str, Any] | None:
        """The secret's JSON at a stage (and version); None when that version holds no value."""

    def stages(self, secret_id: str) -> dict[str, list[str]]:
        """Version id -> staging labels."""

    def put_pending(self, secret_id: str, token: str, value: Mapping[str, Any]) -> None:
        """Store `value` as the version `token`, labelled AWSPENDING."""

    def move_current(self, secret_id: str, token: str, previous: str | None) -> None:
        """Move AWSCURRENT from version `previous` to version `token`."""

    def random_password(self, length: int, exclude: str) -> str:
        """A new password (GetRandomPassword)."""


class Database(Protocol):
    """What the steps need of PostgreSQL."""

    def run(self, login: Login, sql: str, params: Mapping[str, str] | None = None) -> Rows | None:
        """Run `sql` (`:name` parameters) as `login`; its rows, None when login or TLS is refused.

        A statement that fails once logged in raises `RotationError`.
        """


# One call of Secrets Manager's API: (action, request) -> response. A missing version raises
# `NotFoundError`; other client errors propagate as the client raises them.
Call = Callable[[str, dict[str, Any]], dict[str, Any]]


class NotFoundError(LookupError):
    """Secrets Manager answered ResourceNotFoundException."""


class ApiSecrets:
    """`Secrets` over Secrets Manager's API actions, whatever client performs them."""

    def __init__(self, call: Call) -> None:
        self._call = call

    def value(self, secret_id: str, stage: str, token: str | None = None) -> dict[str, Any] | None:
        request: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
        if token:
            request["VersionId"] = token
        try:
            answer = self._call("GetSecretValue", request)
        except NotFoundError:
            return None
        if "SecretString" not in answer:
            return None
        loaded = json.loads(answer["SecretString"])
        if not isinstance(loaded, dict):
            raise RotationError(f"{secret_id} at {stage}: expected a JSON object")
        return loaded

    def stages(self, secret_id: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = self._call("DescribeSecret", {"SecretId": secret_id}).get(
            "VersionIdsToStages", {}
        )
        return found

    def rotation_disabled(self, secret_id: str) -> bool:
        """Whether rotation was turned off: DescribeSecret's RotationEnabled present and false.

        AWS's function refuses exactly this (`"RotationEnabled" in metadata and not
        metadata["RotationEnabled"]`); Secrets Manager leaves the key out for a secret never
        configured for rotation, as during the configuration test RotateSecret runs.
        """
        metadata = self._call("DescribeSecret", {"SecretId": secret_id})
        return "RotationEnabled" in metadata and not metadata["RotationEnabled"]

    def put_pending(self, secret_id: str, token: str, value: Mapping[str, Any]) -> None:
        self._call(
            "PutSecretValue",
            {
                "SecretId": secret_id,
                "ClientRequestToken": token,
                "SecretString": json.dumps(dict(value)),
                "VersionStages": ["AWSPENDING"],
            },
        )

    def move_current(self, secret_id: str, token: str, previous: str | None) -> None:
        request: dict[str, Any] = {
            "SecretId": secret_id,
            "VersionStage": "AWSCURRENT",
            "MoveToVersionId": token,
        }
        if previous:
            request["RemoveFromVersionId"] = previous
        self._call("UpdateSecretVersionStage", request)

    def random_password(self, length: int, exclude: str) -> str:
        answer = self._call(
            "GetRandomPassword", {"PasswordLength": length, "ExcludeCharacters": exclude}
        )
        return str(answer["RandomPassword"])


def alternate(username: str) -> str:
    """The other user of the pair, as the function's get_alt_username does."""
    if username.endswith(CLONE_SUFFIX):
        return username.removesuffix(CLONE_SUFFIX)
    if len(username) + len(CLONE_SUFFIX) > MAX_NAME:
        raise RotationError(f"{username}{CLONE_SUFFIX} exceeds {MAX_NAME} characters")
    return username + CLONE_SUFFIX


def _required(sm: Secrets, secret_id: str, stage: str, token: str | None = None) -> dict[str, Any]:
    found = sm.value(secret_id, stage, token)
    if found is None:
        raise RotationError(f"{secret_id} has no {stage} value" + (f" at {token}" if token else ""))
    for key in ("username", "password", "host"):
        if not isinstance(found.get(key), str) or not found[key]:
            raise RotationError(f"{secret_id} {stage}.{key}: expected a non-empty string")
    return found


def create_secret(
    sm: Secrets, secret_id: str, token: str, exclude: str = EXCLUDE_CHARACTERS
) -> None:
    """createSecret: the alternate user with a new password, as AWSPENDING."""
    current = _required(sm, secret_id, "AWSCURRENT")
    if sm.value(secret_id, "AWSPENDING", token) is not None:
        return
    pending = dict(current)
    pending["username"] = alternate(current["username"])
    pending["password"] = sm.random_password(PASSWORD_LENGTH, exclude)
    sm.put_pending(secret_id, token, pending)


def _one(rows: Rows | None, what: str) -> Any:  # noqa: ANN401 - a single cell of any type
    if not rows or not rows[0]:
        raise RotationError(f"{what}: no row")
    return rows[0][0]


def set_secret(sm: Secrets, db: Database, secret_id: str, token: str) -> list[str]:
    """setSecret: create the alternate user or set its password, logged in as the master.

    Return the statements run as the master, the password hidden (none when the pending login
    worked already).
    """
    current = _required(sm, secret_id, "AWSCURRENT")
    pending = _required(sm, secret_id, "AWSPENDING", token)
    if db.run(pending, "SELECT 1") is not None:
        return []
    if alternate(current["username"]) != pending["username"]:
        raise RotationError(f"{pending['username']} is not the current user's pair")
    if current["host"] != pending["host"]:
        raise RotationError("the pending login is for another host")
    if db.run(current, "SELECT 1") is None:
        raise RotationError("the current login does not work (confused deputy check)")
    master_arn = current.get("masterarn")
    if not isinstance(master_arn, str) or not master_arn:
        raise RotationError(f"{secret_id} AWSCURRENT.masterarn: expected the master secret's ARN")
    master_secret = sm.value(master_arn, "AWSCURRENT")
    if master_secret is None:
        raise RotationError("the master secret has no AWSCURRENT value")
    master = {**current, **master_secret, "dbname": current.get("dbname")}
    exists = db.run(
        master,
        "SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = CAST(:name AS text)",
        {"name": pending["username"]},
    )
    if exists is None:
        raise RotationError("cannot log in with the master secret")
    names = {"new": pending["username"], "current": current["username"]}
    if _one(exists, "the pending user's role") == 0:
        template = "CREATE ROLE %I WITH LOGIN PASSWORD %L; GRANT %I TO %I"
        args = (
            "CAST(:new AS text), CAST(:password AS text), CAST(:current AS text), "
            "CAST(:new AS text)"
        )
        shown = [
            f"CREATE ROLE {pending['username']} WITH LOGIN PASSWORD '<new password>'",
            f"GRANT {current['username']} TO {pending['username']}",
        ]
    else:
        template = "ALTER ROLE %I WITH PASSWORD %L"
        args = "CAST(:new AS text), CAST(:password AS text)"
        shown = [f"ALTER USER {pending['username']} WITH PASSWORD '<new password>'"]
    statement = _one(
        db.run(
            master,
            f"SELECT format('{template}', {args})",
            {**names, "password": pending["password"]},
        ),
        "format()",
    )
    # Several statements in one simple query run as one transaction: the role and its grant
    # come together or not at all.
    if db.run(master, str(statement)) is None:
        raise RotationError("cannot log in with the master secret")
    return shown


def test_secret(sm: Secrets, db: Database, secret_id: str, token: str) -> None:
    """testSecret: the pending login works."""
    if db.run(_required(sm, secret_id, "AWSPENDING", token), "SELECT now()") is None:
        raise RotationError("cannot log in with the pending secret")


def finish_secret(sm: Secrets, secret_id: str, token: str) -> None:
    """finishSecret: AWSCURRENT moves to the token's version."""
    stages = sm.stages(secret_id)
    current = next((v for v, s in stages.items() if "AWSCURRENT" in s), None)
    if current == token:
        return
    sm.move_current(secret_id, token, current)


def run_step(  # noqa: PLR0913 - the step's name, its two clients, its three inputs
    step: str,
    sm: Secrets,
    db: Database,
    secret_id: str,
    token: str,
    *,
    exclude: str = EXCLUDE_CHARACTERS,
) -> list[str]:
    """Run one step by its Secrets Manager name; setSecret's statements (else empty)."""
    if step == "createSecret":
        create_secret(sm, secret_id, token, exclude)
    elif step == "setSecret":
        return set_secret(sm, db, secret_id, token)
    elif step == "testSecret":
        test_secret(sm, db, secret_id, token)
    elif step == "finishSecret":
        finish_secret(sm, secret_id, token)
    else:
        raise RotationError(f"Step: expected one of {', '.join(STEPS)}, got {step!r}")
    return []
