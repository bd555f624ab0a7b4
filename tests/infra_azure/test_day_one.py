"""Azure day one as phases (docs/getting-started-azure.phases.yaml, scripts/day_one.py --cloud
azure): the Azure walkthrough checked like AWS's, plus the roles, feature registrations and image
tags Azure adds. The real walkthrough must pass; each check must catch its defect on a small
page of its own (test_app_tooling.walkthrough)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from test_app_tooling import walkthrough
from test_app_tooling.tools import REPO
from test_app_tooling.walkthrough import Phase


SCRIPT = REPO / "scripts" / "day_one.py"


def test_the_azure_walkthrough_passes_every_check():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--cloud", "azure"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    phases = walkthrough.AZURE.load()
    assert len(phases) >= 8
    assert f"day one: {len(phases)} phases, 0 problems" in result.stdout


def page(*sections: tuple[str, str]) -> str:
    return "".join(f"## {n}. {title}\n\n{body}\n" for n, (title, body) in enumerate(sections, 1))


def test_a_command_needing_a_role_the_phase_does_not_list_fails():
    text = page(("TLS", "```bash\naz keyvault certificate import --vault-name v --name c\n```"))
    phases = [Phase("tls", "TLS")]
    [problem] = walkthrough.check_roles(phases, text, "infra/azure")
    assert "needs the role 'Key Vault Certificates Officer'" in problem
    phases[0].uses.append("role:operator:Key Vault Certificates Officer")
    assert walkthrough.check_roles(phases, text, "infra/azure") == []


def test_a_role_granted_later_or_never_fails():
    role = "role:operator:Key Vault Certificates Officer"
    phases = [Phase("tls", "TLS", uses=[role]), Phase("grant", "Grant", produces=[role])]
    assert walkthrough.check_order(phases) == [
        f"phase 'tls' uses {role}, but only phase 'grant' (later) produces it"
    ]
    [problem] = walkthrough.check_roles(phases, page(("TLS", ""), ("Grant", "")), "nowhere")
    assert "neither nowhere (role_definition_name) nor an `az role assignment create`" in problem
    granted = page(
        ("TLS", ""),
        ("Grant", 'az role assignment create --role "Key Vault Certificates Officer" --assignee x'),
    )
    assert walkthrough.check_roles(phases, granted, "nowhere") == []


def test_the_terraform_roles_are_read_from_role_assignments():
    roles = walkthrough.terraform_roles("infra/azure")
    assert {"Key Vault Secrets Officer", "Key Vault Secrets User", "AcrPull"} <= roles


def test_a_feature_registered_without_waiting_fails():
    register = "az feature register --namespace Microsoft.Compute --name EncryptionAtHost\n"
    phases = [Phase("pre", "Pre")]
    [problem] = walkthrough.check_feature_waits(phases, page(("Pre", register)))
    assert "does not wait until `az feature show` says Registered" in problem
    waits = (
        'until [ "$(az feature show --namespace Microsoft.Compute --name EncryptionAtHost '
        '--query properties.state -o tsv)" = Registered ]; do sleep 30; done\n'
    )
    [problem] = walkthrough.check_feature_waits(phases, page(("Pre", register + waits)))
    assert "does not register the provider Microsoft.Compute again" in problem
    again = "az provider register --namespace Microsoft.Compute --wait\n"
    assert walkthrough.check_feature_waits(phases, page(("Pre", register + waits + again))) == []


def test_an_image_tag_nobody_pushed_fails():
    install = (
        "helm upgrade --install test-app charts/test-app -n test-app \\\n"
        "  -f charts/test-app/values-aks-staging.yaml\n"
    )
    phases = [Phase("deploy", "Deploy")]
    [problem] = walkthrough.check_image_tags(phases, page(("Deploy", install)))
    app_version = yaml.safe_load((REPO / "charts/test-app/Chart.yaml").read_text())
    assert f"installs image tag {app_version['appVersion']!r}, which no earlier phase pushed" in (
        problem
    )
    by_sha = install.rstrip() + ' \\\n  --set-string image.tag="$GIT_SHA"\n'
    assert walkthrough.check_image_tags(phases, page(("Deploy", by_sha))) != []
    publish = [Phase("ci", "CI", runs=[{"workflow": ".github/workflows/ci.yml"}]), phases[0]]
    assert walkthrough.check_image_tags(publish, page(("CI", ""), ("Deploy", by_sha))) == []


def test_a_deploy_workflow_before_the_publish_fails():
    phases = [Phase("d", "D", runs=[{"workflow": ".github/workflows/deploy.yml"}])]
    [problem] = walkthrough.check_image_tags(phases, page(("D", "")))
    assert "installs the commit's image, before any phase pushed it" in problem


def test_an_output_the_page_reads_must_exist_and_be_listed():
    body = "terraform -chdir=infra/azure/stacks/cluster output -raw key_vault_name\n"
    phases = [Phase("p", "P")]
    [problem] = walkthrough.check_outputs_read(phases, page(("P", body)), "infra/azure")
    assert problem == (
        "phase 'p' reads output 'key_vault_name', which infra/azure/stacks/cluster does not declare"
    )
    body = "terraform -chdir=infra/azure/stacks/cluster output -raw key_vault_uri\n"
    [problem] = walkthrough.check_outputs_read(phases, page(("P", body)), "infra/azure")
    assert "does not list it" in problem


def test_what_a_phase_sets_is_there_for_its_own_runs(tmp_path: Path):
    workflow = tmp_path / "deploy.yml"
    workflow.write_text("jobs:\n  d:\n    env:\n      C: ${{ vars.CLOUD }}\n")
    phase = Phase("d", "D", runs=[{"workflow": str(workflow)}])
    assert walkthrough.check_order([phase]) == [
        "phase 'd' uses github-variable:CLOUD, but no phase does"
    ]
    phase.sets.append("github-variable:CLOUD")
    assert walkthrough.check_order([phase]) == []
