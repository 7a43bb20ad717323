"""``autograder grade``: autograde a folder of submissions, each in its own sandbox, in
parallel on warm workers; one writer for the gradebook, grades.csv and feedback.

Stages over one record per student (:class:`Submission`):

1. ``release``  build the assignment once into the course root (gradebook cells);
2. ``intake``   student folders -> safe ids, copies in submitted/, cells matched by
                grade_id (repairs noted), static review of the answers;
3. ``run``      each notebook in a sandboxed worker forked from a warm server
                (``autograder.run``), ``--jobs`` at a time;
4. ``score``    points per grade cell, known mistakes, flags for manual review;
5. ``record``   gradebook, autograded notebook, per-student record (resume, shards);
6. ``feedback`` an offline page per notebook at nbgrader's feedback path (failures first,
                math as MathML, hidden tests removed); a page of its own for what could
                not be graded. ``grade``/``merge`` then write the class report and the
                LMS imports (``autograder.grades.report``).

``--shard i/n`` runs stages 1-4 on a deterministic slice of the students and writes a
shard file instead of stage 5-6; ``autograder merge`` does 5-6 from shard files.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import shutil
import signal
from pathlib import Path

import nbformat

from autograder import notebook as nbtools
from autograder.build import make_release
from autograder.errors import AutograderError
from autograder.grades import store
from autograder.grades.store import CSV_FIELDS, safe_id, write_csv  # noqa: F401 - public API
from autograder.mutants import Mutant
from autograder.nbconfig import CELL_TIMEOUT
from autograder.paths import Paths


def _print(*args):
    print(*args, flush=True)


WALL_TIMEOUT = 600
GRADER_VERSION = "2"


@dataclasses.dataclass
class NotebookResult:
    """The grade of one student's notebook.

    status: ``graded`` (score may be partial; points earned before a crash are kept) or
    ``failed`` (score 0: no notebook, not a notebook, nothing could run); ``reason`` says
    why and what was repaired; ``review`` with ``flags``: scored, but needs a person.
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
    # one dict per solution cell the student got wrong (autograder.diagnose): cell, mutant,
    # title, hint, forbidden, failures [{test, message}]
    diagnosis: list[dict] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    flags: list[str] = dataclasses.field(default_factory=list)
    folder: str = ""

    @property
    def review(self) -> bool:
        return bool(self.flags)

    @property
    def failed_cells(self) -> list[str]:
        return sorted(c for c, (s, m) in self.cells.items() if s < m)

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["mistakes"] = [m.name for m in self.mistakes]
        d["cells"] = {k: list(v) for k, v in self.cells.items()}
        return d

    @classmethod
    def from_json(cls, d: dict, mutants: list[Mutant]) -> "NotebookResult":
        by_name = {m.name: m for m in mutants}
        d = dict(d)
        d["mistakes"] = [by_name[n] for n in d.get("mistakes", []) if n in by_name]
        d["cells"] = {k: (float(v[0]), float(v[1])) for k, v in d["cells"].items()}
        return cls(**d)


@dataclasses.dataclass
class Assignment:
    """An assignment built once per run."""

    name: str
    course: Path
    source_nbs: dict[str, object]
    release_nb: object
    extra: list[Path]
    mutants: list[Mutant]
    folder: Path
    key: str
    mutants_file: Path | None = None  # its [[probe]] tables (autograder.diagnose)

    @property
    def notebooks(self) -> list[str]:
        return sorted(self.source_nbs)

    def points(self, notebook: str) -> dict[str, float]:
        return {g: float(c["points"]) for g, c in nbtools.grade_cells(self.source_nbs[notebook]).items()}

    def release_of(self, notebook: str):
        if notebook == self.name:
            return self.release_nb
        return nbtools.clean(nbformat.read(self.course / "release" / self.name / f"{notebook}.ipynb", as_version=4))


@dataclasses.dataclass
class Submission:
    """One student through the stages."""

    student: str
    folder: str
    path: Path
    key: str = ""
    notes: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    prepared: dict = dataclasses.field(default_factory=dict)
    results: list[NotebookResult] = dataclasses.field(default_factory=list)
    autograded: dict[str, dict] = dataclasses.field(default_factory=dict)
    stamps: dict[str, str] = dataclasses.field(default_factory=dict)  # nbgrader's timestamp.txt...


