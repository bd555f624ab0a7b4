#!/usr/bin/env bash
# Deploy one image digest of test-app to one environment, or leave it as it was.
#
#   scripts/deploy.sh ENV REGISTRY DIGEST GIT_SHA
#   scripts/deploy.sh staging 111122223333.dkr.ecr.eu-central-1.amazonaws.com sha256:<64 hex> <sha>
#
# `helm upgrade --install --rollback-on-failure --wait`: Helm waits until the new ReplicaSet is ready
# (readiness = /readyz) and rolls the release back by itself when it is not within
# HELM_TIMEOUT, so a failed rollout never stays live. The pod spec pins the image by
# digest; the tag (the git SHA) is kept for people reading `kubectl get pods`. `helm test` (the
# chart's test pod) checks that /version reports the same SHA (tests.gitSha).
# Uses the current kubeconfig context (CI: `aws eks update-kubeconfig --name test-app-ENV`).
#
# When helm fails, the db-role hook's ExternalSecret (the master login, and the Secret it owns)
# is deleted: Helm removes earlier hooks (hook-succeeded) only when every hook of the event
# succeeded, so a failed role Job would leave the master password in the namespace until the
# next deploy (ADR 0015). The exit status stays helm's.
#
# Environment: HELM (default helm), KUBECTL (kubectl), RELEASE (test-app), NAMESPACE (test-app),
# HELM_TIMEOUT (10m), VALUES_FILE (the chart's values file of the environment, default
# values-ENV.yaml; values-aks-ENV.yaml on Azure), EXTRA_VALUES (a values file applied after it:
# what only the target account knows, e.g. database.host, externalSecret.remoteSecretName,
# dbRole.adminRemoteSecretName, ingress.alb.certificateArn; CI writes it from the GitHub
# environment's HELM_VALUES_YAML).
set -euo pipefail

die() { echo "deploy: $*" >&2; exit 2; }

[[ $# -eq 4 ]] || die "usage: scripts/deploy.sh ENV REGISTRY DIGEST GIT_SHA (got $# arguments)"
env_name="$1" registry="$2" digest="$3" git_sha="$4"

case "$env_name" in
  staging | prod) ;;
  *) die "ENV must be staging or prod, got '$env_name'" ;;
esac
[[ "$registry" =~ ^[a-z0-9.-]+(:[0-9]+)?$ ]] ||
  die "REGISTRY must be a registry host like 111122223333.dkr.ecr.eu-central-1.amazonaws.com, got '$registry'"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "DIGEST must be sha256:<64 hex digits>, got '$digest'"
[[ "$git_sha" =~ ^[0-9a-f]{7,40}$ ]] || die "GIT_SHA must be 7 to 40 hex digits, got '$git_sha'"

root="$(cd "$(dirname "$0")/.." && pwd)"
chart="$root/charts/test-app"
values_file="${VALUES_FILE:-values-$env_name.yaml}"
[[ "$values_file" =~ ^values-([a-z]+-)?$env_name\.yaml$ ]] ||
  die "VALUES_FILE must be values-$env_name.yaml or values-<cloud>-$env_name.yaml, got '$values_file'"
values="$chart/$values_file"
[[ -f "$values" ]] || die "values file for '$env_name' is missing: charts/test-app/$values_file"

extra=()
if [[ -n "${EXTRA_VALUES:-}" ]]; then
  [[ -f "$EXTRA_VALUES" ]] || die "EXTRA_VALUES names a missing file: '$EXTRA_VALUES'"
  extra=(--values "$EXTRA_VALUES")
fi

helm="${HELM:-helm}"
release="${RELEASE:-test-app}"
namespace="${NAMESPACE:-test-app}"
timeout="${HELM_TIMEOUT:-10m}"

echo "deploy: $release -> $env_name ($namespace), image $registry/test-app:$git_sha@$digest" >&2
status=0
"$helm" upgrade "$release" "$chart" \
  --install \
  --namespace "$namespace" \
  --values "$values" \
  "${extra[@]}" \
  --set-string "image.registry=$registry" \
  --set-string "image.tag=$git_sha" \
  --set-string "image.digest=$digest" \
  --set-string "tests.gitSha=$git_sha" \
  --rollback-on-failure \
  --wait \
  --timeout "$timeout" \
  --history-max 20 \
  --description "git_sha=$git_sha digest=$digest" || status=$?
if [[ $status -ne 0 ]]; then
  "${KUBECTL:-kubectl}" delete externalsecret --namespace "$namespace" --ignore-not-found \
    --selector "app.kubernetes.io/name=test-app-db-role,app.kubernetes.io/instance=$release" >&2 ||
    echo "deploy: could not delete the db-role hook's ExternalSecret; delete it by hand (docs/deployment.md)" >&2
fi
exit "$status"
