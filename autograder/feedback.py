"""Feedback pages a student can read offline.

:func:`render_feedback` turns an autograded notebook into one self-contained HTML page
(nbconvert's lab template, no script and nothing fetched): the student's failures first
(each test by its Portuguese description, points lost, expected vs got, the named mistake
when there is one), then the score of every test, then the notebook. Math in the prose is
converted to MathML at generation time (browsers render it natively). Hidden tests are
removed from grade cells and their tracebacks reduced to the message.

:class:`RedactHiddenTests` does the same redaction for nbgrader's own
``generate_feedback`` (the formgrader's button); :func:`write_failure_feedback` writes the
page of a submission that could not be graded.
"""

from __future__ import annotations

import ast
import copy
import html
import re
import secrets
from pathlib import Path

from nbgrader import utils as nbutils
from nbgrader.preprocessors import NbGraderPreprocessor

HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
HIDDEN_END = "END HIDDEN TESTS"
REDACTED_SOURCE = "# (testes ocultos omitidos)"
REDACTED_TRACEBACK = "(detalhes omitidos: esta célula contém testes ocultos)"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_hidden(source: str) -> tuple[str, bool]:
    """Replace each ``### BEGIN/END HIDDEN TESTS`` region by one comment line.

    Returns:
        (new source, whether a region was found).
    """
    out, inside, found = [], False, False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            inside, found = True, True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + REDACTED_SOURCE)
        elif HIDDEN_END in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out), found


def redact_cell(cell) -> None:
    """Hidden regions out of a grade cell's source; its error tracebacks reduced to
    ``Error: message`` (a traceback's code context would show the hidden lines)."""
    if cell.cell_type != "code" or not nbutils.is_grade(cell):
        return
    cell.source, found = strip_hidden(cell.source)
    if found:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [error_message(output), REDACTED_TRACEBACK]


def error_message(output) -> str:
    return f"{output.get('ename', 'Error')}: {_ANSI.sub('', str(output.get('evalue', '')))}"


class RedactHiddenTests(NbGraderPreprocessor):
    """nbgrader 0.9.6 puts the hidden tests back into the autograded notebook and its
    feedback shows them (source and the traceback's code context). This removes the
    hidden regions and reduces error tracebacks in those cells to ``Error: message``."""

    def preprocess_cell(self, cell, resources, cell_index):
        redact_cell(cell)
        return cell, resources


# ----------------------------------------------------------------------------- math

_MATHML_TAGS = ["math", "mrow", "mi", "mo", "mn", "ms", "mtext", "mspace", "mfrac", "msqrt", "mroot",
                "msup", "msub", "msubsup", "mover", "munder", "munderover", "mtable", "mtr", "mtd",
                "mstyle", "mpadded", "mphantom", "menclose", "merror", "semantics", "annotation"]
_MATHML_ATTRS = ["display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace",
                 "columnalign", "columnlines", "columnspacing", "rowspacing", "rowlines", "width", "height",
                 "depth", "accent", "accentunder", "movablelimits", "minsize", "maxsize", "symmetric",
                 "linethickness", "displaystyle", "scriptlevel", "notation", "align", "frame"]
# $$...$$ (may span lines), then $...$ on one line; \$ is a literal dollar.
_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<![\\$])\$(?!\s)([^$\n]+?)(?<![\\\s])\$(?!\d)", re.S)
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)


def tex_to_mathml(tex: str, display: bool = False) -> str:
    """MathML for a TeX formula (sanitized: MathML elements only, any text escaped); when
    latex2mathml cannot parse it, the TeX itself in a ``<code>``."""
    import bleach
    from latex2mathml.converter import convert

    try:
        mathml = convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # latex2mathml raises many kinds on TeX it does not know
        return f'<code class="ag-tex">{html.escape(tex.strip())}</code>'
    return bleach.clean(mathml, tags=_MATHML_TAGS, attributes=_MATHML_ATTRS, strip=True)


def replace_math(markdown: str, token: str) -> tuple[str, list[str]]:
    """Markdown with each ``$...$``/``$$...$$`` outside code replaced by ``token<n>X``;
    returns it and the MathML of each n (put back into the rendered HTML by the caller,
    so the markdown renderer never sees the formula)."""
    found: list[str] = []

    def sub(m):
        found.append(tex_to_mathml(m.group(1) if m.group(1) is not None else m.group(2), m.group(1) is not None))
        return f"{token}{len(found) - 1}X"

    parts = _CODE.split(markdown)
    return "".join(p if i % 2 else _MATH.sub(sub, p) for i, p in enumerate(parts)), found


# ----------------------------------------------------------------------------- page

def grade_descriptions(source_nb) -> dict[str, str]:
    """grade_id -> the first line of the grade cell's docstring (its grade_id when none)."""
    out = {}
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            out[meta["grade_id"]] = _docstring_line(cell.source) or meta["grade_id"]
    return out


def _docstring_line(source: str) -> str:
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return ""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        lines = [line.strip() for line in body[0].value.value.strip().split("\n")]
        return lines[0] if lines else ""
    return ""


