"""``autograder check``: prove the graders. The solution earns full marks, the untouched
release earns 0 without crashing the grader, and every mutant loses exactly its ``fails``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from autograder import notebook as nbtools
from autograder.build import make_release, samples
from autograder.errors import AutograderError
from autograder.mutants import load_correct_answers
from autograder.grade import WALL_TIMEOUT, _print, grade_submissions
from autograder.nbconfig import CELL_TIMEOUT
from autograder.paths import Paths


def _fmt(cells) -> str:
    return ", ".join(sorted(cells)) if cells else "-"


def check_assignment(assignment: str, paths: Paths, *, cell_timeout: int = CELL_TIMEOUT,
                     wall_timeout: float = WALL_TIMEOUT, out=_print) -> tuple[bool, list[tuple]]:
    """Autograde solution, untouched release and every mutant in a scratch course root.

    Returns:
        (all OK, rows of (case, expected failing cells, actual, "OK"/"FAIL")).
    """
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as tmp:
        scratch = Paths(solutions=paths.solutions, notebooks=paths.notebooks, course=Path(tmp) / "course",
                        mutants=paths.mutants, samples=paths.samples)
        prepared = make_release(scratch.course, scratch, assignment)
        source_nb, release_nb, _, mutants = prepared
        grade_ids = sorted(nbtools.grade_cells(source_nb))
        solutions = nbtools.solution_cells(source_nb)
        subs = Path(tmp) / "submissions"
        cases = {"solution": samples(source_nb, release_nb, [])["perfect"], "untouched": release_nb}
        for m in mutants:
            cases[f"mutant-{m.name}"] = nbtools.with_cells(release_nb, {**solutions, m.cell: m.code})
        correct = load_correct_answers(paths.mutants_file(assignment), set(solutions))
        for c in correct:
            cases[f"correct-{c.name}"] = nbtools.with_cells(release_nb, {**solutions, c.cell: c.code})
        for student, nb in cases.items():
            nbtools.write(nb, subs / student / f"{assignment}.ipynb")
        results = grade_submissions(assignment, subs, scratch, cell_timeout=cell_timeout,
                                    wall_timeout=wall_timeout, feedback=False, prepared=prepared, batch=True,
                                    out=out)
    by_student = {r.student: r for r in results if r.notebook == assignment}
    rows = []
    sol = by_student["solution"]
    rows.append(("solution", "-", _fmt(sol.failed_cells) + ("" if sol.status == "graded" else f" [{sol.reason}]"),
                 sol.status == "graded" and not sol.failed_cells and sol.score == sol.max_score))
    unt = by_student["untouched"]
    rows.append(("untouched", "all (score 0)", f"score {unt.score:g} / {unt.max_score:g}, {unt.status}",
                 unt.status == "graded" and unt.score == 0 and set(unt.failed_cells) == set(grade_ids)))
    for m in mutants:
        r = by_student[f"mutant-{m.name}"]
        ok = r.status == "graded" and set(r.failed_cells) == set(m.fails)
        if r.status != "graded":
            actual = f"{r.status}: {r.reason}"
        elif ok:
            actual = "= expected"
        else:
            actual = _fmt(r.failed_cells)
            extra, missing = set(r.failed_cells) - set(m.fails), set(m.fails) - set(r.failed_cells)
            actual += "".join([f" (unexpected: {_fmt(extra)})" if extra else "",
                               f" (did not fail: {_fmt(missing)})" if missing else ""])
        rows.append((m.name, _fmt(m.fails), actual, ok))
    for c in correct:
        r = by_student[f"correct-{c.name}"]
        ok = r.status == "graded" and not r.failed_cells and r.score == r.max_score
        actual = (_fmt(r.failed_cells) if r.status == "graded" else f"{r.status}: {r.reason}")
        rows.append((f"correct: {c.name}", "- (full marks)", actual, ok))
    rows = [(a, b, c, "OK" if ok else "FAIL") for a, b, c, ok in rows]
    if sol.flags:  # not a failure (no point lost), but every student would be flagged alike
        out(f"{assignment}: warning: the solution itself is flagged for manual review: {' | '.join(sol.flags)}")
    times = [r.seconds for r in results]
    out(f"{assignment}: autograde time per notebook: mean {sum(times) / len(times):.1f} s, "
        f"max {max(times):.1f} s over {len(times)} runs")
    return all(r[3] == "OK" for r in rows), rows


def format_rows(rows, width: int = 60) -> str:
    """The check table; long cell lists wrap inside their column."""
    import textwrap

    header = ("case", "expected failing cells", "actual failing cells", "result")
    wrapped = [[textwrap.wrap(str(v), width) or [""] for v in row] for row in [header, *rows]]
    widths = [max(len(line) for row in wrapped for line in row[i]) for i in range(3)]
    out = []
    for n, row in enumerate(wrapped):
        height = max(len(col) for col in row)
        for k in range(height):
            cols = [col[k] if k < len(col) else "" for col in row]
            out.append("  ".join(c.ljust(w) for c, w in zip(cols[:3], widths)) + "  " + cols[3])
        if n == 0:
            out.append("-" * len(out[0]))
    return "\n".join(line.rstrip() for line in out)


def check(assignment: str | None, paths: Paths, cell_timeout: int = CELL_TIMEOUT,
          wall_timeout: float = WALL_TIMEOUT, out=_print) -> int:
    """CLI body: check one or all assignments; exit 1 when any case fails."""
    names = [assignment] if assignment else paths.assignments()
    if not names:
        raise AutograderError(f"no assignments found under {paths.solutions}")
    ok_all = True
    for name in names:
        ok, rows = check_assignment(name, paths, cell_timeout=cell_timeout, wall_timeout=wall_timeout, out=out)
        out(format_rows(rows))
        out(f"{name}: {'all checks passed' if ok else 'CHECK FAILED'} "
            f"({sum(r[3] == 'OK' for r in rows)}/{len(rows)} OK)")
        ok_all &= ok
    return 0 if ok_all else 1
