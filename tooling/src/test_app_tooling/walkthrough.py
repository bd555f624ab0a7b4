"""A getting-started walkthrough as a phase list, checked against what produces what.

A phases file (`docs/getting-started*.phases.yaml`) lists the walkthrough's phases in order with
what each one uses and produces and the workflows it lets run. Kinds of names:
`terraform:<stack>.<output>`, `github-variable:<NAME>`, `github-environment:<name>`,
`role:<who>:<Azure role>`, `image-tag:<tag>` (`image-tag:git-sha` is the commit's SHA), and
plain names for everything else. A `Walkthrough` names the files of one cloud; the checks:

- order: no phase uses (itself or through a workflow it runs) what only a later phase, or no
  phase, produces. What a phase `sets` (GitHub variables, say) is there for its own runs;
- Terraform outputs: every `terraform:` item, and every `terraform ... output NAME` the page's
  commands read, is an output of that stack;
- the page: the same phases, in order, numbered, each with its cost when the file gives one;
- roles: every command of a phase that needs an Azure role (`ROLE_COMMANDS`, from the Azure
  docs) has that role in the phase's `uses`; every role a phase produces is granted by the
  Terraform (`role_definition_name`) or by an `az role assignment create` of that phase;
- feature registration: a phase that registers a preview feature waits for it to say
  `Registered` and registers its resource provider again before a later phase uses it;
- image tags: every tag a phase installs (a `helm upgrade --install` of the chart on the page, or
  a workflow's `scripts/deploy.sh`) was pushed before (a workflow's `docker/build-push-action`).

Each check returns problems as lines naming the phase (empty when the walkthrough is sound).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from test_app_tooling.helm_render import chart_values
from test_app_tooling.tools import REPO


OUTPUT = re.compile(r'^output\s+"([a-z0-9_]+)"', re.MULTILINE)
VARS = re.compile(r"\bvars\.([A-Z0-9_]+)")
ENVIRONMENT = re.compile(r"^\s+environment:\s*([a-z][a-z0-9-]*)\s*$", re.MULTILINE)
HEADING = re.compile(r"^## (\d+)\. (.+)$", re.MULTILINE)
OUTPUT_READ = re.compile(
    r"terraform -chdir=(\S+?)/stacks/([a-z0-9_-]+) output (?:-raw |-json )?([a-z0-9_]+)"
)
ROLE_GRANT_TF = re.compile(r'role_definition_name\s*=\s*"([^"]+)"')
ROLE_GRANT_CLI = re.compile(r"az role assignment create[^\n]*--role\s+[\"']([^\"']+)[\"']")
FEATURE = re.compile(r"az feature register --namespace (\S+) --name (\S+)")
HELM_CHART = re.compile(
    r"helm upgrade --install test-app charts/test-app(?P<args>(?:[^\n]*\\\n)*[^\n]*)"
)
PUSHED_TAG = re.compile(r"tags:[^\n]*:\$\{\{\s*github\.sha\s*\}\}")
DEPLOY_SCRIPT = re.compile(re.escape("scripts/deploy.sh"))

# Commands that need an Azure role of whoever runs them (Azure RBAC for Key Vault data actions:
# https://learn.microsoft.com/azure/key-vault/general/rbac-guide).
ROLE_COMMANDS: dict[str, str] = {
    r"az keyvault certificate (import|create|delete)": "Key Vault Certificates Officer",
    r"az keyvault secret (set|delete)": "Key Vault Secrets Officer",
    r"az keyvault key (import|create)": "Key Vault Crypto Officer",
}


@dataclass
class Phase:
    """One phase of the walkthrough."""

    id: str
    title: str
    cost: str = ""
    uses: list[str] = field(default_factory=list)
    produces: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Walkthrough:
    """The files of one cloud's walkthrough, relative to the repository."""

    phases: str
    page: str
    terraform: str
    require_costs: bool = True

    def load(self, root: Path = REPO) -> list[Phase]:
        """Read the phases of this walkthrough."""
        return load_phases(root / self.phases, require_costs=self.require_costs)


def load_phases(path: Path, *, require_costs: bool = True) -> list[Phase]:
    """Read a phases file; a phase without id or title (or cost, when required) is named."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    required = ("id", "title", "cost") if require_costs else ("id", "title")
    phases = []
    for index, raw in enumerate(document.get("phases") or [], start=1):
        missing = [key for key in required if not raw.get(key)]
        if missing:
            msg = f"{path.name}: phase {index} lacks {', '.join(missing)}"
            raise ValueError(msg)
        phases.append(Phase(**raw))
    if not phases:
        msg = f"{path.name}: no phases"
        raise ValueError(msg)
    return phases


AWS = Walkthrough("docs/getting-started.phases.yaml", "docs/getting-started.md", "infra")
AZURE = Walkthrough(
    "docs/getting-started-azure.phases.yaml",
    "docs/getting-started-azure.md",
    "infra/azure",
    require_costs=False,
)


def stack_outputs(stack: str, terraform: str = "infra", root: Path = REPO) -> set[str]:
    """Return the outputs a stack declares in its outputs.tf."""
    path = root / terraform / "stacks" / stack / "outputs.tf"
    return set(OUTPUT.findall(path.read_text(encoding="utf-8"))) if path.is_file() else set()


def workflow_text(workflow: str, root: Path = REPO) -> str:
    """A workflow's text (absolute paths stay as they are)."""
    return (root / workflow).read_text(encoding="utf-8")


