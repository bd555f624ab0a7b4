#!/usr/bin/env bash
# Print `digest=<sha256:...>` when REPOSITORY already holds TAG, `digest=` when it does not.
# CI uses it before pushing: ECR tags are immutable, so a re-run reuses the image of the
# commit instead of failing on the push.
#
#   scripts/ecr_image_digest.sh test-app "$GITHUB_SHA" >> "$GITHUB_OUTPUT"
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: scripts/ecr_image_digest.sh REPOSITORY TAG" >&2; exit 2; }
repository="$1" tag="$2"

if out="$(aws ecr describe-images --repository-name "$repository" --image-ids "imageTag=$tag" \
  --query 'imageDetails[0].imageDigest' --output text 2>&1)"; then
  [[ "$out" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "unexpected digest from ECR: $out" >&2; exit 1; }
  echo "digest=$out"
elif [[ "$out" == *ImageNotFoundException* ]]; then
  echo "digest="
else
  echo "$out" >&2
  exit 1
fi
