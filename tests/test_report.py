"""The class report (``autograder report``, written after every ``grade``): values in the
page, the Canvas and Moodle CSVs, no external reference, and the page plus one feedback
page rendered in headless chromium (screenshots under the test's tmp folder, copied to
/tmp/report-shots/).

One real grading run (``autograder.grade.grade``, the CLI body) of the fixture assignment
with seven students is shared with tests/test_feedback_page.py (``graded_course``)."""

from __future__ import annotations

import csv
import html
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import notebook as nbtools
from autograder.build import build_assignment
from autograder.cli import main
from autograder.grade import grade
from autograder.paths import Paths

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "fixtures" / "autograder"
A = "00-fixture"
SHOTS = Path("/tmp/report-shots")
# folder -> expected (score, status); max 5 for everyone
EXPECTED = {
    "perfect": (5, "graded"), "untouched": (0, "graded"), "buggy": (1, "graded"),
    "Maria da Silva": (5, "graded"),  # an LMS-style folder name: the CSVs keep it
    "crash": (4, "graded"),            # os._exit in relu: flagged for review
    "slow": (4, "graded"),             # endless loop in relu: cell timeout
    "broken": (0, "failed"),           # not a notebook
}
_CACHE: dict = {}


def _set(nb, **sources):
    return nbtools.with_cells(nb, sources)


def graded_course(tmp_path_factory):
    """Build the fixture assignment, grade seven students with ``grade`` (CSV, feedback,
    report), once per session. Returns (paths, lines printed, submissions folder)."""
    if "course" in _CACHE:
        return _CACHE["course"]
    root = tmp_path_factory.mktemp("report-course")
    paths = Paths(solutions=FIXTURE / "solutions", mutants=FIXTURE / "mutants", notebooks=root / "notebooks",
                  samples=root / "samples", course=root / "course")
    build_assignment(A, paths)
    subs = root / "submissions"
    for sample in ("perfect", "untouched", "buggy"):
        shutil.copytree(paths.samples / A / sample, subs / sample)
    shutil.copytree(paths.samples / A / "perfect", subs / "Maria da Silva")
    perfect = nbformat.read(paths.samples / A / "perfect" / f"{A}.ipynb", as_version=4)
    for name, relu in {"crash": "import os\n\ndef relu(x):\n    os._exit(1)\n",
                       "slow": "def relu(x):\n    while True:\n        pass\n"}.items():
        (subs / name).mkdir()
        nbformat.write(_set(perfect, relu=relu), subs / name / f"{A}.ipynb")
    (subs / "broken").mkdir()
    (subs / "broken" / f"{A}.ipynb").write_text('{"cells": [ oops', encoding="utf-8")
    lines: list[str] = []
    assert grade(A, subs, paths, cell_timeout=3, wall_timeout=240, jobs=2, out=lines.append) == 0, lines
    _CACHE["course"] = (paths, lines, subs)
    return _CACHE["course"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_course(tmp_path_factory)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def external_references(page: str) -> list[str]:
    """src/href/url()/@import that would make a browser fetch something not in the page."""
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page, re.I)
    refs += re.findall(r"""url\(\s*["']?([^"')]+)""", page, re.I)
    refs += re.findall(r"""@import\s+["']?([^"';\s]+)""", page, re.I)
    return [r for r in refs if not r.startswith(("#", "data:"))]


def test_grade_writes_report_and_lms_files(course):
    paths, lines, _ = course
    reports = paths.course / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [f"{A}-canvas.csv", f"{A}-moodle.csv", f"{A}.html"], \
        f"esperado relatório + 2 CSVs, obtido {sorted(p.name for p in reports.iterdir())}"
    assert any(line.startswith("class report: ") and f"{A}.html" in line for line in lines), \
        f"o grade deveria dizer onde está o relatório; saída: {lines[-4:]}"
    grades = {r["folder"]: r for r in _rows(paths.course / "grades.csv")}
    got = {f: (float(r["score"]), r["status"]) for f, r in grades.items()}
    assert got == {f: (float(s), st) for f, (s, st) in EXPECTED.items()}, f"esperado {EXPECTED}, obtido {got}"