def workflow_needs(workflow: str, root: Path = REPO) -> set[str]:
    """Return the GitHub variables and environments a workflow reads, as phase names."""
    text = workflow_text(workflow, root)
    needs = {f"github-variable:{name}" for name in VARS.findall(text)}
    needs |= {f"github-environment:{name}" for name in ENVIRONMENT.findall(text)}
    return needs


def check_order(phases: list[Phase], root: Path = REPO) -> list[str]:
    """Check that each phase (and each workflow it runs) uses only what came earlier."""
    problems = []
    produced: dict[str, str] = {}
    later = {item: p.id for p in phases for item in [*p.sets, *p.produces]}
    for phase in phases:
        available = produced | dict.fromkeys(phase.sets, phase.id)
        wanted = set(phase.uses)
        for run in phase.runs:
            optional = {f"github-variable:{v}" for v in run.get("optional_vars", [])}
            wanted |= workflow_needs(run["workflow"], root) - optional
        for item in sorted(wanted):
            if item in available:
                continue
            origin = later.get(item)
            where = f"only phase {origin!r} (later) produces it" if origin else "no phase does"
            problems.append(f"phase {phase.id!r} uses {item}, but {where}")
        produced |= dict.fromkeys([*phase.sets, *phase.produces], phase.id)
    return problems


def check_terraform_outputs(
    phases: list[Phase], terraform: str = "infra", root: Path = REPO
) -> list[str]:
    """Check that every `terraform:<stack>.<output>` named is declared by the stack."""
    problems = []
    for phase in phases:
        for item in phase.uses + phase.produces:
            if not item.startswith("terraform:"):
                continue
            stack, _, name = item.removeprefix("terraform:").partition(".")
            if name not in stack_outputs(stack, terraform, root):
                problems.append(
                    f"phase {phase.id!r}: {item} is not an output of {terraform}/stacks/{stack}"
                )
    return problems


# A shell block of a page, also indented under a list item; group 1 is its body.
SHELL_BLOCK = re.compile(
    r"^[ \t]*```(?:bash|sh|shell|console)?[ \t]*\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL
)


def shell_blocks(text: str) -> str:
    """The page's shell blocks only (prose dropped), for checks of what the commands do."""
    return "\n".join(m.group(1) for m in SHELL_BLOCK.finditer(text))


def sections(text: str) -> dict[str, str]:
    """The body of each `## N. Title` section of a page, by title."""
    found = list(HEADING.finditer(text))
    bodies = {}
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(text)
        body = text[match.end() : end]
        bodies[match.group(2).strip()] = body.split("\n## ", 1)[0]
    return bodies


def check_walkthrough(phases: list[Phase], text: str, page: str = AWS.page) -> list[str]:
    """Check that the page walks the same phases in order, with costs."""
    headings = HEADING.findall(text)
    found = [title.strip() for _, title in headings]
    wanted = [p.title for p in phases]
    problems = []
    if found != wanted:
        problems.append(
            f"{page} phases differ from the phases file:\n  doc:   {found}\n  file:  {wanted}"
        )
    numbers = [int(n) for n, _ in headings]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"{page} phases are not numbered 1..n: {numbers}")
    problems += [
        f"{page} does not state the cost of phase {p.id!r}: {p.cost!r}"
        for p in phases
        if p.cost and p.cost not in text
    ]
    return problems


def check_outputs_read(
    phases: list[Phase], text: str, terraform: str, root: Path = REPO
) -> list[str]:
    """Every `terraform ... output NAME` of the page exists and its phase lists it.

    Reads `terraform -chdir=<tree>/stacks/<stack> output NAME` in each phase's section.
    """
    problems = []
    bodies = sections(text)
    for phase in phases:
        listed = set(phase.uses) | set(phase.produces)
        for tree, stack, name in OUTPUT_READ.findall(bodies.get(phase.title, "")):
            if tree != terraform:
                continue
            if name not in stack_outputs(stack, terraform, root):
                problems.append(
                    f"phase {phase.id!r} reads output {name!r}, which {terraform}/stacks/{stack} "
                    "does not declare"
                )
            elif f"terraform:{stack}.{name}" not in listed:
                problems.append(
                    f"phase {phase.id!r} reads terraform:{stack}.{name} but does not list it"
                )
    return problems


def terraform_roles(terraform: str, root: Path = REPO) -> set[str]:
    """Every Azure role a `role_definition_name` of the Terraform tree assigns."""
    return {
        role
        for path in sorted((root / terraform).rglob("*.tf"))
        for role in ROLE_GRANT_TF.findall(path.read_text(encoding="utf-8"))
    }


