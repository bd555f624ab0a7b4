#!/usr/bin/env bash
# Print where the release answers, as GitHub step outputs: the URL and the ALB's address.
#
#   scripts/release_endpoint.sh >> "$GITHUB_OUTPUT"
#   url=https://test-app.staging.example.com
#   address=k8s-testapp-testapp-0123456789-0123456789.eu-central-1.elb.amazonaws.com
#
# The URL is the Ingress's host (https when it has a certificate), or the ALB's own name when
# the Ingress has no host. The smoke test connects to `address` with that URL
# (`smoke_test.py URL --connect-to ADDRESS`), so it tests the release through its load balancer
# before, and independently of, the DNS record: the very first deploy creates the ALB, and the
# DNS record pointing at it is made after (docs/getting-started.md).
# Waits until the AWS Load Balancer Controller has written the ALB into the Ingress status.
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
deadline=$((SECONDS + timeout))
address=""
while :; do
  address="$(get '{.status.loadBalancer.ingress[0].hostname}')"
  [[ -n "$address" ]] && break
  ((SECONDS + interval <= deadline)) || {
    echo "release_endpoint: ingress $namespace/$release has no load balancer after ${timeout}s" >&2
    echo "release_endpoint: see 'kubectl -n $namespace describe ingress $release' and the aws-load-balancer-controller logs" >&2
    exit 1
  }
  sleep "$interval"
done

scheme=http
[[ -n "$certificate" ]] && scheme=https
echo "url=$scheme://${host:-$address}"
echo "address=$address"
