#!/usr/bin/env python3
"""Day one as a script: check the walkthrough's phases in order against what produces what.

    scripts/day_one.py                      the AWS walkthrough's checks (no cloud, seconds)
    scripts/day_one.py --cloud azure        the same for docs/getting-started-azure.md
    scripts/day_one.py --emulator           also apply every stack on the AWS emulator and check
                                            the Terraform outputs the phases use are produced
    scripts/day_one.py --outputs FILE       check against outputs an emulator run already wrote

The phases live in docs/getting-started.phases.yaml (AWS) and
docs/getting-started-azure.phases.yaml; the checks are test_app_tooling.walkthrough's. A phase
fails when it uses something no earlier phase produces, when it names a Terraform output its
stack does not declare, when a workflow it lets run reads a GitHub variable or environment no
earlier phase creates, when the page does not walk the same phases in the same order, when a
command needs an Azure role no earlier phase grants, when a preview feature is not waited for,
and when a phase installs an image tag no earlier phase pushed. For AWS it also
checks that every environment can pull and verify the image in the registry it uses: for
two separate accounts and for one shared account, the deploy workflow's ECR login must give
credentials for the registry, the deploy role must read its repository, the repository policy
made by the registry stack (with the values scripts/terraform/project_vars.py hands it) must
admit the environment's account, and the walkthrough must re-apply the registry environment's
stacks once the other account is known (`registry-admits:<env>`), and apply the pulling
environment's stacks by name without its own registry stack
(test_app_tooling.infra.registry_access). And every environment turns the app secret's rotation
on only in a phase after its app role exists and its alarm topic is subscribed, and the teardown
turns it off again so a re-create's first apply does not, each environment's only after that
environment's destroy (test_app_tooling.infra.rotation_order). And every `terraform output` the
page reads comes from a stack folder last initialised for the environment the read is for
(test_app_tooling.infra.state_reads), and the teardown waits for the load balancer controller's
security groups before uninstalling it (test_app_tooling.infra.teardown).
Prints one line per problem and `day one: N phases, N problems`; exits 1 on any problem.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from test_app_tooling import walkthrough as phases_lib
from test_app_tooling.infra import registry_access, rotation_order, state_reads, teardown
from test_app_tooling.tools import REPO
from test_app_tooling.walkthrough import (
    AWS,
    AZURE,
    Phase,
    check_order,
    check_walkthrough,
    stack_outputs,
    workflow_needs,
)


__all__ = ["Phase", "check_order", "check_walkthrough", "stack_outputs", "workflow_needs"]

PHASES = REPO / AWS.phases
WALKTHROUGH = REPO / AWS.page
ROUNDTRIP = REPO / "scripts" / "terraform" / "emulator_roundtrip.py"
PROJECT_VARS = REPO / "scripts" / "terraform" / "project_vars.py"
PROJECT = REPO / "infra" / "envs" / "project.toml"
# Account layouts the registry check runs: two accounts, and one account for both. The AWS
# documentation's example account, and a second made-up one (tests/infra/test_fork.py allows
# no other account ID outside infra/envs/project.toml).
EXAMPLE_ACCOUNT = "111122223333"
OTHER_ACCOUNT = EXAMPLE_ACCOUNT[::-1]
LAYOUTS = {
    "separate accounts": {"staging": EXAMPLE_ACCOUNT, "prod": OTHER_ACCOUNT},
    "one account": {"staging": EXAMPLE_ACCOUNT, "prod": EXAMPLE_ACCOUNT},
}
GH_VARIABLE = re.compile(r"gh variable set ([A-Z0-9_]+) (.*)")
EMULATOR_BUDGET_SECONDS = 1500
CLOUDS = {"aws": AWS, "azure": AZURE}


def load(path: Path = PHASES) -> list[Phase]:
    """Read the AWS phases (every phase states its cost)."""
    return phases_lib.load_phases(path)


def check_terraform_outputs(phases: list[Phase]) -> list[str]:
    """Check that every `terraform:<stack>.<output>` named is declared by the AWS stack."""
    return phases_lib.check_terraform_outputs(phases, AWS.terraform)


def check_emulator_outputs(phases: list[Phase], outputs: dict[str, Any]) -> list[str]:
    """Check that every Terraform output a phase produces is non-empty on the emulator."""
    problems = []
    for phase in phases:
        for item in phase.produces:
            if not item.startswith("terraform:"):
                continue
            stack, _, name = item.removeprefix("terraform:").partition(".")
            value = outputs.get(stack, {}).get(name, {}).get("value")
            if value in (None, "", [], {}):
                problems.append(f"phase {phase.id!r}: the emulator run produced no {item}")
    return problems


def run_emulator(outputs_file: Path) -> None:
    """Apply every stack on the AWS emulator (and tear down), writing their outputs."""
    subprocess.run(
        [sys.executable, str(ROUNDTRIP), "--outputs", str(outputs_file)],
        check=True,
        timeout=EMULATOR_BUDGET_SECONDS,
    )


def project_values(accounts: dict[str, str], scratch: Path) -> dict[str, dict[str, Any]]:
    """Return what project_vars.py hands the registry and ci stacks of each environment."""
    text = PROJECT.read_text(encoding="utf-8")
    for env, account in accounts.items():
        text = re.sub(
            rf'(\[environments\.{env}\]\naccount_id = )""\nadmin_principal_arns = \[\]',
            rf'\g<1>"{account}"\nadmin_principal_arns = ["arn:aws:iam::{account}:role/admin"]',
            text,
            count=1,
        )
    project = scratch / "project.toml"
    project.write_text(text, encoding="utf-8")
    found: dict[str, dict[str, Any]] = {}
    for env in accounts:
        merged: dict[str, Any] = {}
        for stack in ("registry", "ci"):
            out = scratch / f"{env}-{stack}.json"
            subprocess.run(
                [
                    sys.executable,
                    str(PROJECT_VARS),
                    env,
                    stack,
                    str(out),
                    "--project",
                    str(project),
                ],
                check=True,
                timeout=60,
            )
            merged |= json.loads(out.read_text(encoding="utf-8"))
        found[env] = merged
    return found


def registry_environment() -> str:
    """Return the environment whose account holds the registry (infra/envs/project.toml)."""
    found = re.search(
        r'^registry_environment = "([a-z]+)"', PROJECT.read_text("utf-8"), re.MULTILINE
    )
    if not found:
        msg = f"{PROJECT}: no registry_environment"
        raise LookupError(msg)
    return found[1]


def github_variables(
    walkthrough: str, env: str, accounts: dict[str, str], home: str
) -> dict[str, str]:
    """Return the account-valued GitHub variables one environment sees, as the guide sets them.

    `gh variable set NAME ... --env E` sets it for E; without `--env` it is repository-wide and
    set from the account signed in at that point of the walkthrough (the registry environment's,
    phase 7). Values from `aws sts get-caller-identity` are that account.
    """
    variables: dict[str, str] = {}
    scoped: dict[str, str] = {}
    for name, rest in GH_VARIABLE.findall(walkthrough):
        if "get-caller-identity" not in rest:
            continue
        target = re.search(r"--env (\w+)", rest)
        if target is None:
            variables[name] = accounts[home]
        elif target[1] == env:
            scoped[name] = accounts[env]
    return variables | scoped


def registry_layouts(
    walkthrough: str,
) -> Iterator[tuple[str, list[registry_access.Environment], dict[str, dict[str, Any]]]]:
    """Each account layout with its environments and project values, as the guide sets them."""
    home = registry_environment()
    with tempfile.TemporaryDirectory(prefix="day-one-registry-") as scratch:
        for layout, accounts in LAYOUTS.items():
            values = project_values(accounts, Path(scratch))
            environments = [
                registry_access.Environment(
                    env, account, github_variables(walkthrough, env, accounts, home)
                )
                for env, account in accounts.items()
            ]
            yield layout, environments, values


def check_registry_access(phases: list[Phase], walkthrough: str) -> list[str]:
    """Every environment has credentials for, and is admitted by, the registry it uses."""
    home = registry_environment()
    problems = []
    for layout, environments, values in registry_layouts(walkthrough):
        found = registry_access.check(environments, home, values.__getitem__)
        problems += [f"registry ({layout}): {p}" for p in found]
    produced = {item for p in phases for item in p.produces}
    for env in LAYOUTS["separate accounts"]:
        if env != home and f"registry-admits:{env}" not in produced:
            problems.append(
                f"no phase produces registry-admits:{env}: the registry stack of {home} must be "
                f"re-applied once {env}'s account is in infra/envs/project.toml"
            )
        if env != home:
            problems += registry_access.own_registry_applies(walkthrough, env)
    return problems


def check_rotation(phases: list[Phase], walkthrough: str) -> list[str]:
    """Every environment turns rotation on after its app role exists; the teardown turns it off."""
    return rotation_order.walkthrough_problems(
        phases, phases_lib.sections(walkthrough), LAYOUTS["separate accounts"]
    )


def check_state_reads(phases: list[Phase], walkthrough: str) -> list[str]:
    """Every `terraform output` read comes from a folder initialised for the read's environment."""
    return state_reads.problems(
        phases, phases_lib.sections(walkthrough), LAYOUTS["separate accounts"]
    )


