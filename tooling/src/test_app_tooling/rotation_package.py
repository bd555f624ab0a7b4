"""Build the rotation Lambda's zip: the handler package, its driver and the RDS CA bundle.

    python -m test_app_tooling.rotation_package [--out build/rotation-lambda.zip]
    python -m test_app_tooling.rotation_package --ca-bundle tests-ca.crt --out /tmp/x.zip

The zip holds `test_app_rotation` (rotation/src), the packages of rotation/requirements.lock
installed for the Lambda runtime (Python 3.13, arm64; pure-Python wheels only, every one checked
against its hash by pip --require-hashes; boto3 is the runtime's and not bundled), and
`test_app_rotation/ca-bundle.pem`: Amazon RDS's global CA bundle, downloaded from
`RDS_BUNDLE_URL` and refused unless its SHA-256 is `RDS_BUNDLE_SHA256`, or, with `--ca-bundle`,
the given file (tests, with their own CA). The zip is deterministic: the same inputs give the
same bytes (sorted entries, fixed times and modes, entries stored uncompressed so no zlib build
changes them), so Terraform's `source_code_hash` changes only when the code, the pins or the CA
do. It prints the zip's path, size and
`filebase64sha256`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from test_app_tooling.tools import REPO


ROTATION = REPO / "rotation"
SOURCE = ROTATION / "src" / "test_app_rotation"
LOCK = ROTATION / "requirements.lock"
DEFAULT_OUT = REPO / "build" / "rotation-lambda.zip"
BUNDLE_NAME = "ca-bundle.pem"
# The Lambda function's runtime and architecture (infra/stacks/database: python3.13, arm64).
PYTHON_VERSION = "3.13"
PLATFORM = "manylinux2014_aarch64"
# Amazon RDS's CA bundle for every commercial region (rds-ca-rsa2048-g1, rds-ca-rsa4096-g1,
# rds-ca-ecc384-g1 and their regional intermediates; 108 certificates), pinned by SHA-256. The
# same digest is pinned by BuildKit `ADD --checksum` lines in several public repositories
# (retrieved 2026-07-28); when AWS changes the bundle the build fails until this is reviewed.
# RDS_BUNDLE_SHA256 is the one place the digest is pinned (the error says how to renew it); only
# a build of the database stack's zip downloads the bundle (CI builds it when that stack is in
# the run; a destroy needs no zip: scripts/terraform/stacks).
RDS_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
RDS_BUNDLE_SHA256 = "e5bb2084ccf45087bda1c9bffdea0eb15ee67f0b91646106e466714f9de3c7e3"
PIN_FILE = "tooling/src/test_app_tooling/rotation_package.py"
# Where AWS lists its certificate authorities and bundles and announces changes to them.
RDS_BUNDLE_DOCS = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.SSL.html"
    "#UsingWithRDS.SSL.CertificatesAllRegions"
)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: no build time in the bytes


class PackageError(RuntimeError):
    """The package cannot be built as pinned."""


def checked_bundle(data: bytes, sha256: str, source: str) -> bytes:
    """`data` when its SHA-256 is `sha256` and it holds PEM certificates; else `PackageError`.

    Another digest means AWS republished the bundle: the error says how to renew the pin.
    """
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise PackageError(
            f"{source}: expected SHA-256 {sha256}, got {actual}. AWS has published another RDS "
            "CA bundle: review the certificate authorities it adds or drops against AWS's page "
            f'({RDS_BUNDLE_DOCS}), then set RDS_BUNDLE_SHA256 = "{actual}" in {PIN_FILE} (the '
            "one place it is pinned) and run `make rotation-package` again; the database "
            "stack's next apply deploys the new zip"
        )
    return certificates(data, source)


def certificates(data: bytes, source: str) -> bytes:
    """`data` when OpenSSL loads it as a bundle of PEM certificates; else `PackageError`."""
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise PackageError(f"{source}: expected PEM certificates, got none")
    try:
        ssl.create_default_context(cadata=data.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as err:
        raise PackageError(f"{source}: expected PEM certificates, got {err}") from err
    return data


def download_bundle(url: str = RDS_BUNDLE_URL, sha256: str = RDS_BUNDLE_SHA256) -> bytes:
    """The RDS CA bundle from `url`, checked against `sha256` (`checked_bundle`)."""
    if not url.startswith(("https://", "file://")):
        raise PackageError(f"--ca-url: expected an https:// or file:// URL, got {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:  # noqa: S310 - checked above
            data: bytes = answer.read()
    except OSError as err:
        raise PackageError(f"{url}: download failed: {err}") from err
    return checked_bundle(data, sha256, url)


def given_bundle(path: Path) -> bytes:
    """The CA file given with `--ca-bundle`, checked to hold certificates."""
    if not path.is_file():
        raise PackageError(f"--ca-bundle: expected a file, got {str(path)!r}")
    return certificates(path.read_bytes(), "--ca-bundle")


def install_dependencies(target: Path, lock: Path = LOCK) -> None:
    """Install exactly `lock` into `target` with pip, for the Lambda runtime, hashes checked."""
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--require-hashes", "--no-deps", "--only-binary=:all:", "--no-compile",
        "--implementation", "cp", "--python-version", PYTHON_VERSION, "--platform", PLATFORM,
        "--target", str(target), "--requirement", str(lock),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise PackageError(f"pip install -r {lock.name}: {done.stderr.strip()[-2000:]}")


def write_zip(tree: Path, out: Path) -> None:
    """Zip `tree` deterministically: sorted paths, fixed times and modes, no caches."""
    files = sorted(
        (p for p in tree.rglob("*") if p.is_file() and "__pycache__" not in p.parts),
        key=lambda p: p.relative_to(tree).as_posix(),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    # Stored, not deflated: deflate's bytes depend on the zlib build (zlib, zlib-ng, Apple's),
    # which would change source_code_hash between a laptop and CI for the same inputs.
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(tree).as_posix(), ZIP_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, path.read_bytes())
    partial.replace(out)


def build(out: Path, bundle: bytes, lock: Path = LOCK) -> Path:
    """Build the zip at `out` with `bundle` as the function's CA file; return `out`."""
    with tempfile.TemporaryDirectory(prefix="rotation-package-") as folder:
        tree = Path(folder)
        install_dependencies(tree, lock)
        shutil.copytree(SOURCE, tree / SOURCE.name, ignore=shutil.ignore_patterns("__pycache__"))
        (tree / SOURCE.name / BUNDLE_NAME).write_bytes(bundle)
        for leftover in (tree / "bin",):  # console scripts of the wheels: not for Lambda
            shutil.rmtree(leftover, ignore_errors=True)
        write_zip(tree, out)
    return out


def filebase64sha256(path: Path) -> str:
    """Terraform's `filebase64sha256(path)` (the function's `source_code_hash`)."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def main(argv: list[str] | None = None) -> int:
    """Build the zip; print its path, size and hash."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the zip to write")
    parser.add_argument(
        "--ca-bundle",
        type=Path,
        help="bundle this CA file instead of downloading RDS's (tests, offline builds)",
    )
    args = parser.parse_args(argv)
    try:
        bundle = download_bundle() if args.ca_bundle is None else given_bundle(args.ca_bundle)
        out = build(args.out, bundle)
    except PackageError as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201 - a command-line tool
        return 1
    size = out.stat().st_size
    print(f"{out}: {size} bytes, filebase64sha256 {filebase64sha256(out)}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
