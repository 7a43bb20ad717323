"""``autograder demo``: build every assignment, grade its bundled samples into the course
root, print the grade table, write course/grades.csv, course/feedback/ and the class
reports course/reports/<a>.html (+ Canvas and Moodle CSVs)."""

from __future__ import annotations

from autograder.build import build_in
from autograder.errors import AutograderError
from autograder.grade import WALL_TIMEOUT, _print, format_table, grade_submissions, write_csv
from autograder.grades.report import write_report
from autograder.nbconfig import CELL_TIMEOUT
from autograder.paths import Paths


def sample_problems(results) -> list[str]:
    """What is wrong with the samples' grades (empty: perfect full, untouched 0, buggy between)."""
    problems = []
    for r in results:
        if r.student == "perfect" and not (r.status == "graded" and r.score == r.max_score):
            problems.append(f"{r.assignment}: perfect sample scored {r.score:g} / {r.max_score:g} ({r.reason})")
        if r.student == "untouched" and not (r.status == "graded" and r.score == 0):
            problems.append(f"{r.assignment}: untouched sample scored {r.score:g} / {r.max_score:g} ({r.reason})")
        if r.student == "buggy" and not (r.status == "graded" and 0 < r.score < r.max_score):
            problems.append(f"{r.assignment}: buggy sample scored {r.score:g} / {r.max_score:g}, expected in between")
    return problems


def demo(paths: Paths, cell_timeout: int = CELL_TIMEOUT, wall_timeout: float = WALL_TIMEOUT, out=_print) -> int:
    """CLI body; exit 1 when the samples do not get the expected grades."""
    names = paths.assignments()
    if not names:
        raise AutograderError(f"no assignments found under {paths.solutions}")
    results = []
    for name in names:
        _, prepared = build_in(name, paths, paths.course)  # built once, graded in the same course root
        out(f"built {name}; grading samples from {paths.samples / name}")
        results += grade_submissions(name, paths.samples / name, paths, cell_timeout=cell_timeout,
                                     wall_timeout=wall_timeout, prepared=prepared, out=out)
    write_csv(results, paths.course / "grades.csv")
    out(format_table(results))
    for name in names:
        times = [r.seconds for r in results if r.assignment == name and r.status == "graded"]
        if times:
            out(f"{name}: autograde time per notebook (sandboxed worker): mean {sum(times) / len(times):.1f} s, "
                f"max {max(times):.1f} s")
    out(f"wrote {paths.course / 'grades.csv'} and feedback under {paths.course / 'feedback'}")
    for name in names:
        write_report(paths.course, name)
    out(f"class reports (open in a browser) and LMS imports: {paths.course / 'reports'}/<assignment>.html, "
        "<assignment>-canvas.csv, <assignment>-moodle.csv")
    problems = sample_problems(results)
    for p in problems:
        out(f"DEMO FAILED: {p}")
    return 1 if problems else 0
