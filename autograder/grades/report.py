"""The class report of one assignment, for the instructor: ``course/reports/<a>.html``
(one self-contained page: inline CSS, plots as embedded PNG, nothing fetched) and two
LMS grade imports next to it, ``<a>-canvas.csv`` and ``<a>-moodle.csv``.

Everything is read from the course root's per-student records
(``autograded/<student>/<a>/.autograder-record.json``, written by the grader after each
student), so the report covers every student graded so far, by any run, shard or merge.

LMS files (the student column is the submission's original folder name, which LMS
exports name after the user):

- Canvas (Grades > Import): columns ``Student, ID, SIS User ID, SIS Login ID, Section``,
  then one column named after the assignment holding the total points. ``Student`` and
  ``SIS Login ID`` hold the folder name; ``ID``, ``SIS User ID`` and ``Section`` are left
  empty. Canvas matches a row by one of these columns, so the instructor either names the
  folders after the Canvas login (then the file imports as it is, the column becoming a
  new assignment) or renames the column to the existing assignment's exported header,
  ``<name> (<canvas id>)``, to fill that one.
- Moodle (Grade administration > Import > CSV file): ``username`` (the folder name), one
  column per grade item (the assignment's total; one more per notebook when it has
  several) and a feedback column. At import, "Map from" = ``username`` and "Map to" =
  Username (or the user field the folders are named after, e.g. Email address), and each
  grade column is mapped to its grade item.
"""

from __future__ import annotations

import base64
import csv
import datetime
import html
import io
import statistics
from collections import Counter
from pathlib import Path

from autograder.grades import store

# Reason/flag words -> the review category shown to the instructor.
_TIMEOUT_WORDS = ("tempo limite", "timeout")
_CRASH_WORDS = ("processo terminou", "travou", "reiniciad", "MemoryError", "morreu")


# ----------------------------------------------------------------------------- data

def load_records(course: Path, assignment: str) -> list[dict]:
    """Every recorded student of ``assignment``: ``{"student", "folder", "results": [...]}``
    (results as ``NotebookResult.to_json``), sorted by student id."""
    out = []
    for path in sorted((course / "autograded").glob(f"*/{assignment}/{store.RECORD_NAME}")):
        rec = store.read_record(path)
        if rec and isinstance(rec.get("results"), list):
            out.append(rec)
    return sorted(out, key=lambda r: str(r.get("student", "")))


def descriptions(course: Path, assignment: str) -> dict[str, dict[str, str]]:
    """notebook -> grade_id -> Portuguese description, from the built source notebooks."""
    import nbformat

    from autograder.feedback import grade_descriptions

    out = {}
    for path in sorted((course / "source" / assignment).glob("*.ipynb")):
        try:
            out[path.stem] = grade_descriptions(nbformat.read(path, as_version=4))
        except (OSError, ValueError):
            continue
    return out


def _named_mistakes(result: dict) -> list[tuple[str, str]]:
    """(key, label) of each mistake named in one notebook result: from ``diagnosis`` when
    present (mutant, or the forbidden call), else from ``mistakes`` (names)."""
    diagnosis = result.get("diagnosis") or []
    if diagnosis:
        out = []
        for d in diagnosis:
            if d.get("forbidden"):
                out.append((f"proibida:{d['forbidden']}", f"chamada proibida {d['forbidden']}"))
            if d.get("mutant"):
                out.append((d["mutant"], d.get("title") or d["mutant"]))
        return out
    return [(m, m) for m in result.get("mistakes") or []]


def review_reasons(result: dict) -> list[str]:
    """Why a notebook needs a person: not graded, timeouts, crashes, flags (suspected
    tampering and other findings of the grader)."""
    reasons = []
    text = str(result.get("reason") or "")
    if result.get("status") != "graded":
        reasons.append(f"não corrigido: {text}")
    else:
        if any(w in text for w in _TIMEOUT_WORDS):
            reasons.append("tempo esgotado: " + text)
        elif any(w in text for w in _CRASH_WORDS):
            reasons.append("falha durante a execução: " + text)
    reasons += [f"sinalizado: {f}" for f in result.get("flags") or []]
    return reasons


