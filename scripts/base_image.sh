#!/usr/bin/env bash
# Resolve the base image of app/Dockerfile (its `ARG PYTHON_IMAGE=<tag>` default) to the
# digest the registry serves right now, and print `python-image=<tag>@sha256:<digest>`
# for $GITHUB_OUTPUT. CI passes it as the PYTHON_IMAGE build argument, so every build
# names the exact base it used (it ends up in the SBOM) while the Dockerfile stays
# readable and Dependabot-updatable.
#
#   scripts/base_image.sh >> "$GITHUB_OUTPUT"
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

tag="$(sed -n 's/^ARG PYTHON_IMAGE=\([^[:space:]]*\)$/\1/p' "$root/app/Dockerfile" | head -n 1)"
[[ -n "$tag" ]] || { echo "base_image: no 'ARG PYTHON_IMAGE=<image>' line in app/Dockerfile" >&2; exit 1; }
if [[ "$tag" == *@sha256:* ]]; then
  echo "python-image=$tag"
  exit 0
fi
digest="$(docker buildx imagetools inspect "$tag" | awk '$1 == "Digest:" {print $2; exit}')"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "base_image: could not resolve $tag (got '$digest')" >&2; exit 1; }
echo "python-image=$tag@$digest"
