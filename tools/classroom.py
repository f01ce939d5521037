"""Classroom editions with nbgrader: a student edition, an instructor edition, and autograding.

    python tools/classroom.py student [--out build] [--only 04,05]
    python tools/classroom.py grade SUBMISSIONS [--out build/grades] [--profile teach] [--exercises-only]

The exercises are authored once, in the source notebooks (notebooks/NN_*.ipynb): nbgrader cell
metadata marks the solution cells (code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``) and
the autograded test cells (with points; ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``).
Each notebook is one nbgrader assignment named after the notebook (``04_state_spaces``).

``student`` runs ``nbgrader generate_assignment`` in a course directory under ``OUT/classroom`` and
writes ``OUT/student/`` (solutions replaced by stubs, hidden tests removed, outputs cleared) and
``OUT/instructor/`` (the source notebooks, solutions included).

``grade`` reads ``SUBMISSIONS/<student>/<NN_topic>.ipynb``, sets each notebook's parameters cell to
the grading run's ``PROFILE``, ``DATA``, ``DEVICE`` and one shared ``OUT`` (so datasets and caches are
built once for the whole class), runs ``nbgrader autograde`` with a fresh gradebook database and
``nbgrader generate_feedback``, and writes ``scores.csv`` (student x notebook), ``scores_by_exercise.csv``
and ``feedback/<student>/<NN_topic>.html``. ``--exercises-only`` grades the title, parameters, set-up
and exercise cells only (the exercises use nothing else), which is much faster.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
EXERCISES_HEADING = "## Graded exercises"
PARAMETERS = ("PROFILE", "DATA", "DEVICE", "SEED", "OUT")
CELL_TIMEOUT_S = 3600  # one cell of a teach run trains LOSO folds for minutes


def source_notebooks(only: list[str] | None = None, folder: Path = NOTEBOOKS) -> list[Path]:
    """notebooks/NN_topic.ipynb in teaching order; ``only`` keeps the listed NN (e.g. ["04", "05"])."""
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = {o.strip().zfill(2) for item in only for o in str(item).split(",") if o.strip()}
        unknown = wanted - {p.name[:2] for p in found}
        if unknown:
            raise SystemExit(f"no notebook numbered {sorted(unknown)} in {folder}")
        found = [p for p in found if p.name[:2] in wanted]
    return found


def graded_cells(nb: nbformat.NotebookNode) -> list[dict]:
    """nbgrader metadata of the autograded test cells: grade_id and points."""
    return [c.metadata["nbgrader"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def exercises_only(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Title, parameters and set-up cells, then the graded-exercises section (what the exercises use)."""
    params = next((i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])), None)
    start = next((i for i, c in enumerate(nb.cells) if c.source.startswith(EXERCISES_HEADING)), None)
    if params is None or start is None:
        raise ValueError("a notebook needs a 'parameters' cell and a '## Graded exercises' section "
                         "to be graded with --exercises-only")
    out = nbformat.from_dict(nb)
    out.cells = [nb.cells[0], nb.cells[params], nb.cells[params + 1]] + nb.cells[start:]
    return out


def set_parameters(nb: nbformat.NotebookNode, **values) -> nbformat.NotebookNode:
    """Rewrite ``NAME = ...`` lines of the cell tagged 'parameters' (papermill's convention)."""
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        raise ValueError("the notebook has no cell tagged 'parameters'")
    lines = cell.source.splitlines()
    for name, value in values.items():
        pattern = re.compile(rf"^{name}\s*=")
        hits = [i for i, ln in enumerate(lines) if pattern.match(ln)]
        if not hits:
            raise ValueError(f"the parameters cell has no line '{name} = ...'")
        lines[hits[0]] = f"{name} = {value!r}"
    cell.source = "\n".join(lines)
    return nb