def summarize(records: list[dict], descs: dict[str, dict[str, str]]) -> dict:
    """The numbers of the report (also what the tests check)."""
    students, questions, mistakes, review, times = [], {}, Counter(), [], []
    labels = {}
    for rec in records:
        results = rec["results"]
        score = sum(float(r.get("score", 0)) for r in results)
        max_score = sum(float(r.get("max_score", 0)) for r in results)
        students.append({"student": rec.get("student"), "folder": rec.get("folder") or rec.get("student"),
                         "score": score, "max_score": max_score,
                         "percent": 100.0 * score / max_score if max_score else 0.0,
                         "notebooks": {r["notebook"]: float(r.get("score", 0)) for r in results}})
        for r in results:
            for gid, (s, m) in (r.get("cells") or {}).items():
                q = questions.setdefault((r["notebook"], gid), {
                    "notebook": r["notebook"], "grade_id": gid, "points": float(m),
                    "description": descs.get(r["notebook"], {}).get(gid, gid), "passed": 0, "n": 0, "sum": 0.0})
                q["n"] += 1
                q["sum"] += float(s)
                q["passed"] += float(s) >= float(m)
            seen = set()
            for key, label in _named_mistakes(r):
                if key not in seen:
                    seen.add(key)
                    mistakes[key] += 1
                    labels[key] = label
            reasons = review_reasons(r)
            if reasons:
                review.append({"student": rec.get("student"), "folder": rec.get("folder"),
                               "notebook": r["notebook"], "score": float(r.get("score", 0)),
                               "max_score": float(r.get("max_score", 0)), "reasons": reasons})
            if r.get("status") == "graded":
                times.append(float(r.get("seconds", 0.0)))
    for q in questions.values():
        q["pass_rate"] = q["passed"] / q["n"] if q["n"] else 0.0
        q["mean"] = q["sum"] / q["n"] if q["n"] else 0.0
    percents = [s["percent"] for s in students]
    return {
        "students": students,
        "questions": sorted(questions.values(), key=lambda q: (q["notebook"], _order(descs, q))),
        "mistakes": [{"key": k, "label": labels[k], "count": c} for k, c in
                     sorted(mistakes.items(), key=lambda kv: (-kv[1], kv[0]))],
        "review": review,
        "time": {"total": sum(times), "mean": sum(times) / len(times) if times else 0.0,
                 "max": max(times) if times else 0.0, "notebooks": len(times)},
        "grades": {"n": len(students), "mean": statistics.fmean(percents) if percents else 0.0,
                   "median": statistics.median(percents) if percents else 0.0,
                   "min": min(percents) if percents else 0.0, "max": max(percents) if percents else 0.0},
    }


def _order(descs, q):
    ids = list(descs.get(q["notebook"], {}))
    return ids.index(q["grade_id"]) if q["grade_id"] in ids else len(ids)


# ----------------------------------------------------------------------------- plots

def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def histogram_png(percents: list[float]) -> str:
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    fig = Figure(figsize=(6.4, 3.0))
    ax = fig.subplots()
    ax.hist(percents, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.0001], color="#c60", edgecolor="white")
    ax.set_xlim(0, 100)
    ax.set_xlabel("nota (% dos pontos)")
    ax.set_ylabel("alunos")
    ax.set_title(f"Distribuição das notas ({len(percents)} aluno(s))")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _png(fig)


def pass_rate_png(questions: list[dict]) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 0.3 * len(questions) + 1.0))
    ax = fig.subplots()
    names = [q["grade_id"] for q in questions][::-1]
    rates = [100 * q["pass_rate"] for q in questions][::-1]
    ax.barh(names, rates, color=["#16692c" if r >= 70 else "#c60" if r >= 40 else "#a11" for r in rates])
    ax.set_xlim(0, 100)
    ax.set_xlabel("alunos com todos os pontos do teste (%)")
    ax.tick_params(axis="y", labelsize=7)
    return _png(fig)


