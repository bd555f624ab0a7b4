#!/usr/bin/env bash
# Point kubectl at the cluster of one environment, on the cloud that environment runs on.
#
#   CLOUD=aws   scripts/cluster_credentials.sh ENV   # aws eks update-kubeconfig (AWS_REGION, default eu-central-1)
#   CLOUD=azure scripts/cluster_credentials.sh ENV   # az aks get-credentials, then kubelogin (Entra ID)
#
# CLOUD defaults to aws. The cloud session must already exist (CI: configure-aws-credentials or
# azure/login with the environment's deploy identity). Names follow docs/conventions.md: the
# cluster is test-app-ENV; on Azure it lives in the resource group test-app-ENV-cluster
# (infra/azure). AKS has local accounts off, so kubelogin turns the kubeconfig into Entra ID
# tokens from the Azure CLI session; it is installed next to kubectl when missing.
set -euo pipefail

die() { echo "cluster_credentials: $*" >&2; exit 2; }

[[ $# -eq 1 ]] || die "usage: CLOUD=aws|azure scripts/cluster_credentials.sh ENV (got $# arguments)"
env_name="$1"
case "$env_name" in
  staging | prod) ;;
  *) die "ENV must be staging or prod, got '$env_name'" ;;
esac
cluster="test-app-$env_name"

case "${CLOUD:-aws}" in
  aws)
    exec aws eks update-kubeconfig --name "$cluster" --region "${AWS_REGION:-eu-central-1}"
    ;;
  azure)
    if ! command -v kubelogin >/dev/null; then
      bin="$HOME/.local/bin"
      mkdir -p "$bin"
      az aks install-cli --install-location "$bin/kubectl" --kubelogin-install-location "$bin/kubelogin" >&2
      export PATH="$bin:$PATH"
      # Later workflow steps (helm) run kubelogin as the kubeconfig's exec plugin.
      if [[ -n "${GITHUB_PATH:-}" ]]; then echo "$bin" >> "$GITHUB_PATH"; fi
    fi
    az aks get-credentials --resource-group "$cluster-cluster" --name "$cluster" --overwrite-existing
    exec kubelogin convert-kubeconfig -l azurecli
    ;;
  *) die "CLOUD must be aws or azure, got '$CLOUD'" ;;
esac
