"""The autograder over real nbgrader 0.9.6, real kernels and a real gradebook, on the tiny
fixture assignment tests/fixtures/autograder (3 graded functions, hidden tests, mutants).

One build, one check and one graded course are shared per module (autograding a
notebook costs seconds)."""

from __future__ import annotations

import csv
import hashlib
import html
import re
import shutil
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder import nbgrun
from autograder import notebook as nbtools
from autograder.build import build_assignment
from autograder.check import check_assignment
from autograder.cli import main
from autograder.grade import format_table, grade_submissions, write_csv
from autograder.paths import Paths

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "fixtures" / "autograder"
A = "00-fixture"
HIDDEN_SNIPPETS = ["output_size(32, 5, 0, 1)", "output_size(5, 3, 1, 1)", "relu(np.array([[-3.5, 4.25]]))",
                   "conv_params(5, 16, 32)", "segredo_oculto", "BEGIN HIDDEN", "END HIDDEN"]
SOLUTION_SNIPPETS = ["(w_in - k + 2 * p) // s + 1", "np.maximum(np.asarray(x, dtype=float), 0.0)",
                     "weights_per_filter = k * k * c_in", "BEGIN SOLUTION"]


def fixture_paths(root: Path, **kw) -> Paths:
    base = dict(solutions=FIXTURE / "solutions", mutants=FIXTURE / "mutants", notebooks=root / "notebooks",
                samples=root / "samples", course=root / "course")
    base.update(kw)
    return Paths(**{k: Path(v) for k, v in base.items()})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    paths = fixture_paths(tmp_path_factory.mktemp("build"))
    files = build_assignment(A, paths)
    return paths, files


# --- build -------------------------------------------------------------------------

def test_build_writes_release_extra_files_and_samples(built):
    paths, files = built
    rel = sorted(str(f.relative_to(paths.notebooks.parent)) for f in files)
    assert rel == sorted([f"notebooks/{A}/{A}.ipynb", f"notebooks/{A}/scale.txt", f"samples/{A}/perfect/{A}.ipynb",
                          f"samples/{A}/untouched/{A}.ipynb", f"samples/{A}/buggy/{A}.ipynb"]), rel
    assert (paths.notebooks / A / "scale.txt").read_text().strip() == "2.0"


def test_release_has_no_solution_no_hidden_test_no_output(built):
    paths, _ = built
    text = paths.release(A).read_text(encoding="utf-8")
    for snippet in HIDDEN_SNIPPETS + SOLUTION_SNIPPETS:
        assert snippet not in text, f"release leaks {snippet!r}"
    release = nbformat.read(paths.release(A), as_version=4)
    nbformat.validate(release)
    assert all(c.outputs == [] and c.execution_count is None for c in release.cells if c.cell_type == "code")
    assert nbtools.find_leaks(nbtools.master_to_source(paths.master(A)), release) == []
    stub = [c.source for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "relu"][0]
    assert stub.endswith("# SEU CÓDIGO AQUI\n    raise NotImplementedError()"), stub
    assert release.metadata["kernelspec"]["name"] == "python3"


def test_release_and_samples_equal_a_fresh_build(built, tmp_path):
    paths, files = built
    fresh = fixture_paths(tmp_path)
    fresh_files = build_assignment(A, fresh)
    assert len(fresh_files) == len(files)
    for old, new in zip(sorted(files), sorted(fresh_files)):
        assert old.read_bytes() == new.read_bytes(), f"{old} differs from a fresh build ({new})"


