"""The feedback page a student reads (autograder.feedback): offline math (MathML, no
``$...$`` left in the prose of any of the nine notebooks), grade cells named by their
Portuguese description (never "Test cell"), the failures block before the notebook,
hidden tests absent, student markdown sanitized, nothing fetched.

The real pages come from the grading run shared with tests/test_report.py."""

from __future__ import annotations

import html
import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from test_report import A, external_references, graded_course

from autograder import notebook as nbtools
from autograder.feedback import _MATH, grade_descriptions, render_feedback, strip_hidden, tex_to_mathml
from autograder.grade import NotebookResult

ROOT = Path(__file__).parents[1]
MASTERS = sorted(p for p in (ROOT / "solutions").glob("*/*.py") if p.stem == p.parent.name)
HIDDEN_SNIPPETS = ["output_size(32, 5, 0, 1)", "output_size(5, 3, 1, 1)", "relu(np.array([[-3.5, 4.25]]))",
                   "conv_params(5, 16, 32)", "segredo_oculto", "BEGIN HIDDEN", "END HIDDEN"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_course(tmp_path_factory)


def _visible(page: str, sep: str = " ") -> str:
    """Text of the page; ``sep=""`` keeps highlighted code contiguous (pygments spans)."""
    page = re.sub(r"<style.*?</style>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", sep, page))


