"""The `helm test` pod checks the release in the cluster: what the load balancer does not forward.

The smoke test through the load balancer sees only the Ingress's public paths, so the pipeline
checks readiness and the build with `helm test`: the chart's test pod asks the Service for
`/health`, `/readyz` and `/version`, and compares the reported git SHA with `tests.gitSha`
(scripts/deploy.sh sets it to the deployed commit; a rollback's test compares with the SHA of
the revision it went back to). These tests run the rendered pod's own command and environment
against the real app, pointing only its URL at the local process.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from test_app_tooling.helm_render import VALUE_SETS, deep_merge, load_values, one, render


SHA = "0123456789abcdef0123456789abcdef01234567"


def rendered_pod(git_sha: str = SHA) -> dict[str, Any]:
    files, extra = VALUE_SETS["staging"]
    values = load_values(files, deep_merge(extra, {"tests": {"gitSha": git_sha}}))
    pod: dict[str, Any] = one(render(values), "Pod")
    return pod


def run_check(pod: dict[str, Any], url: str) -> subprocess.CompletedProcess[str]:
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]} | {"TEST_APP_URL": url}
    command = [sys.executable, *container["command"][1:]]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_the_pod_asks_the_service_and_expects_the_deployed_sha():
    (container,) = rendered_pod()["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    # Staging runs a canary Rollout: the stable Service, never an old ReplicaSet after promotion.
    assert env["TEST_APP_URL"] == "http://test-app-stable.test-app.svc:80"
    assert env["EXPECT_GIT_SHA"] == SHA
    assert container["command"][0] == "python"


@pytest.mark.integration
def test_passes_when_the_release_is_ready_and_the_expected_build(postgres, run_app):
    app = run_app(env=postgres.env() | {"GIT_SHA": SHA})
    result = run_check(rendered_pod(), app.url)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in ("/health", "/readyz", "/version"):
        assert f"{path} 200" in result.stdout


@pytest.mark.integration
def test_fails_when_another_build_answers(postgres, run_app):
    app = run_app(env=postgres.env() | {"GIT_SHA": "fedcba9876543210fedcba9876543210fedcba98"})
    result = run_check(rendered_pod(), app.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"want {SHA}" in result.stdout


@pytest.mark.integration
def test_without_an_expected_sha_any_build_passes(postgres, run_app):
    app = run_app(env=postgres.env() | {"GIT_SHA": SHA})
    result = run_check(rendered_pod(""), app.url)
    assert result.returncode == 0, result.stdout + result.stderr
