"""Everything the grader (and only the grader, outside the sandbox) writes: the nbgrader
gradebook, the autograded notebooks, per-student records (for ``--resume``, shards and
``merge``) and grades.csv. Every file is written atomically (temporary file + rename),
so an interrupted run leaves each file either old or new, never half written.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import html
import json
import os
import re
import tempfile
import unicodedata
import warnings
from pathlib import Path

import nbformat

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")
RECORD_NAME = ".autograder-record.json"


def safe_id(folder: str) -> str:
    """A student id nbgrader and file systems accept, for any folder name (LMS exports:
    spaces, accents, any script); distinct names give distinct ids."""
    if SAFE_ID.match(folder) and len(folder) <= 64:
        return folder
    ascii_name = unicodedata.normalize("NFKD", folder).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_.@+-]+", "-", ascii_name).strip("-._@+")[:40]
    digest = hashlib.sha1(folder.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{slug}-{digest}" if slug else f"aluno-{digest}"


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def regular_files(folder: Path) -> list[Path]:
    """Regular files under ``folder``, sorted, never through a symlink (a submission may
    hold links to /dev/zero or to course files: they are ignored)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_symlink() and path.is_file():
                out.append(path)
    return sorted(out)


def folder_hash(folder: Path, *extra: str) -> str:
    """sha256 over a submission folder's files (names and bytes) and ``extra`` strings."""
    h = hashlib.sha256()
    for text in extra:
        h.update(text.encode("utf-8"))
    for path in regular_files(folder):
        h.update(str(path.relative_to(folder)).encode("utf-8", "surrogateescape"))
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------- gradebook

# nbgrader's files in a collected submission (written by ``nbgrader collect``): the
# submission time and the secret ``release_feedback`` hashes the feedback's name with.
STAMP_FILES = ("timestamp.txt", "submission_secret.txt")
MAX_STAMP_BYTES = 1024


def read_stamps(folder: Path) -> tuple[dict[str, str], list[str]]:
    """nbgrader's stamp files of a submission folder: (file name -> text, notes).

    Only regular files (never a link) of at most ``MAX_STAMP_BYTES``; a ``timestamp.txt``
    that nbgrader cannot parse is left out with a note. A folder without them gives
    ``{}``: nothing is invented.
    """
    from nbgrader.utils import parse_utc

    stamps, notes = {}, []
    for name in STAMP_FILES:
        path = folder / name
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()[: MAX_STAMP_BYTES + 1]
        text = data.decode("utf-8", "replace").strip()
        if len(data) > MAX_STAMP_BYTES or not text:
            notes.append(f"{name} vazio ou grande demais; ignorado")
            continue
        if name == "timestamp.txt":
            try:
                parse_utc(text)
            except (ValueError, OverflowError, TypeError):
                notes.append(f"timestamp.txt inválido ({text[:40]!r}); ignorado")
                continue
        stamps[name] = text
    return stamps, notes


def write_stamps(course: Path, student: str, assignment: str, stamps: dict[str, str]) -> None:
    """Copy the stamps to autograded/ and feedback/ (``nbgrader autograde`` does; the hub's
    ``release_feedback`` reads both from feedback/<student>/<assignment>/)."""
    for stage in ("autograded", "feedback"):
        for name, text in stamps.items():
            atomic_write(course / stage / student / assignment / name, text)


class GradebookWriter:
    """The one writer of gradebook.db during a run (the main thread of the grader)."""

    def __init__(self, course: Path):
        from nbgrader.api import Gradebook

        from autograder.nbgrun import _bin_path, db_url

        os.environ["PATH"] = _bin_path(os.environ.get("PATH"))
        self.gb = Gradebook(db_url(course))

    def write(self, assignment: str, student: str, notebook: str, scores: dict[str, float],
              review: bool, timestamp: str | None = None) -> None:
        """Set the auto scores of one notebook (missing cells: 0); ``review`` marks every
        grade of the notebook as needing a manual grade (nbgrader's formgrader lists it).

        ``timestamp``: the text of nbgrader's ``timestamp.txt`` of the submission, recorded
        as the submission's timestamp like ``nbgrader autograde`` does (the formgrader
        counts a submission as autograded only when the two are equal); None leaves the
        gradebook's timestamp as it is.
        """
        from nbgrader.utils import parse_utc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbgrader trips SQLAlchemy 2's cascade warning
            self.gb.update_or_create_student(student)
            if timestamp:
                self.gb.update_or_create_submission(assignment, student, timestamp=parse_utc(timestamp))
            else:
                self.gb.update_or_create_submission(assignment, student)
            sub = self.gb.find_submission_notebook(notebook, assignment, student)
            for grade in sub.grades:
                grade.auto_score = float(scores.get(grade.name, 0.0))
                grade.manual_score = None
                grade.needs_manual_grade = bool(review)
            self.gb.db.commit()

    def close(self) -> None:
        self.gb.close()