def cell_messages(nb) -> dict[str, str]:
    """grade_id -> the error message of that grade cell in an autograded notebook."""
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                out[meta["grade_id"]] = error_message(errors[-1])
    return out


def failure_items(res, descriptions: dict[str, str], messages: dict[str, str]) -> list[dict]:
    """The student's failures, grouped by the answer cell they come from when
    ``res.diagnosis`` says so: ``{"cell", "mutant", "title", "hint", "forbidden",
    "tests": [{"test", "description", "lost", "message"}]}``. Without a diagnosis, one
    group with every failed test and ``res.mistakes`` as the named mistakes."""
    def test(gid, message=None):
        score, points = res.cells.get(gid, (0.0, 0.0))
        return {"test": gid, "description": descriptions.get(gid, gid), "lost": points - score,
                "message": message or messages.get(gid, "")}

    diagnosis = getattr(res, "diagnosis", None) or []
    groups, seen = [], set()
    for d in diagnosis:
        tests = []
        for f in d.get("failures") or []:
            if f.get("test") in res.cells and f["test"] not in seen:
                seen.add(f["test"])
                tests.append(test(f["test"], f.get("message")))
        groups.append({"cell": d.get("cell"), "mutant": d.get("mutant"), "title": d.get("title"),
                       "hint": d.get("hint"), "forbidden": d.get("forbidden"), "tests": tests, "named": []})
    rest = [test(g) for g in res.failed_cells if g not in seen]
    if rest or (not groups and res.mistakes):
        named = [] if diagnosis else [{"name": m.name, "hint": m.hint} for m in res.mistakes]
        groups.append({"cell": None, "mutant": None, "title": None, "hint": None, "forbidden": None,
                       "tests": rest, "named": named})
    return groups


_CSS = """
.ag-summary{font-family:system-ui,sans-serif;max-width:60em;margin:1em auto 2em;padding:1em 1.5em;
 border:2px solid #c60;border-radius:6px;background:#fffaf3;color:#222}
.ag-summary h1{font-size:1.4em;margin:0 0 .3em}.ag-summary h2{font-size:1.15em;margin:1em 0 .4em}
.ag-score{font-size:1.3em;font-weight:bold}.ag-ok{color:#16692c}.ag-bad{color:#a11}
.ag-fail{border-left:4px solid #a11;padding:.2em .8em;margin:.6em 0;background:#fff}
.ag-fail pre{white-space:pre-wrap;background:#f6f6f6;padding:.4em;margin:.3em 0}
.ag-mistake{border-left:4px solid #c60;background:#fff3e0;padding:.3em .8em;margin:.4em 0}
.ag-review{background:#eef3ff;border-left:4px solid #36c;padding:.3em .8em}
.ag-scores{border-collapse:collapse;width:100%}.ag-scores td,.ag-scores th{border-bottom:1px solid #ddd;
 padding:.25em .5em;text-align:left;vertical-align:top}
.ag-grade-head{font-family:system-ui,sans-serif;margin:1.2em 0 .2em;padding:.25em .6em;border-radius:4px;
 font-weight:bold}.ag-grade-head.ag-passed{background:#e6f4ea}.ag-grade-head.ag-failed{background:#fde8e8}
math[display=block]{margin:.6em 0}
"""

