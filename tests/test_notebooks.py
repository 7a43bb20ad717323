"""Every solution master runs top to bottom in a real kernel (heavy cells included), with
all its grade cells passing; the committed release carries no outputs, no solution and no
hidden test, and its points add up to a round total."""

from __future__ import annotations

import json
import time

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import notebook as nbtools
from autograder.paths import Paths

REPO = Paths.from_root()
ASSIGNMENTS = REPO.assignments()
SECRET_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_executes_top_to_bottom(assignment, tmp_path, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    nb = nbtools.master_to_source(REPO.master(assignment))
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any failure
    elapsed = time.perf_counter() - start
    errors = [out for cell in nb.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, f"{assignment}: cells raised {[e['ename'] for e in errors]}"
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all(c.get("outputs") is not None for c in graded)
    print(f"\n{assignment}: solution executed in {elapsed:.1f} s")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_outputs_no_secrets_and_round_points(assignment):
    path = REPO.notebooks / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    text = path.read_text()
    for marker in SECRET_MARKERS:
        assert marker not in text, f"{path}: release contains {marker!r}"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path}: committed with outputs"
    points = [c.metadata["nbgrader"]["points"] for c in nb.cells
              if c.metadata.get("nbgrader", {}).get("grade")]
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), f"{path}: duplicate grade_ids"
    assert len(points) >= 5 and sum(points) % 5 == 0, f"{path}: points {points} sum to {sum(points)}"
    solution_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(solution_cells) >= 5, f"{path}: {len(solution_cells)} graded functions, expected at least 5"
    assert all("NotImplementedError" in c.source for c in solution_cells if c.cell_type == "code")
    assert json.loads(text)["metadata"]["kernelspec"]["name"] == "python3"