# ---------------------------------------------------------------------------- notebooks

def autograded_notebook(source_nb, answers: dict[str, str], outcomes: dict, job_cells: list[dict],
                        hidden_lines: list[str]):
    """The instructor's notebook with the student's answers and the outputs of the run.

    Student markdown answers are sanitized (no script, no event handlers); outputs of
    cells with hidden tests have the hidden lines removed.
    """
    import bleach

    nb = copy.deepcopy(source_nb)
    code_index = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if cell.cell_type == "markdown":
            if meta.get("solution"):  # never the instructor's own answer
                from autograder.nbconfig import TEXT_STUB

                cell.source = bleach.clean(answers.get(gid, TEXT_STUB), tags=_MD_TAGS, attributes={}, strip=False)
            continue
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            cell.source = answers.get(gid) or _stub()
        outcome = outcomes.get(code_index)
        code_index += 1
        cell.outputs, cell.execution_count = [], None
        if outcome is None:
            continue
        text = outcome.output
        if meta.get("grade") and hidden_lines:
            text = _redact(text, hidden_lines)
        if text:
            cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))
        if outcome.problem:
            cell.outputs.append(nbformat.v4.new_output("error", ename="Erro", evalue=outcome.problem,
                                                       traceback=[f"Erro: {outcome.problem}"]))
        elif outcome.error:
            err = outcome.error
            tb = [_redact(str(line), hidden_lines) for line in err.get("traceback", [])]
            cell.outputs.append(nbformat.v4.new_output("error", ename=str(err.get("ename", "Error")),
                                                       evalue=_redact(str(err.get("evalue", "")), hidden_lines),
                                                       traceback=tb))
    return nb


_MD_TAGS = ["a", "b", "i", "em", "strong", "code", "pre", "p", "br", "ul", "ol", "li", "sub", "sup",
            "h1", "h2", "h3", "h4", "blockquote", "table", "tr", "td", "th"]


def _stub() -> str:
    from autograder.nbconfig import CODE_STUB

    return CODE_STUB


def _redact(text: str, hidden_lines: list[str]) -> str:
    for line in hidden_lines:
        if len(line) >= 12 and line in text:
            text = text.replace(line, "[teste oculto omitido]")
    return text


def hidden_test_lines(source_nb) -> list[str]:
    from autograder import notebook as nbtools

    lines = []
    for cell in source_nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            lines += nbtools.nontrivial(nbtools.region_lines(cell.source, nbtools.HIDDEN_BEGIN, nbtools.HIDDEN_END))
    return sorted(set(lines), key=len, reverse=True)


# ---------------------------------------------------------------------------- csv

CSV_FIELDS = ["student", "assignment", "notebook", "score", "max_score", "status",
              "failed_cells", "known_mistakes", "reason", "review", "flags", "folder"]


def csv_row(r) -> dict:
    return {
        "student": r.student, "assignment": r.assignment, "notebook": r.notebook,
        "score": f"{r.score:g}", "max_score": f"{r.max_score:g}", "status": r.status,
        "failed_cells": " ".join(r.failed_cells), "known_mistakes": " ".join(m.name for m in r.mistakes),
        "reason": r.reason.replace("\n", " "), "review": "sim" if r.review else "",
        "flags": " | ".join(r.flags).replace("\n", " "), "folder": r.folder,
    }


def write_csv(results, path: Path) -> None:
    """Write grades.csv atomically; rows of other assignments, and of students of this
    assignment not in ``results`` (an interrupted or sharded run), are kept."""
    done = {(r.assignment, r.student) for r in results}
    rows = []
    if path.is_file():
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if (r.get("assignment"), r.get("student")) not in done]
    rows += [csv_row(r) for r in results]
    rows.sort(key=lambda r: (r.get("assignment") or "", r.get("student") or "", r.get("notebook") or ""))
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, buf.getvalue())


def feedback_escape(text: str) -> str:
    return html.escape(text)


def write_record(path: Path, record: dict) -> None:
    atomic_write(path, json.dumps(record, ensure_ascii=False, indent=1))


def read_record(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
