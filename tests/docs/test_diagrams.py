"""The committed diagrams are generated from scripts/draw_diagrams.py and are current.

PNG bytes from graphviz differ between graphviz versions, so the check compares the SHA-256 of
each diagram's normalised DOT source with the hash embedded in the committed PNG.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "docs" / "diagrams"
EXPECTED = {"cloud", "cloud-azure", "in-cluster", "delivery", "request-path", "rehearsal"}


def test_every_diagram_is_defined(diagrams_script):
    assert set(diagrams_script.DIAGRAMS) == EXPECTED


def test_committed_pngs_exist_and_match_their_source(diagrams_script):
    pngs = sorted(OUT.glob("*.png"))
    assert {p.stem for p in pngs} == EXPECTED
    assert diagrams_script.check(OUT) == []


def test_sources_are_stable_and_machine_independent(diagrams_script):
    for name, build in diagrams_script.DIAGRAMS.items():
        first = diagrams_script.normalise(diagrams_script.dot_source(build))
        second = diagrams_script.normalise(diagrams_script.dot_source(build))
        assert first == second, f"{name}: DOT source differs between two runs"
        assert "digraph" in first
        assert str(diagrams_script.ICON_ROOT) not in first
        assert str(REPO) not in first
        assert first.count('image="resources/') >= 3, name


def test_check_reports_stale_missing_and_foreign_pngs(diagrams_script, tmp_path):
    for png in OUT.glob("*.png"):
        shutil.copy(png, tmp_path / png.name)
    assert diagrams_script.check(tmp_path) == []
    (tmp_path / "rehearsal.png").unlink()
    stale = diagrams_script.embed_hash((OUT / "cloud.png").read_bytes(), "0" * 64)
    (tmp_path / "delivery.png").write_bytes(stale)
    (tmp_path / "request-path.png").write_bytes(b"not a png")
    shutil.copy(OUT / "cloud.png", tmp_path / "old-name.png")
    problems = "\n".join(diagrams_script.check(tmp_path))
    assert "rehearsal.png: missing" in problems
    assert "delivery.png: stale" in problems
    assert "request-path.png: no dot-sha256 chunk" in problems
    assert "old-name.png: not produced" in problems
    assert "cloud.png" not in problems.replace("old-name.png", "")


def test_render_writes_a_png_carrying_its_source_hash(diagrams_script, tool, tmp_path):
    tool("dot")
    (path,) = diagrams_script.render(tmp_path, ["request-path"])
    png = path.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert width > 300
    assert height > 300
    source = diagrams_script.dot_source(diagrams_script.DIAGRAMS["request-path"])
    assert diagrams_script.read_hash(png) == diagrams_script.source_hash(source)
