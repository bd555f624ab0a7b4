"""The rotation Lambda's zip (test_app_tooling.rotation_package): pinned, checked, deterministic."""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from pathlib import Path

import pytest

from test_app_tooling import rotation_package, tls
from test_app_tooling.rotation_package import PackageError
from test_app_tooling.tools import REPO


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> tls.Certificates:
    return tls.make_certificates(tmp_path_factory.mktemp("ca"), ["127.0.0.1"])


@pytest.fixture(scope="module")
def built(certs, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("zips")
    outs = (folder / "one.zip", folder / "two.zip")
    for out in outs:
        assert rotation_package.main(["--ca-bundle", str(certs.ca), "--out", str(out)]) == 0
    return outs


# Lambda's quotas: a zip uploaded directly at most 50 MB, its contents unzipped at most 250 MB.
ZIPPED_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 250 * 1024 * 1024


def test_the_zip_is_the_same_bytes_for_the_same_inputs(built):
    one, two = built
    assert one.read_bytes() == two.read_bytes()
    digest = hashlib.sha256(one.read_bytes()).digest()
    assert rotation_package.filebase64sha256(one) == base64.b64encode(digest).decode()


def test_the_zip_stores_its_entries_so_no_zlib_build_changes_its_bytes(built):
    # Deflate's output differs between zlib builds (zlib, zlib-ng, Apple's): stored entries
    # make the bytes depend on the inputs only, so a laptop and CI deploy the same hash.
    with zipfile.ZipFile(built[0]) as archive:
        infos = archive.infolist()
    assert infos
    assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
    assert built[0].stat().st_size < ZIPPED_LIMIT
    assert sum(i.file_size for i in infos) < UNZIPPED_LIMIT


def test_the_zip_holds_the_handler_its_driver_and_the_ca_and_nothing_of_the_runtime(built, certs):
    with zipfile.ZipFile(built[0]) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert {i.date_time for i in infos} == {rotation_package.ZIP_TIME}
        assert archive.read("test_app_rotation/ca-bundle.pem") == certs.ca.read_bytes()
        source = rotation_package.SOURCE
        for module in ("handler.py", "steps.py", "postgres.py"):
            ours = (source / module).read_bytes()
            assert archive.read(f"test_app_rotation/{module}") == ours
        wheels = [archive.read(n).decode() for n in names if n.endswith(".dist-info/WHEEL")]
    tops = {n.split("/", 1)[0] for n in names}
    assert {"pg8000", "scramp", "asn1crypto"} <= tops
    assert not {"boto3", "botocore", "bin"} & tops  # the runtime's boto3 is not bundled
    assert not [n for n in names if n.endswith((".pyc", ".so"))]
    assert wheels, "no installed wheel in the zip"
    assert all("Root-Is-Purelib: true" in w for w in wheels)  # pure Python: any architecture


def test_the_lock_pins_every_package_with_hashes_and_no_boto3():
    text = rotation_package.LOCK.read_text()
    pins = re.findall(r"^([a-z0-9-]+)==(\S+) \\$", text, re.MULTILINE)
    assert "pg8000" in dict(pins)
    for name, _ in pins:
        block = text.split(f"\n{name}==", 1)[1].split("\n\n", 1)[0]
        assert "--hash=sha256:" in block, name
    assert "boto" not in text


def test_the_rds_bundle_is_refused_unless_its_sha256_is_the_pinned_one(certs):
    data = certs.ca.read_bytes()
    url = certs.ca.as_uri()
    right = hashlib.sha256(data).hexdigest()
    assert rotation_package.download_bundle(url, right) == data
    with pytest.raises(PackageError) as refused:
        rotation_package.download_bundle(url)  # the pinned RDS digest: this is not that bundle
    # The error says what to do: review against AWS's page, renew the one pin.
    assert str(refused.value) == (
        f"{url}: expected SHA-256 {rotation_package.RDS_BUNDLE_SHA256}, got {right}. AWS has "
        "published another RDS CA bundle: review the certificate authorities it adds or drops "
        "against AWS's page (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/"
        "UsingWithRDS.SSL.html#UsingWithRDS.SSL.CertificatesAllRegions), then set "
        f'RDS_BUNDLE_SHA256 = "{right}" in tooling/src/test_app_tooling/rotation_package.py (the '
        "one place it is pinned) and run `make rotation-package` again; the database stack's "
        "next apply deploys the new zip"
    )
    pin = REPO / rotation_package.PIN_FILE
    assert pin.resolve() == Path(rotation_package.__file__).resolve()
    pinned = re.findall(r'^RDS_BUNDLE_SHA256 = "([0-9a-f]{64})"$', pin.read_text(), re.MULTILINE)
    assert pinned == [rotation_package.RDS_BUNDLE_SHA256]
    assert re.fullmatch(r"[0-9a-f]{64}", rotation_package.RDS_BUNDLE_SHA256)
    assert rotation_package.RDS_BUNDLE_URL == (
        "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
    )


def test_a_bundle_without_certificates_is_refused(tmp_path, capsys):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    assert rotation_package.main(["--ca-bundle", str(junk), "--out", str(tmp_path / "x.zip")]) == 1
    assert "--ca-bundle: expected PEM certificates, got none" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()
    broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    with pytest.raises(PackageError, match="expected PEM certificates"):
        rotation_package.certificates(broken, "x")
    with pytest.raises(PackageError, match="--ca-url: expected an https:// or file:// URL"):
        rotation_package.download_bundle("http://example.com/bundle.pem")
