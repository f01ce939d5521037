"""Classroom editions (tools/classroom.py, nbgrader): exercises authored in the source notebooks, a
student edition without solutions or hidden tests, and autograding that scores exactly what it should."""

import csv
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import classroom  # noqa: E402

GRADED = [p for p in classroom.source_notebooks() if "02" <= p.name[:2] <= "09"]


def _nbg(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("path", GRADED, ids=[p.stem for p in GRADED])
def test_every_notebook_02_09_has_graded_exercises_with_solutions_and_hidden_tests(path):
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    tests = [c for c in cells if _nbg(c).get("grade")]
    solutions = [c for c in cells if _nbg(c).get("solution")]
    assert len(tests) >= 2 and all(_nbg(c)["points"] > 0 for c in tests), path.name
    assert len(solutions) >= 2 and all("### BEGIN SOLUTION" in c.source and "### END SOLUTION" in c.source
                                       for c in solutions), path.name
    ids = [_nbg(c)["grade_id"] for c in cells if _nbg(c)]
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate nbgrader grade_id"
    for c in solutions:  # each solution is checked by the test cell right after it
        assert _nbg(cells[cells.index(c) + 1]).get("grade"), f"{path.name}: {_nbg(c)['grade_id']} has no test cell"
    assert all("### BEGIN HIDDEN TESTS" in c.source for c in tests), f"{path.name}: a test cell has no hidden tests"
    start = next(i for i, c in enumerate(cells) if c.source.startswith(classroom.EXERCISES_HEADING))
    assert all(not _nbg(c) for c in cells[:start]), f"{path.name}: nbgrader cells outside the exercise section"


def test_set_parameters_rewrites_only_the_named_lines():
    nb = nbformat.read(GRADED[0], as_version=4)
    classroom.set_parameters(nb, PROFILE="smoke", OUT="/tmp/x")
    src = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", [])).source
    assert "PROFILE = 'smoke'" in src and "OUT = '/tmp/x'" in src and 'DATA = "synth"' in src
    with pytest.raises(ValueError, match="no line 'NOPE = ...'"):
        classroom.set_parameters(nb, NOPE=1)


def test_submissions_with_a_foreign_notebook_are_refused(tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "99_unknown.ipynb").write_text("{}")
    with pytest.raises(SystemExit, match="99_unknown.ipynb: not a notebook of this course"):
        classroom.find_submissions(tmp_path, ["04_state_spaces"])
    with pytest.raises(SystemExit, match="is not a folder"):
        classroom.find_submissions(tmp_path / "missing", ["04_state_spaces"])


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    out = tmp_path_factory.mktemp("classroom")
    student, instructor = classroom.student(out, only=["04"])
    return student / "04_state_spaces.ipynb", instructor / "04_state_spaces.ipynb"


def test_student_edition_has_stubs_and_no_solutions_hidden_tests_or_outputs(editions):
    student = nbformat.read(editions[0], as_version=4)
    text = "\n".join(c.source for c in student.cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "selective_scan_ref(u, delta, A, B, C, D, z)" not in text  # the hidden test's call
    stubs = [c for c in student.cells if _nbg(c).get("solution")]
    assert len(stubs) == 2 and all("raise NotImplementedError()" in c.source for c in stubs)
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    instructor = nbformat.read(editions[1], as_version=4)
    assert "### BEGIN SOLUTION" in "\n".join(c.source for c in instructor.cells)


PARTIAL_SCAN = '''def my_selective_scan(u, delta, A, B, C, D=None, z=None):
    h = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])
    ys = []
    for t in range(u.shape[2]):  # right recurrence, but D and z ignored: the visible test passes
        h = torch.exp(delta[:, :, t, None] * A) * h + delta[:, :, t, None] * B[:, None, :, t] * u[:, :, t, None]
        ys.append((h * C[:, None, :, t]).sum(-1))
    return torch.stack(ys, -1)
'''


@pytest.mark.slow
def test_autograde_full_zero_and_exact_partial_marks(editions, tmp_path):
    """Instructor edition: 5/5. Untouched student edition: 0/5 (and it runs). A submission whose scan
    ignores D and z (passes the visible test, fails the hidden one) with a correct 4.2: exactly 2/5."""
    student, instructor = editions
    source = nbformat.read(instructor, as_version=4)
    partial = nbformat.read(student, as_version=4)
    for cell in partial.cells:
        gid = _nbg(cell).get("grade_id")
        if gid == "ex04-1":
            cell.source = PARTIAL_SCAN
        elif gid == "ex04-2":
            cell.source = next(c.source for c in source.cells if _nbg(c).get("grade_id") == "ex04-2")
    subs = tmp_path / "submissions"
    for who, nb in (("ann", source), ("bob", nbformat.read(student, as_version=4)), ("cat", partial)):
        (subs / who).mkdir(parents=True)
        nbformat.write(nb, subs / who / "04_state_spaces.ipynb")
    out = tmp_path / "grades"
    classroom.grade(subs, out, profile="smoke", device="cpu", only_exercises=True)
    totals = {r["student"]: (float(r["score"]), float(r["max_score"])) for r in csv.DictReader(open(out / "scores.csv"))}
    assert totals == {"ann": (5.0, 5.0), "bob": (0.0, 5.0), "cat": (2.0, 5.0)}
    cells = {(r["student"], r["exercise"]): float(r["score"]) for r in csv.DictReader(open(out / "scores_by_exercise.csv"))}
    assert cells[("cat", "ex04-1")] == 0.0 and cells[("cat", "ex04-2")] == 2.0
    graded_bob = out / "course" / "autograded" / "bob" / "04_state_spaces" / "04_state_spaces.ipynb"
    ran = nbformat.read(graded_bob, as_version=4)
    assert any("NotImplementedError" in str(c.get("outputs")) for c in ran.cells if c.cell_type == "code")
    for who in ("ann", "bob", "cat"):
        html = (out / "feedback" / who / "04_state_spaces.html").read_text()
        assert "Exercise 4.1" in html
