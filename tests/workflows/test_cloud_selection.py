"""Deploys and rollbacks reach either cloud by the GitHub environment's CLOUD variable:
the sign-in, the kubeconfig, the registry and the chart's values file follow it."""

from __future__ import annotations

import re

import pytest
from workflows.test_pipeline import load, step_using
from workflows.test_scripts import DIGEST, REGISTRY, SHA, calls, fake, fakes, run

from test_app_tooling.tools import REPO
from test_app_tooling.workflows.hygiene import steps


__all__ = ["fakes"]  # the fixture, used by name below

ACR = "acmetestappstaging.azurecr.io"


# --- scripts/cluster_credentials.sh ---------------------------------------------------------------


def test_cluster_credentials_on_aws_updates_the_eks_context(fakes):
    bin_dir, log, env = fakes
    fake(bin_dir, "aws")
    result = run("cluster_credentials.sh", "staging", env=env | {"CLOUD": "aws"})
    assert result.returncode == 0, result.stderr
    assert calls(log) == [
        [
            "aws",
            "eks",
            "update-kubeconfig",
            "--name",
            "test-app-staging",
            "--region",
            "eu-central-1",
        ]
    ]


def test_cluster_credentials_defaults_to_aws(fakes):
    bin_dir, log, env = fakes
    fake(bin_dir, "aws")
    assert run("cluster_credentials.sh", "prod", env=env).returncode == 0
    assert calls(log)[0][:3] == ["aws", "eks", "update-kubeconfig"]


def test_cluster_credentials_on_azure_uses_entra_id_through_kubelogin(fakes):
    bin_dir, log, env = fakes
    fake(bin_dir, "az")
    fake(bin_dir, "kubelogin")
    result = run("cluster_credentials.sh", "prod", env=env | {"CLOUD": "azure"})
    assert result.returncode == 0, result.stderr
    assert calls(log) == [
        [
            "az", "aks", "get-credentials", "--resource-group", "test-app-prod-cluster",
            "--name", "test-app-prod", "--overwrite-existing",
        ],
        ["kubelogin", "convert-kubeconfig", "-l", "azurecli"],
    ]  # fmt: skip


def test_cluster_credentials_installs_kubelogin_when_missing_and_hands_it_to_later_steps(
    fakes, tmp_path
):
    bin_dir, log, env = fakes
    local_bin = tmp_path / ".local" / "bin"
    # The fake `az aks install-cli` puts a fake kubelogin where it was asked to.
    fake(bin_dir, "az", 'if [[ "$2" == install-cli ]]; then cp "$0" "${@: -1}"; fi')
    github_path = tmp_path / "github_path"
    env = env | {
        "CLOUD": "azure",
        "GITHUB_PATH": str(github_path),
        "PATH": f"{bin_dir}:/usr/bin:/bin",
    }
    result = run("cluster_credentials.sh", "staging", env=env)
    assert result.returncode == 0, result.stderr
    install = calls(log)[0]
    assert install[:3] == ["az", "aks", "install-cli"]
    assert install[install.index("--kubelogin-install-location") + 1] == str(
        local_bin / "kubelogin"
    )
    assert github_path.read_text() == f"{local_bin}\n"


@pytest.mark.parametrize(
    ("args", "cloud", "message"),
    [
        (["dev"], "aws", "ENV must be staging or prod, got 'dev'"),
        ([], "aws", "usage: CLOUD=aws|azure scripts/cluster_credentials.sh ENV"),
        (["prod"], "gcp", "CLOUD must be aws or azure, got 'gcp'"),
    ],
)
def test_cluster_credentials_rejects_bad_input_naming_the_field(fakes, args, cloud, message):
    bin_dir, log, env = fakes
    fake(bin_dir, "aws")
    fake(bin_dir, "az")
    result = run("cluster_credentials.sh", *args, env=env | {"CLOUD": cloud})
    assert result.returncode == 2
    assert message in result.stderr
    assert calls(log) == []


# --- scripts/deploy.sh with the AKS values ---------------------------------------------------


def test_deploy_takes_the_aks_values_file_when_asked(fakes):
    bin_dir, log, env = fakes
    fake(bin_dir, "helm")
    result = run(
        "deploy.sh", "prod", ACR, DIGEST, SHA, env=env | {"VALUES_FILE": "values-aks-prod.yaml"}
    )
    assert result.returncode == 0, result.stderr
    argv = calls(log)[0]  # the upgrade (then the look for a canary in the release)
    assert argv[argv.index("--values") + 1] == str(REPO / "charts/test-app/values-aks-prod.yaml")
    assert f"image.registry={ACR}" in argv


