"""Feedback that names the right mistake (issue 13): match a failed answer to the known
mistake (mutant) it *behaves* like, never to the one that fails the same tests.

For a student with a failed grade cell, one extra sandboxed job runs the notebook's
instructor cells, the student's answer cells (definitions only, like grading) and one
*probe* cell per call of each ``[[probe]]`` table of ``mutants.toml`` (see
/work/notes/PROBES_SPEC.md). Each probe cell prints its normalized output as JSON
between two copies of a random nonce. The same probes run once per assignment on the
solution and on every mutant (the *references*), in one sandboxed job of instructor code,
cached in the course root (hidden from the sandbox).

Matching (per solution cell): D = probes where the student's output differs from the
solution's; D empty -> no mutant; else the one mutant of that cell equal to the student on
every probe of D and on every probe where the mutant itself differs from the solution is
named; none or several -> nothing is named, and the feedback lists the failed tests with
their messages.

A forbidden call is named only when a failed grade cell's error is a ``ForbiddenCallError``
(``autograder.forbid``) naming the call, never by inference from which cells failed.

Layers: :func:`normalize` / :func:`equal` / :func:`match` are pure; :func:`probe_call` runs
inside the sandbox (imported by the probe cells); :func:`diagnose` is the grading stage.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import sys
import threading
from pathlib import Path

RTOL, ATOL = 1e-4, 1e-5
MAX_VALUES = 200          # sampled values per probe output (all arrays together)
MAX_PROBE_JSON = 18_000   # characters of one probe output (a cell's stdout is capped at 20k)
MAX_DEPTH = 12
PROBE_CELL_TIMEOUT = 20   # per probe call (reference and student)
PROBE_WALL_TIMEOUT = 90   # a student's probe job; the references get more (one call per cell)
REFERENCE_VERSION = "3"
FORBIDDEN_ERRORS = ("ForbiddenCallError", "_ForbiddenImportError")
MAX_MESSAGE = 600


# --------------------------------------------------------------------------- normalize

def _count_arrays(value, depth=0) -> int:
    if depth > MAX_DEPTH:
        return 0
    if isinstance(value, (list, tuple)):
        return sum(_count_arrays(v, depth + 1) for v in value[:50])
    if isinstance(value, dict):
        return sum(_count_arrays(v, depth + 1) for v in list(value.values())[:50])
    if value is None or isinstance(value, str):
        return 0
    return 1


def _round(v: float) -> float:
    return float(f"{v:.7g}") if math.isfinite(v) else v


def _array(value, budget: int) -> dict:
    import numpy as np

    arr = np.asarray(value)
    kind = {"f": "f", "i": "i", "u": "i", "b": "b", "c": "c"}.get(arr.dtype.kind, "O")
    shape = [int(n) for n in arr.shape]
    flat = arr.reshape(-1)
    if flat.size > budget:
        flat = flat[np.linspace(0, flat.size - 1, budget).astype(np.int64)]
    if kind == "O":
        return {"shape": shape, "kind": "O", "values": [normalize(v, 1) for v in flat.tolist()[:20]]}
    if kind == "c":
        full = arr.astype(np.complex128)
        parts = np.concatenate([flat.real.astype(np.float64), flat.imag.astype(np.float64)])
        return {"shape": shape, "kind": "c", "values": [_round(float(v)) for v in parts],
                "sum": _round(float(np.abs(full).sum()))}
    data = flat.astype(np.float64)
    full = arr.astype(np.float64) if arr.size else np.zeros(0)
    with np.errstate(all="ignore"):
        return {"shape": shape, "kind": kind, "values": [_round(float(v)) for v in data],
                "sum": _round(float(full.sum())), "sq": _round(float((full * full).sum()))}


def normalize(value, budget: int | None = None, depth: int = 0):
    """A JSON-able, comparable summary of a probe output (PROBES_SPEC.md).

    numbers / NumPy arrays / tensors (anything with ``.numpy()``) ->
    ``{"shape", "kind", "values" (at most ``budget`` sampled), "sum", "sq"}``; tuples and
    lists -> lists; dicts -> ``{"dict": {str(key): ...}}``; None and str as is; anything
    else -> ``{"type": "module.ClassName"}``.
    """
    import numpy as np

    if budget is None:
        budget = max(8, MAX_VALUES // max(1, _count_arrays(value)))
    if depth > MAX_DEPTH:
        return {"type": "too-deep"}
    if value is None or isinstance(value, str):
        return value[:2000] if isinstance(value, str) else None
    if isinstance(value, (bool, int, float, complex, np.generic, np.ndarray)):
        return _array(value, budget)
    if isinstance(value, (list, tuple)):
        return [normalize(v, budget, depth + 1) for v in list(value)[:200]]
    if isinstance(value, dict):
        return {"dict": {str(k): normalize(v, budget, depth + 1) for k, v in list(value.items())[:200]}}
    numpy_method = getattr(type(value), "numpy", None)
    if callable(numpy_method):
        try:
            return _array(value.numpy(), budget)
        except Exception:  # noqa: BLE001 - a symbolic tensor has no values
            pass
    if type(value).__name__ == "TensorShape" and hasattr(value, "as_list"):
        try:
            return [normalize(v, budget, depth + 1) for v in value.as_list()]
        except Exception:  # noqa: BLE001 - unknown rank
            pass
    return {"type": f"{type(value).__module__}.{type(value).__qualname__}"}


def _close(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):  # inf/nan spelled by a hostile sender
        return False
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= ATOL + RTOL * abs(b)


def equal(a, b) -> bool:
    """Two normalized outputs are the same: structure, shape, kind, values within rtol
    1e-4 / atol 1e-5 (NaN equals NaN). Never raises on malformed input (False)."""
    try:
        return _equal(a, b, 0)
    except Exception:  # noqa: BLE001 - parsed from the sandbox: anything may come
        return False


def _equal(a, b, depth) -> bool:
    if depth > MAX_DEPTH + 2:
        return False
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y, depth + 1) for x, y in zip(a, b))
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return False
    if set(a) != set(b):
        return False
    if "dict" in a:
        x, y = a["dict"], b["dict"]
        return isinstance(x, dict) and isinstance(y, dict) and set(x) == set(y) and all(
            _equal(x[k], y[k], depth + 1) for k in x)
    if "shape" in a:
        if a["shape"] != b["shape"] or a["kind"] != b["kind"]:
            return False
        if a["kind"] == "O":
            return _equal(a["values"], b["values"], depth + 1)
        va, vb = a["values"], b["values"]
        if not (isinstance(va, list) and isinstance(vb, list) and len(va) == len(vb)):
            return False
        if not all(_close(x, y) for x, y in zip(va, vb)):
            return False
        # sums of many values: compare relative to their own size (rounding errors add up)
        return all(_close(a.get(k), b.get(k)) or _close_loose(a.get(k), b.get(k)) for k in ("sum", "sq")
                   if k in a or k in b)
    return a == b  # {"error": ...}, {"type": ...}


def _close_loose(a, b) -> bool:
    return (isinstance(a, (int, float)) and isinstance(b, (int, float)) and not math.isnan(a + b)
            and abs(a - b) <= 1e-3 * max(1.0, abs(a), abs(b)))


# --------------------------------------------------------------------------- match

def match(student: list, solution: list, mutants: dict[str, list]) -> tuple[str | None, list[int]]:
    """The matching rule of PROBES_SPEC.md for one solution cell.

    Args:
        student, solution: normalized outputs, one per probe call (None = unknown: the
            probe did not report; such probes are left out of D).
        mutants: mutant name -> its outputs on the same probes.

    Returns:
        (the named mutant or None, D: indices of the probes where the student differs
        from the solution).
    """
    d = [i for i, (s, r) in enumerate(zip(student, solution))
         if s is not None and r is not None and not equal(s, r)]
    if not d:
        return None, d
    hits = []
    for name, outs in mutants.items():
        if len(outs) != len(solution):
            continue
        # where the mutant itself differs from the solution: the student must too (a
        # student who forgot the softmax is not the one who called the library model
        # that also has no softmax but uses other layers)
        dm = [i for i, (o, r) in enumerate(zip(outs, solution)) if o is not None and r is not None and not equal(o, r)]
        if all(outs[i] is not None and student[i] is not None and equal(student[i], outs[i])
               for i in sorted(set(d) | set(dm))):
            hits.append(name)
    return (hits[0] if len(hits) == 1 else None), d


def forbidden_call(error: dict | None) -> str | None:
    """The call named by a ForbiddenCallError in a failed cell's error, else None."""
    if not isinstance(error, dict) or error.get("ename") not in FORBIDDEN_ERRORS:
        return None
    found = re.search(r"`([A-Za-z_][\w.]*(?: op \w+)?)`", str(error.get("evalue", "")))
    return found.group(1)[:200] if found else "chamada proibida"


