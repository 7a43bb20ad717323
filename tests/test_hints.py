"""Static checks of every mutants.toml (issue 13): hints never recommend code that the
solution (or a [[correct]] answer proved by `autograder check`) does not use, and the
[[probe]] / [[wrong]] tables are well formed against the master notebook."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder import notebook as nbtools
from autograder.diagnose import hint_code_spans, hint_violations
from autograder.mutants import load_correct_answers, load_mutants, load_probes, load_wrong_answers

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.parent.name for p in (REPO / "autograder" / "mutants").glob("*/mutants.toml"))


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def assignment(request):
    a = request.param
    source_nb = nbtools.master_to_source(REPO / "solutions" / a / f"{a}.py")
    path = REPO / "autograder" / "mutants" / a / "mutants.toml"
    sols = nbtools.solution_cells(source_nb)
    mutants = load_mutants(path, set(sols), set(nbtools.grade_cells(source_nb)))
    return {"name": a, "path": path, "solutions": sols, "mutants": mutants,
            "correct": load_correct_answers(path, set(sols))}


def test_nine_assignments_have_mutants():
    assert len(ASSIGNMENTS) == 9, f"esperados 9 mutants.toml, obtidos {ASSIGNMENTS}"


def test_hints_recommend_only_code_that_passes(assignment):
    bad = []
    for m in assignment["mutants"]:
        sources = [assignment["solutions"][m.cell]] + [c.code for c in assignment["correct"] if c.cell == m.cell]
        for span in hint_violations(m.hint, sources):
            bad.append(f"{m.name}: `{span}`")
    assert not bad, (f"{assignment['name']}: dicas com código que não aparece na solução nem numa resposta "
                     f"[[correct]] da mesma célula (reescreva a dica ou acrescente um [[correct]]): {bad}")


def test_hints_differ_from_the_misconception(assignment):
    for m in assignment["mutants"]:
        assert m.hint.strip() and m.hint.strip() != m.misconception.strip(), \
            f"{m.name}: a dica deve existir e diferir do misconception. Obtido: {m.hint!r}"


def test_probe_and_wrong_tables_are_well_formed(assignment):
    """load_probes / load_wrong_answers validate: the cell exists, calls compile as
    expressions, setup compiles, expect names a mutant."""
    probes = load_probes(assignment["path"], set(assignment["solutions"]))
    wrong = load_wrong_answers(assignment["path"], set(assignment["solutions"]),
                               {m.name for m in assignment["mutants"]})
    for p in probes:
        assert p.calls, f"{assignment['name']}: probe de {p.cell!r} sem chamadas"
    for w in wrong:
        assert w.code.strip() != assignment["solutions"][w.cell].strip(), \
            f"{assignment['name']}: resposta errada {w.name!r} é igual à solução"
    forbidden = [m for m in assignment["mutants"] if m.forbidden]
    for m in forbidden:
        assert m.cell in assignment["solutions"], m


@pytest.mark.parametrize("hint, spans", [
    ("Use `np.sum` e `x.shape[0]` com `stride` e `padding=\"same\"`.", []),
    ("Crie com `np.zeros(forma)`, não com o dtype de `x`.", []),
    ("Conte com `cm[y_true, y_pred] += 1`.", ["cm[y_true, y_pred] += 1"]),
    ("Calcule `e = np.exp(z - z.max(axis=-1, keepdims=True))` e `z - ...`.",
     ["e = np.exp(z - z.max(axis=-1, keepdims=True))"]),
    ("Prosa `K_h·K_w` não é código; `(a + b) / 2` é.", ["(a + b) / 2"]),
])
def test_hint_code_spans(hint, spans):
    assert hint_code_spans(hint) == spans, f"esperado {spans}, obtido {hint_code_spans(hint)}"


def test_hint_rule_flags_the_known_bad_recipe():
    solution = ("cm = np.zeros((num_classes, num_classes), dtype=np.int64)\n"
                "np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)")
    assert hint_violations("Use `cm[y_true, y_pred] += 1`.", [solution]) == ["cm[y_true, y_pred] += 1"]
    assert hint_violations("Use `np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)`.", [solution]) == []
    assert hint_violations("Use `np.add.at( cm,(np.asarray(y_true),np.asarray(y_pred)),1 )`.", [solution]) == [], \
        "espaços não contam"


def test_every_mutant_owns_one_of_its_failing_tests(assignment):
    """The diagnosis probes a solution cell only when a test it owns failed
    (autograder.diagnose.cell_owners): a mutant whose failing tests all belong to other
    cells could never be named."""
    from autograder.diagnose import cell_owners

    a = assignment["name"]
    owners = cell_owners(nbtools.master_to_source(REPO / "solutions" / a / f"{a}.py"))
    orphans = [(m.name, m.cell, {g: owners.get(g) for g in m.fails}) for m in assignment["mutants"]
               if not any(owners.get(g) == m.cell for g in m.fails)]
    assert not orphans, f"{a}: mutantes sem teste próprio entre os que falham: {orphans}"
