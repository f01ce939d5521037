"""`make lab` starts as root, and working in JupyterLab leaves `git status` clean (no browser needed).

The browser half (a notebook run and saved in JupyterLab) is in tests/test_browser.py.
"""

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import nbformat
from browser import git_clean_filter, lab_command

ROOT = Path(__file__).resolve().parent.parent


def test_make_lab_starts_as_root_on_the_notebooks():
    cmd = lab_command()
    assert "--notebook-dir=notebooks" in cmd
    assert ("--allow-root" in cmd) == (os.geteuid() == 0), cmd  # jupyter refuses root without it


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
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7", "mimetype": "text/x-python",
                                    "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                                    "nbconvert_exporter": "python", "pygments_lexer": "ipython3"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    return nbformat.writes(nb) + "\n"


def test_git_sees_a_run_notebook_as_unchanged(tmp_path, name="02_optical_flow.ipynb"):
    stored = ROOT / "notebooks" / name
    run = tmp_path / name
    run.write_text(as_saved_by_jupyterlab(stored))
    assert run.read_bytes() != stored.read_bytes()

    def blob(*args: str) -> str:
        cmd = ["git", "-c", f"filter.nbstripout.clean={git_clean_filter()}", "-c", "filter.nbstripout.required=true",
               "hash-object", *args]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()

    assert "filter=nbstripout" in (ROOT / ".gitattributes").read_text()
    # what git stores for the run notebook (through the filter) == the stored notebook as it is
    assert blob(f"--path=notebooks/{name}", str(run)) == blob("--no-filters", str(stored))


def test_make_book_without_a_run_says_make_notebooks(tmp_path):
    res = subprocess.run(["make", "-s", "-o", ".venv/.melib-installed", "book", f"OUT={tmp_path}"], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode != 0 and "run `make notebooks` first" in res.stderr, res.stderr


def test_jupyterlab_saves_a_suite_notebook_as_stored(tmp_path):
    """tools/lab_config.py's pre-save hook: what JupyterLab sends to disk becomes the stored notebook."""
    spec = importlib.util.spec_from_file_location("lab_config", ROOT / "tools" / "lab_config.py")
    config = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(config)
    stored = ROOT / "notebooks" / "03_magnification.ipynb"
    model = {"type": "notebook", "content": json.loads(as_saved_by_jupyterlab(stored))}
    config.strip_suite_notebook(model, "03_magnification.ipynb")
    assert nbformat.writes(nbformat.from_dict(model["content"])) + "\n" == stored.read_text()
    scratch = {"type": "notebook", "content": json.loads(as_saved_by_jupyterlab(stored))}
    config.strip_suite_notebook(scratch, "my_scratch.ipynb")  # not a suite notebook: saved as it is
    assert scratch["content"]["cells"][2]["outputs"]

