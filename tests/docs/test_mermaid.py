"""The Mermaid diagrams of README.md, docs/architecture.md and docs/rehearsal.md render."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_app_tooling.mermaid import DOCUMENTS, Diagram, MermaidError, diagrams, render


def test_every_document_has_its_diagram():
    assert {d.path for d in diagrams()} == set(DOCUMENTS)


@pytest.mark.parametrize("diagram", diagrams(), ids=lambda d: f"{d.path.name}:{d.line}")
def test_each_diagram_renders(diagram: Diagram, tmp_path: Path):
    svg = render(diagram, tmp_path)
    assert svg.stat().st_size > 1000


def test_a_broken_diagram_fails_naming_the_file(tmp_path: Path):
    broken = Diagram(DOCUMENTS[0], 7, "flowchart LR\n  a --> \n")
    with pytest.raises(
        MermaidError, match=r"(?s)README\.md:7: mermaid failed:.*Parse error on line"
    ):
        render(broken, tmp_path)