# ------------------------------------------------------------------------- stage 1

def prepare_assignment(assignment: str, paths: Paths, prepared=None) -> Assignment:
    course = paths.course
    source_nb, release_nb, extra, mutants = prepared or make_release(course, paths, assignment)
    sources = {p.stem: nbformat.read(p, as_version=4) for p in sorted((course / "source" / assignment).glob("*.ipynb"))}
    sources[assignment] = source_nb
    key = hashlib.sha256((GRADER_VERSION + nbtools.dumps(source_nb)).encode()).hexdigest()
    return Assignment(assignment, course, sources, release_nb, extra, mutants,
                      paths.master(assignment).parent, key, paths.mutants_file(assignment))


# ------------------------------------------------------------------------- stage 2

def list_submissions(submissions: Path) -> list[str]:
    """Student folders of SUBMISSIONS_DIR (sorted), any names (mapped to safe ids)."""
    if not submissions.is_dir():
        raise AutograderError("SUBMISSIONS_DIR must be a folder of <student>/<notebook>.ipynb. "
                              f"Received: {submissions}")
    students = sorted(d.name for d in submissions.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not students:
        raise AutograderError(f"no student folders in {submissions}")
    ids = [safe_id(s) for s in students]
    if len(set(ids)) != len(ids):
        raise AutograderError(f"student folders map to the same id: {students}")
    return students


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'i/n' (1 <= i <= n) -> (i, n)."""
    if text is None:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        i = n = 0
    if not (n >= 1 and 1 <= i <= n):
        raise AutograderError(f"--shard must be i/n with 1 <= i <= n (e.g. 2/4). Received: {text!r}")
    return i, n


def shard_slice(students: list[str], shard: tuple[int, int] | None) -> list[str]:
    """The deterministic slice of a shard: every n-th student by sorted safe id."""
    if shard is None:
        return students
    i, n = shard
    ordered = sorted(students, key=safe_id)
    return [s for k, s in enumerate(ordered) if k % n == i - 1]


def intake(a: Assignment, submissions: Path, folder: str, copy_to_course: bool) -> Submission:
    from autograder.run import cells as cellmod

    student = safe_id(folder)
    src = submissions / folder
    sub = Submission(student, folder, src, key=store.folder_hash(src, a.key))
    dest = src
    if copy_to_course:
        dest = a.course / "submitted" / student / a.name
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp, symlinks=True)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    sub.stamps, stamp_notes = store.read_stamps(src)
    renamed = _find_renamed(dest, a.notebooks)
    for nb in a.notebooks:
        path = dest / f"{nb}.ipynb"
        notes = []
        if renamed and nb == a.notebooks[0]:
            path = renamed
            notes.append(f"notebook enviado como {renamed.name!r}; corrigido como {nb}.ipynb")
        prep = cellmod.prepare(a.source_nbs[nb], a.release_of(nb), path)
        sub.prepared[nb] = prep
        sub.notes[nb] = notes + prep.notes + (stamp_notes if nb == a.notebooks[0] else [])
    return sub


def _find_renamed(dest: Path, notebooks: list[str]) -> Path | None:
    """One-notebook assignments: a single ``.ipynb`` under another name (``x (1).ipynb``)."""
    if len(notebooks) != 1 or (dest / f"{notebooks[0]}.ipynb").exists():
        return None
    found = sorted(dest.glob("*.ipynb"))
    return found[0] if len(found) == 1 else None


# ------------------------------------------------------------------------- stage 3-4

def _student_files(src: Path, a: Assignment) -> list[tuple[Path, str]]:
    files, total = [], 0
    for path in store.regular_files(src):
        if path.suffix != ".ipynb":
            size = path.stat().st_size
            if size <= 5 * 2**20 and total + size <= 50 * 2**20:
                files.append((path, str(path.relative_to(src))))
                total += size
    files += [(p, str(p.relative_to(a.folder))) for p in a.extra]
    return files


def run_and_score(engine, a: Assignment, sub: Submission, cell_timeout: float, wall_timeout: float) -> None:
    """Stages 3-4 for one student (called from a worker thread)."""
    from autograder.run import scan
    from autograder.run.harness import definitions_only

    for nb in a.notebooks:
        prep = sub.prepared[nb]
        points = a.points(nb)
        max_score = float(sum(points.values()))
        notes = list(sub.notes[nb])
        if prep.fatal:
            sub.results.append(NotebookResult(sub.student, a.name, nb, 0.0, max_score, "failed",
                                              {g: (0.0, p) for g, p in points.items()}, prep.fatal,
                                              folder=sub.folder))
            continue
        flags = []
        for gid, answer in prep.answers.items():
            found = scan.scan(answer)
            if found:
                flags.append(f"{gid}: " + "; ".join(found))
        flags += scan.scratch_flags(prep.cells)  # the from-scratch rule, on the answers' source
        run = engine.run(prep.cells, _student_files(sub.path, a), cell_timeout=cell_timeout,
                         wall_timeout=wall_timeout)
        scores, outcomes = _scores(prep.cells, run, points)
        stub_lines = {line.strip() for c in a.release_of(nb).cells for line in c.source.split("\n")}
        dropped = [d for c in prep.cells if c["kind"] == "solution"
                   for d in definitions_only(c["source"])[1] if d[1] not in stub_lines]
        if dropped and sum(scores.values()) < max_score and not run.wall_timed_out:
            full = engine.run(prep.cells, _student_files(sub.path, a), cell_timeout=cell_timeout,
                              wall_timeout=wall_timeout, mode="full")
            full_scores, full_outcomes = _scores(prep.cells, full, points)
            if sum(full_scores.values()) > sum(scores.values()):
                flags.append("a nota depende de código de nível superior das células de resposta, que a "
                             "correção normalmente não executa (linhas " + ", ".join(str(d[0]) for d in dropped[:5])
                             + "); nota da execução completa, para revisão")
                scores, outcomes, run = full_scores, full_outcomes, full
        for o in run.cells.values():
            flags += [f for f in o.flags if f not in flags]
            if o.problem:
                notes.append(f"célula {_label(prep.cells, o.index)}: {o.problem}")
        notes += [n for n in run.notes if not n.startswith("célula ")]
        cells = {g: (scores.get(g, 0.0), p) for g, p in points.items()}
        score = sum(s for s, _ in cells.values())
        res = NotebookResult(sub.student, a.name, nb, score, max_score, "graded", cells, "; ".join(notes),
                             seconds=run.seconds, flags=flags, folder=sub.folder)
        diagnose_stage(engine, a, nb, prep, run, res, _student_files(sub.path, a))
        sub.results.append(res)
        hidden = store.hidden_test_lines(a.source_nbs[nb])
        sub.autograded[nb] = store.autograded_notebook(a.source_nbs[nb], prep.answers, outcomes, prep.cells, hidden)


def diagnose_stage(engine, a: Assignment, nb: str, prep, run, res: NotebookResult, files=()) -> None:
    """Name the known mistakes by behaviour (``autograder.diagnose``); ``mistakes`` keeps
    the named mutants. A failure here never costs the grade: the diagnosis is left empty."""
    from autograder.diagnose import diagnose

    try:
        res.diagnosis = diagnose(engine, a, nb, prep, run, res.failed_cells, a.release_of(nb), files)
    except Exception as exc:  # noqa: BLE001 - feedback only; the grade stands
        res.diagnosis = []
        _print(f"diagnosis of {res.student}/{nb} skipped: {type(exc).__name__}: {exc}")
    by_name = {m.name: m for m in a.mutants}
    res.mistakes = [by_name[d["mutant"]] for d in res.diagnosis if d.get("mutant") in by_name]


def _label(cells, index):
    gid = cells[index].get("grade_id")
    return repr(gid) if gid else str(index)


def _scores(cells, run, points) -> tuple[dict[str, float], dict[int, object]]:
    """Points per grade cell: full when the cell ran without error; code-cell index -> outcome."""
    scores = {}
    for index, cell in enumerate(cells):
        if cell["kind"] != "grade":
            continue
        o = run.cells.get(index)
        scores[cell["grade_id"]] = points.get(cell["grade_id"], 0.0) if (o and o.ok and not o.problem) else 0.0
    return scores, run.cells


# ------------------------------------------------------------------------- stage 5-6

def record(writer, a: Assignment, sub: Submission) -> None:
    """Gradebook + autograded notebooks + the student's record (main thread only)."""
    for res in sub.results:
        writer.write(a.name, sub.student, res.notebook, {g: s for g, (s, _) in res.cells.items()}, res.review,
                     timestamp=sub.stamps.get("timestamp.txt"))
        folder = a.course / "autograded" / sub.student / a.name
        nb = sub.autograded.get(res.notebook)
        if nb is not None:
            store.atomic_write(folder / f"{res.notebook}.ipynb", nbtools.dumps(nb))
        else:
            (folder / f"{res.notebook}.ipynb").unlink(missing_ok=True)
        # Until stage 6 rewrites it, an old page would contradict the new grade.
        (a.course / "feedback" / sub.student / a.name / f"{res.notebook}.html").unlink(missing_ok=True)
    store.write_stamps(a.course, sub.student, a.name, sub.stamps)
    store.write_record(a.course / "autograded" / sub.student / a.name / store.RECORD_NAME,
                       {"key": sub.key, "student": sub.student, "folder": sub.folder,
                        "results": [r.to_json() for r in sub.results]})


def write_feedback(a: Assignment, results: list[NotebookResult], out=_print) -> None:
    """Stage 6: one offline page per notebook (``autograder.feedback``: failures first,
    tests by their description, math as MathML, hidden tests removed) at nbgrader's path
    course/feedback/<student>/<a>/<nb>.html; a page of its own for what could not be graded."""
    from autograder.feedback import grade_descriptions, write_failure_feedback, write_feedback_page

    descriptions = {nb: grade_descriptions(src) for nb, src in a.source_nbs.items()}
    for res in results:
        html = a.course / "feedback" / res.student / a.name / f"{res.notebook}.html"
        autograded = a.course / "autograded" / res.student / a.name
        if res.status == "failed":
            write_failure_feedback(html, res.student, a.name, res.notebook, res.max_score, res.reason)
            continue
        try:
            nb = nbformat.read(autograded / f"{res.notebook}.ipynb", as_version=4)
        except (OSError, ValueError) as exc:  # removed by hand since: say so, keep going
            out(f"feedback of {res.student}/{res.notebook} not written: autograded notebook unreadable ({exc})")
            continue
        write_feedback_page(html, nb, res, descriptions.get(res.notebook, {}))


# ------------------------------------------------------------------------- driver

def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def grade_submissions(assignment: str, submissions: Path, paths: Paths, *,
                      cell_timeout: int = CELL_TIMEOUT, wall_timeout: float = WALL_TIMEOUT,
                      feedback: bool = True, prepared=None, batch: bool = False, jobs: int | None = None,
                      resume: bool = False, shard: tuple[int, int] | None = None,
                      shard_file: Path | None = None, sandboxed: bool | None = None,
                      limits=None, out=_print) -> list[NotebookResult]:
    """Autograde every ``submissions/<student>/`` into the course root ``paths.course``.

    Submissions are read, never modified; every student gets a result (nothing is
    dropped); one student's failure never touches another's.

    Args:
        prepared: ``make_release(paths.course, paths, assignment)``'s result, when the
            caller already generated the assignment in this course root.
        batch: kept for compatibility (every run now shares one warm fork server).
        jobs: submissions graded at once (default: the number of cores).
        resume: skip students whose submission and assignment are unchanged since
            their last recorded grade (their recorded result is returned).
        shard: (i, n): grade only that slice and write ``shard_file``; the gradebook,
            feedback and grades.csv are left to ``autograder merge``.
        sandboxed: None: sandbox when root; False: never (harness tests only).
        limits: per-submission ``autograder.run.sandbox.Limits``.

    Returns:
        One NotebookResult per (student, notebook), sorted by student then notebook.
    """
    from autograder.run import sandbox
    from autograder.run.cells import imported_modules
    from autograder.run.engine import Engine

    submissions = Path(submissions).resolve()
    folders = shard_slice(list_submissions(submissions), shard)
    a = prepare_assignment(assignment, paths, prepared)
    jobs = max(1, jobs or default_jobs())
    missing = sandbox.missing_protections()
    if missing and sandboxed is not False:
        out("AVISO: sandbox incompleta nesta máquina (rode como root para isolar cada submissão):\n  - "
            + "\n  - ".join(missing))
    hide = [paths.course, paths.solutions, paths.mutants, paths.samples, submissions]
    modules = sorted({m for nb in a.source_nbs.values() for m in imported_modules(nb)})
    engine = Engine(modules, sandboxed=sandboxed, hide=hide, limits=limits)
    engine.start()
    writer = None if shard else store.GradebookWriter(a.course)
    results: list[NotebookResult] = []
    subs: list[Submission] = []
    try:
        todo: list[Submission] = []
        for n, folder in enumerate(folders, 1):
            sid = safe_id(folder)
            rec = store.read_record(a.course / "autograded" / sid / a.name / store.RECORD_NAME) if resume else None
            if rec and rec.get("key") == store.folder_hash(submissions / folder, a.key):
                results += [NotebookResult.from_json(r, a.mutants) for r in rec["results"]]
                out(f"[{n}/{len(folders)}] {sid}: unchanged since last run, kept")
                continue
            todo.append(intake(a, submissions, folder, copy_to_course=not shard))
        engine.wait_ready()
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
        try:
            futures = {pool.submit(run_and_score, engine, a, sub, cell_timeout, wall_timeout): sub for sub in todo}
            for n, future in enumerate(concurrent.futures.as_completed(futures), 1):
                sub = futures[future]
                future.result()
                out(f"[{n}/{len(todo)}] graded {sub.student}: " + ", ".join(
                    f"{r.score:g}/{r.max_score:g}{' (revisão)' if r.flags else ''}" for r in sub.results)
                    + f" in {sum(r.seconds for r in sub.results):.1f} s")
                subs.append(sub)
                if writer is not None:
                    record(writer, a, sub)
                results += sub.results
        finally:
            engine.close()  # first: kills the workers, so the threads return at once
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        engine.close()
        if writer is not None:
            writer.close()
    results.sort(key=lambda r: (r.student, r.notebook))
    if shard:
        path = shard_file or (a.course / "shards" / a.name / f"shard-{shard[0]}-of-{shard[1]}.json")
        store.atomic_write(Path(path), json.dumps({
            "assignment": a.name, "shard": list(shard), "key": a.key,
            "students": [{"key": s.key, "student": s.student, "folder": s.folder, "stamps": s.stamps,
                          "results": [r.to_json() for r in s.results],
                          "autograded": {nb: json.loads(nbformat.writes(v)) for nb, v in s.autograded.items()}}
                         for s in sorted(subs, key=lambda s: s.student)]}, ensure_ascii=False))
        out(f"wrote shard {shard[0]}/{shard[1]} ({len(subs)} students) to {path}")
        return results
    if feedback:
        write_feedback(a, [r for s in subs for r in s.results], out=out)
    return results


def merge(assignment: str, shard_files: list[Path], paths: Paths, feedback: bool = True,
          out=_print) -> list[NotebookResult]:
    """Merge shard files into the course root: gradebook, autograded notebooks, records,
    feedback; returns every result (grades.csv is written by the caller)."""
    a = prepare_assignment(assignment, paths)
    results, subs = [], []
    writer = store.GradebookWriter(a.course)
    seen = set()
    try:
        for path in shard_files:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("assignment") != assignment:
                raise AutograderError(f"shard {path} is for {data.get('assignment')!r}, not {assignment!r}")
            if data.get("key") != a.key:
                raise AutograderError(f"shard {path} was graded against another version of {assignment}")
            for s in data["students"]:
                if s["student"] in seen:
                    raise AutograderError(f"student {s['student']!r} appears in more than one shard")
                seen.add(s["student"])
                sub = Submission(s["student"], s["folder"], Path("."), key=s["key"])
                sub.results = [NotebookResult.from_json(r, a.mutants) for r in s["results"]]
                sub.autograded = {nb: nbformat.from_dict(v) for nb, v in s["autograded"].items()}
                sub.stamps = {k: str(v) for k, v in s.get("stamps", {}).items() if k in store.STAMP_FILES}
                record(writer, a, sub)
                subs.append(sub)
                results += sub.results
    finally:
        writer.close()
    if feedback:
        write_feedback(a, results, out=out)
    results.sort(key=lambda r: (r.student, r.notebook))
    out(f"merged {len(shard_files)} shard(s): {len(subs)} students")
    return results


def format_table(results: list[NotebookResult]) -> str:
    """The grade table: student, notebook, score / max, status, known mistake or reason."""
    header = ("student", "notebook", "score / max", "status", "known mistake / reason")
    rows = []
    for r in results:
        named = [f"{m.name}: {m.hint}" for m in r.mistakes]
        named += [f"chamada proibida: {d['forbidden']}" for d in getattr(r, "diagnosis", None) or []
                  if d.get("forbidden")]
        note = "; ".join(named) or r.reason.split("\n")[0]
        if r.flags:
            note = ("REVISÃO MANUAL: " + " | ".join(r.flags) + ("; " + note if note else ""))
        status = r.status + ("*" if r.flags else "")
        rows.append((r.student, r.notebook, f"{r.score:g} / {r.max_score:g}", status, note))
    widths = [max(len(str(x[i])) for x in [header] + rows) for i in range(4)]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row[:4], widths)) + "  " + row[4] for row in [header] + rows]
    table = "\n".join([lines[0], "-" * len(lines[0])] + lines[1:])
    if any(r.flags for r in results):
        table += "\n* sinalizado para revisão manual (gradebook: needs manual grade)"
    return table


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt


