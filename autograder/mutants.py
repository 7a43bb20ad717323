"""Known wrong answers (``mutants.toml``): load, validate against the source notebook.

Tables: ``[[mutant]]`` (a known mistake; ``forbidden = true`` when its only mistake is a
forbidden call), ``[[correct]]`` (a right answer in another style), ``[[probe]]`` (how
``autograder.diagnose`` looks at what a cell's functions compute) and ``[[wrong]]`` (an
honest mistake that is not a mutant, graded by ``autograder check`` to measure the
diagnosis)."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

from autograder.errors import AutograderError

REQUIRED = {"name": str, "cell": str, "misconception": str, "hint": str, "code": str, "fails": list}
OPTIONAL = {"sample": bool, "forbidden": bool}
TOP_LEVEL = {"mutant", "correct", "probe", "wrong"}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One known wrong answer: ``code`` replaces solution cell ``cell``; exactly the grade
    cells in ``fails`` must then score below their maximum."""

    name: str
    cell: str
    misconception: str
    hint: str
    code: str
    fails: tuple[str, ...]
    sample: bool = False
    forbidden: bool = False  # its only mistake is a forbidden call: behaves like the solution


def load_mutants(path: Path, solution_ids: set[str] | None = None,
                 grade_ids: set[str] | None = None) -> list[Mutant]:
    """Read and validate ``mutants.toml``; a missing file means no mutants.

    Args:
        path: the toml file.
        solution_ids, grade_ids: when given, ``cell`` must be a solution cell id and every
            ``fails`` entry a grade cell id.

    Raises:
        AutograderError: bad TOML, missing/mistyped fields, duplicate names, unknown ids.
    """
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AutograderError(f"{path}: invalid TOML: {exc}") from exc
    unknown_top = set(data) - TOP_LEVEL
    if unknown_top:
        raise AutograderError(
            f"{path}: only [[mutant]], [[correct]], [[probe]] and [[wrong]] tables are allowed. "
            f"Received keys: {sorted(unknown_top)}")
    entries = data.get("mutant", [])
    if not isinstance(entries, list):
        raise AutograderError(f"{path}: 'mutant' must be an array of tables ([[mutant]]).")
    out, names = [], set()
    for i, entry in enumerate(entries):
        where = f"{path.name} mutant #{i + 1} ({entry.get('name', '?')!r})"
        for key, typ in REQUIRED.items():
            if key not in entry:
                raise AutograderError(f"{where}: missing required field {key!r}")
            if not isinstance(entry[key], typ) or (typ is str and not entry[key].strip()):
                raise AutograderError(
                    f"{where}: field {key!r} must be a non-empty {typ.__name__}. Received: {entry[key]!r}"
                )
        for key, typ in OPTIONAL.items():
            if key in entry and not isinstance(entry[key], typ):
                raise AutograderError(f"{where}: field {key!r} must be {typ.__name__}. Received: {entry[key]!r}")
        extra = set(entry) - set(REQUIRED) - set(OPTIONAL)
        if extra:
            raise AutograderError(f"{where}: unknown fields {sorted(extra)}")
        if not _SLUG.match(entry["name"]):
            raise AutograderError(f"{where}: name must be a lowercase slug (a-z, 0-9, -). Received: {entry['name']!r}")
        if entry["name"] in names:
            raise AutograderError(f"{path.name}: mutant names must be unique. Received duplicate: {entry['name']!r}")
        names.add(entry["name"])
        fails = entry["fails"]
        if not fails or not all(isinstance(f, str) for f in fails) or len(set(fails)) != len(fails):
            raise AutograderError(
                f"{where}: 'fails' must be a non-empty list of distinct grade cell ids. Received: {fails!r}"
            )
        if solution_ids is not None and entry["cell"] not in solution_ids:
            raise AutograderError(
                f"{where}: 'cell' must be the grade_id of a solution cell {sorted(solution_ids)}. "
                f"Received: {entry['cell']!r}"
            )
        if grade_ids is not None:
            unknown = [f for f in fails if f not in grade_ids]
            if unknown:
                raise AutograderError(
                    f"{where}: 'fails' names unknown grade cells {unknown}; known: {sorted(grade_ids)}"
                )
        out.append(Mutant(name=entry["name"], cell=entry["cell"], misconception=entry["misconception"].strip(),
                          hint=entry["hint"].strip(), code=entry["code"].strip("\n"),
                          fails=tuple(fails), sample=entry.get("sample", False),
                          forbidden=entry.get("forbidden", False)))
    return out


