"""``autograder check``: prove the graders. The solution earns full marks, the untouched
release earns 0 without crashing the grader, and every mutant loses exactly its ``fails``.

Diagnosis (issue 13, ``autograder.diagnose``): grading each mutant must name exactly that
mutant (a ``forbidden = true`` mutant: the forbidden call and no mutant); the solution,
the untouched release and every ``[[correct]]`` answer name nothing. Enforced (a FAIL)
for the assignments in ``DIAGNOSIS_ENFORCED``, reported for the others. The ``[[wrong]]``
answers (honest mistakes that are not mutants) are graded too and counted: right (the
expected mutant, or rightly none) / wrongly named / none named."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from autograder import diagnose
from autograder import notebook as nbtools
from autograder.build import make_release, samples
from autograder.errors import AutograderError
from autograder.grade import WALL_TIMEOUT, _print, grade_submissions
from autograder.mutants import load_correct_answers, load_wrong_answers
from autograder.nbconfig import CELL_TIMEOUT
from autograder.paths import Paths

# Assignments whose check FAILS when a mutant is not named exactly (the others report it).
DIAGNOSIS_ENFORCED = {"00-fixture", "01-convolucao", "02-camada-convolucional", "03-pooling-softmax-lenet",
                      "04-alexnet-vgg-nin", "05-inception-resnet", "06-vit-convnext",
                      "07-transfer-learning", "08-augmentacao", "09-gans"}


def named(result) -> tuple[set[str], set[str]]:
    """(mutants named, forbidden calls named) by a graded result's diagnosis."""
    diag = getattr(result, "diagnosis", []) or []
    return ({d["mutant"] for d in diag if d.get("mutant")}, {d["forbidden"] for d in diag if d.get("forbidden")})


def _says(result) -> str:
    mutants, calls = named(result)
    parts = sorted(mutants) + [f"proibida {c}" for c in sorted(calls)]
    return ", ".join(parts) if parts else "nada"


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
        wrong = load_wrong_answers(paths.mutants_file(assignment), set(solutions), {m.name for m in mutants})
        for w in wrong:
            cases[f"wrong-{w.name}"] = nbtools.with_cells(release_nb, {**solutions, w.cell: w.code})
        for student, nb in cases.items():
            nbtools.write(nb, subs / student / f"{assignment}.ipynb")
        diag_before, start = diagnose.STATS["seconds"], time.monotonic()
        results = grade_submissions(assignment, subs, scratch, cell_timeout=cell_timeout,
                                    wall_timeout=wall_timeout, feedback=False, prepared=prepared, batch=True,
                                    out=out)
        wall = time.monotonic() - start
        diag_seconds = diagnose.STATS["seconds"] - diag_before
    by_student = {r.student: r for r in results if r.notebook == assignment}
    enforce = assignment in DIAGNOSIS_ENFORCED
    rows = []
    sol = by_student["solution"]
    rows.append(("solution", "-", _fmt(sol.failed_cells) + ("" if sol.status == "graded" else f" [{sol.reason}]")
                 + ("" if _says(sol) == "nada" else f"; diagnosis names {_says(sol)}"),
                 sol.status == "graded" and not sol.failed_cells and sol.score == sol.max_score
                 and _says(sol) == "nada"))
    unt = by_student["untouched"]
    rows.append(("untouched", "all (score 0)", f"score {unt.score:g} / {unt.max_score:g}, {unt.status}"
                 + ("" if _says(unt) == "nada" else f"; diagnosis names {_says(unt)}"),
                 unt.status == "graded" and unt.score == 0 and set(unt.failed_cells) == set(grade_ids)
                 and _says(unt) == "nada"))
    exact = 0
    for m in mutants:
        r = by_student[f"mutant-{m.name}"]
        got_mutants, got_calls = named(r)
        diag_ok = (not got_mutants and bool(got_calls)) if m.forbidden else (got_mutants == {m.name} and not got_calls)
        exact += diag_ok
        graded_ok = r.status == "graded" and set(r.failed_cells) == set(m.fails)
        ok = graded_ok and (diag_ok or not enforce)
        if r.status != "graded":
            actual = f"{r.status}: {r.reason}"
        elif ok:
            actual = "= expected"
        else:
            actual = _fmt(r.failed_cells)
            extra, missing = set(r.failed_cells) - set(m.fails), set(m.fails) - set(r.failed_cells)
            actual += "".join([f" (unexpected: {_fmt(extra)})" if extra else "",
                               f" (did not fail: {_fmt(missing)})" if missing else ""])
        if not diag_ok and graded_ok:  # a wrong `fails` is the first thing to fix
            want = "a forbidden call, no mutant" if m.forbidden else m.name
            actual += f"; diagnosis names {_says(r)} (expected {want})" + ("" if enforce else " [report only]")
        rows.append((m.name, _fmt(m.fails), actual, ok))
    for c in correct:
        r = by_student[f"correct-{c.name}"]
        ok = r.status == "graded" and not r.failed_cells and r.score == r.max_score and _says(r) == "nada"
        actual = (_fmt(r.failed_cells) if r.status == "graded" else f"{r.status}: {r.reason}")
        actual += "" if _says(r) == "nada" else f"; diagnosis names {_says(r)}"
        rows.append((f"correct: {c.name}", "- (full marks)", actual, ok))
    counts = {"right": 0, "wrongly named": 0, "none": 0}
    for w in wrong:
        r = by_student[f"wrong-{w.name}"]
        got_mutants, got_calls = named(r)
        if got_calls:
            verdict = "wrongly named"  # an honest mistake accused of a forbidden call
        elif got_mutants == ({w.expect} if w.expect else set()):
            verdict = "right"
        elif got_mutants:
            verdict = "wrongly named"
        else:
            verdict = "none"
        counts[verdict] += 1
        lost = _fmt(r.failed_cells) if r.status == "graded" else f"{r.status}: {r.reason}"
        out(f"{assignment}: wrong answer {w.name}: fails {lost}; diagnosis names {_says(r)} "
            f"(expected {w.expect or 'nada'}): {verdict}")
    if mutants:
        out(f"{assignment}: diagnosis: {exact}/{len(mutants)} mutants named exactly"
            + ("" if enforce else " (report only: not enforced for this assignment)"))
    if wrong:
        out(f"{assignment}: diagnosis of {len(wrong)} wrong answers (not mutants): right {counts['right']}, "
            f"wrongly named {counts['wrongly named']}, none {counts['none']}")
    rows = [(a, b, c, "OK" if ok else "FAIL") for a, b, c, ok in rows]
    if sol.flags:  # not a failure (no point lost), but every student would be flagged alike
        out(f"{assignment}: warning: the solution itself is flagged for manual review: {' | '.join(sol.flags)}")
    times = [r.seconds for r in results]
    out(f"{assignment}: autograde time per notebook: mean {sum(times) / len(times):.1f} s, "
        f"max {max(times):.1f} s over {len(times)} runs")
    out(f"{assignment}: grading wall time {wall:.1f} s, of which diagnosis jobs (probe + reference, "
        f"summed over parallel slots) {diag_seconds:.1f} s")
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
