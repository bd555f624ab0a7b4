"""The deploy scripts the workflows call, run against recording fakes of their tools."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from test_app_tooling.fakes import Fakes, make_fakes
from test_app_tooling.helm_render import (
    VALUE_SETS,
    deep_merge,
    load_values,
    render,
    schema_error,
)
from test_app_tooling.tools import REPO


SCRIPTS = REPO / "scripts"
DIGEST = "sha256:" + "ab" * 32
SHA = "0123456789abcdef0123456789abcdef01234567"
REGISTRY = "111122223333.dkr.ecr.eu-central-1.amazonaws.com"


def fake(bin_dir: Path, name: str, body: str = "") -> Path:
    """An executable that appends its argv (one call per line) to $FAKE_LOG, then runs `body`."""
    return Fakes(bin_dir, bin_dir.parent / "calls.log", {}).add(name, body)


@pytest.fixture
def fakes(tmp_path):
    made = make_fakes(tmp_path)
    return made.bin_dir, made.log, made.env


def run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def calls(log: Path) -> list[list[str]]:
    return Fakes(log.parent / "bin", log, {}).calls()


# --- deploy.sh ----------------------------------------------------------------------


def test_deploy_runs_a_waiting_upgrade_that_rolls_back_on_failure_pinned_by_digest(fakes):
    bin_dir, log, env = fakes
    fake(bin_dir, "helm")
    result = run("deploy.sh", "staging", REGISTRY, DIGEST, SHA, env=env)
    assert result.returncode == 0, result.stderr
    # The upgrade, then the look for a Rollout in the release (none: nothing to wait for).
    argv, manifest = calls(log)
    assert manifest == ["helm", "get", "manifest", "test-app", "--namespace", "test-app"]
    assert argv[:4] == ["helm", "upgrade", "test-app", str(REPO / "charts" / "test-app")]
    for flag in ("--install", "--rollback-on-failure"):  # Helm 4: --atomic is deprecated
        assert flag in argv
    # Helm 4's default watcher reads a Rollout's string observedGeneration as Unknown and waits
    # until the timeout (helm/helm#32615): the legacy poller, and the script waits for the canary.
    assert "--wait=legacy" in argv
    assert argv[argv.index("--namespace") + 1] == "test-app"
    assert argv[argv.index("--values") + 1].endswith("charts/test-app/values-staging.yaml")
    sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set-string"]
    assert sets == [
        f"image.registry={REGISTRY}",
        f"image.tag={SHA}",
        f"image.digest={DIGEST}",
        f"tests.gitSha={SHA}",  # what `helm test` expects /version to report
    ]


def test_deploy_adds_the_environment_values_last(fakes, tmp_path):
    bin_dir, log, env = fakes
    fake(bin_dir, "helm")
    extra = tmp_path / "values-prod.yaml"
    extra.write_text("database:\n  host: writer.example\n")
    result = run("deploy.sh", "prod", REGISTRY, DIGEST, SHA, env=env | {"EXTRA_VALUES": str(extra)})
    assert result.returncode == 0, result.stderr
    argv = calls(log)[0]
    values = [argv[i + 1] for i, a in enumerate(argv) if a == "--values"]
    assert values == [str(REPO / "charts/test-app/values-prod.yaml"), str(extra)]
    missing = run("deploy.sh", "prod", REGISTRY, DIGEST, SHA, env=env | {"EXTRA_VALUES": "/nope"})
    assert missing.returncode == 2
    assert "EXTRA_VALUES names a missing file" in missing.stderr


def test_deploy_values_files_exist_for_both_environments():
    for env_name in ("staging", "prod"):
        assert (REPO / "charts" / "test-app" / f"values-{env_name}.yaml").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dev", REGISTRY, DIGEST, SHA], "ENV must be staging or prod, got 'dev'"),
        (["prod", "https://x", DIGEST, SHA], "REGISTRY must be a registry host"),
        (["prod", REGISTRY, "sha256:abc", SHA], "DIGEST must be sha256:<64 hex digits>"),
        (["prod", REGISTRY, DIGEST, "main"], "GIT_SHA must be 7 to 40 hex digits"),
        (["prod", REGISTRY, DIGEST], "usage: scripts/deploy.sh"),
    ],
)
def test_deploy_rejects_bad_input_naming_the_field(fakes, args, message):
    bin_dir, log, env = fakes
    fake(bin_dir, "helm")
    result = run("deploy.sh", *args, env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert calls(log) == []


# The db-role hook's ExternalSecret (the master login), by the labels the chart gives it.
HOOK_SECRET = [
    "kubectl", "delete", "externalsecret", "--namespace", "test-app", "--ignore-not-found",
    "--selector", "app.kubernetes.io/name=test-app-db-role,app.kubernetes.io/instance=test-app",
]  # fmt: skip


def test_deploy_passes_helm_failure_through_and_removes_the_hook_secret(fakes):
    # Helm deletes a failed hook's earlier hooks (the ExternalSecret) only when all succeed.
    bin_dir, log, env = fakes
    fake(bin_dir, "helm", "echo 'UPGRADE FAILED: timed out; rolled back' >&2; exit 1")
    fake(bin_dir, "kubectl")
    result = run("deploy.sh", "prod", REGISTRY, DIGEST, SHA, env=env)
    assert result.returncode == 1
    assert "rolled back" in result.stderr
    assert calls(log)[1:] == [HOOK_SECRET]


def test_deploy_keeps_helm_failure_when_the_cleanup_fails_too(fakes):
    bin_dir, _, env = fakes
    fake(bin_dir, "helm", "exit 1")
    fake(bin_dir, "kubectl", "echo 'forbidden' >&2; exit 1")
    result = run("deploy.sh", "prod", REGISTRY, DIGEST, SHA, env=env)
    assert result.returncode == 1
    assert "could not delete the db-role hook's ExternalSecret" in result.stderr


def test_deploy_that_succeeds_leaves_the_cleanup_to_helm(fakes):
    bin_dir, log, env = fakes
    fake(bin_dir, "helm")
    fake(bin_dir, "kubectl")
    assert run("deploy.sh", "prod", REGISTRY, DIGEST, SHA, env=env).returncode == 0
    assert [argv[:2] for argv in calls(log)] == [["helm", "upgrade"], ["helm", "get"]]


# The canary: `helm get manifest` shows a Rollout; kubectl answers the Rollout's status fields
# (phase|abort|currentPodHash|stableRS|message) from a list, one line per call.
ROLLOUT_HELM = 'if [[ "$1" == get ]]; then printf "kind: Service\\n---\\nkind: Rollout\\n"; fi'


def _kubectl_answers(bin_dir: Path, answers: list[str]) -> None:
    (bin_dir / "answers").write_text("\n".join(answers) + "\n")
    fake(
        bin_dir,
        "kubectl",
        f'n=$(grep -c "^kubectl get rollout" "$FAKE_LOG"); sed -n "${{n}}p" {bin_dir / "answers"}',
    )


def _deploy_canary(fakes, answers: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    bin_dir, _, env = fakes
    fake(bin_dir, "helm", ROLLOUT_HELM)
    _kubectl_answers(bin_dir, answers)
    env = env | {"ROLLOUT_POLL_SECONDS": "0", **extra}
    return run("deploy.sh", "prod", REGISTRY, DIGEST, SHA, env=env)


def test_deploy_waits_for_the_canary_and_reports_it_promoted(fakes):
    result = _deploy_canary(
        fakes,
        [
            "Progressing||b7c|a1f|more replicas need to be updated",
            "Paused||b7c|a1f|CanaryPauseStep",
            "Healthy||b7c|b7c|",
        ],
    )
    assert result.returncode == 0, result.stderr
    assert "canary PROMOTED" in result.stderr
    assert "100 % of traffic on b7c" in result.stderr
    commands = [argv[:2] for argv in calls(fakes[1])]
    assert commands.count(["kubectl", "get"]) == 3
    assert ["helm", "rollback"] not in commands


def test_a_status_of_the_previous_spec_is_not_taken_for_a_promotion(fakes):
    # Right after the upgrade the Rollout still shows the old release: Healthy, current == stable
    # (and an old abort), but generation 8 not yet observed (7). Only the observed one counts.
    result = _deploy_canary(
        fakes,
        [
            "Healthy|true|a1f|a1f||8|7",
            "Paused||b7c|a1f|CanaryPauseStep|8|8",
            "Healthy||b7c|b7c||8|8",
        ],
    )
    assert result.returncode == 0, result.stderr
    assert "waiting for the controller to observe generation 8" in result.stderr
    assert "canary PROMOTED after" in result.stderr
    assert "100 % of traffic on b7c" in result.stderr
    assert [argv[:2] for argv in calls(fakes[1])].count(["kubectl", "get"]) == 3


def test_deploy_reports_an_aborted_canary_and_rolls_helm_back(fakes):
    result = _deploy_canary(
        fakes,
        [
            "Paused||b7c|a1f|CanaryPauseStep",
            (
                "Degraded|true|b7c|a1f|RolloutAborted: "
                "Metric canary-availability-error-ratio assessed Failed"
            ),
        ],
    )
    assert result.returncode == 3, result.stderr
    assert "canary ABORTED" in result.stderr
    assert "canary-availability-error-ratio assessed Failed" in result.stderr
    rollback = [argv for argv in calls(fakes[1]) if argv[:2] == ["helm", "rollback"]]
    assert rollback == [
        [
            "helm",
            "rollback",
            "test-app",
            "--namespace",
            "test-app",
            "--wait=legacy",
            "--timeout",
            "10m",
        ]
    ]
    # Not a Helm failure: the hook's secret cleanup is Helm's business here.
    assert not [argv for argv in calls(fakes[1]) if argv[:2] == ["kubectl", "delete"]]


def test_deploy_gives_up_on_a_paused_canary_naming_the_commands(fakes):
    result = _deploy_canary(
        fakes,
        ["Paused||b7c|a1f|InconclusiveAnalysisRun"] * 5,
        ROLLOUT_TIMEOUT_SECONDS="0",
    )
    assert result.returncode == 4, result.stderr
    assert "still Paused" in result.stderr
    assert "kubectl argo rollouts promote|abort test-app" in result.stderr


def test_the_cleanup_selector_matches_the_hook_secret_only():
    files, extra = VALUE_SETS["prod"]
    objects = render(load_values(files, extra))
    selector = dict(
        pair.split("=") for pair in HOOK_SECRET[HOOK_SECRET.index("--selector") + 1].split(",")
    )
    matched = [
        (o["kind"], o["metadata"]["name"])
        for o in objects
        if selector.items() <= o["metadata"].get("labels", {}).items()
        and o["kind"] == "ExternalSecret"
    ]
    assert matched == [("ExternalSecret", "test-app-db-admin")]


# --- rollback.sh --------------------------------------------------------------------


def test_rollback_to_a_chosen_revision_waits(fakes):
    bin_dir, log, env = fakes
    fake(bin_dir, "helm")
    result = run("rollback.sh", "prod", "7", env=env)
    assert result.returncode == 0, result.stderr
    rollback, history = calls(log)
    assert rollback[:4] == ["helm", "rollback", "test-app", "7"]
    assert "--wait=legacy" in rollback
    assert history[:3] == ["helm", "history", "test-app"]


HISTORY_OF = 'if [[ "$1" == history && "$*" == *json* ]]; then echo \'{}\'; fi'
TWO_REVISIONS = '[{"revision": 1}, {"revision": 2}]'


def test_rollback_without_revision_goes_to_the_previous_one(fakes):
    bin_dir, log, env = fakes
    fake(bin_dir, "helm", HISTORY_OF.format(TWO_REVISIONS))
    assert run("rollback.sh", "staging", "", env=env).returncode == 0
    assert calls(log)[1][:4] == ["helm", "rollback", "test-app", "--namespace"]


def test_rollback_of_the_first_release_says_there_is_nothing_before_it(fakes):
    # The first pipeline deploy that fails its smoke test has no previous revision.
    bin_dir, log, env = fakes
    fake(bin_dir, "helm", HISTORY_OF.format('[{"revision": 1}]'))
    result = run("rollback.sh", "staging", "", env=env)
    assert result.returncode == 1
    assert "only its first revision: nothing to roll back to" in result.stderr
    assert [argv[1] for argv in calls(log)] == ["history"]


# --- release_endpoint.sh ---------------------------------------------------------------

# An Ingress whose status gets the load balancer on the READY_AFTER-th look: its DNS name ($ALB,
# EKS) or, when that is empty, its IP ($IP, AKS application routing).
INGRESS = """
case "$*" in
  *spec.rules*) printf '%s' "$HOST" ;;
  *certificate-arn*) printf '%s' "$CERT" ;;
  *spec.tls*) printf '%s' "${TLS:-}" ;;
  *ingress[[]0].hostname*)
    n=$(( $(cat "$COUNT" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$COUNT"
    if (( n >= READY_AFTER )); then printf "%s" "$ALB"; fi ;;
  *ingress[[]0].ip*)
    if (( $(cat "$COUNT") >= READY_AFTER )); then printf "%s" "${IP:-}"; fi ;;
esac
"""
ALB = "k8s-testapp-testapp-0123456789-0123456789.eu-central-1.elb.amazonaws.com"
IP = "20.79.64.10"
TLS = '[{"hosts":["test-app.example.com"],"secretName":"keyvault-test-app"}]'


@pytest.mark.parametrize(
    ("host", "cert", "url"),
    [
        ("test-app.example.com", "arn:aws:acm:eu-central-1:111122223333:certificate/x",
         "https://test-app.example.com"),
        ("", "", f"http://{ALB}"),
    ],
)  # fmt: skip
def test_release_endpoint_waits_for_the_alb_then_prints_url_and_address(
    fakes, tmp_path, host, cert, url
):
    bin_dir, _, env = fakes
    kubectl = fake(bin_dir, "kubectl", INGRESS)
    env = env | {
        "KUBECTL": str(kubectl),
        "HOST": host,
        "CERT": cert,
        "ALB": ALB,
        "COUNT": str(tmp_path / "count"),
        "READY_AFTER": "2",
        "ENDPOINT_INTERVAL": "1",
    }
    result = run("release_endpoint.sh", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"url={url}", f"address={ALB}"]
    assert (tmp_path / "count").read_text().strip() == "2"


@pytest.mark.parametrize(
    ("host", "tls", "url"),
    [
        ("test-app.example.com", TLS, "https://test-app.example.com"),
        ("test-app.example.com", "[]", "http://test-app.example.com"),
        ("", "", f"http://{IP}"),
    ],
)  # fmt: skip
def test_release_endpoint_takes_the_ip_and_tls_of_application_routing(
    fakes, tmp_path, host, tls, url
):
    bin_dir, _, env = fakes
    kubectl = fake(bin_dir, "kubectl", INGRESS)
    env = env | {
        "KUBECTL": str(kubectl),
        "HOST": host,
        "CERT": "",
        "TLS": tls,
        "ALB": "",
        "IP": IP,
        "COUNT": str(tmp_path / "count"),
        "READY_AFTER": "2",
        "ENDPOINT_INTERVAL": "1",
    }
    result = run("release_endpoint.sh", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"url={url}", f"address={IP}"]
    assert (tmp_path / "count").read_text().strip() == "2"


def test_release_endpoint_gives_up_when_no_alb_appears(fakes, tmp_path):
    bin_dir, _, env = fakes
    kubectl = fake(bin_dir, "kubectl", INGRESS)
    env = env | {
        "KUBECTL": str(kubectl),
        "HOST": "h",
        "CERT": "",
        "ALB": ALB,
        "COUNT": str(tmp_path / "count"),
        "READY_AFTER": "99",
        "ENDPOINT_TIMEOUT": "2",
        "ENDPOINT_INTERVAL": "1",
    }
    result = run("release_endpoint.sh", env=env)
    assert result.returncode == 1
    assert "has no load balancer after 2s" in result.stderr


@pytest.mark.parametrize("revision", ["0", "abc", "-1", "1; rm -rf /"])
def test_rollback_rejects_a_bad_revision(fakes, revision):
    bin_dir, log, env = fakes
    fake(bin_dir, "helm")
    result = run("rollback.sh", "prod", revision, env=env)
    assert result.returncode == 2
    assert "REVISION must be a positive Helm revision number" in result.stderr
    assert calls(log) == []


# --- ecr_image_digest.sh ------------------------------------------------------------


def test_ecr_digest_of_an_existing_tag(fakes):
    bin_dir, _, env = fakes
    fake(bin_dir, "aws", f"echo {DIGEST}")
    result = run("ecr_image_digest.sh", "test-app", SHA, env=env)
    assert (result.returncode, result.stdout) == (0, f"digest={DIGEST}\n")


def test_ecr_digest_of_a_missing_tag_is_empty(fakes):
    bin_dir, _, env = fakes
    fake(bin_dir, "aws", "echo 'An error occurred (ImageNotFoundException)' >&2; exit 254")
    result = run("ecr_image_digest.sh", "test-app", SHA, env=env)
    assert (result.returncode, result.stdout) == (0, "digest=\n")


def test_ecr_digest_fails_on_other_errors(fakes):
    bin_dir, _, env = fakes
    fake(bin_dir, "aws", "echo 'AccessDeniedException' >&2; exit 254")
    result = run("ecr_image_digest.sh", "test-app", SHA, env=env)
    assert result.returncode == 1
    assert "AccessDeniedException" in result.stderr


# --- sign_image.sh ------------------------------------------------------------------


@pytest.fixture
def signing(fakes, tmp_path):
    bin_dir, log, env = fakes
    sbom = tmp_path / "sbom.spdx.json"
    sbom.write_text('{"spdxVersion": "SPDX-2.3"}')
    env = env | {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_WORKFLOW_REF": "acme/test-app/.github/workflows/ci.yml@refs/heads/main",
    }
    return bin_dir, log, env, sbom


def test_sign_binds_the_sbom_hash_and_commit(signing):
    bin_dir, log, env, sbom = signing
    # The first verify fails (not signed yet); after signing it passes.
    fake(
        bin_dir,
        "cosign",
        f'[[ "$1" == verify && ! -e {bin_dir}/signed ]] && exit 1; touch {bin_dir}/signed',
    )
    ref = f"{REGISTRY}/test-app@{DIGEST}"
    result = run("sign_image.sh", ref, str(sbom), SHA, env=env)
    assert result.returncode == 0, result.stderr
    verify, sign, verify_again = calls(log)
    identity = "https://github.com/acme/test-app/.github/workflows/ci.yml@refs/heads/main"
    assert verify[verify.index("--certificate-identity") + 1] == identity
    digest = subprocess.run(["sha256sum", str(sbom)], capture_output=True, text=True, check=True)
    assert sign == [
        "cosign",
        "sign",
        "--yes",
        "-a",
        f"sbom.spdx.sha256={digest.stdout.split()[0]}",
        "-a",
        f"git_sha={SHA}",
        ref,
    ]
    assert verify_again[1] == "verify"


def test_sign_keeps_an_existing_signature(signing):
    bin_dir, log, env, sbom = signing
    fake(bin_dir, "cosign")
    result = run("sign_image.sh", f"{REGISTRY}/test-app@{DIGEST}", str(sbom), SHA, env=env)
    assert result.returncode == 0
    assert [c[1] for c in calls(log)] == ["verify"]


def test_sign_refuses_a_tag_reference(signing):
    bin_dir, log, env, sbom = signing
    fake(bin_dir, "cosign")
    result = run("sign_image.sh", f"{REGISTRY}/test-app:{SHA}", str(sbom), SHA, env=env)
    assert result.returncode == 2
    assert "IMAGE must be REGISTRY/REPOSITORY@sha256" in result.stderr
    assert calls(log) == []


# --- base_image.sh ------------------------------------------------------------------


def test_base_image_is_resolved_to_a_digest(fakes):
    bin_dir, log, env = fakes
    fake(bin_dir, "docker", f"printf 'Name: x\\nMediaType: y\\nDigest:    {DIGEST}\\n'")
    result = run("base_image.sh", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"python-image=python:3.11-slim-bookworm@{DIGEST}\n"
    assert calls(log) == [
        ["docker", "buildx", "imagetools", "inspect", "python:3.11-slim-bookworm"]
    ]


def test_base_image_fails_when_the_registry_gives_no_digest(fakes):
    bin_dir, _, env = fakes
    fake(bin_dir, "docker", "echo 'Digest: nope'")
    result = run("base_image.sh", env=env)
    assert result.returncode == 1
    assert "could not resolve" in result.stderr


# --- the values deploy.sh sets are the chart's ----------------------------------------


def prod_environment_values() -> str:
    """The prod GitHub environment's HELM_VALUES_YAML, exactly as docs/release.md shows it."""
    text = (REPO / "docs" / "release.md").read_text()
    match = re.search(
        r"```yaml\n(# HELM_VALUES_YAML of the prod environment.*?)```", text, re.DOTALL
    )
    assert match, "docs/release.md shows no HELM_VALUES_YAML example"
    return match.group(1)


@pytest.mark.parametrize("env_name", ["staging", "prod"])
def test_the_values_deploy_sets_pass_the_chart_schema(env_name):
    # The values files and what deploy adds, merged and validated by Helm as at install.
    extra = yaml.safe_load(prod_environment_values()) if env_name == "prod" else {}
    image = {"image": {"registry": REGISTRY, "tag": SHA, "digest": DIGEST}}
    values = deep_merge(load_values([f"values-{env_name}.yaml"], extra), image)
    assert schema_error(values) is None
    # ...and the schema is strict enough to notice a wrong key.
    wrong = schema_error(deep_merge(values, {"image": {"digest": "sha256:short"}}))
    assert wrong is not None
    assert "/image/digest" in wrong
