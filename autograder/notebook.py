"""Notebook transformations: jupytext master -> nbgrader source notebook, solution
regions, leak checks on a release, and the sample submissions."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

import nbformat

from autograder.errors import AutograderError

SOLUTION_BEGIN = "BEGIN SOLUTION"
SOLUTION_END = "END SOLUTION"
HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
HIDDEN_END = "END HIDDEN TESTS"
MARKERS = (SOLUTION_BEGIN, SOLUTION_END, HIDDEN_BEGIN, HIDDEN_END)
KEPT_CELL_METADATA = ("nbgrader", "tags")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# A line is "trivial" (may legitimately remain in a release) when, stripped, it is short,
# a comment, or only punctuation/keywords.
_TRIVIAL = re.compile(r"^(#.*|[\s()\[\]{}:,.]*|pass|return|break|continue|else:|try:|finally:|"
                      r"\"\"\"|'''|raise NotImplementedError\(\))$")
GLOBAL_LEAK_MIN_CHARS = 25


def _nbgrader_defaults(meta: dict, where: str) -> dict:
    """Complete one cell's nbgrader metadata the way nbgrader's own editor writes it."""
    if not isinstance(meta, dict):
        raise AutograderError(f"{where}: nbgrader metadata must be a JSON object. Received: {meta!r}")
    out = {
        "grade": bool(meta.get("grade", False)),
        "grade_id": meta.get("grade_id"),
        "locked": meta.get("locked"),
        "schema_version": 3,
        "solution": bool(meta.get("solution", False)),
        "task": bool(meta.get("task", False)),
    }
    if not isinstance(out["grade_id"], str) or not out["grade_id"]:
        raise AutograderError(f"{where}: nbgrader cells need a non-empty string grade_id. Received: {meta!r}")
    if out["locked"] is None:
        out["locked"] = not out["solution"]
    if out["grade"] or out["task"]:
        points = meta.get("points")
        if not isinstance(points, (int, float)) or isinstance(points, bool) or points < 0:
            raise AutograderError(
                f"{where}: grade/task cell {out['grade_id']!r} needs non-negative numeric points. "
                f"Received: points={points!r}"
            )
        out["points"] = points
    extra = set(meta) - set(out) - {"points"}
    if extra:
        raise AutograderError(f"{where}: unknown nbgrader metadata keys {sorted(extra)} in {meta!r}")
    return out


def master_to_source(master: Path) -> nbformat.NotebookNode:
    """Read a jupytext percent master and return the nbgrader source notebook.

    Cells keep only ``nbgrader`` (defaults filled) and ``tags`` metadata; jupytext's own
    metadata is dropped; cell ids are deterministic; kernelspec is python3.
    """
    import jupytext

    try:
        nb = jupytext.read(master, fmt="py:percent")
    except Exception as exc:  # jupytext raises many types on bad input
        raise AutograderError(f"cannot read master {master}: {exc}") from exc
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        meta = {k: cell.metadata[k] for k in KEPT_CELL_METADATA if k in cell.metadata}
        if "nbgrader" in meta:
            meta["nbgrader"] = _nbgrader_defaults(meta["nbgrader"], f"{master.name} cell {index}")
            gid = meta["nbgrader"]["grade_id"]
            if gid in seen:
                raise AutograderError(f"{master.name}: grade_id must be unique. Received duplicate: {gid!r}")
            seen.add(gid)
            cell.id = gid[:64] if re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", gid) else _short_hash(gid)
        else:
            cell.id = f"c{index:03d}-{_short_hash(cell.source)[:8]}"
        cell.metadata = meta
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
    }
    nb.nbformat, nb.nbformat_minor = 4, 5
    for cell in nb.cells:  # solution/hidden markers outside nbgrader cells would ship
        if "nbgrader" not in cell.metadata and any(m in cell.source for m in MARKERS):
            raise AutograderError(
                f"{master.name}: a cell with solution/hidden-test markers must carry nbgrader "
                f"metadata (solution or grade). Cell starts with: {cell.source[:60]!r}"
            )
    return nb


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def region_lines(source: str, begin: str, end: str) -> list[str]:
    """Lines strictly inside ``begin``/``end`` marker lines."""
    out, inside = [], False
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            out.append(line)
    return out


def without_markers(source: str) -> str:
    """The solution as a student would type it: marker lines removed."""
    return "\n".join(line for line in source.split("\n") if SOLUTION_BEGIN not in line and SOLUTION_END not in line)


def nontrivial(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip() and not _TRIVIAL.match(line.strip())]


def secret_lines(source_nb) -> dict[str, list[str]]:
    """grade_id -> non-trivial lines from its solution and hidden-test regions."""
    out = {}
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        lines = region_lines(cell.source, SOLUTION_BEGIN, SOLUTION_END)
        lines += region_lines(cell.source, HIDDEN_BEGIN, HIDDEN_END)
        if lines:
            out[meta["grade_id"]] = nontrivial(lines)
    return out


def find_leaks(source_nb, release_nb) -> list[str]:
    """Problems that would show a solution or a hidden test to students (empty: clean).

    Any marker anywhere is a leak; a non-trivial secret line is a leak in its own cell,
    and anywhere in the release when at least GLOBAL_LEAK_MIN_CHARS long.
    """
    problems = []
    by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in release_nb.cells if "nbgrader" in c.metadata}
    for i, cell in enumerate(release_nb.cells):
        for marker in MARKERS:
            if marker in cell.source:
                problems.append(f"cell {i}: marker {marker!r} survived")
    release_lines = {line.strip() for c in release_nb.cells for line in c.source.split("\n")}
    for gid, lines in secret_lines(source_nb).items():
        cell = by_id.get(gid)
        own = {line.strip() for line in cell.source.split("\n")} if cell is not None else set()
        for line in lines:
            if line in own:
                problems.append(f"cell {gid!r}: secret line survived: {line!r}")
            elif len(line) >= GLOBAL_LEAK_MIN_CHARS and line in release_lines:
                problems.append(f"secret line from {gid!r} appears elsewhere in the release: {line!r}")
    return problems


def solution_cells(source_nb) -> dict[str, str]:
    """grade_id -> solution source (markers removed) for every solution cell."""
    return {
        c.metadata["nbgrader"]["grade_id"]: without_markers(c.source)
        for c in source_nb.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


def grade_cells(nb) -> dict[str, dict]:
    """grade_id -> {points, source} for every grade cell of a notebook."""
    return {
        c.metadata["nbgrader"]["grade_id"]: {"points": c.metadata["nbgrader"].get("points", 0), "source": c.source}
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


def with_cells(release_nb, replacements: dict[str, str]):
    """A copy of ``release_nb`` whose cells with the given grade_ids get new sources."""
    nb = copy.deepcopy(release_nb)
    todo = dict(replacements)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in todo:
            cell.source = todo.pop(gid)
    if todo:
        raise AutograderError(f"cells not found in the release: {sorted(todo)}")
    return nb


def clean(nb):
    """Strip outputs and execution counts in place; return nb."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def dumps(nb) -> str:
    """Canonical notebook text (sorted keys, trailing newline): byte-stable across builds."""
    return nbformat.writes(nb, version=4) + "\n"


def write(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(nb), encoding="utf-8")