def check_teardown(phases: list[Phase], walkthrough: str) -> list[str]:
    """Check that the teardown waits for the controller's security groups before removing it."""
    bodies = phases_lib.sections(walkthrough)
    found = [bodies.get(p.title, "") for p in phases if p.id == "teardown"]
    if not found:
        return ["no phase 'teardown'"]
    return [f"phase 'teardown': {p}" for p in teardown.problems(found[0], "test-app-staging")]


def check(phases: list[Phase], walkthrough: str, outputs: dict[str, Any] | None) -> list[str]:
    """Run every check of the AWS walkthrough; return the problems found, in phase order."""
    problems = check_order(phases) + check_terraform_outputs(phases)
    problems += check_walkthrough(phases, walkthrough)
    problems += check_registry_access(phases, walkthrough)
    problems += check_rotation(phases, walkthrough)
    problems += check_state_reads(phases, walkthrough)
    problems += check_teardown(phases, walkthrough)
    if outputs is not None:
        problems += check_emulator_outputs(phases, outputs)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cloud", choices=sorted(CLOUDS), default="aws")
    parser.add_argument("--emulator", action="store_true", help="apply the stacks on moto too")
    parser.add_argument("--outputs", type=Path, help="outputs JSON of an emulator run")
    args = parser.parse_args(argv)
    chosen = CLOUDS[args.cloud]
    phases = chosen.load()
    if args.cloud == "azure":
        if args.emulator or args.outputs:
            parser.error("--emulator and --outputs are AWS only (there is no Azure emulator)")
        problems = phases_lib.check(chosen)
    else:
        outputs = None
        if args.emulator:
            with tempfile.TemporaryDirectory(prefix="day-one-") as scratch:
                path = Path(scratch) / "outputs.json"
                run_emulator(path)
                outputs = json.loads(path.read_text(encoding="utf-8"))
        elif args.outputs:
            outputs = json.loads(args.outputs.read_text(encoding="utf-8"))
        problems = check(phases, WALKTHROUGH.read_text(encoding="utf-8"), outputs)
    for index, phase in enumerate(phases, start=1):
        cost = f" ({phase.cost})" if phase.cost else ""
        print(f"{index:>2}. {phase.id}: {phase.title}{cost}")
    for problem in problems:
        print(f"PROBLEM {problem}")
    print(f"day one: {len(phases)} phases, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
