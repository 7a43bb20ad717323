"""The course's real assignments: the committed release and samples equal a fresh
``autograder build``, and ``autograder check`` passes (solution full marks, untouched 0,
every mutant caught). One parameter per folder of solutions/."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.build import build_assignment
from autograder.check import check_assignment, format_rows
from autograder.paths import Paths

pytestmark = pytest.mark.slow

REPO = Paths.from_root()
ASSIGNMENTS = REPO.assignments()


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_solutions_exist():
    assert "01-convolucao" in ASSIGNMENTS, f"expected solutions/01-convolucao/01-convolucao.py; found {ASSIGNMENTS}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_and_samples_equal_fresh_build(assignment, tmp_path):
    fresh = Paths(solutions=REPO.solutions, mutants=REPO.mutants, course=tmp_path / "course",
                  notebooks=tmp_path / "notebooks", samples=tmp_path / "samples")
    build_assignment(assignment, fresh)
    for name, committed, new in [("notebooks", REPO.notebooks / assignment, fresh.notebooks / assignment),
                                 ("samples", REPO.samples / assignment, fresh.samples / assignment)]:
        old_files, new_files = _files(committed), _files(new)
        assert sorted(old_files) == sorted(new_files), (
            f"{name}/{assignment}: files {sorted(old_files)} differ from a fresh build {sorted(new_files)}; "
            f"run `autograder build {assignment}`")
        stale = [f for f in new_files if old_files[f] != new_files[f]]
        assert not stale, f"{name}/{assignment}: {stale} differ from a fresh build; run `autograder build {assignment}`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_check_passes(assignment):
    ok, rows = check_assignment(assignment, REPO, out=lambda *a: None)
    assert ok, f"autograder check {assignment} failed:\n{format_rows(rows)}"