def check_roles(phases: list[Phase], text: str, terraform: str, root: Path = REPO) -> list[str]:
    """Commands that need a role list it; every produced role is really granted."""
    problems = []
    bodies = sections(text)
    granted_by_terraform = terraform_roles(terraform, root)
    for phase in phases:
        body = bodies.get(phase.title, "")
        uses = set(phase.uses)
        for pattern, role in ROLE_COMMANDS.items():
            command = re.search(pattern, body)
            if command and not any(u.startswith("role:") and u.endswith(f":{role}") for u in uses):
                problems.append(
                    f"phase {phase.id!r} runs `{command.group(0)}`, which needs the role "
                    f"{role!r}: the phase does not list it in uses (role:<who>:{role})"
                )
        granted_here = set(ROLE_GRANT_CLI.findall(body))
        for item in phase.produces:
            if not item.startswith("role:"):
                continue
            role = item.rsplit(":", 1)[1]
            if role not in granted_by_terraform | granted_here:
                problems.append(
                    f"phase {phase.id!r} produces {item}, but neither {terraform} "
                    "(role_definition_name) nor an `az role assignment create` of the phase "
                    "grants it"
                )
    return problems


def check_feature_waits(phases: list[Phase], text: str) -> list[str]:
    """A registered preview feature is waited for and its provider registered again."""
    problems = []
    bodies = sections(text)
    for phase in phases:
        body = bodies.get(phase.title, "")
        for match in FEATURE.finditer(body):
            namespace, name = match.groups()
            rest = body[match.end() :]
            show = re.search(
                rf"az feature show --namespace {re.escape(namespace)} --name {re.escape(name)}",
                rest,
            )
            if not show or "Registered" not in rest[show.end() :]:
                problems.append(
                    f"phase {phase.id!r} registers {namespace}/{name} but does not wait until "
                    "`az feature show` says Registered"
                )
                continue
            after = rest[show.end() :]
            provider = re.search(r"az provider register --namespace", after)
            if not provider or namespace not in after[max(0, provider.start() - 400) :]:
                problems.append(
                    f"phase {phase.id!r} waits for {namespace}/{name} but does not register the "
                    f"provider {namespace} again afterwards (the feature takes effect only then)"
                )
    return problems


def _chart_tag(args: str, chart: Path) -> str:
    """The image tag a `helm upgrade --install` of the chart installs.

    `image.tag`/`image.digest` set on the command line (a shell variable named after the SHA is
    the commit's, `git-sha`), else the last values file's `image.tag`, else `appVersion`.
    """
    explicit = re.search(r"image\.(?:tag|digest)=(\"?)([^\s\"]+)\1", args)
    if explicit:
        value = explicit.group(2)
        return "git-sha" if "sha" in value.lower() else value
    files = [
        f.removeprefix("charts/test-app/")
        for f in re.findall(r"-f (charts/test-app/\S+\.yaml)", args)
    ]
    tag = str(chart_values(files, chart=chart)["image"].get("tag") or "")
    if not tag:
        meta = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8"))
        tag = str(meta["appVersion"])
    return tag


def check_image_tags(phases: list[Phase], text: str, root: Path = REPO) -> list[str]:
    """Every tag a phase installs was pushed by an earlier phase (or an earlier run of it)."""
    problems = []
    bodies = sections(text)
    chart = root / "charts" / "test-app"
    pushed: set[str] = set()
    for phase in phases:
        for match in HELM_CHART.finditer(bodies.get(phase.title, "")):
            tag = _chart_tag(match.group("args"), chart)
            if tag not in pushed:
                problems.append(
                    f"phase {phase.id!r} installs image tag {tag!r}, which no earlier phase "
                    f"pushed (pushed: {sorted(pushed)})"
                )
        for run in phase.runs:
            workflow = workflow_text(run["workflow"], root)
            if PUSHED_TAG.search(workflow):
                pushed.add("git-sha")
            if DEPLOY_SCRIPT.search(workflow) and "git-sha" not in pushed:
                problems.append(
                    f"phase {phase.id!r} runs {run['workflow']}, which installs the commit's "
                    "image, before any phase pushed it"
                )
        pushed |= {
            i.removeprefix("image-tag:") for i in phase.produces if i.startswith("image-tag:")
        }
    return problems


def check(walkthrough: Walkthrough, root: Path = REPO) -> list[str]:
    """Every check of one cloud's walkthrough (offline), in phase order."""
    phases = walkthrough.load(root)
    text = (root / walkthrough.page).read_text(encoding="utf-8")
    problems = check_order(phases, root)
    problems += check_terraform_outputs(phases, walkthrough.terraform, root)
    problems += check_walkthrough(phases, text, walkthrough.page)
    problems += check_outputs_read(phases, text, walkthrough.terraform, root)
    problems += check_roles(phases, text, walkthrough.terraform, root)
    problems += check_feature_waits(phases, text)
    problems += check_image_tags(phases, text, root)
    return problems
