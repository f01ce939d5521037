"""The paper profile proven to run (issue 16): every notebook at the paper profile's model, input and SynthME
frame sizes, on a SynthME of fewer subjects and clips, each training phase capped at one batch and one fold
(MELIB_CAP=1; melib.params.CAPPED). Minutes on a CPU: marked `paper`, run by `make paper-check` or
`pytest -m paper`, skipped otherwise (conftest)."""

import json

import pytest

from melib.params import REPO_ROOT
from melib.run import main

pytestmark = pytest.mark.paper


def test_every_notebook_runs_in_the_capped_paper_profile(tmp_path, monkeypatch):
    monkeypatch.setenv("MELIB_CAP", "1")
    monkeypatch.setenv("MELIB_EXECUTOR", "inline")
    tracked = {f: f.stat().st_mtime_ns for f in (REPO_ROOT / "figures").glob("*")}
    code = main(["--profile", "paper", "--data", "synth", "--device", "cpu", "--out", str(tmp_path)])
    summary = json.loads((tmp_path / "notebooks" / "summary.json").read_text())
    failed = {o["notebook"]: o["error"] for o in summary["outcomes"] if o["status"] != "ok"}
    assert code == 0 and not failed, failed
    assert {f: f.stat().st_mtime_ns for f in (REPO_ROOT / "figures").glob("*")} == tracked  # not rewritten
    assert list((tmp_path / "figures").glob("*.png"))  # a capped run's figures go to OUT/figures
    made = {p.name for p in (tmp_path / "synthme").iterdir()}  # the capped SynthME only, never the full one
    assert "paper-capped-seed0" in made and not any(n.startswith("paper-seed") for n in made), made
