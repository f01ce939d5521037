"""The project cites its papers properly and never points outside itself (issue 10, item 10)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARXIV = {"AMMSM": "arXiv:2503.24057", "ME-TST": "arXiv:2409.09707"}
AUTHORS = {"AMMSM": "X. Liu, T. Dong, F. Wang, W. Feng and X. Sun", "ME-TST": "B. Zou, Z. Guo, W. Qin, X. Li"}
CITES = {"00": ["AMMSM", "ME-TST"], "02": ["ME-TST"], "03": ["AMMSM"], "05": ["AMMSM"], "06": ["AMMSM"],
         "07": ["AMMSM"], "08": ["ME-TST"], "09": ["ME-TST"], "10": ["AMMSM", "ME-TST"]}


def _notebook(key: str) -> Path:
    return next((ROOT / "notebooks").glob(f"{key}_*.ipynb"))


@pytest.mark.parametrize("key", sorted(CITES))
def test_notebook_has_one_references_cell_citing_its_papers(key):
    nb = nbformat.read(_notebook(key), as_version=4)
    refs = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## References")]
    assert len(refs) == 1, f"{key}: expected one '## References' cell, found {len(refs)}"
    for paper in CITES[key]:
        assert ARXIV[paper] in refs[0] and AUTHORS[paper] in refs[0], f"{key}: {paper} not cited in full"
    for paper in set(ARXIV) - set(CITES[key]):
        assert ARXIV[paper] not in refs[0]
    assert ("ICASSP" in refs[0]) == ("ME-TST" in CITES[key])


def test_readme_cites_both_papers():
    text = (ROOT / "README.md").read_text()
    assert all(a in text for a in ARXIV.values()) and "ICASSP" in text


def test_nothing_points_outside_the_project():
    files = [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("melib/**/*.py"), ROOT / "README.md",
             *ROOT.glob("docs/**/*.md")]
    rx = re.compile(r"\.\./shared|/work/shared|shared/(papers|notes)")
    hits = [f"{p.relative_to(ROOT)}:{i + 1}" for p in files for i, line in enumerate(p.read_text().splitlines())
            if rx.search(line)]
    assert not hits, f"references outside the project: {hits}"
