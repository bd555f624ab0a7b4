#!/usr/bin/env bash
# Sign an image digest keylessly (cosign + the workflow's GitHub OIDC identity), binding
# its SBOM and commit into the signed payload; skip when this workflow already signed it.
#
#   scripts/sign_image.sh REGISTRY/REPOSITORY@sha256:<digest> SBOM_FILE GIT_SHA
#
# The SBOM itself is kept as a build artifact: its SHA-256 is signed as the annotation
# `sbom.spdx.sha256`, so anyone holding the file can prove it describes this image without
# uploading megabytes to the Rekor transparency log (which rejects large entries).
# Re-runs are safe: ECR tags are immutable, so a second signature could not be pushed;
# an existing valid signature from the same workflow identity is kept instead.
#
# Needs: cosign, GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_WORKFLOW_REF (set by Actions).
set -euo pipefail

die() { echo "sign_image: $*" >&2; exit 2; }

[[ $# -eq 3 ]] || die "usage: scripts/sign_image.sh IMAGE@sha256:<digest> SBOM_FILE GIT_SHA (got $# arguments)"
ref="$1" sbom="$2" git_sha="$3"
[[ "$ref" =~ ^[a-z0-9.:-]+/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$ ]] || die "IMAGE must be REGISTRY/REPOSITORY@sha256:<64 hex>, got '$ref'"
[[ -s "$sbom" ]] || die "SBOM_FILE '$sbom' is missing or empty"
[[ "$git_sha" =~ ^[0-9a-f]{40}$ ]] || die "GIT_SHA must be 40 hex digits, got '$git_sha'"
: "${GITHUB_WORKFLOW_REF:?GITHUB_WORKFLOW_REF is not set (run inside GitHub Actions)}"

# The certificate identity of this workflow run, e.g.
# https://github.com/<owner>/<repository>/.github/workflows/ci.yml@refs/heads/main
identity="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_WORKFLOW_REF}"
issuer="https://token.actions.githubusercontent.com"

if cosign verify --certificate-identity "$identity" --certificate-oidc-issuer "$issuer" "$ref" >/dev/null 2>&1; then
  echo "sign_image: $ref is already signed by $identity; keeping that signature"
  exit 0
fi
sbom_sha256="$(sha256sum "$sbom" | cut -d' ' -f1)"
cosign sign --yes \
  -a "sbom.spdx.sha256=$sbom_sha256" \
  -a "git_sha=$git_sha" \
  "$ref"
cosign verify --certificate-identity "$identity" --certificate-oidc-issuer "$issuer" "$ref" >/dev/null
echo "sign_image: signed $ref (sbom.spdx.sha256=$sbom_sha256)"
