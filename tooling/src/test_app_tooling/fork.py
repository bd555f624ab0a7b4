"""The repository's own GitHub `owner/name`, everywhere it is written, from infra/envs/project.toml.

`github_repository` in infra/envs/project.toml is the one value a fork edits. Other files name
the repository too: the chart's metadata (home, sources, maintainers), CODEOWNERS' teams, the
runbook links of the alert rules (and their copies in the chart and the promtool tests), the
schemas' `$id`, the guides' clone command, and the OIDC subjects of the Terraform tests and
examples. `occurrences` finds each of them by its form; `differing` lists those that do not
carry the project file's value; `sync` rewrites them to it.

    python -m test_app_tooling.fork            # rewrite every occurrence (make fork-sync)
    python -m test_app_tooling.fork --check    # exit 1 and list the ones that differ

A GitHub URL counts as the repository's own when the path after `owner/name` (past `blob/main/`
or `tree/main/`) names a tracked file or folder of this repository (`<placeholder>` segments
match any name), so links to other projects are never touched.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from test_app_tooling.tools import REPO


PROJECT_FILE = Path("infra") / "envs" / "project.toml"
REPOSITORY_FORM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$")

_OWNER = r"[A-Za-z0-9][A-Za-z0-9-]*"
_NAME = r"[A-Za-z0-9_-]+(?:\.(?!git\b)[A-Za-z0-9_-]+)*"
_REPO = rf"(?P<repo>{_OWNER}/{_NAME})"

# A URL into GitHub: the part after owner/name decides whether it is this repository's.
URL = re.compile(rf"https://github\.com/{_REPO}(?P<rest>/[^\s)\"'`\]]*)?")
# Forms that name the repository without a path into it.
NAMED: list[tuple[str, re.Pattern[str], str]] = [
    (
        "chart metadata",
        re.compile(rf"^(?:home:|\s+-|\s+url:)\s+https://github\.com/{_REPO}\s*$", re.MULTILINE),
        "charts/*/Chart.yaml",
    ),
    ("clone command", re.compile(rf"git clone https://github\.com/{_REPO}(?:\.git)?\b"), "*"),
    ("OIDC subject", re.compile(rf"\brepo:{_REPO}:"), "*"),
    ("Terraform value", re.compile(rf"\b(?:github_)?repository\s*=\s*\"{_REPO}\""), "*"),
    ("workflow ref", re.compile(rf"\"{_REPO}/\.github/workflows/"), "*"),
    ("example", re.compile(rf"\be\.g\. `?{_REPO}"), "infra/*github-oidc/*"),
    (
        "conventions",
        re.compile(rf"^\| GitHub repository [^|]*\| `{_REPO}` \|", re.MULTILINE),
        "docs/*",
    ),
]
# Tests that plant other repositories on purpose (a fork's value, to see the checks refuse it).
PLANTED = {Path("tests") / "infra" / "test_fork.py"}
# CODEOWNERS names teams of the repository's owner: `@owner/team`.
CODEOWNERS = Path(".github") / "CODEOWNERS"
TEAM = re.compile(rf"@(?P<owner>{_OWNER})/")
# Binary and generated-elsewhere files never hold the repository's name.
SKIPPED_SUFFIXES = {".png", ".svg", ".jpg", ".gz", ".tgz", ".lock"}


class ProjectFileError(ValueError):
    """infra/envs/project.toml holds no usable `github_repository`."""


@dataclass(frozen=True)
class Occurrence:
    """One place that names the repository (or, in CODEOWNERS, its owner)."""

    path: Path  # relative to the root
    line: int
    start: int  # offsets of the value in the file's text
    end: int
    value: str
    kind: str

    @property
    def owner_only(self) -> bool:
        return self.kind == "CODEOWNERS team"


def github_repository(root: Path = REPO) -> str:
    """`github_repository` of the project file, checked to be `owner/name`."""
    path = root / PROJECT_FILE
    value = tomllib.loads(path.read_text(encoding="utf-8")).get("github_repository")
    if not isinstance(value, str) or not REPOSITORY_FORM.match(value):
        msg = f"{PROJECT_FILE}: github_repository must be owner/name, got {value!r}"
        raise ProjectFileError(msg)
    return value


def blob_url(path: str = "", root: Path = REPO) -> str:
    """The GitHub URL of a file of this repository on its main branch."""
    return f"https://github.com/{github_repository(root)}/blob/main/{path}"


def tracked_files(root: Path = REPO) -> list[Path]:
    """The repository's files as git lists them (relative paths), or every file without git."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=False
    )
    if listed.returncode == 0 and listed.stdout:
        return [Path(p) for p in listed.stdout.split("\0") if p and (root / p).is_file()]
    ignored = {".git", ".venv", ".venvs", "node_modules", ".cache"}
    return [
        p.relative_to(root)
        for p in root.rglob("*")
        if p.is_file() and not ignored.intersection(p.relative_to(root).parts)
    ]


