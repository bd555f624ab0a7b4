"""The ECR lifecycle rule keeps as many releases as the docs say, counting cosign's manifests.

ECR counts every manifest of the repository: a release is its image and its cosign signature
(`sha256-<digest>.sig`), so "keep 100 images" kept 50 releases. The module multiplies the
releases it keeps by `manifests_per_release`; that number must be what the release job pushes,
and the documented figure must be the module's default.
"""

from __future__ import annotations

import re

import hcl2
import pytest

from test_app_tooling.infra import release_manifests
from test_app_tooling.tools import REPO


ECR = REPO / "infra" / "modules" / "ecr"
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
SIGN = REPO / "scripts" / "sign_image.sh"


def default(name: str) -> int:
    parsed = hcl2.loads((ECR / "variables.tf").read_text())
    found = [b for b in parsed["variable"] if name in b or f'"{name}"' in b]
    assert found, f"infra/modules/ecr/variables.tf declares no variable {name}"
    return int(next(iter(found[0].values()))["default"])


def test_each_release_is_its_image_and_cosigns_signature():
    counted = release_manifests.count(WORKFLOW.read_text(), SIGN.read_text())
    assert (counted.images, counted.signatures, counted.attestations) == (1, 1, 0), counted


def test_the_lifecycle_count_is_what_one_release_pushes():
    counted = release_manifests.count(WORKFLOW.read_text(), SIGN.read_text())
    assert default("manifests_per_release") == counted.total, (
        f"the release job pushes {counted}, but infra/modules/ecr keeps "
        f"{default('manifests_per_release')} manifests per release"
    )


def test_the_documented_releases_kept_are_the_modules_default():
    kept = default("releases_to_keep")
    docs = {
        "infra/modules/ecr/README.md": (ECR / "README.md").read_text(),
        "docs/infrastructure.md": (REPO / "docs" / "infrastructure.md").read_text(),
    }
    for path, text in docs.items():
        figures = re.findall(r"the last (\d+) releases", text)
        assert figures, f"{path} does not say how many releases the registry keeps"
        assert set(figures) == {str(kept)}, (path, figures, kept)
    manifests = re.findall(r"manifests: (\d+) for CI's", docs["infra/modules/ecr/README.md"])
    assert manifests == [str(kept * default("manifests_per_release"))], manifests


RELEASE_JOB = """
jobs:
  publish:
    steps:
      - name: Build and push
        uses: docker/build-push-action@0000000000000000000000000000000000000000
        with:
          push: true
          platforms: {platforms}
          provenance: {provenance}
      - run: scripts/sign_image.sh "$IMAGE_REF" sbom.spdx.json "$GITHUB_SHA"
      - run: cosign copy --force "$IMAGE_REF" "$OTHER_REGISTRY/test-app:$GITHUB_SHA"
"""


def test_an_attestation_adds_a_manifest():
    script = 'cosign sign --yes "$ref"\ncosign attest --yes --predicate sbom.json "$ref"\n'
    counted = release_manifests.count(
        RELEASE_JOB.format(platforms="linux/amd64", provenance="false"), script
    )
    assert (counted.images, counted.signatures, counted.attestations) == (1, 1, 1)
    assert counted.total == 3


@pytest.mark.parametrize(
    ("platforms", "provenance", "message"),
    [
        ("linux/amd64,linux/arm64", "false", "`platforms` is ['linux/amd64', 'linux/arm64']"),
        ("linux/amd64", "true", "`provenance` is True; expected false"),
    ],
)
def test_a_build_with_more_manifests_is_refused_naming_the_field(platforms, provenance, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        release_manifests.count(RELEASE_JOB.format(platforms=platforms, provenance=provenance), "")
