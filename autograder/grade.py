"""``autograder grade``: autograde a folder of submissions with real nbgrader, one
process per submission; export grades.csv and per-student feedback HTML."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import shutil
import time
from pathlib import Path

import nbformat

from autograder import nbgrun
from autograder import notebook as nbtools
from autograder.build import make_release
from autograder.errors import AutograderError
from autograder.feedback import write_failure_feedback
from autograder.mutants import Mutant, match_mistakes
from autograder.nbconfig import CELL_TIMEOUT
from autograder.paths import Paths

def _print(*args):
    print(*args, flush=True)


WALL_TIMEOUT = 600
_STUDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")
CSV_FIELDS = ["student", "assignment", "notebook", "score", "max_score", "status",
              "failed_cells", "known_mistakes", "reason"]


@dataclasses.dataclass
class NotebookResult:
    """The grade of one student's notebook.

    status: ``graded`` (nbgrader ran it; score may be partial) or ``failed`` (score 0:
    invalid JSON, missing, kernel death, wall timeout); ``reason`` says why / what was
    repaired (deleted or edited test cells).
    """

    student: str
    assignment: str
    notebook: str
    score: float
    max_score: float
    status: str
    cells: dict[str, tuple[float, float]]
    reason: str = ""
    mistakes: list[Mutant] = dataclasses.field(default_factory=list)
    seconds: float = 0.0  # wall time of this student's autograde run

    @property
    def failed_cells(self) -> list[str]:
        return sorted(c for c, (s, m) in self.cells.items() if s < m)


def _inspect(path: Path, release_grade_cells: dict[str, dict]) -> tuple[str | None, list[str]]:
    """(fatal problem or None, repair notes) for one submitted notebook."""
    if not path.is_file():
        return "notebook não enviado", []
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except (json.JSONDecodeError, nbformat.ValidationError, UnicodeDecodeError, KeyError, AttributeError,
            TypeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"arquivo .ipynb inválido (JSON/nbformat): {first[:200]}", []
    notes = []
    submitted = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells
                 if isinstance(c.metadata.get("nbgrader"), dict)}
    deleted = [g for g in release_grade_cells if g not in submitted]
    edited = [g for g, c in release_grade_cells.items() if g in submitted and submitted[g] != c["source"]]
    if deleted:
        notes.append(f"células de teste apagadas e restauradas: {', '.join(sorted(deleted))}")
    if edited:
        notes.append(f"células de teste editadas e restauradas: {', '.join(sorted(edited))}")
    return None, notes


def _adopt_renamed(dest: Path, notebooks: list[str]) -> str | None:
    """One-notebook assignments: a single ``.ipynb`` under another name (``x (1).ipynb``,
    as LMS downloads rename them) is graded as the expected notebook (in the copy)."""
    if len(notebooks) != 1 or (dest / f"{notebooks[0]}.ipynb").exists():
        return None
    found = sorted(dest.glob("*.ipynb"))
    if len(found) != 1:
        return None
    found[0].rename(dest / f"{notebooks[0]}.ipynb")
    return found[0].name


def list_submissions(submissions: Path) -> list[str]:
    """Student folders of SUBMISSIONS_DIR (sorted); bad names are an error."""
    if not submissions.is_dir():
        raise AutograderError(f"SUBMISSIONS_DIR must be a folder of <student>/<notebook>.ipynb. Received: {submissions}")
    students = sorted(d.name for d in submissions.iterdir() if d.is_dir() and not d.name.startswith("."))
    bad = [s for s in students if not _STUDENT.match(s)]
    if bad:
        raise AutograderError(f"student folder names must match {_STUDENT.pattern}. Received: {bad}")
    if not students:
        raise AutograderError(f"no student folders in {submissions}")
    return students


def grade_submissions(assignment: str, submissions: Path, paths: Paths, *,
                      cell_timeout: int = CELL_TIMEOUT, wall_timeout: float = WALL_TIMEOUT,
                      feedback: bool = True, prepared=None, batch: bool = False,
                      out=_print) -> list[NotebookResult]:
    """Autograde every ``submissions/<student>/`` into the course root ``paths.course``.

    Submissions are copied into submitted/ (never modified); each student is autograded
    in its own nbgrader process with a per-cell and a wall timeout; nothing is dropped.

    Args:
        prepared: ``make_release(paths.course, paths, assignment)``'s result, when the
            caller already generated the assignment in this course root.
        batch: autograde all students in one nbgrader process (faster start-up, less
            isolation; ``check`` uses it for its own known submissions). The wall timeout
            then covers the batch (wall_timeout x submissions).

    Returns:
        One NotebookResult per (student, notebook), sorted by student then notebook.
    """
    submissions = Path(submissions).resolve()
    students = list_submissions(submissions)
    course = paths.course
    source_nb, release_nb, _, mutants = prepared or make_release(course, paths, assignment)
    notebooks = sorted(p.stem for p in (course / "source" / assignment).glob("*.ipynb"))
    release_cells = nbtools.grade_cells(release_nb)
    source_points = {nb: _max_points(course / "source" / assignment / f"{nb}.ipynb") for nb in notebooks}
    results: list[NotebookResult] = []
    graded_ok: list[str] = []
    problems: dict[str, dict[str, str]] = {}
    notes: dict[str, dict[str, list[str]]] = {}
    for student in students:
        dest = course / "submitted" / student / assignment
        for folder in (dest, course / "autograded" / student / assignment, course / "feedback" / student / assignment):
            if folder.exists():
                shutil.rmtree(folder)
        shutil.copytree(submissions / student, dest)
        problems[student], notes[student] = {}, {}
        renamed = _adopt_renamed(dest, notebooks)
        for nb in notebooks:
            fatal, notes[student][nb] = _inspect(dest / f"{nb}.ipynb", release_cells if nb == assignment else {})
            if renamed:
                notes[student][nb].insert(0, f"notebook enviado como {renamed!r}; corrigido como {nb}.ipynb")
            if fatal:
                problems[student][nb] = fatal
                (dest / f"{nb}.ipynb").unlink(missing_ok=True)  # nbgrader scores a missing notebook 0
    runnable = [s for s in students if len(problems[s]) < len(notebooks)]
    runs: dict[str, nbgrun.RunResult | None] = {s: None for s in students}
    seconds: dict[str, float] = {s: 0.0 for s in students}
    if batch and runnable:
        out(f"grading {len(runnable)} submissions in one nbgrader process...")
        start = time.perf_counter()
        run = nbgrun.autograde(course, assignment, runnable, cell_timeout, wall_timeout * len(runnable))
        for s in runnable:
            # nbgrader exits 1 when any student failed and deletes that student's output;
            # per student, the autograded notebook's presence is what counts.
            runs[s] = dataclasses.replace(run, returncode=0 if not run.timed_out else None)
            seconds[s] = (time.perf_counter() - start) / len(runnable)
    for i, student in enumerate(students, 1):
        if not batch:
            out(f"[{i}/{len(students)}] grading {student}...")
            start = time.perf_counter()
            if student in runnable:
                runs[student] = nbgrun.autograde(course, assignment, [student], cell_timeout, wall_timeout)
            seconds[student] = time.perf_counter() - start
        run = runs[student]
        for nb in notebooks:
            autograded = course / "autograded" / student / assignment / f"{nb}.ipynb"
            reason = problems[student].get(nb)
            # A killed or failed run can leave the sanitized (unexecuted) notebook behind and
            # stale grades in the gradebook: only a clean exit counts as graded.
            if reason is None and (run is None or run.timed_out or run.returncode != 0
                                   or not autograded.is_file()):
                reason = nbgrun.failure_reason(run, wall_timeout)
            if reason is None:
                note = notes[student][nb] + _interrupted_cells(autograded, cell_timeout)
                cells = nbgrun.read_scores(course, assignment, student, nb)
                res = NotebookResult(student, assignment, nb, sum(s for s, _ in cells.values()),
                                     sum(m for _, m in cells.values()), "graded", cells, "; ".join(note))
                res.mistakes = match_mistakes(set(res.failed_cells), mutants if nb == assignment else [])
                if student not in graded_ok:
                    graded_ok.append(student)
            else:
                nbgrun.zero_scores(course, assignment, student, [nb])
                cells = nbgrun.read_scores(course, assignment, student, nb)
                res = NotebookResult(student, assignment, nb, 0.0, source_points[nb], "failed", cells, reason)
            res.seconds = seconds[student]
            results.append(res)
    if feedback:
        nbgrun.generate_feedback(course, assignment, graded_ok)
        for res in results:
            html = course / "feedback" / res.student / assignment / f"{res.notebook}.html"
            if res.status == "failed":
                write_failure_feedback(html, res.student, assignment, res.notebook, res.max_score, res.reason)
            elif html.is_file() and (res.mistakes or res.reason):
                _annotate_feedback(html, res)
    return results


def _interrupted_cells(autograded: Path, cell_timeout: int) -> list[str]:
    """A note when nbgrader interrupted a cell that ran past the cell timeout."""
    nb = nbformat.read(autograded, as_version=4)
    hit = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(
        o.get("output_type") == "error" and o.get("ename") in ("KeyboardInterrupt", "CellTimeoutError")
        for o in c.get("outputs", []))]
    if not hit:
        return []
    return [f"célula(s) {', '.join(map(str, hit))} interrompida(s) após {cell_timeout} s (tempo limite por célula)"]


def _max_points(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    return float(sum(c["points"] for c in nbtools.grade_cells(nb).values()))


def _annotate_feedback(html_path: Path, res: NotebookResult) -> None:
    """Insert the known-mistake hints and repair notes at the top of nbgrader's feedback."""
    import html

    parts = []
    if res.reason:
        parts.append(f"<p><strong>Observação:</strong> {html.escape(res.reason)}</p>")
    for m in res.mistakes:
        parts.append(
            f"<p><strong>Erro conhecido ({html.escape(m.name)}):</strong> sua resposta se comporta como "
            f"este erro comum. Dica: {html.escape(m.hint)}</p>"
        )
    box = ('<div class="autograder-notes" style="border:2px solid #c60;padding:0.5em;margin:1em">'
           + "".join(parts) + "</div>")
    text = html_path.read_text(encoding="utf-8")
    marker = re.search(r"<body[^>]*>", text)
    pos = marker.end() if marker else 0
    html_path.write_text(text[:pos] + box + text[pos:], encoding="utf-8")


