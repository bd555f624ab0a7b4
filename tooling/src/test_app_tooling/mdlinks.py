"""Markdown parsing for the docs checks: links, anchors, code, headings (markdown-it-py).

Anchors follow GitHub's rules: the heading's text, lower-cased, with everything but letters,
digits, spaces, hyphens and underscores removed, spaces turned into hyphens, and `-1`, `-2`...
appended to repeated headings. Explicit `<a name="...">`/`id="..."` anchors count too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token

from test_app_tooling.fork import github_repository
from test_app_tooling.tools import REPO


# Absolute links to this repository's files on GitHub (infra/envs/project.toml's
# github_repository) resolve to the working tree.
GITHUB_BLOB = re.compile(
    rf"^https://github\.com/{re.escape(github_repository())}/(?:blob|tree)/main/(?P<path>[^#?]*)"
)
# Hidden folders hold tools, caches and state, except .github (workflows, templates).
SKIP_DIRS = {"node_modules", "__pycache__"}
HTML_ANCHOR = re.compile(r"""<a\s[^>]*?(?:name|id)=["']([^"']+)["']""", re.IGNORECASE)
HTML_LINK = re.compile(r"""<(?:a|img)\s[^>]*?(?:href|src)=["']([^"']+)["']""", re.IGNORECASE)

_MD = MarkdownIt("commonmark").enable("table")


@dataclass
class Document:
    """One parsed Markdown file."""

    path: Path
    links: list[tuple[int, str]] = field(default_factory=list)  # (line, target)
    anchors: set[str] = field(default_factory=set)
    headings: list[tuple[int, str]] = field(default_factory=list)  # (level, text)
    code: list[str] = field(default_factory=list)  # fenced blocks and inline code


def markdown_files(root: Path = REPO) -> list[Path]:
    """The repository's Markdown files, skipping environments and caches."""

    def kept(path: Path) -> bool:
        folders = path.relative_to(root).parts[:-1]
        hidden = [p for p in folders if p.startswith(".") and p != ".github"]
        return not hidden and not SKIP_DIRS.intersection(folders)

    return sorted(path for path in root.rglob("*.md") if kept(path))


def slug(text: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _inline_text(token: Token) -> str:
    return "".join(c.content for c in token.children or [] if c.type in {"text", "code_inline"})


def _html(doc: Document, line: int, content: str) -> None:
    doc.anchors.update(HTML_ANCHOR.findall(content))
    doc.links.extend((line, href) for href in HTML_LINK.findall(content))


def _inline(doc: Document, line: int, token: Token) -> None:
    for child in token.children or []:
        if child.type == "link_open":
            doc.links.append((line, str(child.attrs.get("href", ""))))
        elif child.type == "image":
            doc.links.append((line, str(child.attrs.get("src", ""))))
        elif child.type == "code_inline":
            doc.code.append(child.content)
        elif child.type == "html_inline":
            _html(doc, line, child.content)


def _without_front_matter(text: str) -> str:
    """Blank out YAML front matter (GitHub does not render it), keeping the line numbers."""
    if text.startswith("---\n"):
        block, sep, _ = text[4:].partition("\n---\n")
        if sep:
            blank = "\n" * (block.count("\n") + 3)
            return blank + text[4 + len(block) + len(sep) :]
    return text


@cache
def parse(path: Path) -> Document:
    """The headings, anchors and links of one Markdown file (cached)."""
    doc = Document(path)
    tokens = _MD.parse(_without_front_matter(path.read_text(encoding="utf-8")))
    seen: dict[str, int] = {}
    for i, token in enumerate(tokens):
        line = (token.map[0] + 1) if token.map else 0
        if token.type == "heading_open":
            text = _inline_text(tokens[i + 1])
            doc.headings.append((int(token.tag[1]), text))
            base = slug(text)
            count = seen.get(base, 0)
            seen[base] = count + 1
            doc.anchors.add(base if count == 0 else f"{base}-{count}")
        elif token.type in {"fence", "code_block"}:
            doc.code.append(token.content)
        elif token.type == "html_block":
            _html(doc, line, token.content)
        elif token.type == "inline":
            _inline(doc, line, token)
    return doc


def resolve(source: Path, target: str, root: Path = REPO) -> tuple[Path, str] | None:
    """The local file and anchor a link points to; None for external links."""
    if match := GITHUB_BLOB.match(target):
        anchor = target.partition("#")[2]
        return root / unquote(match["path"]), anchor
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
        return None  # http(s), mailto: checked by nobody offline
    path_part, _, anchor = target.partition("#")
    path_part = path_part.partition("?")[0]
    if not path_part:
        return source, anchor
    base = root if path_part.startswith("/") else source.parent
    return (base / unquote(path_part.lstrip("/"))).resolve(), anchor


def check_link(source: Path, target: str, root: Path = REPO) -> str | None:
    """A problem with one link, or None when it resolves (or is external)."""
    resolved = resolve(source, target, root)
    if resolved is None:
        return None
    path, anchor = resolved
    if not path.exists():
        return f"{target}: no such file or folder"
    markdown = path.is_file() and path.suffix == ".md"
    if anchor and markdown and anchor not in parse(path).anchors:
        return f"{target}: no heading or anchor #{anchor} in {path.name}"
    return None


def broken_links(files: list[Path], root: Path = REPO) -> tuple[int, list[str]]:
    """Count the local links checked and list the broken ones as `file:line: problem`."""
    checked, problems = 0, []
    for path in files:
        for line, target in parse(path).links:
            if not target:
                problems.append(f"{path.relative_to(root)}:{line}: empty link target")
                continue
            if resolve(path, target, root) is not None:
                checked += 1
            if problem := check_link(path, target, root):
                problems.append(f"{path.relative_to(root)}:{line}: {problem}")
    return checked, problems