def test_samples_perfect_untouched_buggy(built):
    paths, _ = built
    def read(s):
        return (paths.samples / A / s / f"{A}.ipynb").read_text(encoding="utf-8")
    assert read("untouched") == paths.release(A).read_text(encoding="utf-8")
    perfect, buggy = read("perfect"), read("buggy")
    buggy_cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
                   for c in nbformat.reads(buggy, as_version=4).cells}
    for snippet in SOLUTION_SNIPPETS[:3]:
        assert snippet in perfect, f"perfect sample lacks solution line {snippet!r}"
    for snippet in HIDDEN_SNIPPETS + ["BEGIN SOLUTION"]:
        assert snippet not in perfect and snippet not in buggy, f"sample leaks {snippet!r}"
    assert buggy_cells["output_size"].endswith("return (w_in - k + 2 * p) // s") and \
        buggy_cells["conv_params"].endswith("return filters * k * k * c_in"), \
        "buggy sample must carry the sample=true mutants off-by-one-size and forgets-bias"
    assert "np.maximum" in buggy, "buggy keeps the other solutions"


# --- check -------------------------------------------------------------------------

def test_check_passes_on_fixture(tmp_path):
    lines = []
    ok, rows = check_assignment(A, fixture_paths(tmp_path), cell_timeout=30, wall_timeout=300, out=lines.append)
    assert ok, "check failed:\n" + "\n".join(map(str, rows))
    assert [r[0] for r in rows] == ["solution", "untouched", "off-by-one-size", "padding-one-side", "forgets-bias"]
    assert all(r[3] == "OK" for r in rows), rows
    assert rows[3][1:] == ("test_output_size_stride", "= expected", "OK"), rows[3]
    assert any("autograde time per notebook" in line for line in lines), lines


def test_check_fails_with_table_when_mutant_is_wrongly_specified(tmp_path, capsys):
    (tmp_path / "solutions").symlink_to(FIXTURE / "solutions")
    toml = (FIXTURE / "mutants" / A / "mutants.toml").read_text()
    wrong = toml[toml.index('[[mutant]]\nname = "padding-one-side"'):toml.index('[[mutant]]\nname = "forgets-bias"')]
    wrong = wrong.replace('fails = ["test_output_size_stride"]',
                          'fails = ["test_output_size_valid", "test_output_size_stride"]')
    (tmp_path / "autograder" / "mutants" / A).mkdir(parents=True)
    (tmp_path / "autograder" / "mutants" / A / "mutants.toml").write_text(wrong)
    rc = main(["--root", str(tmp_path), "check", A, "--cell-timeout", "30"])
    out = capsys.readouterr().out
    assert rc == 1, f"expected exit 1, got {rc}\n{out}"
    row = [line for line in out.splitlines() if line.startswith("padding-one-side")]
    assert len(row) == 1, out
    assert re.search(r"^padding-one-side\s+test_output_size_stride, test_output_size_valid\s+"
                     r"test_output_size_stride \(did not fail:\s+FAIL$", row[0]), row
    assert re.search(r"^\s+test_output_size_valid\)$", out, re.M), out
    assert re.search(r"^solution\s.*OK$", out, re.M) and re.search(r"^untouched\s.*OK$", out, re.M), out
    assert "CHECK FAILED (2/3 OK)" in out, out


# --- grade -------------------------------------------------------------------------