def _api(root: Path, db: Path):
    """An NbGraderAPI on the course directory ``root`` with its own gradebook database ``db``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs the `alembic` script next to python
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{db}"
    config.Execute.timeout = CELL_TIMEOUT_S
    config.Exchange.root = str(root / "exchange")  # never /srv/nbgrader/exchange
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _check(result: dict, what: str) -> None:
    if not result.get("success"):
        raise SystemExit(f"nbgrader {what} failed:\n{result.get('log', '')}\n{result.get('error', '')}")


def _course(root: Path, notebooks: list[Path], only_exercises: bool) -> list[str]:
    """A fresh course directory with source/<stem>/<stem>.ipynb per notebook; returns the stems."""
    if root.exists():
        shutil.rmtree(root)
    stems = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        if only_exercises:
            nb = exercises_only(nb)
        (root / "source" / path.stem).mkdir(parents=True)
        nbformat.write(nb, root / "source" / path.stem / path.name)
        stems.append(path.stem)
    return stems


def student(out: Path, only: list[str] | None = None) -> tuple[Path, Path]:
    """Write OUT/student/ (nbgrader's release) and OUT/instructor/ (sources, outputs cleared)."""
    notebooks = source_notebooks(only)
    root = out / "classroom"
    stems = _course(root, notebooks, only_exercises=False)
    api = _api(root, root / "gradebook.db")
    dirs = {kind: out / kind for kind in ("student", "instructor")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    for stem, path in zip(stems, notebooks):
        _check(api.generate_assignment(stem), f"generate_assignment {stem}")
        shutil.copyfile(root / "release" / stem / path.name, dirs["student"] / path.name)
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            if c.cell_type == "code":
                c.outputs, c.execution_count = [], None
        nbformat.write(nb, dirs["instructor"] / path.name)
    return dirs["student"], dirs["instructor"]


def find_submissions(folder: Path, stems: list[str]) -> dict[str, dict[str, Path]]:
    """SUBMISSIONS/<student>/<NN_topic>.ipynb -> {student: {stem: path}}, with clear errors."""
    if not folder.is_dir():
        raise SystemExit(f"SUBMISSIONS={folder} is not a folder (expected SUBMISSIONS/<student>/<NN_topic>.ipynb)")
    found: dict[str, dict[str, Path]] = {}
    for d in sorted(p for p in folder.iterdir() if p.is_dir()):
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", d.name):
            raise SystemExit(f"{d}: a student folder name may hold letters, digits, '_', '-' and '.' only")
        for nb in sorted(d.glob("*.ipynb")):
            if nb.stem not in stems:
                raise SystemExit(f"{nb}: not a notebook of this course (expected one of {', '.join(stems)})")
            found.setdefault(d.name, {})[nb.stem] = nb
    if not found:
        raise SystemExit(f"no submissions under {folder} (expected {folder}/<student>/<NN_topic>.ipynb)")
    return found


def grade(submissions: Path, out: Path, profile: str = "teach", data: str = "synth", device: str = "auto",
          only: list[str] | None = None, only_exercises: bool = False) -> list[dict]:
    """Autograde every submitted notebook; write scores.csv, scores_by_exercise.csv and feedback/."""
    from nbgrader.api import Gradebook

    notebooks = source_notebooks(only)
    by_stem = {p.stem: p for p in notebooks}
    subs = find_submissions(Path(submissions), list(by_stem))
    out = Path(out).resolve()
    root, run_out = out / "course", out / "run"
    stems = sorted({s for per in subs.values() for s in per})
    _course(root, [by_stem[s] for s in stems], only_exercises)
    db = root / "gradebook.db"
    api = _api(root, db)
    os.environ.pop("MELIB_FIGURES", None)  # figures of graded runs stay under OUT/run/figures
    params = dict(PROFILE=profile, DATA=data, DEVICE=device, OUT=str(run_out))
    for stem in stems:
        _check(api.generate_assignment(stem), f"generate_assignment {stem}")
        for sid, per in subs.items():
            if stem not in per:
                continue
            nb = nbformat.read(per[stem], as_version=4)
            nb = set_parameters(exercises_only(nb) if only_exercises else nb, **params)
            dest = root / "submitted" / sid / stem
            dest.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, dest / by_stem[stem].name)
            _check(api.autograde(stem, sid), f"autograde {sid}/{stem}")
            _check(api.generate_feedback(stem, sid), f"generate_feedback {sid}/{stem}")
    totals, cells = [], []
    with Gradebook(f"sqlite:///{db}") as gb:
        for sid, per in subs.items():
            for stem in stems:
                if stem not in per:
                    continue
                sub = gb.find_submission_notebook(stem, stem, sid)
                totals.append(dict(student=sid, notebook=stem, score=sub.score, max_score=sub.max_score))
                for g in sorted(sub.grades, key=lambda g: g.name):
                    cells.append(dict(student=sid, notebook=stem, exercise=g.name.removesuffix("-test"),
                                      score=g.score, max_score=g.max_score))
    _write_csv(out / "scores.csv", totals)
    _write_csv(out / "scores_by_exercise.csv", cells)
    for sid, per in subs.items():
        for stem in per:
            html = root / "feedback" / sid / stem / f"{stem}.html"
            (out / "feedback" / sid).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(html, out / "feedback" / sid / html.name)
    return totals


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["student", "notebook", "score", "max_score"])
        w.writeheader()
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("student", help="write OUT/student and OUT/instructor")
    s.add_argument("--out", type=Path, default=REPO / "build")
    s.add_argument("--only", action="append", help="notebook numbers, e.g. 04 or 04,05")
    g = sub.add_parser("grade", help="autograde SUBMISSIONS/<student>/<NN_topic>.ipynb")
    g.add_argument("submissions", type=Path)
    g.add_argument("--out", type=Path, default=REPO / "build" / "grades")
    g.add_argument("--profile", default="teach", choices=["smoke", "teach", "paper"])
    g.add_argument("--data", default="synth")
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    g.add_argument("--only", action="append", help="grade only these notebook numbers")
    g.add_argument("--exercises-only", action="store_true", help="run only the set-up and exercise cells")
    a = ap.parse_args(argv)
    if a.cmd == "student":
        st, ins = student(a.out, a.only)
        print(f"student edition: {st}\ninstructor edition: {ins}")
        return 0
    rows = grade(a.submissions, a.out, a.profile, a.data, a.device, a.only, a.exercises_only)
    width = max(len(r["student"]) for r in rows)
    for r in rows:
        print(f"{r['student']:<{width}}  {r['notebook']:<20}  {r['score']:g} / {r['max_score']:g}")
    print(f"scores: {a.out / 'scores.csv'}; feedback: {a.out / 'feedback'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