# --------------------------------------------------------------------------- in the sandbox

_ENVS: dict[str, dict] = {}


def _seed() -> None:
    import random

    import numpy as np

    np.random.seed(0)
    random.seed(0)
    if "keras" in sys.modules:
        try:
            sys.modules["keras"].utils.set_random_seed(0)
        except Exception:  # noqa: BLE001 - an old or partial keras
            pass


def probe_call(ns: dict, key: str, setup: str, call: str, nonce: str) -> None:
    """Run one probe call in (a copy of) the notebook namespace ``ns`` and print its
    normalized output as ``nonce + json + nonce``. ``setup`` runs once per ``key``."""
    text = json.dumps(probe_value(ns, key, setup, call))
    if len(text) > MAX_PROBE_JSON:
        text = json.dumps({"error": "output-too-large"})
    sys.stdout.write(nonce + text + nonce + "\n")


def probe_value(ns: dict, key: str, setup: str, call: str):
    """The normalized output of one probe call (``{"error": name}`` when it raised)."""
    env = _ENVS.get(key)
    if env is None:
        env = dict(ns)
        _seed()
        try:
            exec(compile(setup, "<probe setup>", "exec"), env)  # noqa: S102 - instructor code
        except BaseException as exc:  # noqa: BLE001 - reported as the output
            env = {"__probe_setup_error__": type(exc).__name__}
        _ENVS[key] = env
    if "__probe_setup_error__" in env:
        out = {"error": "setup " + env["__probe_setup_error__"]}
    else:
        _seed()
        try:
            out = normalize(eval(compile(call, "<probe>", "eval"), env))  # noqa: S307 - instructor code
        except BaseException as exc:  # noqa: BLE001 - a crash is an output too
            out = {"error": type(exc).__name__}
    return out