def test_report_values(course):
    paths, _, _ = course
    page = (paths.course / "reports" / f"{A}.html").read_text(encoding="utf-8")
    assert re.search(r'id="n-alunos">7<', page), "esperado 7 alunos no resumo"
    mean = 100 * sum(s for s, _ in EXPECTED.values()) / (5 * len(EXPECTED))
    assert f'id="media">{mean:.1f}%<' in page, f"esperada média {mean:.1f}%"
    # per test: passed / graded students (7 records; broken counts as 0 everywhere)
    expected_pass = {
        "test_output_size_valid": 4,    # perfect, Maria, crash, slow (buggy: off-by-one)
        "test_relu_values": 3,          # perfect, Maria, buggy
        "test_conv_params_lecture": 4,  # perfect, Maria, crash, slow (buggy: forgets the bias)
    }
    for gid, passed in expected_pass.items():
        m = re.search(rf'<tr data-test="{gid}">.*?<td class="num pass">(\d+)/(\d+) \((\d+)%\)', page, re.S)
        assert m, f"linha do teste {gid} ausente do relatório"
        assert (int(m.group(1)), int(m.group(2))) == (passed, 7), \
            f"{gid}: esperado {passed}/7, obtido {m.group(1)}/{m.group(2)}"
        assert int(m.group(3)) == round(100 * passed / 7), f"{gid}: porcentagem {m.group(3)}"
    assert "Exemplo da aula: 256 com kernel 3 vira 254." in page, "cada teste deve ter sua descrição em português"
    # the reviews: crash (flag), slow (timeout), broken (not graded); nobody else
    reviewed = set(re.findall(r'<tr data-student="([^"]+)">', page))
    assert reviewed == {"crash", "slow", "broken"}, f"esperado crash, slow, broken em revisão, obtido {reviewed}"
    text = _text(page)
    assert "tempo esgotado" in text and "não corrigido" in text and "sinalizado" in text, text[-2000:]
    # named mistakes: buggy is off-by-one-size + forgets-bias (or whatever the diagnosis names)
    counts = dict(re.findall(r'<tr data-mistake="([^"]+)">.*?<td class="num count">(\d+)<', page, re.S))
    assert counts.get("off-by-one-size") == "1", f"esperado off-by-one-size 1 vez, obtido {counts}"
    assert re.search(r'id="tempo-total">\d+\.\d s<', page), "tempo total de correção ausente"
    assert page.count("data:image/png;base64,") == 2, "esperados 2 gráficos embutidos (histograma, acertos)"
    assert external_references(page) == [], f"o relatório não pode buscar nada: {external_references(page)}"
    assert "<script" not in page.lower(), "o relatório não precisa de script"


def test_lms_csvs(course):
    paths, _, _ = course
    canvas = _rows(paths.course / "reports" / f"{A}-canvas.csv")
    with (paths.course / "reports" / f"{A}-canvas.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A], header
    got = {r["SIS Login ID"]: float(r[A]) for r in canvas}
    assert got == {f: float(s) for f, (s, _) in EXPECTED.items()}, f"Canvas: esperado {EXPECTED}, obtido {got}"
    assert all(r["Student"] == r["SIS Login ID"] for r in canvas), canvas
    moodle = _rows(paths.course / "reports" / f"{A}-moodle.csv")
    assert list(moodle[0]) == ["username", A, f"{A} (comentário)"], list(moodle[0])
    got = {r["username"]: float(r[A]) for r in moodle}
    assert got == {f: float(s) for f, (s, _) in EXPECTED.items()}, f"Moodle: esperado {EXPECTED}, obtido {got}"
    notes = {r["username"]: r[f"{A} (comentário)"] for r in moodle}
    assert "revisão manual" in notes["crash"] and "revisão manual" not in notes["perfect"], notes


def test_report_command(course, tmp_path):
    paths, _, _ = course
    (paths.course / "reports" / f"{A}.html").unlink()
    rc = main(["--course-dir", str(paths.course), "report", A])
    assert rc == 0 and (paths.course / "reports" / f"{A}.html").is_file(), \
        "autograder report deveria reescrever a página"
    assert main(["--course-dir", str(tmp_path), "report", A]) == 1, "sem correções: erro, código 1"


def test_report_and_feedback_in_chromium(course, tmp_path):
    """Both pages load from file:// with no request failing or leaving the file, images
    decoded, MathML laid out; screenshots for a person to look at."""
    from playwright.sync_api import sync_playwright

    from autograder import notebook as nbtools
    from autograder.feedback import grade_descriptions, render_feedback
    from autograder.grade import NotebookResult

    paths, _, _ = course
    import jupytext

    master = jupytext.read(Path(__file__).parents[1] / "solutions" / "01-convolucao" / "01-convolucao.py")
    points = {g: float(c["points"]) for g, c in nbtools.grade_cells(master).items()}
    cells = {g: (0.0 if i < 2 else p, p) for i, (g, p) in enumerate(points.items())}
    res = NotebookResult("aluno", "01-convolucao", "01-convolucao", sum(s for s, _ in cells.values()),
                         sum(points.values()), "graded", cells)
    math_page = tmp_path / "01-convolucao.html"
    math_page.write_text(render_feedback(master, res, grade_descriptions(master)), encoding="utf-8")
    pages = {"report": paths.course / "reports" / f"{A}.html",
             "feedback": paths.course / "feedback" / "buggy" / A / f"{A}.html",
             "feedback-math": math_page}
    shots = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"),
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            for name, path in pages.items():
                page = browser.new_page(viewport={"width": 1200, "height": 1400})
                bad = []
                page.on("requestfailed", lambda r: bad.append(f"falhou {r.url}"))
                page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else bad.append(r.url))
                page.goto(path.as_uri())
                page.wait_for_load_state("load")
                assert bad == [], f"{name}: pedidos que não deveriam existir: {bad}"
                images = page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth])")
                assert all(ok and w > 0 for ok, w in images), f"{name}: imagens não decodificadas: {images}"
                if name == "report":
                    assert len(images) == 2, f"relatório: esperadas 2 imagens, obtidas {images}"
                if name == "feedback-math":
                    # MathML laid out: a fraction stacks numerator over denominator, so it is
                    # taller than 1.5x its tallest part (unrendered, the parts sit side by side)
                    boxes = page.evaluate("[...document.querySelectorAll('mfrac')].slice(0, 5).map(e => "
                                          "[e.getBoundingClientRect().height, Math.max(...[...e.children]"
                                          ".map(c => c.getBoundingClientRect().height))])")
                    assert boxes and all(h > 1.5 * part > 0 for h, part in boxes), \
                        f"frações MathML sem layout (altura, maior parte): {boxes}"
                    page.evaluate("document.querySelector('mfrac').scrollIntoView({block: 'center'})")
                shots[name] = tmp_path / f"{name}.png"
                page.screenshot(path=str(shots[name]))
                page.close()
        finally:
            browser.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, shot in shots.items():
        assert shot.stat().st_size > 10_000, f"captura {shot} vazia"
        shutil.copyfile(shot, SHOTS / shot.name)