def write_csv(results: list[NotebookResult], path: Path) -> None:
    """Write grades.csv; rows of other assignments already in the file are kept."""
    rows = []
    assignments = {r.assignment for r in results}
    if path.is_file():
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if r.get("assignment") not in assignments]
    for r in results:
        rows.append({
            "student": r.student, "assignment": r.assignment, "notebook": r.notebook,
            "score": f"{r.score:g}", "max_score": f"{r.max_score:g}", "status": r.status,
            "failed_cells": " ".join(r.failed_cells), "known_mistakes": " ".join(m.name for m in r.mistakes),
            "reason": r.reason.replace("\n", " "),
        })
    rows.sort(key=lambda r: (r["assignment"], r["student"], r["notebook"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def format_table(results: list[NotebookResult]) -> str:
    """The grade table: student, notebook, score / max, status, known mistake or reason."""
    header = ("student", "notebook", "score / max", "status", "known mistake / reason")
    rows = []
    for r in results:
        note = "; ".join(f"{m.name}: {m.hint}" for m in r.mistakes) or r.reason.split("\n")[0]
        rows.append((r.student, r.notebook, f"{r.score:g} / {r.max_score:g}", r.status, note))
    widths = [max(len(str(x[i])) for x in [header] + rows) for i in range(4)]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row[:4], widths)) + "  " + row[4] for row in [header] + rows]
    return "\n".join([lines[0], "-" * len(lines[0])] + lines[1:])


def grade(assignment: str, submissions: Path, paths: Paths, cell_timeout: int = CELL_TIMEOUT,
          wall_timeout: float = WALL_TIMEOUT, out=_print) -> int:
    """CLI body: grade, write <course>/grades.csv, print the table; exit 0."""
    results = grade_submissions(assignment, submissions, paths, cell_timeout=cell_timeout,
                                wall_timeout=wall_timeout, out=out)
    write_csv(results, paths.course / "grades.csv")
    out(format_table(results))
    out(f"wrote {paths.course / 'grades.csv'} and feedback under {paths.course / 'feedback'}")
    return 0
