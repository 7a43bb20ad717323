"""Running real nbgrader 0.9.6: course roots, subprocesses (argv lists, own process
group, killed with all children on timeout) and gradebook reads/writes."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder import notebook as nbtools
from autograder.errors import AutograderError
from autograder.nbconfig import CELL_TIMEOUT, CONFIG_TEXT

MAX_EXTRA_FILE_BYTES = 5 * 2**20
_IGNORED = {"__pycache__", ".ipynb_checkpoints", ".DS_Store"}


@dataclasses.dataclass
class RunResult:
    """Outcome of one nbgrader subprocess."""

    returncode: int | None
    output: str
    timed_out: bool


def _bin_path(path: str | None) -> str:
    """PATH with this interpreter's bin/ first (nbgrader shells out to ``alembic``)."""
    bindir = str(Path(sys.executable).parent)
    parts = [p for p in (path or "").split(os.pathsep) if p]
    return os.pathsep.join([bindir] + [p for p in parts if p != bindir])


def _gradebook(course: Path):
    from nbgrader.api import Gradebook

    os.environ["PATH"] = _bin_path(os.environ.get("PATH"))
    return Gradebook(db_url(course))


def ensure_config(course: Path) -> None:
    """Make ``course`` a course root: the folder and an nbgrader_config.py (kept if present)."""
    course.mkdir(parents=True, exist_ok=True)
    config = course / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG_TEXT, encoding="utf-8")


def db_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def _kill_tree(pid: int) -> None:
    import psutil

    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    procs = parent.children(recursive=True) + [parent]
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


def run_nbgrader(args: list[str], course: Path, timeout: float | None = None) -> RunResult:
    """Run nbgrader's CLI with ``args`` in ``course`` (argv list, no shell; started via
    autograder._nbgrader_main, which skips a slow optional import).

    On timeout the process and every descendant (the kernel included) are killed.
    """
    cmd = [sys.executable, "-m", "autograder._nbgrader_main", *args, f"--CourseDirectory.root={course}"]
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    env["PATH"] = _bin_path(env.get("PATH"))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("MPLBACKEND", "Agg")
    proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return RunResult(proc.returncode, out, False)
    except subprocess.TimeoutExpired:
        _kill_tree(proc.pid)
        out, _ = proc.communicate()
        return RunResult(None, out or "", True)


def other_files(folder: Path, skip: set[str]) -> list[Path]:
    """Small non-master files of an assignment folder (relative order stable)."""
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in _IGNORED for part in rel.parts) or not path.is_file() or str(rel) in skip:
            continue
        if path.stat().st_size > MAX_EXTRA_FILE_BYTES:
            raise AutograderError(
                f"assignment files must be at most {MAX_EXTRA_FILE_BYTES} bytes (put data in cnnlib.data). "
                f"Received: {path} ({path.stat().st_size} bytes)"
            )
        out.append(path)
    return out


def generate_assignment(course: Path, assignment: str, source_nb, extra: list[Path], folder: Path):
    """Write source/<a>/ into ``course`` and run nbgrader generate_assignment there.

    Returns:
        The release notebook (read from release/<a>/<a>.ipynb).
    """
    ensure_config(course)
    src = course / "source" / assignment
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    nbtools.write(source_nb, src / f"{assignment}.ipynb")
    for path in extra:
        dest = src / path.relative_to(folder)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    result = run_nbgrader(["generate_assignment", assignment, "--force"], course, timeout=300)
    release = course / "release" / assignment / f"{assignment}.ipynb"
    if result.returncode != 0 or not release.is_file():
        raise AutograderError(
            f"nbgrader generate_assignment {assignment} failed (exit {result.returncode}):\n"
            + _tail(result.output)
        )
    return nbformat.read(release, as_version=4)


def autograde(course: Path, assignment: str, students: list[str], cell_timeout: int = CELL_TIMEOUT,
              wall_timeout: float = 600) -> RunResult:
    """``nbgrader autograde`` the given students in one process (one student: isolation)."""
    return run_nbgrader(
        ["autograde", assignment, *_student_args(course, "submitted", assignment, students), "--force",
         f"--Execute.timeout={int(cell_timeout)}", f"--ExecutePreprocessor.timeout={int(cell_timeout)}"],
        course, timeout=wall_timeout,
    )


def _student_args(course: Path, stage: str, assignment: str, students: list[str]) -> list[str]:
    """nbgrader's student selection for exactly ``students``: one id, or the glob ``*``
    with every other student found under ``stage/`` excluded."""
    if len(students) == 1:
        return ["--student", students[0]]
    others = sorted(d.parent.name for d in (course / stage).glob(f"*/{assignment}")
                    if d.parent.name not in set(students))
    args = ["--student", "*"]
    if others:
        args.append(f"--CourseDirectory.student_id_exclude={','.join(others)}")
    return args


def generate_feedback(course: Path, assignment: str, students: list[str]) -> RunResult:
    """nbgrader generate_feedback for exactly ``students``, in one process."""
    if not students:
        return RunResult(0, "", False)
    args = ["generate_feedback", assignment, *_student_args(course, "autograded", assignment, students), "--force"]
    result = run_nbgrader(args, course, timeout=600)
    if result.returncode != 0:
        raise AutograderError(f"nbgrader generate_feedback {assignment} failed:\n" + _tail(result.output))
    return result


def read_scores(course: Path, assignment: str, student: str, notebook: str) -> dict[str, tuple[float, float]]:
    """grade cell id -> (score, max_score) from the gradebook."""
    from nbgrader.api import MissingEntry

    with _gradebook(course) as gb:
        try:
            sub = gb.find_submission_notebook(notebook, assignment, student)
        except MissingEntry as exc:
            raise AutograderError(f"no gradebook entry for {student}/{assignment}/{notebook}") from exc
        return {g.name: (float(g.score), float(g.max_score)) for g in sub.grades}


def zero_scores(course: Path, assignment: str, student: str, notebooks: list[str]) -> None:
    """Record auto score 0 for every grade of these notebooks (a submission nbgrader could not run)."""
    import warnings

    with _gradebook(course) as gb, warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy 2's cascade warning; harmless.
        warnings.simplefilter("ignore")
        gb.update_or_create_student(student)
        gb.update_or_create_submission(assignment, student)
        for name in notebooks:
            sub = gb.find_submission_notebook(name, assignment, student)
            for grade in sub.grades:
                grade.auto_score = 0
                grade.manual_score = None
                grade.needs_manual_grade = False
        gb.db.commit()


def failure_reason(result: RunResult, wall_timeout: float) -> str:
    """One readable reason for a failed autograde run."""
    if result.timed_out:
        return f"ultrapassou o tempo limite de {wall_timeout:g} s por submissão (laço infinito?); processo encerrado"
    text = result.output
    if "Timeout waiting for IOPub" in text or "CellTimeoutError" in text:
        return ("uma célula passou do tempo limite e não parou ao ser interrompida "
                "(laço infinito que ignora Ctrl+C?)")
    if "DeadKernelError" in text or "Kernel died" in text or "kernel became unresponsive" in text:
        return "o kernel morreu ou travou durante a execução (os._exit, falta de memória, segfault?)"
    return "nbgrader não conseguiu corrigir o notebook:\n" + _tail(text, 12)


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