def test_summary_counts_diagnosis_and_review_reasons():
    """Mistakes come from ``diagnosis`` (mutant or forbidden call, once per student),
    else from ``mistakes``; timeouts, crashes, flags and failures go to review."""
    from autograder.grades.report import summarize

    def rec(student, score, cells, **kw):
        r = {"notebook": "nb", "score": score, "max_score": 2.0, "status": "graded", "cells": cells,
             "reason": "", "flags": [], "mistakes": [], "diagnosis": [], "seconds": 2.0}
        r.update(kw)
        return {"student": student, "folder": student.upper(), "results": [r]}

    records = [
        rec("a", 2.0, {"t1": [1, 1], "t2": [1, 1]}),
        rec("b", 0.0, {"t1": [0, 1], "t2": [0, 1]}, diagnosis=[
            {"cell": "f", "mutant": "m1", "title": "Esquece o +1", "forbidden": None, "failures": []},
            {"cell": "g", "mutant": "m1", "title": "Esquece o +1", "forbidden": None, "failures": []}]),
        rec("c", 1.0, {"t1": [1, 1], "t2": [0, 1]}, mistakes=["m1"],
            reason="célula 't2': interrompida após 3 s (tempo limite por célula)", seconds=6.0),
        rec("d", 1.0, {"t1": [0, 1], "t2": [1, 1]}, flags=["f: uso de ctypes"], diagnosis=[
            {"cell": "f", "mutant": None, "title": None, "forbidden": "scipy.signal.correlate2d", "failures": []}]),
        rec("e", 0.0, {"t1": [0, 1], "t2": [0, 1]}, status="failed", reason="arquivo .ipynb inválido", seconds=0.0),
    ]
    s = summarize(records, {"nb": {"t1": "Primeiro teste.", "t2": "Segundo teste."}})
    assert [(m["key"], m["count"]) for m in s["mistakes"]] == [("m1", 2), ("proibida:scipy.signal.correlate2d", 1)], \
        f"esperado m1 x2 (b uma vez, c) e a chamada proibida x1, obtido {s['mistakes']}"
    q = {x["grade_id"]: x for x in s["questions"]}
    assert (q["t1"]["passed"], q["t1"]["n"], q["t2"]["passed"]) == (2, 5, 2), q
    assert q["t1"]["description"] == "Primeiro teste." and abs(q["t2"]["mean"] - 0.4) < 1e-9, q["t2"]
    reasons = {r["student"]: " ".join(r["reasons"]) for r in s["review"]}
    assert sorted(reasons) == ["c", "d", "e"], reasons
    assert reasons["c"].startswith("tempo esgotado") and "sinalizado: f: uso de ctypes" == reasons["d"] \
        and reasons["e"].startswith("não corrigido"), reasons
    assert (s["time"]["total"], s["time"]["max"], s["time"]["notebooks"]) == (12.0, 6.0, 4), s["time"]
    assert abs(s["grades"]["mean"] - 40.0) < 1e-9 and s["grades"]["median"] == 50.0, s["grades"]
