"""How many manifests one release pushes to its ECR repository, read from the workflow.

The release job of `.github/workflows/ci.yml` pushes the image by its git-SHA tag
(docker/build-push-action) and signs it with `scripts/sign_image.sh`. cosign keeps each signature
as one more manifest in the same repository, tagged `sha256-<digest>.sig` (and `.att` or `.sbom`
for `cosign attest` and `cosign attach`). The ECR module's lifecycle rule counts every manifest
alike, so "keep N releases" must keep N times this number (`manifests_per_release`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml


BUILD_PUSH = "docker/build-push-action@"
SIGN_SCRIPT = "scripts/sign_image.sh"
# A cosign command that writes a manifest next to the image: sign (.sig), attest (.att),
# attach sbom/signature/attestation.
COSIGN_WRITE = re.compile(r"^\s*cosign\s+(sign|attest|attach)\b", re.MULTILINE)


@dataclass(frozen=True)
class ReleaseManifests:
    """The manifests of one release: its image and what cosign adds next to it."""

    images: int
    signatures: int
    attestations: int

    @property
    def total(self) -> int:
        return self.images + self.signatures + self.attestations


def _true(value: object) -> bool:
    return str(value).strip().lower() == "true"


def _image_manifests(job: str, step: dict[str, Any]) -> int:
    """One manifest for a single-platform build without attestations; anything else refused."""
    name = step.get("name", step["uses"])
    options = step.get("with") or {}
    platforms = [p for p in str(options.get("platforms", "")).split(",") if p.strip()]
    if len(platforms) != 1:
        raise ValueError(
            f"{job}: step {name!r}: `platforms` is {platforms!r}; expected exactly one platform "
            "(a multi-platform build pushes an index and one manifest per platform)"
        )
    if str(options.get("provenance", "")).strip().lower() != "false":
        raise ValueError(
            f"{job}: step {name!r}: `provenance` is {options.get('provenance')!r}; expected false "
            "(buildx otherwise pushes an index with attestation manifests)"
        )
    if _true(options.get("sbom", "false")):
        raise ValueError(
            f"{job}: step {name!r}: `sbom` is true; expected false or absent "
            "(buildx otherwise pushes an index with attestation manifests)"
        )
    return 1


def count(workflow_text: str, sign_script_text: str) -> ReleaseManifests:
    """The manifests the one job of the workflow that pushes an image writes per release."""
    workflow = yaml.safe_load(workflow_text)
    pushing: list[tuple[str, list[dict[str, Any]]]] = []
    for job, body in (workflow.get("jobs") or {}).items():
        steps = body.get("steps") or []
        if any(
            str(s.get("uses", "")).startswith(BUILD_PUSH)
            and _true((s.get("with") or {}).get("push"))
            for s in steps
        ):
            pushing.append((job, steps))
    if len(pushing) != 1:
        raise ValueError(
            f"jobs: {[job for job, _ in pushing]} push an image; expected exactly one release job"
        )
    [(job, steps)] = pushing
    images = sum(
        _image_manifests(job, s)
        for s in steps
        if str(s.get("uses", "")).startswith(BUILD_PUSH)
        and _true((s.get("with") or {}).get("push"))
    )
    writes: list[str] = []
    for step in steps:
        run = str(step.get("run", ""))
        writes += COSIGN_WRITE.findall(run)
        if SIGN_SCRIPT in run:
            writes += COSIGN_WRITE.findall(sign_script_text)
    return ReleaseManifests(
        images=images,
        signatures=writes.count("sign"),
        attestations=len(writes) - writes.count("sign"),
    )
