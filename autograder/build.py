"""``autograder build``: masters -> nbgrader source -> release (notebooks/) + samples."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from autograder import nbgrun
from autograder import notebook as nbtools
from autograder.errors import AutograderError
from autograder.mutants import load_mutants, sample_mutants
from autograder.paths import Paths


def _print(*args):
    print(*args, flush=True)


SAMPLE_STUDENTS = ("perfect", "untouched", "buggy")


def load_source(paths: Paths, assignment: str):
    """(source notebook, extra files, mutants) of an assignment, all validated."""
    master = paths.master(assignment)
    source_nb = nbtools.master_to_source(master)
    extra = nbgrun.other_files(master.parent, skip={master.name})
    mutants = load_mutants(
        paths.mutants_file(assignment),
        solution_ids=set(nbtools.solution_cells(source_nb)),
        grade_ids=set(nbtools.grade_cells(source_nb)),
    )
    return source_nb, extra, mutants


def make_release(course: Path, paths: Paths, assignment: str):
    """Generate the release in ``course`` and refuse it when anything secret survived.

    Returns:
        (source notebook, release notebook (no outputs), extra files, mutants).
    """
    source_nb, extra, mutants = load_source(paths, assignment)
    release_nb = nbtools.clean(
        nbgrun.generate_assignment(course, assignment, source_nb, extra, paths.master(assignment).parent)
    )
    leaks = nbtools.find_leaks(source_nb, release_nb)
    if leaks:
        raise AutograderError(
            f"release of {assignment} leaks solutions or hidden tests:\n  " + "\n  ".join(leaks)
        )
    return source_nb, release_nb, extra, mutants


def samples(source_nb, release_nb, mutants) -> dict[str, object]:
    """student -> notebook: ``perfect`` (solutions put back), ``untouched`` (the release),
    ``buggy`` (perfect with the sample mutants; absent without mutants)."""
    solutions = nbtools.solution_cells(source_nb)
    perfect = nbtools.with_cells(release_nb, solutions)
    out = {"perfect": perfect, "untouched": release_nb}
    chosen = sample_mutants(mutants)
    if chosen:
        out["buggy"] = nbtools.with_cells(release_nb, {**solutions, **{m.cell: m.code for m in chosen}})
    return out


def build_assignment(assignment: str, paths: Paths) -> list[Path]:
    """Regenerate notebooks/<a>/ and samples/<a>/; return the files written."""
    with tempfile.TemporaryDirectory(prefix="autograder-build-") as tmp:
        return build_in(assignment, paths, Path(tmp))[0]


def build_in(assignment: str, paths: Paths, course: Path):
    """Build the release in the course root ``course`` (once), write notebooks/<a>/ and
    samples/<a>/ from it.

    Returns:
        (files written, ``make_release``'s result: pass it to ``grade_submissions`` as
        ``prepared`` to grade in the same course root without building again).
    """
    prepared = make_release(course, paths, assignment)
    source_nb, release_nb, _, mutants = prepared
    release_dir = course / "release" / assignment
    out_dir = paths.notebooks / assignment
    if out_dir.exists():
        shutil.rmtree(out_dir)
    written = []
    for path in sorted(p for p in release_dir.rglob("*") if p.is_file()):
        dest = out_dir / path.relative_to(release_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".ipynb":
            nbtools.write(release_nb if path.name == f"{assignment}.ipynb" else nbtools.clean(
                nbtools.nbformat.read(path, as_version=4)), dest)
        else:
            shutil.copyfile(path, dest)
        written.append(dest)
    sample_dir = paths.samples / assignment
    if sample_dir.exists():
        shutil.rmtree(sample_dir)
    for student, nb in samples(source_nb, release_nb, mutants).items():
        dest = sample_dir / student / f"{assignment}.ipynb"
        nbtools.write(nb, dest)
        written.append(dest)
    return written, prepared


def build(assignment: str | None, paths: Paths, out=_print) -> int:
    """Build one assignment or all; exit code 0."""
    names = [assignment] if assignment else paths.assignments()
    if not names:
        raise AutograderError(f"no assignments found under {paths.solutions}")
    for name in names:
        files = build_assignment(name, paths)
        out(f"built {name}: " + ", ".join(str(_rel(f, paths)) for f in files))
    return 0


def _rel(path: Path, paths: Paths) -> Path:
    for base in (paths.notebooks.parent, paths.samples.parent.parent):
        try:
            return path.relative_to(base)
        except ValueError:
            pass
    return path
