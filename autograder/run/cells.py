"""Matching a submission's cells to the instructor's by ``grade_id``, whatever the
student did to the notebook, and building the list of cells a worker runs.

Repairs (each one becomes a note in the feedback and the report): a duplicated solution
cell (the last edited copy is used), cells in another order, nbgrader metadata damaged
(a grade id written as a list, metadata that is not an object), solutions pasted into a
fresh notebook without metadata (matched by the names the cell defines), deleted or
edited test cells (the instructor's version always runs), a notebook that nbformat
rejects but is still JSON with cells.
"""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

from autograder import notebook as nbtools
from autograder.run.parse import parse


@dataclasses.dataclass
class Prepared:
    """What one worker runs for one notebook, and what was repaired to get there."""

    cells: list[dict]  # kind (locked/solution/grade), source, grade_id, points
    notes: list[str]
    answers: dict[str, str]  # grade_id -> the student's source for solution cells found
    fatal: str | None = None


def _text(source) -> str:
    if isinstance(source, list):
        return "".join(str(s) for s in source)
    return source if isinstance(source, str) else ""


def _grade_id(meta, notes: list[str], index: int) -> str | None:
    if not isinstance(meta, dict):
        return None
    gid = meta.get("grade_id")
    if isinstance(gid, str):
        return gid
    if isinstance(gid, (list, tuple)) and len(gid) == 1 and isinstance(gid[0], str):
        notes.append(f"célula {index}: grade_id escrito como lista {gid!r}; lido como {gid[0]!r}")
        return gid[0]
    return None


def read_cells(path: Path) -> tuple[list[dict] | None, str | None]:
    """(cells as plain dicts, fatal problem) for a submitted notebook, as leniently as possible."""
    if path.is_symlink() or not path.is_file():
        return None, "notebook não enviado" if not path.is_symlink() else "o notebook enviado é um link simbólico"
    try:
        raw = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (json.JSONDecodeError, OSError, RecursionError) as exc:
        return None, f"arquivo .ipynb inválido (JSON/nbformat): {str(exc).splitlines()[0][:200]}"
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if not isinstance(cells, list):
        worksheets = raw.get("worksheets") if isinstance(raw, dict) else None  # nbformat 3
        if isinstance(worksheets, list) and worksheets and isinstance(worksheets[0], dict):
            cells = worksheets[0].get("cells")
    if not isinstance(cells, list):
        return None, "arquivo .ipynb inválido (JSON/nbformat): não há lista de células"
    out = []
    for cell in cells:
        if isinstance(cell, dict):
            source = cell.get("source", cell.get("input", ""))
            out.append({"cell_type": cell.get("cell_type", "code"), "source": _text(source),
                        "metadata": cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}})
    return out, None


def defined_names(source: str) -> set[str]:
    """Top-level function/class names a cell defines (empty if it does not parse)."""
    try:
        tree = parse(_python(source))
    except (SyntaxError, ValueError):
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def _python(source: str) -> str:
    """IPython syntax (magics, ``!cmd``) turned into Python calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - leave as is; the run reports the SyntaxError
        return source


def prepare(source_nb, release_nb, path: Path) -> Prepared:
    """The job cells for a student's notebook at ``path`` (instructor order and tests)."""
    submitted, fatal = read_cells(path)
    release_src = {c.metadata["nbgrader"]["grade_id"]: c.source for c in release_nb.cells
                   if "nbgrader" in c.metadata}
    if fatal:
        return Prepared([], [], {}, fatal)
    notes: list[str] = []
    by_id: dict[str, list[str]] = {}
    unlabeled: list[str] = []
    damaged = 0
    for index, cell in enumerate(submitted):
        meta = cell["metadata"].get("nbgrader")
        if meta is not None and not isinstance(meta, dict):
            damaged += 1
        gid = _grade_id(meta, notes, index)
        if gid is None:
            if cell["cell_type"] == "code":
                unlabeled.append(cell["source"])
            continue
        by_id.setdefault(gid, []).append(cell["source"])
    if damaged:
        notes.append(f"{damaged} célula(s) com metadados nbgrader danificados")
    answers: dict[str, str] = {}
    order_ids = [gid for gid in by_id]
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if not meta.get("solution"):
            continue
        versions = by_id.get(gid, [])
        stub = release_src.get(gid, "")
        if len(versions) > 1:
            edited = [v for v in versions if v != stub]
            notes.append(f"célula {gid!r} aparece {len(versions)} vezes; usada a última editada")
            answers[gid] = (edited or versions)[-1]
        elif versions:
            answers[gid] = versions[0]
        elif cell.cell_type == "code":
            wanted = defined_names(nbtools.without_markers(cell.source))
            match = [s for s in unlabeled if wanted and wanted <= defined_names(s)]
            if match:
                answers[gid] = match[-1]
                notes.append(f"célula {gid!r} sem metadados nbgrader; reconhecida por definir "
                             f"{', '.join(sorted(wanted))}")
            else:
                notes.append(f"célula de resposta {gid!r} não encontrada; corrigida como não respondida")
    expected = [c.metadata["nbgrader"]["grade_id"] for c in source_nb.cells if "nbgrader" in c.metadata]
    seen = [g for g in order_ids if g in set(expected)]
    if seen != [g for g in expected if g in set(seen)]:
        notes.append("células fora da ordem original; corrigidas na ordem do professor")
    grade_ids = {g for g, c in nbtools.grade_cells(release_nb).items()}
    deleted = sorted(g for g in grade_ids if g not in by_id)
    edited = sorted(g for g in grade_ids if g in by_id and any(v != release_src.get(g) for v in by_id[g]))
    if deleted and len(deleted) < len(grade_ids):
        notes.append(f"células de teste apagadas e restauradas: {', '.join(deleted)}")
    elif deleted:
        notes.append("nenhuma célula de teste no notebook enviado; testes do professor restaurados")
    if edited:
        notes.append(f"células de teste editadas e restauradas: {', '.join(edited)}")
    release_sources = {c.source.strip() for c in release_nb.cells}
    used = set(answers.values())
    extra = [s for s in unlabeled if s.strip() and s.strip() not in release_sources and s not in used]
    if extra:
        notes.append(f"{len(extra)} célula(s) de código fora das células de resposta não foram executadas "
                     "(a correção usa as células do professor)")
    cells = []
    for cell in source_nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if meta.get("solution"):
            source = answers.get(gid, release_src.get(gid, ""))
            cells.append({"kind": "solution", "source": _python(source), "grade_id": gid, "points": 0})
        elif meta.get("grade"):
            cells.append({"kind": "grade", "source": _python(cell.source), "grade_id": gid,
                          "points": float(meta.get("points", 0))})
        else:
            cells.append({"kind": "locked", "source": _python(cell.source), "grade_id": gid, "points": 0})
    return Prepared(cells, notes, answers)


def imported_modules(source_nb) -> list[str]:
    """Modules the notebook imports anywhere (to warm the fork server with)."""
    names = {"numpy", "IPython.display", "autograder.forbid"}
    for cell in source_nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = parse(_python(cell.source))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    return sorted(names)