# ----------------------------------------------------------------------------- html

_CSS = """
body{font-family:system-ui,sans-serif;max-width:70em;margin:1em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:2px solid #c60}
table{border-collapse:collapse;width:100%;font-size:.92em}th,td{border-bottom:1px solid #ddd;padding:.25em .5em;
text-align:left;vertical-align:top}th{background:#f6f1ea}td.num{text-align:right;white-space:nowrap}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;
background:#fffaf3}.card b{display:block;font-size:1.4em}img{max-width:100%}.muted{color:#666}
"""


def render_report(assignment: str, summary: dict, generated: str) -> str:
    e = html.escape
    g, t = summary["grades"], summary["time"]
    parts = [f'<!DOCTYPE html>\n<html lang="pt-BR"><head><meta charset="utf-8"><title>Relatório da turma: '
             f"{e(assignment)}</title><style>{_CSS}</style></head><body>",
             f"<h1>Relatório da turma: {e(assignment)}</h1>",
             f'<p class="muted">Gerado em {e(generated)} a partir dos registros da correção '
             "(autograded/&lt;aluno&gt;/" + e(assignment) + "/.autograder-record.json).</p>",
             '<div class="cards" id="resumo">'
             f'<div class="card">alunos<b id="n-alunos">{g["n"]}</b></div>'
             f'<div class="card">média<b id="media">{g["mean"]:.1f}%</b></div>'
             f'<div class="card">mediana<b>{g["median"]:.1f}%</b></div>'
             f'<div class="card">mín. / máx.<b>{g["min"]:.0f}% / {g["max"]:.0f}%</b></div>'
             f'<div class="card">em revisão<b id="n-revisao">{len({r["student"] for r in summary["review"]})}</b></div>'
             "</div>"]
    parts.append('<h2 id="distribuicao">Distribuição das notas</h2>')
    if summary["students"]:
        png = histogram_png([s["percent"] for s in summary["students"]])
        parts.append(f'<img alt="histograma das notas" src="{png}">')
    parts.append('<h2 id="questoes">Por teste</h2>')
    if summary["questions"]:
        parts.append(f'<img alt="taxa de acerto por teste" src="{pass_rate_png(summary["questions"])}">')
    parts.append("<table><tr><th>Notebook</th><th>Teste</th><th>Descrição</th><th>Pontos</th>"
                 "<th>Acertaram</th><th>Pontos médios</th></tr>")
    for q in summary["questions"]:
        parts.append(f'<tr data-test="{e(q["grade_id"])}"><td>{e(q["notebook"])}</td>'
                     f'<td><code>{e(q["grade_id"])}</code></td>'
                     f'<td>{e(q["description"])}</td><td class="num">{q["points"]:g}</td>'
                     f'<td class="num pass">{q["passed"]}/{q["n"]} ({100 * q["pass_rate"]:.0f}%)</td>'
                     f'<td class="num">{q["mean"]:.2f}</td></tr>')
    parts.append("</table>")
    parts.append('<h2 id="erros">Erros conhecidos mais comuns</h2>')
    if summary["mistakes"]:
        parts.append("<table><tr><th>Erro</th><th>Descrição</th><th>Alunos</th></tr>")
        for m in summary["mistakes"]:
            parts.append(f'<tr data-mistake="{e(m["key"])}"><td><code>{e(m["key"])}</code></td><td>{e(m["label"])}</td>'
                         f'<td class="num count">{m["count"]}</td></tr>')
        parts.append("</table>")
    else:
        parts.append("<p>Nenhum erro conhecido foi identificado.</p>")
    parts.append('<h2 id="revisao">Para revisão manual</h2>')
    if summary["review"]:
        parts.append("<table><tr><th>Aluno</th><th>Pasta</th><th>Notebook</th><th>Nota</th><th>Motivo</th></tr>")
        for r in summary["review"]:
            reasons = "<br>".join(e(x) for x in r["reasons"])
            parts.append(f'<tr data-student="{e(str(r["student"]))}"><td>{e(str(r["student"]))}</td>'
                         f'<td>{e(str(r["folder"]))}</td><td>{e(r["notebook"])}</td>'
                         f'<td class="num">{r["score"]:g} / {r["max_score"]:g}</td><td>{reasons}</td></tr>')
        parts.append("</table>")
    else:
        parts.append("<p>Nenhum aluno sinalizado.</p>")
    parts.append('<h2 id="tempo">Tempo de correção</h2>'
                 f'<p>Total <b id="tempo-total">{t["total"]:.1f} s</b> em {t["notebooks"]} notebook(s) corrigido(s); '
                 f'média {t["mean"]:.1f} s, máximo {t["max"]:.1f} s por notebook (trabalhador isolado, '
                 "sem contar a geração da tarefa e do feedback).</p>")
    parts.append('<h2 id="alunos">Notas</h2><table><tr><th>Aluno</th><th>Pasta</th><th>Nota</th><th>%</th></tr>')
    for s in summary["students"]:
        parts.append(f'<tr><td>{e(str(s["student"]))}</td><td>{e(str(s["folder"]))}</td>'
                     f'<td class="num">{s["score"]:g} / {s["max_score"]:g}</td>'
                     f'<td class="num">{s["percent"]:.0f}</td></tr>')
    parts.append("</table></body></html>\n")
    return "\n".join(parts)


