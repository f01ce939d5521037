"""Every notebook: stored without outputs, standard parameters, and a smoke-profile run headless."""

import json

import nbformat
import papermill as pm
import pytest

from melib.run import NOTEBOOKS, find_notebooks, run_notebook

STANDARD = ["PROFILE", "DATA", "DEVICE", "SEED", "OUT"]
ALL = find_notebooks(NOTEBOOKS)
IDS = [p.stem for p in ALL]


def test_the_suite_has_notebooks():
    assert ALL and ALL[0].name == "00_overview.ipynb"


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name} cell {i} has outputs: strip with tools/nbbuild.py strip"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_parameters_cell_has_the_standard_names(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected exactly one cell tagged 'parameters'"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code is tagged[0], f"{path.name}: the parameters cell must be the first code cell"
    inspected = pm.inspect_notebook(str(path))  # what papermill sees
    assert list(inspected) == STANDARD, f"{path.name}: papermill sees {list(inspected)}"
    defaults = {k: v["default"] for k, v in inspected.items()}
    assert defaults == {"PROFILE": '"teach"', "DATA": '"synth"', "DEVICE": '"auto"', "SEED": "0", "OUT": '"../build"'}
    setup_cell = nb.cells[nb.cells.index(first_code) + 1].source
    assert "melib.setup(PROFILE, DATA, DEVICE, SEED, OUT)" in setup_cell, f"{path.name}: no setup cell"


@pytest.fixture(scope="session")
def smoke_out(tmp_path_factory):
    """One OUT for the whole smoke run: SynthME is generated once and later notebooks reuse caches."""
    return tmp_path_factory.mktemp("smoke_build")


@pytest.mark.notebook
@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_notebook_runs_in_smoke_profile(path, smoke_out):
    params = {"PROFILE": "smoke", "DATA": "synth", "DEVICE": "cpu", "SEED": 0, "OUT": str(smoke_out)}
    outcome = run_notebook(path, smoke_out / "notebooks", params)
    assert outcome.status == "ok", f"{path.name} failed: {outcome.error}"
    executed = nbformat.read(smoke_out / "notebooks" / path.name, as_version=4)
    assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