@dataclasses.dataclass(frozen=True)
class CorrectAnswer:
    """A right answer written in another style than the solution (``[[correct]]`` in
    ``mutants.toml``): ``code`` replaces solution cell ``cell`` and must earn full marks."""

    name: str
    cell: str
    style: str
    code: str


def load_correct_answers(path: Path, solution_ids: set[str] | None = None) -> list[CorrectAnswer]:
    """Read and validate the ``[[correct]]`` tables of ``mutants.toml`` (fields: name, cell,
    style, code); a missing file or no such table means none.

    Raises:
        AutograderError: missing/mistyped/unknown fields, duplicate names, unknown cell ids.
    """
    if not path.is_file():
        return []
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("correct", [])
    except tomllib.TOMLDecodeError as exc:
        raise AutograderError(f"{path}: invalid TOML: {exc}") from exc
    if not isinstance(entries, list):
        raise AutograderError(f"{path}: 'correct' must be an array of tables ([[correct]]).")
    fields = ("name", "cell", "style", "code")
    out, names = [], set()
    for i, entry in enumerate(entries):
        where = f"{path.name} correct answer #{i + 1} ({entry.get('name', '?')!r})"
        for key in fields:
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise AutograderError(f"{where}: field {key!r} must be a non-empty str. Received: {entry.get(key)!r}")
        extra = set(entry) - set(fields)
        if extra:
            raise AutograderError(f"{where}: unknown fields {sorted(extra)}")
        if not _SLUG.match(entry["name"]) or entry["name"] in names:
            raise AutograderError(f"{where}: name must be a unique lowercase slug. Received: {entry['name']!r}")
        names.add(entry["name"])
        if solution_ids is not None and entry["cell"] not in solution_ids:
            raise AutograderError(
                f"{where}: 'cell' must be the grade_id of a solution cell {sorted(solution_ids)}. "
                f"Received: {entry['cell']!r}")
        out.append(CorrectAnswer(name=entry["name"], cell=entry["cell"], style=entry["style"].strip(),
                                 code=entry["code"].strip("\n")))
    return out


def sample_mutants(mutants: list[Mutant], count: int = 2) -> list[Mutant]:
    """The mutants the ``buggy`` sample carries: those flagged ``sample = true``, else the
    first ``count`` touching distinct cells."""
    flagged = [m for m in mutants if m.sample]
    if flagged:
        return flagged
    chosen, cells = [], set()
    for m in mutants:
        if m.cell not in cells:
            chosen.append(m)
            cells.add(m.cell)
        if len(chosen) == count:
            break
    return chosen


def match_mistakes(failed: set[str], mutants: list[Mutant], max_combined: int = 3) -> list[Mutant]:
    """Known mistakes that explain exactly the grade cells a submission failed.

    Not used by grading any more (issue 13: many mistakes fail the same cells, so this
    named unrelated ones): ``autograder.diagnose`` matches on behaviour instead. Kept
    for scripts that want the old cell-set view.

    First the mutants whose ``fails`` equal ``failed`` (all of them: several known
    mistakes can fail the same way). If none, the first (smallest, in file order)
    combination of up to ``max_combined`` mutants on distinct cells whose ``fails`` are
    all within ``failed`` and together equal it: a student can make two known mistakes
    at once, and their failing tests may overlap. Empty: no match.
    """
    import itertools

    failed = set(failed)
    if not failed:
        return []
    exact = [m for m in mutants if set(m.fails) == failed]
    if exact:
        return exact
    candidates = [m for m in mutants if set(m.fails) < failed]
    for size in range(2, max_combined + 1):
        for combo in itertools.combinations(candidates, size):
            if len({m.cell for m in combo}) == size and set().union(*(m.fails for m in combo)) == failed:
                return list(combo)
    return []


def _tables(path: Path, key: str) -> list:
    if not path.is_file():
        return []
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get(key, [])
    except tomllib.TOMLDecodeError as exc:
        raise AutograderError(f"{path}: invalid TOML: {exc}") from exc
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise AutograderError(f"{path}: {key!r} must be an array of tables ([[{key}]]).")
    return entries


@dataclasses.dataclass(frozen=True)
class Probe:
    """How to look at what the functions of solution cell ``cell`` do (``[[probe]]``):
    ``setup`` runs once, each of ``calls`` (a Python expression) is one probe output."""

    cell: str
    calls: tuple[str, ...]
    setup: str = ""


