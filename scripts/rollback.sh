#!/usr/bin/env bash
# Roll test-app back to an earlier Helm revision of one environment.
#
#   scripts/rollback.sh ENV             the revision before the current one
#   scripts/rollback.sh ENV REVISION    a chosen revision (see `helm history test-app -n test-app`)
#
# The rollback is itself a rolling update (maxUnavailable 0, readiness-gated), so it
# drops no requests. `--wait` returns only when the old pods are ready again.
# Uses the current kubeconfig context. Environment: HELM, RELEASE, NAMESPACE, HELM_TIMEOUT.
set -euo pipefail

die() { echo "rollback: $*" >&2; exit 2; }

[[ $# -ge 1 && $# -le 2 ]] || die "usage: scripts/rollback.sh ENV [REVISION] (got $# arguments)"
env_name="$1" revision="${2:-}"

case "$env_name" in
  staging | prod) ;;
  *) die "ENV must be staging or prod, got '$env_name'" ;;
esac
if [[ -n "$revision" && ! "$revision" =~ ^[1-9][0-9]{0,5}$ ]]; then
  die "REVISION must be a positive Helm revision number, got '$revision'"
fi

helm="${HELM:-helm}"
release="${RELEASE:-test-app}"
namespace="${NAMESPACE:-test-app}"
timeout="${HELM_TIMEOUT:-10m}"

args=(rollback "$release")
# No revision: Helm rolls back to the previous one, which the first release does not have.
if [[ -z "$revision" ]]; then
  revisions="$("$helm" history "$release" --namespace "$namespace" --max 2 -o json |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')"
  if ((revisions < 2)); then
    echo "rollback: $release in $env_name has only its first revision: nothing to roll back to." >&2
    echo "rollback: fix forward with a new deploy, or remove it: helm uninstall $release -n $namespace" >&2
    exit 1
  fi
else
  args+=("$revision")
fi
echo "rollback: $release in $env_name ($namespace) to revision ${revision:-previous}" >&2
"$helm" "${args[@]}" --namespace "$namespace" --wait=legacy --timeout "$timeout" --cleanup-on-fail
"$helm" history "$release" --namespace "$namespace" --max 5 >&2
