"""Azure Key Vault secrets over its REST API, signed in with AKS workload identity.

Two calls, so no SDK in the image: a token from Entra ID for the pod's identity (the federated
token the workload identity webhook mounts, exchanged as a client assertion:
https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#third-case-access-token-request-with-a-federated-credential),
then `GET`/`PUT {vault}/secrets/{name}?api-version=7.4`
(https://learn.microsoft.com/rest/api/keyvault/secrets/set-secret/set-secret).

The webhook sets `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE` and
`AZURE_AUTHORITY_HOST` in a pod labelled `azure.workload.identity/use: "true"` whose
ServiceAccount carries the `azure.workload.identity/client-id` annotation.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


API_VERSION = "7.4"
SCOPE = "https://vault.azure.net/.default"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SECRET_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
TIMEOUT_SECONDS = 30

# POST/GET/PUT one request: (method, url, headers, body) -> (status, parsed JSON body)
Transport = Callable[[str, str, Mapping[str, str], bytes | None], tuple[int, Any]]


class KeyVaultError(RuntimeError):
    """A Key Vault or Entra ID call that did not succeed, with the status and message."""


def urllib_transport(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None
) -> tuple[int, Any]:
    """Send one HTTPS request with the standard library."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)  # noqa: S310 - https URLs checked by the callers
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        text = err.read().decode("utf-8", "replace")
        try:
            return err.code, json.loads(text)
        except ValueError:
            return err.code, {"error": {"message": text[:200]}}


@dataclass(frozen=True)
class WorkloadIdentity:
    """The pod's identity as the workload identity webhook describes it."""

    client_id: str
    tenant_id: str
    token_file: Path
    authority: str = "https://login.microsoftonline.com/"

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> WorkloadIdentity:
        """Read the webhook's variables; a missing one is named (`ValueError`)."""
        names = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE")
        missing = [name for name in names if not env.get(name)]
        if missing:
            msg = (
                f"workload identity: {', '.join(missing)} not set (is the pod labelled "
                'azure.workload.identity/use: "true" and its ServiceAccount annotated?)'
            )
            raise ValueError(msg)
        authority = env.get("AZURE_AUTHORITY_HOST") or cls.authority
        return cls(
            env["AZURE_CLIENT_ID"],
            env["AZURE_TENANT_ID"],
            Path(env["AZURE_FEDERATED_TOKEN_FILE"]),
            authority if authority.endswith("/") else f"{authority}/",
        )

    def token(self, transport: Transport) -> str:
        """Return an access token for Key Vault (the federated token is read afresh: it renews)."""
        form = urllib.parse.urlencode(
            {
                "client_id": self.client_id,
                "scope": SCOPE,
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.token_file.read_text(encoding="utf-8").strip(),
            }
        ).encode()
        url = f"{self.authority}{self.tenant_id}/oauth2/v2.0/token"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        status, body = transport("POST", url, headers, form)
        token = body.get("access_token") if isinstance(body, dict) else None
        if status != 200 or not isinstance(token, str):  # noqa: PLR2004 - HTTP OK
            msg = f"Entra ID token for client {self.client_id}: HTTP {status} {_message(body)}"
            raise KeyVaultError(msg)
        return token


def _message(body: Any) -> str:  # noqa: ANN401 - a parsed JSON body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
        return str(body.get("error_description") or error or "")
    return ""


class KeyVault:
    """The secrets of one vault."""

    def __init__(
        self,
        vault_url: str,
        identity: WorkloadIdentity,
        transport: Transport = urllib_transport,
    ) -> None:
        if not vault_url.startswith(("https://", "http://127.0.0.1")):
            msg = f"--key-vault-url {vault_url!r}: expected https://<name>.vault.azure.net"
            raise ValueError(msg)
        self.vault_url = vault_url.rstrip("/")
        self.identity = identity
        self.transport = transport
        self._token: str | None = None

    def _call(self, method: str, name: str, body: dict[str, Any] | None = None) -> Any:  # noqa: ANN401
        if not SECRET_NAME.match(name):
            msg = f"secret name {name!r}: expected 1-127 letters, digits and dashes"
            raise ValueError(msg)
        if self._token is None:
            self._token = self.identity.token(self.transport)
        url = f"{self.vault_url}/secrets/{name}?api-version={API_VERSION}"
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        status, reply = self.transport(method, url, headers, data)
        if status != 200:  # noqa: PLR2004 - HTTP OK
            msg = f"Key Vault {method} secret {name}: HTTP {status} {_message(reply)}"
            raise KeyVaultError(msg)
        return reply

    def get_secret(self, name: str) -> str:
        """Return the current value of a secret."""
        reply = self._call("GET", name)
        value = reply.get("value") if isinstance(reply, dict) else None
        if not isinstance(value, str):
            msg = f"Key Vault secret {name}: the reply holds no string `value`"
            raise KeyVaultError(msg)
        return value

    def set_secret(self, name: str, value: str, content_type: str = "application/json") -> str:
        """Write a new version of a secret; return the version's id."""
        reply = self._call("PUT", name, {"value": value, "contentType": content_type})
        return str(reply.get("id", "")) if isinstance(reply, dict) else ""