def _set(nb, **sources):
    return nbtools.with_cells(nb, sources)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def submissions(built, tmp_path_factory):
    paths, _ = built
    subs = tmp_path_factory.mktemp("submissions")
    perfect = nbformat.read(paths.samples / A / "perfect" / f"{A}.ipynb", as_version=4)
    (subs / "buggy").mkdir()  # downloaded from an LMS under another name
    shutil.copyfile(paths.samples / A / "buggy" / f"{A}.ipynb", subs / "buggy" / f"{A} (1).ipynb")
    cheater = _set(perfect, relu="def relu(x):\n    return x", test_relu_values="pass",
                   output_size="def output_size(w_in, k, p, s):\n    return (w_in - k + p) // s + 1")
    cheater.cells = [c for c in cheater.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") != "test_conv_params_lecture"]
    students = {
        "cheater": cheater,  # deleted + edited test cells, one-sided padding (fails a hidden test only)
        "crash": _set(perfect, relu="import os\nos._exit(1)"),
        "hang": _set(perfect, relu="import time\ntime.sleep(1000)"),
    }
    for name, nb in students.items():
        (subs / name).mkdir()
        nbformat.write(nb, subs / name / f"{A}.ipynb")
    (subs / "broken").mkdir()
    (subs / "broken" / f"{A}.ipynb").write_text('{"cells": [ oops', encoding="utf-8")
    (subs / "missing").mkdir()
    (subs / "missing" / "notes.txt").write_text("esqueci o notebook\n")
    return subs


@pytest.fixture(scope="module")
def graded(built, submissions, tmp_path_factory):
    paths = fixture_paths(tmp_path_factory.mktemp("graded"))
    before = _digest(submissions)
    lines = []
    results = grade_submissions(A, submissions, paths, cell_timeout=5, wall_timeout=240, out=lines.append)
    write_csv(results, paths.course / "grades.csv")
    return paths, {r.student: r for r in results}, lines, before


def test_grade_reports_every_submission_with_reason(graded):
    _, res, lines, _ = graded
    got = {s: (r.score, r.max_score, r.status) for s, r in res.items()}
    assert got == {
        "broken": (0, 5, "failed"), "buggy": (1, 5, "graded"), "cheater": (3, 5, "graded"),
        "crash": (4, 5, "graded"), "hang": (4, 5, "graded"), "missing": (0, 5, "failed"),
    }, got
    assert "JSON" in res["broken"].reason and "não enviado" in res["missing"].reason, (res["broken"], res["missing"])
    # top-level os._exit / sleep in an answer cell never run (definitions only): only relu is lost
    assert res["crash"].failed_cells == ["test_relu_values"] and res["crash"].review, res["crash"]
    assert "os._exit" in " ".join(res["crash"].flags), res["crash"].flags
    assert res["hang"].failed_cells == ["test_relu_values"], res["hang"]
    assert res["cheater"].failed_cells == ["test_output_size_stride", "test_relu_values"], res["cheater"].failed_cells
    assert "apagadas e restauradas: test_conv_params_lecture" in res["cheater"].reason, res["cheater"].reason
    assert "editadas e restauradas: test_relu_values" in res["cheater"].reason, res["cheater"].reason
    assert res["buggy"].reason == "notebook enviado como '00-fixture (1).ipynb'; corrigido como 00-fixture.ipynb", \
        res["buggy"].reason
    assert sum(" graded " in line for line in lines) == 6, lines


def test_grade_matches_known_mistakes(graded):
    _, res, _, _ = graded
    assert [m.name for m in res["buggy"].mistakes] == ["off-by-one-size", "forgets-bias"], res["buggy"].mistakes
    # matched by behaviour (issue 13): its output_size is the one-sided padding mutant; relu=x is no known mistake
    assert [m.name for m in res["cheater"].mistakes] == ["padding-one-side"], res["cheater"].mistakes
    assert [(d["cell"], d["mutant"]) for d in res["cheater"].diagnosis] == \
        [("output_size", "padding-one-side"), ("relu", None)], res["cheater"].diagnosis
    table = format_table(list(res.values()))
    assert re.search(r"^buggy\s+00-fixture\s+1 / 5\s+graded\s+off-by-one-size: A fórmula", table, re.M), table
    assert re.search(r"^crash\s+00-fixture\s+4 / 5\s+graded\*\s+REVISÃO MANUAL: relu: uso de _exit", table, re.M), table
    assert re.search(r"^broken\s+00-fixture\s+0 / 5\s+failed\s+arquivo .ipynb inválido", table, re.M), table


def test_grade_never_modifies_submissions(graded, submissions):
    _, _, _, before = graded
    assert _digest(submissions) == before, "grading changed the submitted files"


def test_grade_gradebook_and_csv(graded):
    paths, res, _, _ = graded
    assert nbgrun.read_scores(paths.course, A, "crash", A) == {
        g: (0.0 if g == "test_relu_values" else 1.0, 1.0) for g in res["crash"].cells}
    assert nbgrun.read_scores(paths.course, A, "buggy", A)["test_relu_values"] == (1.0, 1.0)
    with (paths.course / "grades.csv").open(newline="") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert sorted(rows) == sorted(res), rows
    assert (rows["buggy"]["score"], rows["buggy"]["max_score"], rows["buggy"]["known_mistakes"]) == \
        ("1", "5", "off-by-one-size forgets-bias"), rows["buggy"]
    assert rows["broken"]["status"] == "failed" and rows["broken"]["score"] == "0", rows["broken"]


def _visible_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def test_feedback_exists_for_everyone_and_hides_hidden_tests(graded):
    paths, res, _, _ = graded
    autograded = (paths.course / "autograded" / "cheater" / A / f"{A}.ipynb").read_text()
    assert "output_size(5, 3, 1, 1)" in autograded, "nbgrader should restore hidden tests when autograding"
    for student in res:
        page = paths.course / "feedback" / student / A / f"{A}.html"
        assert page.is_file(), f"no feedback for {student}"
        text = _visible_text(page)
        for snippet in HIDDEN_SNIPPETS:
            assert snippet not in text, f"feedback of {student} shows hidden test {snippet!r}"
    cheater = _visible_text(paths.course / "feedback" / "cheater" / A / f"{A}.html")
    assert "output_size(256, 3, 0, 1)" in cheater, "visible tests must stay in the feedback"
    assert "esperado 5, obtido 4" in cheater, "the failing hidden test's message is shown"
    buggy = _visible_text(paths.course / "feedback" / "buggy" / A / f"{A}.html")
    assert "Erro conhecido (off-by-one-size)" in buggy and "não esqueça o +1" in buggy, buggy[:500]
    assert "Nota: 0 / 5" in _visible_text(paths.course / "feedback" / "broken" / A / f"{A}.html")


def test_grade_again_gives_same_grades(graded, submissions, tmp_path):
    paths, res, _, _ = graded
    subset = tmp_path / "again"
    for student in ("buggy", "broken"):
        shutil.copytree(submissions / student, subset / student)
    again = grade_submissions(A, subset, paths, cell_timeout=5, wall_timeout=240, out=lambda *a: None)
    for r in again:
        old = res[r.student]
        assert (r.score, r.status, r.failed_cells, r.reason, r.mistakes) == \
            (old.score, old.status, old.failed_cells, old.reason, old.mistakes), (r, old)


def test_wall_timeout_kills_submission_and_its_kernel(graded, submissions, tmp_path):
    paths, _, _, _ = graded
    only = tmp_path / "only"
    nb = nbformat.read(submissions / "hang" / f"{A}.ipynb", as_version=4)
    nb = _set(nb, relu="def relu(x):\n    import time\n    time.sleep(1000)\n")
    (only / "hang").mkdir(parents=True)
    nbformat.write(nb, only / "hang" / f"{A}.ipynb")
    [r] = grade_submissions(A, only, paths, cell_timeout=120, wall_timeout=15, feedback=False, out=lambda *a: None)
    # the two output_size cells ran before relu hung: their points are kept
    assert (r.status, r.score, r.failed_cells) == (
        "graded", 2, ["test_conv_params_hidden", "test_conv_params_lecture", "test_relu_values"]), r
    assert "tempo total de 15 s" in r.reason, r.reason
    assert nbgrun.read_scores(paths.course, A, "hang", A)["test_relu_values"] == (0.0, 1.0), \
        "a re-grade must overwrite the gradebook"
    course = str(paths.course)
    left = []
    for proc in psutil.process_iter(["pid", "cwd"]):
        if (proc.info.get("cwd") or "").startswith(course):
            left.append(proc.info)
    assert left == [], f"processes left running in the course root: {left}"
