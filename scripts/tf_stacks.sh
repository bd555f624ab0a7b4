#!/usr/bin/env bash
# Plan or apply Terraform stacks of one environment, in the order given.
#
#   scripts/tf_stacks.sh validate ENV STACK... fmt check + validate, no backend, no credentials
#   scripts/tf_stacks.sh plan  ENV STACK...   plan without a lock (read-only role, PRs)
#   scripts/tf_stacks.sh apply ENV STACK...   plan, then apply exactly that plan
#
# Backend: infra/envs/ENV/backend.tfbackend + bucket TF_STATE_BUCKET + key ENV/STACK.tfstate.
# Variables: infra/envs/ENV/STACK.tfvars, then the repository and account identifiers of
# infra/envs/project.toml (scripts/terraform/project_vars.py). Terraform runs through scripts/terraform/tf.
# Each plan is printed and, in GitHub Actions, appended to the job summary for
# reviewers. Plan files never leave the runner (they can hold secret values).
set -euo pipefail

die() { echo "tf_stacks: $*" >&2; exit 2; }

[[ $# -ge 3 ]] || die "usage: scripts/tf_stacks.sh validate|plan|apply ENV STACK... (got $# arguments)"
action="$1" env_name="$2"; shift 2
case "$action" in validate | plan | apply) ;; *) die "ACTION must be validate, plan or apply, got '$action'" ;; esac
case "$env_name" in staging | prod) ;; *) die "ENV must be staging or prod, got '$env_name'" ;; esac
[[ "$action" == validate || -n "${TF_STATE_BUCKET:-}" ]] || die "TF_STATE_BUCKET (the state bucket from the bootstrap stack) is not set"

root="$(cd "$(dirname "$0")/.." && pwd)"
tf="$root/scripts/terraform/tf"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
# A job summary holds at most 1 MiB; keep each plan well below it.
max_chars=60000
project_vars="$(mktemp)"
trap 'rm -f "$project_vars"' EXIT

for stack in "$@"; do
  [[ "$stack" =~ ^[a-z0-9-]+$ && -d "$root/infra/stacks/$stack" ]] || die "unknown stack '$stack'"
  [[ "$stack" != bootstrap ]] || die "the bootstrap stack is applied by hand (it creates the state bucket)"
  dir="$root/infra/stacks/$stack"
  vars="$root/infra/envs/$env_name/$stack.tfvars"
  [[ -f "$vars" ]] || die "missing variables file infra/envs/$env_name/$stack.tfvars"

  echo "::group::$action $env_name/$stack"
  if [[ "$action" == validate ]]; then
    "$tf" -chdir="$dir" fmt -check -diff
    "$tf" -chdir="$dir" init -input=false -backend=false
    "$tf" -chdir="$dir" validate -no-color
    echo "::endgroup::"
    continue
  fi
  "$tf" -chdir="$dir" init -input=false -reconfigure \
    -backend-config="$root/infra/envs/$env_name/backend.tfbackend" \
    -backend-config="bucket=$TF_STATE_BUCKET" \
    -backend-config="key=$env_name/$stack.tfstate"
  lock=()
  [[ "$action" == plan ]] && lock=(-lock=false)
  python3 "$root/scripts/terraform/project_vars.py" "$env_name" "$stack" "$project_vars"
  "$tf" -chdir="$dir" plan -input=false "${lock[@]}" -var-file="$vars" -var-file="$project_vars" -out=tfplan
  plan_text="$("$tf" -chdir="$dir" show -no-color tfplan)"
  echo "::endgroup::"
  {
    echo "<details><summary>terraform $action: <code>$env_name/$stack</code></summary>"
    echo
    echo '```'
    printf '%s\n' "${plan_text:0:$max_chars}"
    ((${#plan_text} <= max_chars)) || echo "... (truncated; the full plan is in the job log)"
    echo '```'
    echo "</details>"
  } >> "$summary"
  if [[ "$action" == apply ]]; then
    "$tf" -chdir="$dir" apply -input=false tfplan
  fi
  rm -f "$dir/tfplan"
done
