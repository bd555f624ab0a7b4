"""A throwaway certificate authority for a PostgreSQL server on loopback, made with openssl.

`make_certificates` writes, into one folder, a CA (`ca.crt`), a server certificate signed by it
for the given IP addresses (`server.crt`, key `server.key`, mode 0600) and an unrelated CA
(`other-ca.crt`): a client that verifies against `ca.crt` with `sslmode=verify-full` accepts the
server; one given `other-ca.crt` refuses it, as a client whose trust store lacks the server's
root does. The server key must belong to the server's OS user (`chown` it where that is
another user): PostgreSQL refuses a key others can read.

The extensions are spelled out, not left to openssl.cnf's defaults, so the chain passes strict
verification (`openssl verify -x509_strict`, Python 3.13's default `VERIFY_X509_STRICT`): each CA
has a critical basicConstraints, a critical keyUsage with keyCertSign and a subject key
identifier; the server certificate has an authority key identifier, a keyUsage and serverAuth.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from test_app_tooling.tools import run_tool


DAYS = 30
CA_EXTENSIONS = (
    "basicConstraints = critical, CA:TRUE",
    "keyUsage = critical, keyCertSign, cRLSign",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid:always",
)
SERVER_EXTENSIONS = (
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    "extendedKeyUsage = serverAuth",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid:always",
)


@dataclass(frozen=True)
class Certificates:
    """The files `make_certificates` wrote."""

    folder: Path

    @property
    def ca(self) -> Path:
        """The CA that signed the server's certificate."""
        return self.folder / "ca.crt"

    @property
    def other_ca(self) -> Path:
        """A CA that signed nothing the server presents."""
        return self.folder / "other-ca.crt"

    @property
    def server_cert(self) -> Path:
        """The server's certificate (`ssl_cert_file`)."""
        return self.folder / "server.crt"

    @property
    def server_key(self) -> Path:
        """The server's private key (`ssl_key_file`), mode 0600."""
        return self.folder / "server.key"


def _openssl(folder: Path, *args: str) -> None:
    run_tool("openssl", *args, cwd=folder)


def make_certificates(folder: Path, addresses: list[str]) -> Certificates:
    """A CA, a server certificate for ``addresses`` (IPs, SAN) signed by it, an unrelated CA."""
    if not addresses:
        raise ValueError("addresses: expected at least one IP address for the certificate")
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"addresses: expected IP addresses, got {address!r}") from None
    folder.mkdir(parents=True, exist_ok=True)
    ca_extensions = [arg for line in CA_EXTENSIONS for arg in ("-addext", line)]
    for ca in ("ca", "other-ca"):
        _openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(DAYS),
                 "-subj", f"/CN={ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.crt",
                 *ca_extensions)  # fmt: skip
    _openssl(folder, "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={addresses[0]}",
             "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    san = "subjectAltName = " + ", ".join(f"IP:{address}" for address in addresses)
    (folder / "san.ext").write_text("\n".join((san, *SERVER_EXTENSIONS)) + "\n")
    _openssl(folder, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", str(DAYS), "-extfile", "san.ext",
             "-out", "server.crt")  # fmt: skip
    made = Certificates(folder)
    made.server_key.chmod(0o600)
    return made
