"""`make lab` starts as root, and working in JupyterLab leaves `git status` clean (no browser needed).

The browser half (a notebook run and saved in JupyterLab) is in tests/test_browser.py.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from browser import lab_command

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = (ROOT / "Makefile").read_text()


def test_make_lab_starts_as_root_on_the_notebooks():
    cmd = lab_command()
    assert "--notebook-dir=notebooks" in cmd
    assert ("--allow-root" in cmd) == (os.geteuid() == 0), cmd  # jupyter refuses root without it


def nbstripout_clean() -> str:
    """The clean filter `make lab` (lab-filter) configures, with this interpreter."""
    m = re.search(r"^NBSTRIPOUT = \"\$\(abspath \$\(BIN\)\)/python\" (-m nbstripout[^\n]*)$", MAKEFILE, re.M)
    assert m, "Makefile: NBSTRIPOUT = \"$(abspath $(BIN))/python\" -m nbstripout ... not found"
    return f'"{sys.executable}" {m.group(1)}'


def as_saved_by_jupyterlab(path: Path) -> str:
    """The notebook with what a JupyterLab session adds: outputs, counts, widget state, cell flags."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = i + 1
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"cell {i}\n"),
                            nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
            cell.metadata["scrolled"] = True
            cell.metadata["execution"] = {"iopub.execute_input": "2026-11-30T12:00:00Z"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    return nbformat.writes(nb) + "\n"


def test_git_sees_a_run_notebook_as_unchanged(tmp_path, name="02_optical_flow.ipynb"):
    stored = ROOT / "notebooks" / name
    run = tmp_path / name
    run.write_text(as_saved_by_jupyterlab(stored))
    assert run.read_bytes() != stored.read_bytes()

    def blob(*args: str) -> str:
        cmd = ["git", "-c", f"filter.nbstripout.clean={nbstripout_clean()}", "-c", "filter.nbstripout.required=true",
               "hash-object", *args]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()

    assert "filter=nbstripout" in (ROOT / ".gitattributes").read_text()
    # what git stores for the run notebook (through the filter) == the stored notebook as it is
    assert blob(f"--path=notebooks/{name}", str(run)) == blob("--no-filters", str(stored))


def test_make_book_without_a_run_says_make_notebooks(tmp_path):
    res = subprocess.run(["make", "-s", "-o", ".venv/.melib-installed", "book", f"OUT={tmp_path}"], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode != 0 and "run `make notebooks` first" in res.stderr, res.stderr