def _prose_without_code(page: str) -> str:
    """Rendered markdown only: code cells, <pre> and <code> removed."""
    page = re.sub(r"<style.*?</style>|<pre.*?</pre>|<code.*?</code>", "", page, flags=re.S)
    cells = re.findall(r'<div class="jp-Cell jp-MarkdownCell.*?(?=<div class="jp-Cell |</main>)', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", "".join(cells)))


@pytest.mark.slow
@pytest.mark.parametrize("master", MASTERS, ids=[p.stem[:2] for p in MASTERS])
def test_masters_math_is_mathml_and_tests_are_described(master):
    nb = jupytext.read(master)
    descriptions = grade_descriptions(nb)
    points = {g: float(c["points"]) for g, c in nbtools.grade_cells(nb).items()}
    missing = [g for g, d in descriptions.items() if d == g]
    assert not missing, f"testes sem docstring (descrição em português): {missing}"
    first = next(iter(points))
    cells = {g: (0.0 if g == first else p, p) for g, p in points.items()}
    res = NotebookResult("aluno", master.stem, master.stem, sum(s for s, _ in cells.values()),
                         sum(points.values()), "graded", cells)
    page = render_feedback(nb, res, descriptions)
    tex = sum(len(_MATH.findall(c.source)) for c in nb.cells if c.cell_type == "markdown")
    assert tex > 0 and page.count("<math") >= tex, f"esperadas {tex} fórmulas em MathML, obtidas {page.count('<math')}"
    assert 'class="ag-tex"' not in page, "alguma fórmula não foi convertida (ficou como TeX)"
    left = [m.group(0)[:80] for m in _MATH.finditer(_prose_without_code(page))]
    assert left == [], f"TeX cru na prosa: {left[:5]}"
    assert "Test cell" not in page and "<script" not in page.lower(), "rótulo 'Test cell' ou script na página"
    assert external_references(page) == [], f"referências externas: {external_references(page)[:5]}"
    for gid, d in descriptions.items():
        assert f'id="{gid}"' in page and d in html.unescape(page), f"teste {gid} sem âncora/descrição"
    hidden = [line for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
              for line in nbtools.nontrivial(nbtools.region_lines(c.source, nbtools.HIDDEN_BEGIN, nbtools.HIDDEN_END))]
    text = _visible(page, sep="")
    public = "\n".join(strip_hidden(c.source)[0] for c in nb.cells)  # a hidden line may also be public
    shown = [line for line in hidden if len(line) >= 12 and line in text and line not in public]
    assert len(hidden) > 0, "o master deveria ter testes ocultos"
    assert shown == [], f"linhas de testes ocultos na página: {shown[:3]}"


def test_tex_to_mathml_escapes_student_text():
    out = tex_to_mathml(r"\text{<script>alert(1)</script>} a < b")
    assert "<script" not in out and "<mtext>alert(1)</mtext>" in out, out
    assert out.startswith("<math") and "http" not in out, out
    assert tex_to_mathml(r"\frac{1}{") .startswith('<code class="ag-tex">'), "TeX inválido vira código, sem erro"


def test_real_feedback_failures_first_and_hidden_absent(course):
    paths, _, _ = course
    fb = paths.course / "feedback"
    page = (fb / "buggy" / A / f"{A}.html").read_text(encoding="utf-8")
    failures = page.index('id="ag-falhas"')
    notebook = page.index("Notebook de teste do autograder")
    assert failures < notebook, "as falhas devem vir antes do notebook"
    head = _visible(page[:notebook])
    assert "Nota: 1 / 5" in head, head[:300]
    for desc in ("Exemplo da aula: 256 com kernel 3 vira 254.", "Stride 2 com padding.",
                 "Exemplo da aula: 10 filtros 3x3 sobre RGB têm 280 parâmetros."):
        assert desc in head, f"falha {desc!r} ausente do topo"
    assert "esperado 254, obtido 253" in head, "a mensagem (esperado x obtido) deve estar no topo"
    assert "1 ponto(s) perdido(s)" in head, head[:1500]
    assert "Erro conhecido (off-by-one-size)" in head and "não esqueça o +1" in head, head[:2000]
    assert "Test cell" not in page, "rótulo 'Test cell' na página"
    assert "Negativos viram zero." in _visible(page), "testes que passaram também têm descrição"
    assert external_references(page) == [] and "<script" not in page.lower(), external_references(page)
    for student in ("buggy", "perfect", "untouched", "crash", "slow"):
        text = _visible((fb / student / A / f"{A}.html").read_text(encoding="utf-8"), sep="")
        for snippet in HIDDEN_SNIPPETS:
            assert snippet not in text, f"feedback de {student} mostra teste oculto {snippet!r}"
    perfect = _visible((fb / "perfect" / A / f"{A}.html").read_text(encoding="utf-8"))
    assert "Todos os testes passaram." in perfect and "Nota: 5 / 5" in perfect, perfect[:400]
    crash = _visible((fb / "crash" / A / f"{A}.html").read_text(encoding="utf-8"))
    assert "Em revisão manual" in crash and "Negativos viram zero." in crash.split("Pontuação por teste")[0], \
        crash[:1500]
    slow = _visible((fb / "slow" / A / f"{A}.html").read_text(encoding="utf-8"))
    assert "tempo limite" in slow.split("Pontuação por teste")[0], slow[:1500]
    broken = _visible((fb / "broken" / A / f"{A}.html").read_text(encoding="utf-8"))
    assert "Nota: 0 / 5" in broken, broken[:400]


def test_student_markdown_and_messages_are_escaped():
    """A failure message or answer holding HTML is shown as text, never as markup."""
    nb = jupytext.reads('# %% [markdown]\n# texto $x$\n\n'
                        '# %% nbgrader={"grade": true, "grade_id": "t1", "points": 1}\n"""Um teste."""\nassert False\n',
                        fmt="py:percent")
    nb.cells[1].outputs = [nbformat.v4.new_output("error", ename="AssertionError",
                                                  evalue="<img src=x onerror=alert(1)>", traceback=[])]
    res = NotebookResult("<b>aluno</b>", "a", "nb", 0.0, 1.0, "graded", {"t1": (0.0, 1.0)},
                         reason="<script>x</script>")
    page = render_feedback(nb, res, grade_descriptions(nb))
    head = page[page.index('id="ag-resumo"'):page.index("</section>")]
    assert "<img src=x" not in head and "&lt;img src=x onerror=alert(1)&gt;" in head, head
    assert "<script>x" not in page and "<b>aluno" not in page, "texto do aluno/motivo sem escape"
    assert "Um teste." in head and "<math" in page, head