def probe_cells(probes, cells: set[str], variant: str, nonce: str) -> list[tuple[str, int, dict]]:
    """(cell, call index, job cell) for every call of the probes of ``cells``."""
    out = []
    for t, probe in enumerate(probes):
        if probe.cell not in cells:
            continue
        for j, call in enumerate(probe.calls):
            source = ("__import__('autograder.diagnose', fromlist=['probe_call']).probe_call("
                      f"globals(), {variant + ':' + str(t)!r}, {probe.setup!r}, {call!r}, {nonce!r})")
            out.append((probe.cell, j, {"kind": "grade", "source": source, "grade_id": f"probe-{t}-{j}",
                                        "points": 0}))
    return out


def parse_output(text: str, nonce: str):
    """The normalized output a probe cell printed (student-controlled: None when it is
    missing or malformed)."""
    if not isinstance(text, str):
        return None
    end = text.rfind(nonce)
    start = text.rfind(nonce, 0, end) if end > 0 else -1
    if start < 0:
        return None
    body = text[start + len(nonce):end]
    if len(body) > MAX_PROBE_JSON:
        return None
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return value if _well_formed(value, 0) else None


def _well_formed(value, depth) -> bool:
    if depth > MAX_DEPTH + 2:
        return False
    if value is None or isinstance(value, (str, int, float)):
        return True
    if isinstance(value, list):
        return all(_well_formed(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _well_formed(v, depth + 1) for k, v in value.items())
    return False


# --------------------------------------------------------------------------- grading stage

STATS = {"seconds": 0.0, "jobs": 0}  # time spent in probe/reference jobs (this process)
_STATS_LOCK = threading.Lock()


def _timed_run(engine, job, files, wall):
    import time

    start = time.monotonic()
    try:
        return engine.run(job, list(files), cell_timeout=PROBE_CELL_TIMEOUT, wall_timeout=wall)
    finally:
        with _STATS_LOCK:
            STATS["seconds"] += time.monotonic() - start
            STATS["jobs"] += 1


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_MEMO: dict[str, dict] = {}


def _outputs(engine, cells: list[dict], probe_list, nonce: str, files=()) -> dict[str, list]:
    """Run ``cells`` then the probe cells; cell -> outputs in call order (None = unknown)."""
    job = cells + [c for _, _, c in probe_list]
    run = _timed_run(engine, job, files, PROBE_WALL_TIMEOUT)
    return _collect(run, len(cells), probe_list, nonce)


def _collect(run, offset: int, probe_list, nonce: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for k, (cell, _, _) in enumerate(probe_list):
        o = run.cells.get(offset + k)
        out.setdefault(cell, []).append(parse_output(o.output, nonce) if o is not None and o.ok else None)
    return out


def reference_key(a, probes_text: str) -> str:
    return hashlib.sha256((REFERENCE_VERSION + a.key + probes_text).encode()).hexdigest()[:32]


def upto(cells: list[dict], probed: set[str]) -> list[dict]:
    """``cells`` without the grade cells, cut after the last probed solution cell: the
    notebook's later cells (demos, plots, training guarded by HEAVY) are not needed by the
    probes, which only call the functions defined so far."""
    kept = [c for c in cells if c["kind"] != "grade"]
    last = max((i for i, c in enumerate(kept) if c["kind"] == "solution" and c.get("grade_id") in probed),
               default=len(kept) - 1)
    return kept[:last + 1]


def instructor_cells(source_nb) -> list[dict]:
    """The job cells of the solution without the grade cells (locked + solution)."""
    from autograder import notebook as nbtools
    from autograder.run.cells import _python

    sols = nbtools.solution_cells(source_nb)
    cells = []
    for cell in source_nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            continue
        if meta.get("solution"):
            cells.append({"kind": "solution", "source": _python(sols[meta["grade_id"]]),
                          "grade_id": meta["grade_id"], "points": 0})
        else:
            cells.append({"kind": "locked", "source": _python(cell.source), "grade_id": meta.get("grade_id"),
                          "points": 0})
    return cells


def compute_references(engine, source_nb, mutants, probes, files=()) -> dict:
    """{"solution": {cell: outputs}, "mutants": {name: outputs of its cell}} in one
    sandboxed job: the solution's probes, then each mutant put in place, probed, removed."""
    from autograder.run.cells import _python

    nonce = secrets.token_hex(16)
    probed = {p.cell for p in probes}
    base = upto(instructor_cells(source_nb), probed)
    sol_src = {c["grade_id"]: c["source"] for c in base if c["kind"] == "solution"}
    job = list(base)
    plan = []  # (variant, probe_list, index of first probe cell)
    first = probe_cells(probes, probed, "solution", nonce)
    plan.append(("solution", first, len(job)))
    job += [c for _, _, c in first]
    for m in mutants:
        if m.cell not in probed:
            continue
        job.append({"kind": "solution", "source": _python(m.code), "grade_id": m.cell, "points": 0})
        plist = probe_cells(probes, {m.cell}, "m-" + m.name, nonce)
        plan.append((m.name, plist, len(job)))
        job += [c for _, _, c in plist]
        job.append({"kind": "solution", "source": sol_src[m.cell], "grade_id": m.cell, "points": 0})
    run = _timed_run(engine, job, files, max(4 * PROBE_WALL_TIMEOUT, 3 * len(job)))
    ref = {"solution": {}, "mutants": {}}
    for variant, plist, offset in plan:
        outs = _collect(run, offset, plist, nonce)
        if variant == "solution":
            ref["solution"] = outs
        else:
            ref["mutants"][variant] = next(iter(outs.values()), [])
    return ref


def references(engine, a, probes, probes_text: str, cache_dir: Path | None, cells: set[str]) -> dict:
    """The reference outputs of assignment ``a`` for solution ``cells``: each cell computed
    once (per process and per course root: ``<course>/.diagnose/<a>-<key>.json``, hidden
    from the sandbox), only for the cells some student needs (the demo's buggy sample needs
    two cells, not eleven)."""
    key = reference_key(a, probes_text)
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(key, threading.Lock())
    with lock:
        path = cache_dir / f"{a.name}-{key}.json" if cache_dir else None
        ref = _MEMO.get(key)
        if ref is None and path is not None and path.is_file():
            try:
                ref = json.loads(path.read_text(encoding="utf-8"))
                ref = ref if isinstance(ref, dict) and {"solution", "mutants", "cells"} <= set(ref) else None
            except (OSError, ValueError):
                ref = None
        ref = ref or {"solution": {}, "mutants": {}, "cells": []}
        missing = sorted(set(cells) - set(ref["cells"]))
        if missing:
            files = [(p, str(p.relative_to(a.folder))) for p in a.extra]
            part = compute_references(engine, a.source_nbs[a.name], [m for m in a.mutants if m.cell in missing],
                                      [p for p in probes if p.cell in missing], files)
            ref = {"solution": {**ref["solution"], **part["solution"]},
                   "mutants": {**ref["mutants"], **part["mutants"]},
                   "cells": sorted(set(ref["cells"]) | set(missing))}
        # Also on a per-process memo hit: every course root keeps its own cache file.
        if path is not None and (missing or not path.is_file()):
            from autograder.grades.store import atomic_write

            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps(ref))
        _MEMO[key] = ref
        return ref


def _used_names(source: str) -> set[str]:
    import ast

    from autograder.run.cells import _python
    from autograder.run.parse import parse

    try:
        tree = parse(_python(source))
    except (SyntaxError, ValueError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def cell_owners(source_nb) -> dict[str, str]:
    """grade cell id -> the solution cell it tests: of the solution cells above it whose
    functions it uses, the last one (a test of conv_layer_forward may also call
    cross_correlation2d for its expected value); else the nearest solution cell above."""
    from autograder.run.cells import defined_names

    owners, above = {}, []  # above: (grade_id, names it defines), in notebook order
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            above.append((meta.get("grade_id"), defined_names(cell.source)))
        elif meta.get("grade") and above:
            used = _used_names(cell.source)
            hits = [gid for gid, names in above if names & used]
            owners[meta["grade_id"]] = hits[-1] if hits else above[-1][0]
    return owners


def failure_message(outcome, hidden_lines: list[str]) -> str:
    """What a failed grade cell said (pt): the assertion message (expected vs got), the
    error, or why it did not finish; hidden test lines are redacted."""
    from autograder.grades.store import _redact

    if outcome is None:
        return "a célula de teste não foi executada"
    if outcome.problem:
        text = outcome.problem
    elif outcome.error:
        ename = str(outcome.error.get("ename", "Erro"))
        evalue = str(outcome.error.get("evalue", "")).strip()
        text = evalue if ename == "AssertionError" and evalue else f"{ename}: {evalue}" if evalue else ename
    else:
        text = "falhou"
    text = _redact(text, hidden_lines) if hidden_lines else text
    if outcome.error and len(text.strip()) >= 6 and any(text.strip() in line for line in hidden_lines):
        text = "um teste oculto falhou (mensagem omitida)"  # a literal message of a hidden test
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "…"


def load_probes_for(a):
    """(probes, text of mutants.toml) of assignment ``a`` (empty without a file)."""
    from autograder.mutants import load_probes

    path = getattr(a, "mutants_file", None)
    if not path or not Path(path).is_file():
        return [], ""
    return load_probes(Path(path)), Path(path).read_text(encoding="utf-8")


def diagnose(engine, a, nb: str, prep, run, failed_cells: list[str], release_nb, files=()) -> list[dict]:
    """The grading stage: one dict per solution cell the student got wrong (see module
    docstring); runs the probe job when a probed cell with mutants failed."""
    from autograder.grades.store import hidden_test_lines

    if not failed_cells:
        return []
    source_nb = a.source_nbs[nb]
    owners = cell_owners(source_nb)
    hidden = hidden_test_lines(source_nb)
    index_of = {c["grade_id"]: i for i, c in enumerate(prep.cells) if c["kind"] == "grade"}
    by_cell: dict[str, list[str]] = {}
    for g in failed_cells:
        by_cell.setdefault(owners.get(g, ""), []).append(g)
    mutants = a.mutants if nb == a.name else []
    probes, probes_text = load_probes_for(a) if mutants else ([], "")
    stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in release_nb.cells
             if c.metadata.get("nbgrader", {}).get("solution")} if release_nb is not None else {}
    probed = {p.cell for p in probes}
    behaving = {m.cell for m in mutants if not m.forbidden}
    troubled = getattr(run, "wall_timed_out", False) or any(
        getattr(o, "problem", "") for o in getattr(run, "cells", {}).values())
    # A run that hung or crashed is flagged for a person; probing it would hang again.
    to_probe = set() if troubled else {
        c for c in by_cell if c in probed and c in behaving
        and prep.answers.get(c, stubs.get(c, "")).strip() != stubs.get(c, "").strip()}
    named: dict[str, str | None] = {}
    if to_probe:
        ref = references(engine, a, probes, probes_text, a.course / ".diagnose", to_probe)
        nonce = secrets.token_hex(16)
        plist = probe_cells(probes, to_probe, "student", nonce)
        base = upto(prep.cells, to_probe)
        student = _outputs(engine, base, plist, nonce, files)
        for cell in to_probe:
            sol = ref["solution"].get(cell, [])
            cands = {m.name: ref["mutants"].get(m.name, []) for m in mutants if m.cell == cell and not m.forbidden}
            named[cell], _ = match(student.get(cell, []), sol, cands)
    by_name = {m.name: m for m in mutants}
    out = []
    order = [c.metadata["nbgrader"]["grade_id"] for c in source_nb.cells
             if c.metadata.get("nbgrader", {}).get("solution")]
    for cell in sorted(by_cell, key=lambda c: order.index(c) if c in order else len(order)):
        tests = sorted(by_cell[cell], key=lambda g: index_of.get(g, 0))
        failures, forbidden = [], None
        for g in tests:
            o = run.cells.get(index_of.get(g, -1))
            forbidden = forbidden or forbidden_call(o.error if o is not None else None)
            failures.append({"test": g, "message": failure_message(o, hidden)})
        m = by_name.get(named.get(cell) or "")
        out.append({"cell": cell or None, "mutant": m.name if m else None, "title": m.misconception if m else None,
                    "hint": m.hint if m else None, "forbidden": forbidden, "failures": failures})
    return out


# --------------------------------------------------------------------------- requirements

def local_outputs(assignment: str, paths=None, variants: bool = True) -> dict:
    """Run every probe of ``assignment`` in this process (trusted code only: solution,
    mutants, [[correct]] and [[wrong]] answers), reusing one executed namespace.

    Returns:
        {"probes", "mutants", "correct", "wrong", "solution": {cell: outputs},
        "variants": {"m:<name>" | "c:<name>" | "w:<name>": outputs of its cell}}
    """
    import builtins
    import contextlib
    import io
    import os
    import shutil
    import tempfile
    import types
    import warnings

    from autograder import nbgrun
    from autograder import notebook as nbtools
    from autograder.mutants import load_correct_answers, load_mutants, load_probes, load_wrong_answers
    from autograder.paths import Paths
    from autograder.run.cells import _python

    paths = paths or Paths.from_root()
    master = paths.master(assignment)
    source_nb = nbtools.master_to_source(master)
    sols = nbtools.solution_cells(source_nb)
    mfile = paths.mutants_file(assignment)
    mutants = load_mutants(mfile, set(sols), set(nbtools.grade_cells(source_nb)))
    probes = load_probes(mfile, set(sols))
    correct = load_correct_answers(mfile, set(sols))
    wrong = load_wrong_answers(mfile, set(sols), {m.name for m in mutants})
    result = {"probes": probes, "mutants": mutants, "correct": correct, "wrong": wrong,
              "solution": {}, "variants": {}}
    main = types.ModuleType("__main__")
    ns = main.__dict__
    ns["__builtins__"] = builtins
    old_main, old_cwd = sys.modules.get("__main__"), os.getcwd()
    work = Path(tempfile.mkdtemp(prefix="probes-"))
    for p in nbgrun.other_files(master.parent, skip={master.name}):
        dest = work / p.relative_to(master.parent)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest)
    sink = io.StringIO()
    tag = secrets.token_hex(4)

    def run_cell(source: str, name: str) -> None:
        try:
            exec(compile(_python(source), name, "exec"), ns)  # noqa: S102 - trusted masters
        except Exception:  # noqa: BLE001 - a demo cell may fail without a display
            pass

    def outputs(cell: str, variant: str) -> list:
        out = []
        for t, probe in enumerate(probes):
            if probe.cell == cell:
                out += [probe_value(ns, f"{tag}:{variant}:{t}", probe.setup, call) for call in probe.calls]
        return out

    old_env = {k: os.environ.get(k) for k in ("NBGRADER_EXECUTION", "MPLBACKEND")}
    os.environ.update(NBGRADER_EXECUTION="autograde", MPLBACKEND="Agg")  # no training demos
    try:
        sys.modules["__main__"] = main
        os.chdir(work)
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # mutants divide by zero on purpose
            for c in upto(instructor_cells(source_nb), {p.cell for p in probes}):
                run_cell(c["source"], f"<{c['grade_id'] or 'cell'}>")
            for cell in sorted({p.cell for p in probes}):
                result["solution"][cell] = outputs(cell, "solution")
            if variants:
                others = [("m:" + m.name, m.cell, m.code) for m in mutants]
                others += [("c:" + c.name, c.cell, c.code) for c in correct]
                others += [("w:" + w.name, w.cell, w.code) for w in wrong]
                for key, cell, code in others:
                    run_cell(code, f"<{key}>")
                    result["variants"][key] = outputs(cell, key)
                    run_cell(sols[cell], f"<{cell}>")
    finally:
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        os.chdir(old_cwd)
        if old_main is not None:
            sys.modules["__main__"] = old_main
        shutil.rmtree(work, ignore_errors=True)
    return result