def load_probes(path: Path, solution_ids: set[str] | None = None) -> list[Probe]:
    """Read and validate the ``[[probe]]`` tables of ``mutants.toml`` (fields: cell, calls,
    optional setup). Every call must compile as an expression and setup as statements.

    Raises:
        AutograderError: missing/mistyped/unknown fields, unknown cell ids, code that does
            not compile.
    """
    out = []
    for i, entry in enumerate(_tables(path, "probe")):
        where = f"{path.name} probe #{i + 1} (cell {entry.get('cell', '?')!r})"
        extra = set(entry) - {"cell", "calls", "setup"}
        if extra:
            raise AutograderError(f"{where}: unknown fields {sorted(extra)}; allowed: cell, calls, setup")
        if not isinstance(entry.get("cell"), str) or not entry["cell"].strip():
            raise AutograderError(f"{where}: field 'cell' must be a non-empty str. Received: {entry.get('cell')!r}")
        if solution_ids is not None and entry["cell"] not in solution_ids:
            raise AutograderError(f"{where}: 'cell' must be the grade_id of a solution cell {sorted(solution_ids)}. "
                                  f"Received: {entry['cell']!r}")
        calls = entry.get("calls")
        if not isinstance(calls, list) or not calls or not all(isinstance(c, str) and c.strip() for c in calls):
            raise AutograderError(f"{where}: 'calls' must be a non-empty list of Python expressions (str). "
                                  f"Received: {calls!r}")
        setup = entry.get("setup", "")
        if not isinstance(setup, str):
            raise AutograderError(f"{where}: 'setup' must be a str of Python statements. Received: {setup!r}")
        for n, call in enumerate(calls):
            try:
                compile(call.strip(), f"<probe {entry['cell']} #{n}>", "eval")
            except SyntaxError as exc:
                raise AutograderError(f"{where}: call #{n + 1} must be one Python expression. "
                                      f"Received: {call!r} ({exc.msg})") from exc
        try:
            compile(setup, f"<probe setup {entry['cell']}>", "exec")
        except SyntaxError as exc:
            raise AutograderError(f"{where}: 'setup' does not compile ({exc.msg} at line {exc.lineno})") from exc
        out.append(Probe(cell=entry["cell"], calls=tuple(c.strip() for c in calls), setup=setup.strip("\n")))
    return out


@dataclasses.dataclass(frozen=True)
class WrongAnswer:
    """An honest wrong answer that is not a mutant (``[[wrong]]``): ``code`` replaces
    solution cell ``cell``; the feedback should name mutant ``expect`` ("" = none)."""

    name: str
    cell: str
    code: str
    expect: str = ""


def load_wrong_answers(path: Path, solution_ids: set[str] | None = None,
                       mutant_names: set[str] | None = None) -> list[WrongAnswer]:
    """Read and validate the ``[[wrong]]`` tables of ``mutants.toml`` (fields: name, cell,
    code, expect).

    Raises:
        AutograderError: missing/mistyped/unknown fields, duplicate names, unknown cell ids
            or an ``expect`` that names no mutant.
    """
    out, names = [], set()
    for i, entry in enumerate(_tables(path, "wrong")):
        where = f"{path.name} wrong answer #{i + 1} ({entry.get('name', '?')!r})"
        extra = set(entry) - {"name", "cell", "code", "expect"}
        if extra:
            raise AutograderError(f"{where}: unknown fields {sorted(extra)}")
        for key in ("name", "cell", "code"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise AutograderError(f"{where}: field {key!r} must be a non-empty str. Received: {entry.get(key)!r}")
        expect = entry.get("expect", "")
        if not isinstance(expect, str):
            raise AutograderError(f"{where}: 'expect' must be a mutant name or \"\". Received: {expect!r}")
        if not _SLUG.match(entry["name"]) or entry["name"] in names:
            raise AutograderError(f"{where}: name must be a unique lowercase slug. Received: {entry['name']!r}")
        names.add(entry["name"])
        if solution_ids is not None and entry["cell"] not in solution_ids:
            raise AutograderError(f"{where}: 'cell' must be the grade_id of a solution cell {sorted(solution_ids)}. "
                                  f"Received: {entry['cell']!r}")
        if expect and mutant_names is not None and expect not in mutant_names:
            raise AutograderError(f"{where}: 'expect' must name a [[mutant]] or be \"\". Received: {expect!r}")
        out.append(WrongAnswer(name=entry["name"], cell=entry["cell"], code=entry["code"].strip("\n"), expect=expect))
    return out
