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
and when a phase installs an image tag no earlier phase pushed.
Prints one line per problem and `day one: N phases, N problems`; exits 1 on any problem.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from test_app_tooling import walkthrough as phases_lib
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
ROUNDTRIP = REPO / "scripts" / "terraform" / "emulator_roundtrip.py"
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


def check(phases: list[Phase], walkthrough: str, outputs: dict[str, Any] | None) -> list[str]:
    """Run every check of the AWS walkthrough; return the problems found, in phase order."""
    problems = check_order(phases) + check_terraform_outputs(phases)
    problems += check_walkthrough(phases, walkthrough)
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
        problems = check(phases, (REPO / AWS.page).read_text(encoding="utf-8"), outputs)
    for index, phase in enumerate(phases, start=1):
        cost = f" ({phase.cost})" if phase.cost else ""
        print(f"{index:>2}. {phase.id}: {phase.title}{cost}")
    for problem in problems:
        print(f"PROBLEM {problem}")
    print(f"day one: {len(phases)} phases, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
