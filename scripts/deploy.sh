#!/usr/bin/env bash
# Deploy one image digest of test-app to one environment, or leave it as it was.
#
#   scripts/deploy.sh ENV REGISTRY DIGEST GIT_SHA
#   scripts/deploy.sh staging 111122223333.dkr.ecr.eu-central-1.amazonaws.com sha256:<64 hex> <sha>
#
# `helm upgrade --install --rollback-on-failure --wait=legacy`: Helm waits until the new ReplicaSet is ready
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
# With the canary (chart value rollout.enabled: staging and prod), Helm only applies the Rollout;
# Argo Rollouts then moves traffic in steps while its analysis judges the new version. This
# script waits for the Rollout's end and reports which: PROMOTED (exit 0), or ABORTED by the
# analysis (traffic is back on the stable version; the Helm release is then rolled back to the
# previous revision so Helm and the cluster agree; exit 3), or still running/paused after
# ROLLOUT_TIMEOUT_SECONDS (exit 4: a person promotes or aborts, docs/release.md). It reads
# `.status` of the Rollout with kubectl, so the kubectl-argo-rollouts plugin is not needed.
#
# Environment: HELM (default helm), KUBECTL (kubectl), RELEASE (test-app), NAMESPACE (test-app),
# ROLLOUT_TIMEOUT_SECONDS (1800), ROLLOUT_POLL_SECONDS (10),
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
  --wait=legacy \
  --timeout "$timeout" \
  --history-max 20 \
  --description "git_sha=$git_sha digest=$digest" || status=$?
# The canary, when the release has one: wait for Argo Rollouts to promote or abort it.
wait_rollout() {
  local kubectl="${KUBECTL:-kubectl}" limit="${ROLLOUT_TIMEOUT_SECONDS:-1800}"
  local poll="${ROLLOUT_POLL_SECONDS:-10}" waited=0 line phase abort current stable message
  local fields='{.status.phase}|{.status.abort}|{.status.currentPodHash}|{.status.stableRS}|{.status.message}|{.metadata.generation}|{.status.observedGeneration}'
  local generation observed
  while true; do
    line="$("$kubectl" get rollout "$release" --namespace "$namespace" -o "jsonpath=$fields")" || return 5
    IFS='|' read -r phase abort current stable message generation observed <<<"$line"
    # Argo has not seen the new spec yet: its status still describes the previous release.
    if [[ -n "$generation" && "$observed" != "$generation" ]]; then
      phase="Progressing" abort="" message="waiting for the controller to observe generation $generation"
    fi
    if [[ "$abort" == "true" ]]; then
      echo "deploy: canary ABORTED after ${waited}s: ${message:-no message}; traffic is back on the stable version $stable" >&2
      echo "deploy: rolling the Helm release back to its previous revision (the stable one)" >&2
      "$helm" rollback "$release" --namespace "$namespace" --wait=legacy --timeout "$timeout" >&2 ||
        echo "deploy: helm rollback failed: run scripts/rollback.sh $env_name" >&2
      return 3
    fi
    if [[ "$phase" == "Healthy" && -n "$current" && "$current" == "$stable" ]]; then
      echo "deploy: canary PROMOTED after ${waited}s: 100 % of traffic on $current" >&2
      return 0
    fi
    if ((waited >= limit)); then
      echo "deploy: canary still ${phase:-unknown} after ${waited}s: ${message:-no message}" >&2
      echo "deploy: promote or abort it: kubectl argo rollouts promote|abort $release -n $namespace (docs/release.md)" >&2
      return 4
    fi
    echo "deploy: canary ${phase:-pending} (${message:-no message}), waited ${waited}s" >&2
    sleep "$poll"
    waited=$((waited + poll))
  done
}
if [[ $status -eq 0 ]] && "$helm" get manifest "$release" --namespace "$namespace" | grep -q '^kind: Rollout$'; then
  wait_rollout || status=$?
fi
if [[ $status -ne 0 && $status -ne 3 && $status -ne 4 ]]; then
  "${KUBECTL:-kubectl}" delete externalsecret --namespace "$namespace" --ignore-not-found \
    --selector "app.kubernetes.io/name=test-app-db-role,app.kubernetes.io/instance=$release" >&2 ||
    echo "deploy: could not delete the db-role hook's ExternalSecret; delete it by hand (docs/deployment.md)" >&2
fi
exit "$status"
