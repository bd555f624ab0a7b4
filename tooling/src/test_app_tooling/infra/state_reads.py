"""Every `terraform output` the walkthrough reads comes from the environment it is meant for.

`scripts/terraform/stacks` initialises a stack folder for one environment at a time (`init
-reconfigure` with `key=<env>/<stack>.tfstate`), so `scripts/terraform/tf -chdir=infra/stacks/S
output NAME` reads the state of whichever environment last ran `make infra`, `make infra-plan`,
`make infra-destroy` or `scripts/terraform/stacks plan|apply|destroy` on S. Phase 11 of
docs/getting-started.md used to read prod's alarm topic that way right after re-applying
staging: prod's pager was subscribed to staging's topic (one account), or the read failed
against staging's state bucket with prod's credentials (two accounts).

The check walks the page's shell blocks in order, tracks each stack folder's last
initialisation, and refuses a read (the literal `-chdir=infra/stacks/S output NAME`, or a call
`tf S NAME` of the page's `tf()` helper) whose folder was last initialised for another
environment than the read's, or never. A read's environment is the one its own shell block names
(`ENV=<env>`, `test-app-<env>`, `infra/envs/<env>/`, `stacks <verb> <env>`, a `test-app-<env>`
profile), else the last one an earlier block of the page named; a block naming two is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from test_app_tooling.tools import REPO
from test_app_tooling.walkthrough import SHELL_BLOCK


RUNNER = REPO / "scripts" / "terraform" / "stacks"
MAKE_INIT = re.compile(r"\bmake (infra|infra-plan|infra-destroy) ENV=(\w+)")
RUNNER_INIT = re.compile(r"scripts/terraform/stacks (plan|apply|destroy) (\w+)((?: [a-z]+)*)")
LITERAL_READ = re.compile(r"-chdir=\"?infra/stacks/([a-z0-9_-]+)\"? output (?:-\w+ )*([a-z0-9_]+)")
HELPER = re.compile(r"\btf\(\)\s*\{[^}]*-chdir=\"?infra/stacks/\$1\"? output")
HELPER_READ = re.compile(r"\$\(tf ([a-z0-9_-]+) ([a-z0-9_]+)\)")


class PhaseLike(Protocol):
    """What the check reads of a walkthrough phase (test_app_tooling.walkthrough.Phase)."""

    id: str
    title: str


def stack_order(runner: Path = RUNNER) -> list[str]:
    """The stacks `scripts/terraform/stacks` runs when none is named (its ORDER)."""
    found = re.search(r"^ORDER=\(([^)]*)\)", runner.read_text(encoding="utf-8"), re.MULTILINE)
    if not found:
        msg = f"{runner}: no ORDER=(...) of stacks"
        raise LookupError(msg)
    return found[1].split()


def _named(block: str, environments: Iterable[str]) -> list[str]:
    """The environments a shell block names, in order of appearance."""
    alternatives = "|".join(re.escape(e) for e in environments)
    pattern = re.compile(rf"(?:ENV=|test-app-|infra/envs/|stacks [a-z]+ )({alternatives})\b")
    return list(dict.fromkeys(m.group(1) for m in pattern.finditer(block)))


def problems(
    phases: Sequence[PhaseLike],
    sections: Mapping[str, str],
    environments: Iterable[str],
    order: Sequence[str] | None = None,
) -> list[str]:
    """Reads of a stack's outputs whose folder was last initialised for another environment."""
    envs = list(environments)
    stacks = list(order) if order is not None else stack_order()
    last_init: dict[str, tuple[str, str]] = {}  # stack -> (environment, phase id)
    current_env: str | None = None
    helper = False
    found = []
    for phase in phases:
        for block in SHELL_BLOCK.findall(sections.get(phase.title, "")):
            named = _named(block, envs)
            helper = helper or bool(HELPER.search(block))
            read_env = named[0] if len(named) == 1 else current_env
            for kind, first, second in _events(block, stacks, helper=helper):
                if kind == "init":
                    last_init[second] = (first, phase.id)
                    continue
                stack, name = first, second
                where = f"phase {phase.id!r} reads output {name!r} of {stack}"
                init = last_init.get(stack)
                if len(named) > 1:
                    found.append(f"{where} in a block that names {' and '.join(named)}")
                elif read_env is None:
                    found.append(f"{where} without naming an environment before it")
                elif init is None:
                    found.append(f"{where} for {read_env} before any init of infra/stacks/{stack}")
                elif init[0] != read_env:
                    found.append(
                        f"{where} for {read_env}, but infra/stacks/{stack} was last initialised "
                        f"for {init[0]} (phase {init[1]!r}): the read returns {init[0]}'s value, "
                        f"or fails with {read_env}'s credentials; read it from AWS, or right "
                        f"after an init for {read_env}"
                    )
            if named:
                current_env = named[-1]
    return found


def _events(block: str, stacks: Sequence[str], *, helper: bool) -> list[tuple[str, str, str]]:
    """The block's inits (`init`, env, stack) and reads (`read`, stack, output), in order."""
    events: list[tuple[int, str, str, str]] = []
    for m in MAKE_INIT.finditer(block):
        events += [(m.start(), "init", m.group(2), s) for s in stacks]
    for m in RUNNER_INIT.finditer(block):
        chosen = m.group(3).split() or stacks
        events += [(m.start(), "init", m.group(2), s) for s in chosen if s in stacks]
    reads = list(LITERAL_READ.finditer(block))
    if helper:
        reads += HELPER_READ.finditer(block)
    events += [(m.start(), "read", m.group(1), m.group(2)) for m in reads]
    return [(kind, a, b) for _, kind, a, b in sorted(events)]