@pytest.mark.parametrize(
    ("values_file", "message"),
    [
        (
            "values-aks-staging.yaml",
            "VALUES_FILE must be values-prod.yaml or values-<cloud>-prod.yaml",
        ),
        ("../../etc/values-prod.yaml", "VALUES_FILE must be"),
        (
            "values-gke-prod.yaml",
            "values file for 'prod' is missing: charts/test-app/values-gke-prod.yaml",
        ),
    ],
)
def test_deploy_rejects_a_values_file_of_another_environment_or_place(fakes, values_file, message):
    bin_dir, log, env = fakes
    fake(bin_dir, "helm")
    result = run("deploy.sh", "prod", REGISTRY, DIGEST, SHA, env=env | {"VALUES_FILE": values_file})
    assert result.returncode == 2
    assert message in result.stderr
    assert calls(log) == []


# --- the workflows -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("workflow", "job"), [("deploy.yml", "deploy"), ("rollback.yml", "rollback")]
)
def test_the_environment_picks_the_cloud_and_each_sign_in_is_oidc(workflow, job):
    spec = load(workflow).jobs[job]
    assert spec["env"]["CLOUD"] == "${{ vars.CLOUD || 'aws' }}"
    assert spec["permissions"]["id-token"] == "write"
    [aws] = step_using(spec, "aws-actions/configure-aws-credentials")
    [azure] = step_using(spec, "azure/login")
    assert aws["if"] == "env.CLOUD == 'aws'"
    assert azure["if"] == "env.CLOUD == 'azure'"
    # Identities by client ID (federated credentials), never a secret.
    assert set(azure["with"]) == {"client-id", "tenant-id", "subscription-id"}
    assert azure["with"]["client-id"] == "${{ vars.AZURE_DEPLOY_CLIENT_ID }}"
    [kubeconfig] = [s for s in steps(spec) if str(s.get("name", "")).startswith("Kubeconfig")]
    assert kubeconfig["run"] == 'scripts/cluster_credentials.sh "$DEPLOY_ENV"'
    assert "secrets." not in load(workflow).text


def test_deploy_takes_the_registry_and_values_of_the_cloud():
    spec = load("deploy.yml").jobs["deploy"]
    assert "inputs.environment == 'prod' && vars.ACR_LOGIN_SERVER_PROD" in spec["env"]["REGISTRY"]
    [deploy] = [s for s in steps(spec) if s.get("id") == "deploy"]
    assert "values-aks-{0}.yaml" in deploy["env"]["VALUES_FILE"]
    for step in step_using(spec, "aws-actions/amazon-ecr-login"):
        assert step["if"] == "env.CLOUD == 'aws'"


def test_publish_signs_in_to_each_azure_environments_acr_as_its_push_identity():
    # Which registries get the image is walked in test_both_registries.py; here: the identities.
    publish = load("ci.yml").jobs["publish"]
    logins = step_using(publish, "azure/login")
    assert [s["if"] for s in logins] == [
        "vars.ACR_LOGIN_SERVER_STAGING != ''",
        "vars.ACR_LOGIN_SERVER_PROD != ''",
    ]
    for login, env in zip(logins, ["STAGING", "PROD"], strict=True):
        assert login["with"] == {
            "client-id": f"${{{{ vars.AZURE_CI_PUSH_CLIENT_ID_{env} }}}}",
            "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
            "subscription-id": f"${{{{ vars.AZURE_SUBSCRIPTION_ID_{env} }}}}",
        }
    copies = [s for s in steps(publish) if "cosign copy" in str(s.get("run", ""))]
    assert len(copies) == 2


# --- docs/getting-started-azure.md ---------------------------------------------------------------


def test_every_variable_the_azure_walkthrough_sets_is_read_by_a_workflow():
    text = (REPO / "docs" / "getting-started-azure.md").read_text(encoding="utf-8")
    told = set(re.findall(r"gh variable set ([A-Z][A-Z0-9_]+)", text))
    assert len(told) >= 5, f"no variable list found in getting-started-azure.md: {told}"
    read = {
        name
        for path in (REPO / ".github" / "workflows").glob("*.yml")
        for name in re.findall(r"\bvars\.([A-Z][A-Z0-9_]+)", path.read_text(encoding="utf-8"))
    }
    assert told - read == set(), f"no workflow reads {sorted(told - read)}"