def grade(assignment: str, submissions: Path, paths: Paths, cell_timeout: int = CELL_TIMEOUT,
          wall_timeout: float = WALL_TIMEOUT, jobs: int | None = None, resume: bool = False,
          shard: str | None = None, shard_file: Path | None = None, out=_print) -> int:
    """CLI body: grade, write <course>/grades.csv, print the table; exit 0.

    SIGTERM is handled like Ctrl-C: workers are killed, what was recorded stays
    consistent (atomic writes), and grades.csv gets the students graded so far.
    """
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        results = grade_submissions(assignment, submissions, paths, cell_timeout=cell_timeout,
                                    wall_timeout=wall_timeout, jobs=jobs, resume=resume,
                                    shard=parse_shard(shard), shard_file=shard_file, out=out)
    except KeyboardInterrupt:
        done = _recorded(paths.course, assignment)
        write_csv(done, paths.course / "grades.csv")
        out(f"interrupted: {len(done)} recorded result(s) kept in grades.csv; rerun with --resume")
        raise
    finally:
        signal.signal(signal.SIGTERM, old)
    if shard:
        return 0
    write_csv(results, paths.course / "grades.csv")
    out(format_table(results))
    out(f"wrote {paths.course / 'grades.csv'} and feedback under {paths.course / 'feedback'}")
    _write_report(paths, assignment, out)
    return 0


def _write_report(paths: Paths, assignment: str, out=_print) -> None:
    """The class report and LMS imports (course/reports/), from every record so far."""
    from autograder.grades.report import write_report

    written = write_report(paths.course, assignment)
    out(f"class report: {written['html']} (LMS imports: {written['canvas'].name}, {written['moodle'].name})")


def _recorded(course: Path, assignment: str) -> list[NotebookResult]:
    out = []
    for path in sorted((course / "autograded").glob(f"*/{assignment}/{store.RECORD_NAME}")):
        rec = store.read_record(path)
        if rec:
            out += [NotebookResult.from_json(r, []) for r in rec["results"]]
    return out


def merge_cli(assignment: str, shard_files: list[Path], paths: Paths, out=_print) -> int:
    results = merge(assignment, shard_files, paths, out=out)
    write_csv(results, paths.course / "grades.csv")
    out(format_table(results))
    _write_report(paths, assignment, out)
    return 0