def requirement_problems(res: dict) -> list[str]:
    """Requirements 1-4 of PROBES_SPEC.md (plus: matching names each mutant) on the result
    of :func:`local_outputs`; empty when all hold."""
    problems = []
    probed = {p.cell for p in res["probes"]}
    sol = res["solution"]
    for cell in sorted({m.cell for m in res["mutants"]} - probed):
        problems.append(f"1: solution cell {cell!r} has mutants but no [[probe]]")
    by_cell: dict[str, list] = {}
    for m in res["mutants"]:
        if m.cell not in probed:
            continue
        outs = res["variants"].get("m:" + m.name, [])
        diff = [i for i, (o, r) in enumerate(zip(outs, sol[m.cell])) if not equal(o, r)]
        if m.forbidden:  # named by the forbid mechanism, never by behaviour
            continue
        if not diff:
            problems.append(f"2: mutant {m.name!r} equals the solution on every probe of {m.cell!r}")
        by_cell.setdefault(m.cell, []).append((m.name, outs, diff))
    for cell, group in by_cell.items():
        for n1, o1, d1 in group:
            for n2, o2, _ in group:
                if n1 != n2 and d1 and all(equal(o1[i], o2[i]) for i in d1):
                    problems.append(f"3: mutants {n1!r} and {n2!r} ({cell}) are equal on every probe where "
                                    f"{n1!r} differs from the solution")
    for c in res["correct"]:
        if c.cell not in probed:
            continue
        outs = res["variants"].get("c:" + c.name, [])
        diff = [i for i, (o, r) in enumerate(zip(outs, sol[c.cell])) if not equal(o, r)]
        if diff:
            problems.append(f"4: correct answer {c.name!r} differs from the solution on probes {diff} of "
                            f"{c.cell!r}: {[outs[i] for i in diff][:1]} vs {[sol[c.cell][i] for i in diff][:1]}")
    return problems