# ----------------------------------------------------------------------------- lms

CANVAS_FIELDS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def canvas_csv(assignment: str, summary: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CANVAS_FIELDS + [assignment])
    for s in summary["students"]:
        w.writerow([s["folder"], "", "", s["folder"], "", f"{s['score']:g}"])
    return buf.getvalue()


def moodle_csv(assignment: str, summary: dict) -> str:
    notebooks = sorted({nb for s in summary["students"] for nb in s["notebooks"]})
    per_notebook = len(notebooks) > 1
    review = {r["student"] for r in summary["review"]}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["username", assignment] + (notebooks if per_notebook else []) + [f"{assignment} (comentário)"])
    for s in summary["students"]:
        note = f"{s['score']:g} / {s['max_score']:g} (correção automática)"
        if s["student"] in review:
            note += "; em revisão manual"
        w.writerow([s["folder"], f"{s['score']:g}"]
                   + ([f"{s['notebooks'].get(nb, 0):g}" for nb in notebooks] if per_notebook else []) + [note])
    return buf.getvalue()


# ----------------------------------------------------------------------------- driver

def write_report(course: Path, assignment: str) -> dict[str, Path]:
    """Write reports/<a>.html, <a>-canvas.csv and <a>-moodle.csv (atomically) from the
    records; returns their paths by kind (html, canvas, moodle)."""
    records = load_records(course, assignment)
    summary = summarize(records, descriptions(course, assignment))
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    folder = course / "reports"
    paths = {"html": folder / f"{assignment}.html", "canvas": folder / f"{assignment}-canvas.csv",
             "moodle": folder / f"{assignment}-moodle.csv"}
    store.atomic_write(paths["html"], render_report(assignment, summary, generated))
    store.atomic_write(paths["canvas"], canvas_csv(assignment, summary))
    store.atomic_write(paths["moodle"], moodle_csv(assignment, summary))
    return paths


def report_cli(assignment: str, course: Path, out=print) -> int:
    """``autograder report ASSIGNMENT``: exit 1 when nothing of it was graded here."""
    from autograder.errors import AutograderError

    if not load_records(course, assignment):
        raise AutograderError(f"no graded submissions of {assignment!r} under {course / 'autograded'} "
                              "(run 'autograder grade' first)")
    paths = write_report(course, assignment)
    out(f"class report: {paths['html']}")
    out(f"LMS imports: {paths['canvas']} (Canvas), {paths['moodle']} (Moodle)")
    return 0