def _is_ours(rest: str, known: Callable[[str], bool]) -> bool:
    """Whether the path after `owner/name` names something in this repository."""
    rest = re.sub(r"^/(?:blob|tree)/main/", "/", rest).strip("/")
    rest = re.split(r"[@#?]", rest, maxsplit=1)[0].rstrip(".,;:")
    return bool(rest) and known(re.sub(r"<[^>/]+>", "*", rest))


def _path_matcher(files: list[Path]) -> Callable[[str], bool]:
    names = {p.as_posix() for p in files}
    names |= {parent.as_posix() for p in files for parent in p.parents if parent != Path()}

    def known(pattern: str) -> bool:
        if "*" not in pattern:
            return pattern in names
        return any(fnmatch.fnmatchcase(n, pattern) for n in names)

    return known


def _spans(relative: Path, text: str, known: Callable[[str], bool]) -> dict[tuple[int, int], str]:
    """(start, end) of each value naming the repository in one file's text, with its form."""
    spans: dict[tuple[int, int], str] = {}
    for match in URL.finditer(text):
        if _is_ours(match.group("rest") or "", known):
            spans.setdefault(match.span("repo"), "link")
    for kind, pattern, where in NAMED:
        if fnmatch.fnmatch(relative.as_posix(), where):
            for match in pattern.finditer(text):
                spans.setdefault(match.span("repo"), kind)
    if relative == CODEOWNERS:
        for match in TEAM.finditer(text):
            spans.setdefault(match.span("owner"), "CODEOWNERS team")
    return spans


def occurrences(root: Path = REPO, files: list[Path] | None = None) -> list[Occurrence]:
    """Every place in the files that names the repository, by its form."""
    files = tracked_files(root) if files is None else files
    known = _path_matcher(tracked_files(root))
    found: list[Occurrence] = []
    for relative in files:
        if relative.suffix in SKIPPED_SUFFIXES or relative in {PROJECT_FILE, *PLANTED}:
            continue
        try:
            text = (root / relative).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for (start, end), kind in _spans(relative, text, known).items():
            line = text.count("\n", 0, start) + 1
            found.append(Occurrence(relative, line, start, end, text[start:end], kind))
    return sorted(found, key=lambda o: (o.path.as_posix(), o.start))


def differing(root: Path = REPO, files: list[Path] | None = None) -> list[Occurrence]:
    """The occurrences that do not carry the project file's repository (or its owner)."""
    repository = github_repository(root)
    owner = repository.split("/", 1)[0]
    return [
        o for o in occurrences(root, files) if o.value != (owner if o.owner_only else repository)
    ]


def sync(root: Path = REPO) -> list[Path]:
    """Rewrite every differing occurrence to the project file's value; the files changed."""
    repository = github_repository(root)
    owner = repository.split("/", 1)[0]
    by_file: dict[Path, list[Occurrence]] = {}
    for o in differing(root):
        by_file.setdefault(o.path, []).append(o)
    for relative, found in by_file.items():
        text = (root / relative).read_text(encoding="utf-8")
        for o in sorted(found, key=lambda o: o.start, reverse=True):
            text = text[: o.start] + (owner if o.owner_only else repository) + text[o.end :]
        (root / relative).write_text(text, encoding="utf-8")
    return sorted(by_file)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the occurrences, or with --check only list the differing ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list what differs")
    parser.add_argument("--root", type=Path, default=REPO, help="the repository's root")
    args = parser.parse_args(argv)
    try:
        if args.check:
            found = differing(args.root)
            sys.stdout.write("".join(f"{o.path}:{o.line}: {o.kind} {o.value}\n" for o in found))
            return 1 if found else 0
        changed = sync(args.root)
    except ProjectFileError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    sys.stdout.write("".join(f"rewrote {p}\n" for p in changed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