_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}<style type="text/css">{{ resources.ag_css }}</style>{%- endblock extra_css -%}
{%- block body_header -%}{{ super() }}{{ resources.ag_header }}{%- endblock body_header -%}
{%- block any_cell -%}
{%- set ag = cell.metadata.get('nbgrader', {}) -%}
{%- if ag.get('grade') and ag.get('grade_id') in resources.ag_heads -%}
{{ resources.ag_heads[ag.get('grade_id')] }}
{%- endif -%}
{{ super() }}
{%- endblock any_cell -%}
"""

_EXPORTER = None


def _exporter():
    global _EXPORTER
    if _EXPORTER is None:
        import jinja2
        from nbconvert import HTMLExporter

        _EXPORTER = HTMLExporter(template_name="lab", template_file="autograder_feedback.html.j2",
                                 language_code="pt-BR",
                                 extra_loaders=[jinja2.DictLoader({"autograder_feedback.html.j2": _TEMPLATE})])
    return _EXPORTER


def _pts(x: float) -> str:
    return f"{x:g}"


def feedback_header(res, descriptions: dict[str, str], messages: dict[str, str]) -> str:
    """The block above the notebook: score, notes, failures, every test's score."""
    e = html.escape
    parts = ['<section class="ag-summary" id="ag-resumo" lang="pt-BR">',
             f"<h1>{e(res.assignment)} / {e(res.notebook)}: {e(res.student)}</h1>",
             f'<p class="ag-score">Nota: {_pts(res.score)} / {_pts(res.max_score)}</p>']
    if res.reason:
        parts.append(f"<p><strong>Observação:</strong> {e(res.reason)}</p>")
    if res.flags:
        parts.append('<p class="ag-review"><strong>Em revisão manual:</strong> a nota automática será '
                     "conferida pela equipe da disciplina.</p>")
    groups = failure_items(res, descriptions, messages)
    if res.failed_cells:
        parts.append(f'<h2 class="ag-bad" id="ag-falhas">O que falhou ({len(res.failed_cells)} teste(s), '
                     f"{_pts(res.max_score - res.score)} ponto(s) perdidos)</h2>")
    else:
        parts.append('<h2 class="ag-ok" id="ag-falhas">Todos os testes passaram.</h2>')
    for g in groups:
        box = []
        if g["forbidden"]:
            box.append(f'<div class="ag-mistake"><strong>Chamada proibida:</strong> sua resposta chamou '
                       f"<code>{e(g['forbidden'])}</code>, que este exercício pede para não usar: "
                       "implemente a operação você mesmo.</div>")
        if g["mutant"] or g["hint"]:
            # the mutant's title (its misconception) is written in English for instructors:
            # the student reads the Portuguese hint
            name = f" ({e(g['mutant'])})" if g["mutant"] else ""
            hint = f" Dica: {e(g['hint'])}" if g["hint"] else ""
            box.append(f'<div class="ag-mistake"><strong>Erro conhecido{name}:</strong> sua resposta '
                       f"se comporta como este erro comum.{hint}</div>")
        for m in g["named"]:
            box.append(f'<div class="ag-mistake"><strong>Erro conhecido ({e(m["name"])}):</strong> sua resposta '
                       f"se comporta como este erro comum. Dica: {e(m['hint'])}</div>")
        if g["cell"]:
            parts.append(f"<h3>Resposta <code>{e(g['cell'])}</code></h3>")
        parts += box
        for t in g["tests"]:
            msg = f"<pre>{e(t['message'])}</pre>" if t["message"] else ""
            parts.append(f'<div class="ag-fail"><strong><a href="#{e(t["test"])}">{e(t["description"])}</a></strong>'
                         f" &mdash; {_pts(t['lost'])} ponto(s) perdido(s){msg}</div>")
    parts.append("<h2>Pontuação por teste</h2><table class=\"ag-scores\"><tr><th>Teste</th><th>Pontos</th>"
                 "<th></th></tr>")
    for gid, (score, points) in res.cells.items():
        ok = score >= points
        parts.append(f'<tr><td><a href="#{e(gid)}">{e(descriptions.get(gid, gid))}</a></td>'
                     f"<td>{_pts(score)} / {_pts(points)}</td>"
                     f'<td class="{"ag-ok" if ok else "ag-bad"}">{"ok" if ok else "falhou"}</td></tr>')
    parts.append("</table></section>")
    return "\n".join(parts)


def _grade_heads(res, descriptions) -> dict[str, str]:
    heads = {}
    for gid, (score, points) in res.cells.items():
        cls = "ag-passed" if score >= points else "ag-failed"
        heads[gid] = (f'<div class="ag-grade-head {cls}" id="{html.escape(gid)}">'
                      f"{html.escape(descriptions.get(gid, gid))}"
                      f" &mdash; {_pts(score)} / {_pts(points)} ponto(s)</div>")
    return heads


def render_feedback(nb, res, descriptions: dict[str, str]) -> str:
    """The feedback page (HTML text) of one autograded notebook ``nb`` (not modified)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        redact_cell(cell)
    messages = cell_messages(nb)
    token = "AGMATH" + secrets.token_hex(8)
    mathml: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            source, found = replace_math(cell.source, f"{token}{len(mathml)}N")
            # token<k>N<n>X: k = offset of this cell's formulas
            cell.source = source
            mathml.append(found)
    flat = {}
    for k, found in enumerate(mathml):
        for n, m in enumerate(found):
            flat[f"{token}{k}N{n}X"] = m
    resources = {"metadata": {"name": f"{res.notebook} - {res.student}"},
                 "ag_css": _CSS, "ag_header": feedback_header(res, descriptions, messages),
                 "ag_heads": _grade_heads(res, descriptions)}
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    if flat:
        body = re.sub(re.escape(token) + r"\d+N\d+X", lambda m: flat.get(m.group(0), m.group(0)), body)
    return body


def write_feedback_page(path: Path, nb, res, descriptions: dict[str, str]) -> None:
    """Write the page atomically (nbgrader's timestamp.txt and submission_secret.txt, which
    release_feedback reads next to it, are written by the grader's record stage)."""
    from autograder.grades.store import atomic_write

    atomic_write(path, render_feedback(nb, res, descriptions))


def write_failure_feedback(path: Path, student: str, assignment: str, notebook: str,
                           max_score: float, reason: str) -> None:
    """A minimal pt-BR feedback page for a submission scored 0 because it could not run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = f"""<!DOCTYPE html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>{html.escape(notebook)}</title></head>
<body>
<h1>{html.escape(assignment)} / {html.escape(notebook)}: {html.escape(student)}</h1>
<p><strong>Nota: 0 / {max_score:g}</strong></p>
<p>O notebook não pôde ser corrigido automaticamente. Motivo:</p>
<pre>{html.escape(reason)}</pre>
<p>Corrija o problema (rode "Kernel &gt; Restart &amp; Run All" antes de enviar) e envie de novo,
ou procure a equipe da disciplina.</p>
</body></html>
"""
    path.write_text(body, encoding="utf-8")
