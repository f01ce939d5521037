"""melib.report: the Replication-note collector, the claims table's computed verdicts, the effect helpers,
the Markdown writer, the seed loop and the study profile (notebook 10 itself runs in test_notebooks)."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import melib
from melib import report as rp
from melib.metrics.uncertainty import Interval
from melib.params import PROFILES

matplotlib.use("Agg")


def _notebook(path, cells):
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_notes_collector_finds_notes_topics_and_flags(tmp_path):
    _notebook(tmp_path / "03_magnify.ipynb", [
        new_markdown_cell("# Title\n\n> **Replication note.** The paper uses a sinusoidal code; melib a\n"
                          "> constant one. `alpha_code=\"sinusoidal\"` restores it (see `cfg.magnify`).\n\nafter"),
        new_markdown_cell("> A plain quote, not a note.\n\n> **Replication note (size).** thop misses the Mamba "
                          "layers; no flag."),
        new_code_cell("# > **Replication note.** in code: ignored `x=1`"),
    ])
    _notebook(tmp_path / "01_data.ipynb", [new_markdown_cell(
        "> **Replication note (loader).** rows with onset 0 are kept;\n> `open_dataset(root, onset_zero=\"drop\")` "
        "and `reference=True` give the authors'.")])
    (tmp_path / "README.ipynb").write_text("not a numbered notebook")
    notes = rp.replication_notes(tmp_path)
    assert [(n.notebook, n.topic) for n in notes] == [("01_data", "loader"), ("03_magnify", ""), ("03_magnify", "size")]
    assert notes[0].flags == ('open_dataset(root, onset_zero="drop")', "reference=True")
    assert notes[1].flags == ('alpha_code="sinusoidal"',)  # `cfg.magnify` names no value: not a flag
    assert notes[1].text.startswith("The paper uses a sinusoidal code; melib a constant one.")
    assert notes[2].flags == () and "Replication note" not in notes[2].text
    assert [n.notebook for n in rp.replication_notes(tmp_path, numbers=[3])] == ["03_magnify"] * 2
    table = rp.notes_table(notes, width=40)
    assert list(table["flag(s) for the original"])[2] == "(none named)" and table["note"].str.len().max() <= 40


def test_notes_collector_names_a_broken_notebook(tmp_path):
    (tmp_path / "02_bad.ipynb").write_text("{not json")
    with pytest.raises(ValueError, match="02_bad.ipynb"):
        rp.replication_notes(tmp_path)


def test_the_real_notebooks_carry_notes_with_flags():
    notes = rp.replication_notes(melib.params.REPO_ROOT / "notebooks", numbers=range(1, 10))
    assert len(notes) >= 5 and any(n.flags for n in notes)


def _iv(lo, hi, est=None):
    return Interval((lo + hi) / 2 if est is None else est, lo, hi, n=10)


def test_claims_table_verdicts_are_computed_from_the_effects():
    effects = {"amm": _iv(0.02, 0.10), "sa_accuracy": _iv(-0.03, 0.01), "ssd_accuracy": _iv(-0.09, -0.05),
               "sa_cost": _iv(-0.4, -0.1), "ssd_speed": _iv(-0.1, 0.2), "search": _iv(-0.2, -0.05),
               "linear": _iv(0.9, 1.1)}
    t = rp.claims_table(effects, why={"amm": "shown"}).set_index("claim")
    v = t["verdict"]
    assert v["AMM improves UF1"] == "supported"
    assert v["Sparse activation keeps accuracy"] == "supported"  # within the 4-point margin
    assert v["... at equal accuracy"] == "contradicted"  # wholly below -4 points
    assert v["Sparse activation cuts cost"] == "supported" and v["SSD is faster than the Transformer"] == "inconclusive"
    assert v["The searched configuration beats random ones"] == "contradicted"
    assert v["Whole-video inference is linear in T"] == "supported"
    assert v["Synergy raises STRS (CAS(ME)^3)"] == rp.NO_RUN and t.loc["AMM improves UF1", "what the run shows"] == "shown"
    assert t.loc["AMM improves UF1", "effect [95% CI]"] == "+6.00 [+2.00, +10.00] UF1 points"
    goal = t["precision (goal +-4)"]  # half-widths in points: 4.0 meets the goal, 6.0 does not; times have none
    assert goal["AMM improves UF1"] == "+-4.0: met" and goal["... at equal accuracy"] == "+-2.0: met"
    assert goal["The searched configuration beats random ones"] == "+-7.5: not met"
    assert goal["Sparse activation cuts cost"] == "" and goal["Synergy raises STRS (CAS(ME)^3)"] == ""
    assert rp.claims_table({"linear": _iv(1.5, 2.1)}).set_index("claim").loc[
        "Whole-video inference is linear in T", "verdict"] == "contradicted"  # quadratic-looking growth
    nan = Interval(0.1, float("nan"), float("nan"), n=1)
    assert rp.claims_table({"amm": nan})["verdict"][0] == "inconclusive"
    with pytest.raises(KeyError, match="unknown claim"):
        rp.claims_table({"typo": _iv(0, 1)})


def _uf1(y, p):
    from melib.metrics.recognition import uf1

    return uf1(y, p, 3)


def test_grouped_difference_pairs_subjects_across_parts():
    rng = np.random.default_rng(0)
    subjects = np.repeat([f"s{i}" for i in range(8)], 6)
    y = rng.integers(0, 3, len(subjects))
    wrong = (y + 1) % 3
    small = (y, np.stack([y, y]), np.stack([wrong, wrong]), subjects)  # gain 1 at the small amplitude
    large = (y, np.stack([y, y]), np.stack([y, y]), subjects)  # gain 0 at the large one
    e = rp.grouped_difference(_uf1, [small, large], n_resamples=200)
    assert e.estimate == pytest.approx(1.0) and e.low == pytest.approx(1.0) and e.n == 8
    flipped = rp.grouped_difference(_uf1, [large, small], n_resamples=200)
    assert flipped.estimate == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="part 1"):
        rp.grouped_difference(_uf1, [small, (y, y[None], y[None, :-1], subjects)])


def test_fold_difference_resamples_folds_for_both_models():
    names = [f"s{i}" for i in range(6)]
    a = [[{"v": 1.0 + i} for i in range(6)]] * 2  # 2 seeds
    b = [[{"v": float(i)} for i in range(6)]] * 2
    mean = lambda folds: float(np.mean([f["v"] for f in folds]))  # noqa: E731
    e = rp.fold_difference(mean, mean, a, b, names, n_resamples=200)
    assert e.estimate == pytest.approx(1.0) and e.low == pytest.approx(1.0) and e.high == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one prediction dict per fold"):
        rp.fold_difference(mean, mean, a, [b[0][:5]] * 2, names)


def test_loglog_slope_tells_linear_from_quadratic():
    rng = np.random.default_rng(1)
    T = np.array([1000, 3000, 10000])
    lin = 1e-5 * T * rng.uniform(0.95, 1.05, (6, 3))
    quad = 1e-9 * T**2 * rng.uniform(0.95, 1.05, (6, 3))
    s1, s2 = rp.loglog_slope(T, lin, n_resamples=300), rp.loglog_slope(T, quad, n_resamples=300)
    assert abs(s1.estimate - 1) < 0.05 and abs(s2.estimate - 2) < 0.05 and s1.high < 1.2 < s2.low
    assert np.isnan(rp.loglog_slope(T, lin[:2]).low)  # two rounds: no interval
    with pytest.raises(ValueError, match="reps"):
        rp.loglog_slope(T, lin[:, :2])


def test_relative_time_change():
    r = rp.relative(Interval(0.7, 0.6, 0.8))
    assert (r.estimate, r.low, r.high) == pytest.approx((-0.3, -0.4, -0.2))


def test_markdown_writer_tables_figures_and_meta(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    png = tmp_path / "src" / "curve.png"
    png.parent.mkdir()
    fig.savefig(png)
    plt.close(fig)
    df = pd.DataFrame({"claim": ["a | b"], "effect": [0.12345], "missing": [float("nan")]})
    multi = pd.DataFrame([[1.0, 2.0]], columns=pd.MultiIndex.from_tuples([("CAS", "F1"), ("SAMM", "F1")]),
                         index=pd.Index(["melib"], name="source"))
    md = rp.write_markdown(tmp_path / "rep", "Title", {"profile": "smoke", "seeds": [0, 1]},
                           [rp.Section("Claims", "Some prose.", {"Claims": df, "Spotting": multi}, {"A curve": png})])
    text = md.read_text()
    assert text.startswith("# Title\n\n- **profile**: smoke\n- **seeds**: [0, 1]\n")
    assert "## Claims\n\nSome prose.\n\n**Claims**\n\n| claim | effect | missing |\n|---|---|---|\n| a \\| b | 0.1235 |  |" in text
    assert "| source | CAS / F1 | SAMM / F1 |" in text and "| melib | 1 | 2 |" in text
    assert "![A curve](figures/curve.png)" in text and (tmp_path / "rep" / "figures" / "curve.png").is_file()
    assert (tmp_path / "rep" / "meta.json").is_file()
    with pytest.raises(FileNotFoundError, match="nothing.png"):
        rp.write_markdown(tmp_path / "rep", "T", {}, [rp.Section("F", figures={"x": tmp_path / "nothing.png"})])


def test_seed_configs_and_stacking(tmp_path):
    cfg = melib.setup("study", "synth", "cpu", 0, tmp_path)
    cfgs = rp.seed_configs(cfg)
    assert [c.seed for c in cfgs] == [0, 1, 2] and all(c.out == cfg.out and c.profile == "study" for c in cfgs)
    assert not rp.may_train(cfg) and rp.may_train(melib.setup("smoke", "synth", "cpu", 0, tmp_path))

    def run(y, p, subject="s1"):
        fold = SimpleNamespace(name=subject, predictions={"y_true": np.asarray(y), "y_pred": np.asarray(p)})
        return [fold], SimpleNamespace(classes=["a", "b", "c"])

    st = rp.stack_seeds([run([0, 1, 2], [0, 1, 1]), run([0, 1, 2], [2, 1, 2])])
    assert st["preds"].shape == (2, 3) and st["K"] == 3 and list(st["subjects"]) == ["s1"] * 3
    with pytest.raises(ValueError, match="data_seed"):
        rp.stack_seeds([run([0, 1, 2], [0, 1, 1]), run([0, 1, 1], [0, 1, 1])])


def test_mean_scores_over_seeds():
    m = rp.mean_scores([{"strs": 0.2, "spot_tp": 3, "name": "x"}, {"strs": 0.4, "spot_tp": 5, "name": "y"}])
    assert m == {"strs": pytest.approx(0.3), "spot_tp": 4.0}


def test_study_profile_is_larger_than_teach_and_has_seeds():
    s, t = PROFILES["synth"]["study"], PROFILES["synth"]["teach"]
    for key in ("casme2_subjects", "samm_subjects", "casme3_subjects", "samm_lv_subjects"):
        assert s[key] > t[key], key
    lv_mes = lambda p: p["samm_lv_subjects"] * p.get("samm_lv_videos", 1) * p["samm_lv_mes"]  # noqa: E731
    assert lv_mes(s) >= 5 * lv_mes(t) and s["samm_clips"] >= s.get("samm_lv_videos", 1) * s["samm_lv_mes"]
    assert s["data_seed"] == 0 and len(PROFILES["report"]["study"]["seeds"]) >= 3
    a = PROFILES["ammsm"]["study"]
    assert a["max_folds"] is None and a["ablation_folds"] is None and a["epochs"] == PROFILES["ammsm"]["teach"]["epochs"]
    assert PROFILES["metst"]["study"]["max_folds"] is None and PROFILES["cluster"]["study"]["executor"] == "local"


def test_make_report_runs_the_study_profile_through_the_runner():
    import subprocess

    from melib.run import parse_args

    out = subprocess.run(["make", "-n", "-o", ".venv/.melib-installed", "report"], cwd=melib.params.REPO_ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "tools/make_report.py --profile study" in out and "--dest reports" in out and "OMP_NUM_THREADS=1" in out
    assert parse_args(["--profile", "study", "--only", "10"]).profile == "study"