def predicted_names(res: dict) -> dict[str, str | None]:
    """variant key -> the mutant the matching rule names for it (in-process prediction)."""
    out = {}
    for key, outs in res["variants"].items():
        cell = next((x.cell for x in res["mutants"] + res["correct"] + res["wrong"]
                     if key.split(":", 1)[1] == x.name and key[0] == {"Mutant": "m", "CorrectAnswer": "c",
                                                                     "WrongAnswer": "w"}[type(x).__name__]), None)
        if cell not in res["solution"]:
            out[key] = None
            continue
        cands = {m.name: res["variants"]["m:" + m.name] for m in res["mutants"] if m.cell == cell and not m.forbidden}
        out[key], _ = match(outs, res["solution"][cell], cands)
    return out


def main(argv=None) -> int:
    """``python -m autograder.diagnose A [A...]``: probe requirements in-process."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("assignments", nargs="+")
    args = parser.parse_args(argv)
    bad = 0
    for a in args.assignments:
        start = time.monotonic()
        res = local_outputs(a)
        problems = requirement_problems(res)
        names = predicted_names(res)
        for m in res["mutants"]:
            got = names.get("m:" + m.name)
            want = None if m.forbidden else m.name
            if got != want and m.cell in res["solution"]:
                problems.append(f"match: mutant {m.name!r} would be named as {got!r}")
        for w in res["wrong"]:
            print(f"{a}: wrong {w.name}: names {names.get('w:' + w.name)!r} (expected {w.expect or None!r})")
        print(f"{a}: {len(problems)} problem(s), {time.monotonic() - start:.1f} s")
        for p in problems:
            print("  " + p)
        bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())


# --------------------------------------------------------------------------- hints

_SPAN = re.compile(r"`([^`\n]+)`")


def _leaf(node) -> bool:
    import ast

    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_leaf(e) for e in node.elts)
    return isinstance(node, (ast.Constant, ast.Name)) or (isinstance(node, ast.Attribute) and _leaf(node.value))


def _simple(node) -> bool:
    """A bare (dotted) name, a literal, a subscript of those, or a call/attribute whose
    arguments are only names/literals (``np.sum``, ``x.shape[0]``, ``np.zeros(forma)``)."""
    import ast

    if _leaf(node):
        return True
    if isinstance(node, ast.Attribute):
        return _simple(node.value)
    if isinstance(node, ast.Subscript):
        return _simple(node.value) and _leaf(node.slice)
    if isinstance(node, ast.Call):
        return (_simple(node.func) and all(_leaf(a) for a in node.args)
                and all(k.arg is not None and _leaf(k.value) for k in node.keywords))
    return False


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", text).replace("'", '"')


def hint_code_spans(hint: str) -> list[str]:
    """Backticked spans of a hint that are code worth checking: they parse as Python and
    are not a bare name, a literal or a simple call/attribute (PROBES_SPEC.md)."""
    import ast

    out = []
    for span in _SPAN.findall(hint):
        if "..." in span or "…" in span:
            continue  # a placeholder (`z - ...`), not runnable code
        try:
            tree = ast.parse(span.strip())
        except SyntaxError:
            continue
        body = tree.body
        if len(body) == 1 and isinstance(body[0], ast.Expr) and _simple(body[0].value):
            continue
        if (len(body) == 1 and isinstance(body[0], ast.Assign) and len(body[0].targets) == 1
                and isinstance(body[0].targets[0], ast.Name) and _leaf(body[0].value)):
            continue  # a keyword-like setting: padding="same"
        out.append(span)
    return out


def hint_violations(hint: str, sources: list[str]) -> list[str]:
    """Code spans of ``hint`` found in none of ``sources`` (whitespace-normalized)."""
    pool = [_normal(s) for s in sources]
    return [span for span in hint_code_spans(hint) if not any(_normal(span) in p for p in pool)]
