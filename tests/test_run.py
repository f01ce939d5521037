"""The headless runner: order, --only, parameter injection, and failure reports."""

import json

import nbformat
import pytest

from melib import run

PARAMS = 'PROFILE = "teach"\nDATA = "synth"\nDEVICE = "auto"\nSEED = 0\nOUT = "../build"'


def write_nb(path, *sources):
    cells = [nbformat.v4.new_code_cell(PARAMS, metadata={"tags": ["parameters"]})]
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def folder(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_nb(nbs / "00_ok.ipynb", "from pathlib import Path\nPath(OUT, 'seen.txt').write_text(PROFILE + ' ' + str(SEED))")
    write_nb(nbs / "01_bad.ipynb", "x = 1", "y = 2", "raise ValueError('deliberate failure in the third cell')")
    write_nb(nbs / "02_after.ipynb", "from pathlib import Path\nPath(OUT, 'after.txt').write_text('ran')")
    (nbs / "notes.ipynb").write_text("{}")  # not NN_*: ignored
    return nbs


def test_find_notebooks_orders_and_filters(folder):
    assert [p.name for p in run.find_notebooks(folder)] == ["00_ok.ipynb", "01_bad.ipynb", "02_after.ipynb"]
    assert [p.name for p in run.find_notebooks(folder, ["2", "00"])] == ["00_ok.ipynb", "02_after.ipynb"]
    with pytest.raises(SystemExit, match="07"):
        run.find_notebooks(folder, ["07"])


@pytest.mark.notebook
def test_failing_notebook_exits_nonzero_naming_notebook_and_cell(folder, tmp_path, capsys):
    out = tmp_path / "out"
    code = run.main(["--profile", "smoke", "--seed", "5", "--out", str(out), "--notebooks", str(folder)])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED 01_bad.ipynb" in captured.err
    assert "cell 3 (\"raise ValueError('deliberate failure" in captured.err and "ValueError: deliberate failure in the third cell" in captured.err
    # parameters were injected, and the runner went on past the failure
    assert (out / "seen.txt").read_text() == "smoke 5"
    assert (out / "after.txt").read_text() == "ran"
    summary = json.loads((out / "notebooks" / "summary.json").read_text())
    assert [o["status"] for o in summary["outcomes"]] == ["ok", "failed", "ok"]
    assert (out / "notebooks" / "00_ok.ipynb").exists()
    table = captured.out
    assert "00_ok.ipynb" in table and "failed" in table and "total" in table


@pytest.mark.notebook
def test_fail_fast_stops_at_first_failure(folder, tmp_path):
    out = tmp_path / "out"
    assert run.main(["--profile", "smoke", "--out", str(out), "--notebooks", str(folder), "--fail-fast"]) == 1
    assert not (out / "after.txt").exists()


def test_format_table_totals():
    table = run.format_table([run.Outcome("00_a.ipynb", "ok", 1.5), run.Outcome("01_b.ipynb", "failed", 2.0)])
    assert table.splitlines()[-1].split() == ["total", "3.5s"]
