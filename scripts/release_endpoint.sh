#!/usr/bin/env bash
# Print where the release answers, as GitHub step outputs: the URL and the load balancer's address.
#
#   scripts/release_endpoint.sh >> "$GITHUB_OUTPUT"
#   url=https://test-app.staging.example.com
#   address=k8s-testapp-testapp-0123456789-0123456789.eu-central-1.elb.amazonaws.com
#
# The address is the load balancer's DNS name (`.hostname`: the ALB on EKS) or, when it has
# none, its IP (`.ip`: application routing on AKS). The URL is the Ingress's host, or that
# address when the Ingress has no host; it is https when the Ingress has a certificate: the ALB
# certificate annotation (EKS) or a non-empty `.spec.tls` (AKS). The smoke test connects to `address` with that URL
# (`smoke_test.py URL --connect-to ADDRESS`), so it tests the release through its load balancer
# before, and independently of, the DNS record: the very first deploy creates the ALB, and the
# DNS record pointing at it is made after (docs/getting-started.md).
# Waits until the ingress controller (AWS Load Balancer Controller, application routing) has
# written the load balancer into the Ingress status.
# Environment: KUBECTL (kubectl), RELEASE (test-app), NAMESPACE (test-app),
# ENDPOINT_TIMEOUT (seconds, 300), ENDPOINT_INTERVAL (seconds, 5).
set -euo pipefail

die() { echo "release_endpoint: $*" >&2; exit 2; }

kubectl="${KUBECTL:-kubectl}"
release="${RELEASE:-test-app}"
namespace="${NAMESPACE:-test-app}"
timeout="${ENDPOINT_TIMEOUT:-300}"
interval="${ENDPOINT_INTERVAL:-5}"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die "ENDPOINT_TIMEOUT must be a positive number of seconds, got '$timeout'"
[[ "$interval" =~ ^[1-9][0-9]*$ ]] || die "ENDPOINT_INTERVAL must be a positive number of seconds, got '$interval'"

get() { "$kubectl" --namespace "$namespace" get ingress "$release" -o "jsonpath=$1"; }

host="$(get '{.spec.rules[0].host}')"
certificate="$(get '{.metadata.annotations.alb\.ingress\.kubernetes\.io/certificate-arn}')"
tls="$(get '{.spec.tls}')"
deadline=$((SECONDS + timeout))
address=""
while :; do
  address="$(get '{.status.loadBalancer.ingress[0].hostname}')"
  [[ -n "$address" ]] || address="$(get '{.status.loadBalancer.ingress[0].ip}')"
  [[ -n "$address" ]] && break
  ((SECONDS + interval <= deadline)) || {
    echo "release_endpoint: ingress $namespace/$release has no load balancer after ${timeout}s" >&2
    echo "release_endpoint: see 'kubectl -n $namespace describe ingress $release' and the ingress controller's logs (aws-load-balancer-controller on EKS, app-routing-system on AKS)" >&2
    exit 1
  }
  sleep "$interval"
done

scheme=http
[[ -n "$certificate" || ( -n "$tls" && "$tls" != "[]" ) ]] && scheme=https
echo "url=$scheme://${host:-$address}"
echo "address=$address"
