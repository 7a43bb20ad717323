"""Feedback that names the right mistake (issue 13, autograder/diagnose.py).

Pure parts (normalize / equal / match / parse / forbidden naming) first, then one grading
run of the fixture assignment through the real sandbox, then the probe requirements of
PROBES_SPEC.md for notebooks 01-03 in-process (04-09: `autograder check` covers them)."""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest

from autograder import diagnose as dg
from autograder import notebook as nbtools
from autograder.mutants import Mutant
from autograder.run.engine import CellOutcome, RunOutcome

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "autograder"
A = "00-fixture"


# --------------------------------------------------------------------------- normalize / equal

def n(v):
    return json.loads(json.dumps(dg.normalize(v)))  # what comes back through the sandbox


def test_int_and_float_differ_but_close_floats_match():
    assert not dg.equal(n(5), n(5.0)), "5 e 5.0 devem diferir (tipo 'i' vs 'f')"
    assert dg.equal(n(np.int32(7)), n(7)), "inteiros NumPy e Python são o mesmo tipo 'i'"
    assert dg.equal(n(1.0), n(1.0 + 5e-5)), "diferença relativa 5e-5 < rtol 1e-4 deve ser igual"
    assert not dg.equal(n(1.0), n(1.001)), "diferença relativa 1e-3 deve diferir"
    assert dg.equal(n(float("nan")), n(float("nan"))), "NaN == NaN na comparação de sondas"
    assert not dg.equal(n(float("inf")), n(1e308)), "inf difere de um número finito"


def test_arrays_shape_kind_and_sampling():
    a = np.arange(10_000, dtype=np.float64).reshape(100, 100)
    out = n(a)
    assert (out["shape"], out["kind"], len(out["values"])) == ([100, 100], "f", dg.MAX_VALUES), out["shape"]
    assert out["sum"] == pytest.approx(a.sum()), (out["sum"], a.sum())
    b = a.copy()
    b[50, 50] += 1e5  # not sampled (shows only in sum/sq, compared within 1e-3 relative)
    assert not dg.equal(out, n(b)), "uma mudança fora da amostra deve aparecer em sum/sq"
    assert not dg.equal(n(a), n(a.T.copy().reshape(100, 100)[:, ::-1])), "valores diferentes"
    assert not dg.equal(n(np.zeros((2, 3))), n(np.zeros((3, 2)))), "formas diferentes"
    assert not dg.equal(n(np.zeros(3, np.uint8)), n(np.zeros(3))), "uint8 ('i') vs float ('f')"
    assert dg.equal(n(np.zeros(3, np.uint8)), n(np.zeros(3, np.int64))), "uint e int são ambos 'i'"
    assert n(np.array([True, False]))["kind"] == "b"


def test_structures_tensors_and_other_objects():
    class FakeTensor:
        def numpy(self):
            return np.ones((2, 2), np.float32)

    out = n((1, [2.0, None], {"a": "x"}, FakeTensor(), object()))
    assert out[0]["kind"] == "i" and out[1][1] is None and out[2] == {"dict": {"a": "x"}}, out
    assert out[3]["shape"] == [2, 2] and out[3]["kind"] == "f", out[3]
    assert out[4] == {"type": "builtins.object"}, out[4]
    assert not dg.equal(n((1, 2)), n((1, 2, 3))), "tamanhos diferentes"
    assert not dg.equal(n({"a": 1}), n({"b": 1})), "chaves diferentes"
    assert dg.equal({"error": "IndexError"}, {"error": "IndexError"})
    assert not dg.equal({"error": "IndexError"}, {"error": "ValueError"})


def test_equal_never_raises_on_hostile_input():
    junk = [{"shape": "x", "kind": 1}, {"shape": [1], "kind": "f", "values": "abc"}, [[[]]], 3, "s",
            {"dict": 5}, {"shape": [1], "kind": "f", "values": [None]}]
    for a in junk:
        for b in junk:
            assert dg.equal(a, b) in (True, False)


# --------------------------------------------------------------------------- match

def test_match_rule():
    sol = [n(1), n(2), n(3)]
    m1 = [n(0), n(2), n(3)]       # wrong on probe 0
    m2 = [n(5), n(9), n(3)]       # wrong on 0 and 1 (differs from m1 where m1 is wrong: requirement 3)
    assert dg.match(list(sol), sol, {"m1": m1, "m2": m2}) == (None, []), "igual à solução: ninguém"
    assert dg.match(m1, sol, {"m1": m1, "m2": m2}) == ("m1", [0])
    assert dg.match(m2, sol, {"m1": m1, "m2": m2}) == ("m2", [0, 1])
    other = [n(0), n(7), n(3)]  # m1's mistake plus another one
    assert dg.match(other, sol, {"m1": m1, "m2": m2}) == (None, [0, 1]), "nenhum mutante igual em D"
    assert dg.match(m1, sol, {"m1": m1, "twin": list(m1)}) == (None, [0]), "dois candidatos: ninguém"
    m3 = [n(0), n(2), n(8)]       # m1's output on probe 0, but also wrong on probe 2
    assert dg.match(m1, sol, {"m3": m3}) == (None, [0]), \
        "m3 difere da solução onde o aluno não difere: não é o erro do aluno"
    unknown = [None, n(2), n(3)]
    assert dg.match(unknown, sol, {"m1": m1}) == (None, []), "sonda sem resposta fica fora de D"


def test_forbidden_call_only_from_the_forbid_error():
    err = {"ename": "ForbiddenCallError", "evalue": "Chamada proibida: `scipy.signal.correlate2d`. Este..."}
    assert dg.forbidden_call(err) == "scipy.signal.correlate2d"
    assert dg.forbidden_call({"ename": "AssertionError", "evalue": "Chamada proibida: `x.y`"}) is None, \
        "uma AssertionError comum nunca acusa chamada proibida"
    assert dg.forbidden_call(None) is None and dg.forbidden_call("texto") is None


# --------------------------------------------------------------------------- parse

def test_parse_output_is_defensive():
    nonce = "abc123"
    good = {"shape": [], "kind": "i", "values": [3], "sum": 3, "sq": 9}
    text = f"lixo{nonce}{json.dumps(good)}{nonce}\n"
    assert dg.parse_output(text, nonce) == good
    assert dg.parse_output("print do aluno " + text, nonce) == good
    assert dg.parse_output("sem marcador", nonce) is None
    assert dg.parse_output(f"{nonce}{{nao json{nonce}", nonce) is None
    assert dg.parse_output(f"{nonce}{'[' * 5000}{nonce}", nonce) is None
    assert dg.parse_output(f"{nonce}\"x\"{nonce}" * 2 + "x" * (dg.MAX_PROBE_JSON + 10), nonce) == "x"
    assert dg.parse_output(f"{nonce}{'1' * (dg.MAX_PROBE_JSON + 1)}{nonce}", nonce) is None
    assert dg.parse_output(None, nonce) is None


# --------------------------------------------------------------------------- diagnose() on a run

def _fixture_assignment(tmp_path, mutants):
    src = nbtools.master_to_source(FIXTURE / "solutions" / A / f"{A}.py")
    return types.SimpleNamespace(name=A, source_nbs={A: src}, mutants=mutants, course=tmp_path,
                                 mutants_file=None, key="k", extra=[], folder=FIXTURE / "solutions" / A), src


def test_diagnosis_names_forbidden_call_only_when_caught(tmp_path):
    forbidden = Mutant("calls-lib", "output_size", "x", "dica", "def output_size(*a): pass",
                       ("test_output_size_valid",), forbidden=True)
    a, src = _fixture_assignment(tmp_path, [forbidden])
    cells = [{"kind": "grade", "grade_id": g, "source": "", "points": 1}
             for g in ("test_output_size_valid", "test_output_size_stride")]
    prep = types.SimpleNamespace(cells=cells, answers={})
    caught = RunOutcome({0: CellOutcome(0, False, {"ename": "ForbiddenCallError",
                                                   "evalue": "Chamada proibida: `numpy.convolve`. Faça do zero."}),
                         1: CellOutcome(1, False, {"ename": "AssertionError", "evalue": "esperado 4, obtido 3"})},
                        [], 0.0)
    diag = dg.diagnose(None, a, A, prep, caught, ["test_output_size_valid", "test_output_size_stride"], None)
    assert diag == [{"cell": "output_size", "mutant": None, "title": None, "hint": None,
                     "forbidden": "numpy.convolve",
                     "failures": [{"test": "test_output_size_valid",
                                   "message": "ForbiddenCallError: Chamada proibida: `numpy.convolve`. Faça do zero."},
                                  {"test": "test_output_size_stride", "message": "esperado 4, obtido 3"}]}], diag
    same_cells = RunOutcome({0: CellOutcome(0, False, {"ename": "AssertionError", "evalue": "esperado 254, obtido 1"})},
                            [], 0.0)
    diag = dg.diagnose(None, a, A, prep, same_cells, ["test_output_size_valid"], None)
    assert [d["forbidden"] for d in diag] == [None], \
        f"falhar as mesmas células de um mutante proibido não é acusação: {diag}"


def test_no_probe_job_for_a_run_that_hung(tmp_path):
    """A student whose grading run hung or crashed is flagged for a person; the diagnosis
    lists the failures without probing (a probe would hang again). engine=None proves no
    job is started."""
    from autograder.mutants import load_mutants

    a, _ = _fixture_assignment(tmp_path, load_mutants(FIXTURE / "mutants" / A / "mutants.toml"))
    a.mutants_file = FIXTURE / "mutants" / A / "mutants.toml"
    cells = [{"kind": "solution", "grade_id": "output_size", "source": "def output_size(*a):\n    while True: pass"},
             {"kind": "grade", "grade_id": "test_output_size_valid", "source": "", "points": 1}]
    prep = types.SimpleNamespace(cells=cells, answers={"output_size": cells[0]["source"]})
    hung = RunOutcome({1: CellOutcome(1, False, problem="passou do tempo limite de 4 s")}, [], 9.0)
    diag = dg.diagnose(None, a, A, prep, hung, ["test_output_size_valid"], None)
    failures = [{"test": "test_output_size_valid", "message": "passou do tempo limite de 4 s"}]
    assert diag == [{"cell": "output_size", "mutant": None, "title": None, "hint": None, "forbidden": None,
                     "failures": failures}], diag


def test_cell_owners_follow_notebook_order():
    src = nbtools.master_to_source(FIXTURE / "solutions" / A / f"{A}.py")
    assert dg.cell_owners(src) == {"test_output_size_valid": "output_size", "test_output_size_stride": "output_size",
                                   "test_relu_values": "relu", "test_conv_params_lecture": "conv_params",
                                   "test_conv_params_hidden": "conv_params"}


# --------------------------------------------------------------------------- end to end (sandbox)

STUDENTS = {
    "hw": {"output_size": "def output_size(w_in, k, p, s):\n    return (w_in - k + p) // s + 1\n"},
    "other": {"output_size": "def output_size(w_in, k, p, s):\n    print('noise' * 10)\n    return 7\n"},
    "hidden": {"conv_params": "def conv_params(k, c_in, filters):\n"
                              "    return 2 if k == 1 else filters * (k * k * c_in + 1) - (k == 5)\n"},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.build import make_release, samples
    from autograder.grade import grade_submissions
    from autograder.paths import Paths

    root = tmp_path_factory.mktemp("diag")
    paths = Paths(solutions=FIXTURE / "solutions", mutants=FIXTURE / "mutants", notebooks=root / "nb",
                  samples=root / "samples", course=root / "course")
    prepared = make_release(paths.course, paths, A)
    source_nb, release_nb, _, mutants = prepared
    cases = samples(source_nb, release_nb, mutants)
    sols = nbtools.solution_cells(source_nb)
    for name, cells in STUDENTS.items():
        cases[name] = nbtools.with_cells(release_nb, {**sols, **cells})
    for name, nb in cases.items():
        nbtools.write(nb, root / "subs" / name / f"{A}.ipynb")
    results = grade_submissions(A, root / "subs", paths, feedback=False, prepared=prepared, jobs=2,
                                out=lambda *x: None)
    return {r.student: r for r in results}, paths.course


def test_e2e_buggy_sample_names_both_injected_mutants(graded):
    res, _ = graded
    buggy = res["buggy"]
    assert [(d["cell"], d["mutant"]) for d in buggy.diagnosis] == \
        [("output_size", "off-by-one-size"), ("conv_params", "forgets-bias")], buggy.diagnosis
    assert [m.name for m in buggy.mistakes] == ["off-by-one-size", "forgets-bias"], buggy.mistakes
    first = buggy.diagnosis[0]
    assert first["hint"] == "A fórmula é (W - K + 2P) / S + 1: não esqueça o +1." and first["forbidden"] is None
    assert first["failures"] == [{"test": "test_output_size_valid", "message": "esperado 254, obtido 253"},
                                 {"test": "test_output_size_stride", "message": "esperado 4, obtido 3"}], first


def test_e2e_same_failed_cells_different_behaviour(graded):
    res, _ = graded
    assert [(d["cell"], d["mutant"]) for d in res["hw"].diagnosis] == [("output_size", "padding-one-side")], \
        res["hw"].diagnosis
    other = res["other"]
    assert [(d["cell"], d["mutant"], d["hint"]) for d in other.diagnosis] == [("output_size", None, None)], \
        f"resposta que falha as mesmas células de off-by-one-size mas se comporta diferente: {other.diagnosis}"
    assert other.mistakes == [] and [f["message"] for f in other.diagnosis[0]["failures"]] == \
        ["esperado 254, obtido 7", "esperado 4, obtido 7"], other.diagnosis


def test_e2e_controls_and_hidden_messages(graded):
    res, course = graded
    assert res["perfect"].diagnosis == [] and res["perfect"].mistakes == []
    assert [(d["cell"], d["mutant"], d["forbidden"]) for d in res["untouched"].diagnosis] == \
        [("output_size", None, None), ("relu", None, None), ("conv_params", None, None)], res["untouched"].diagnosis
    hidden = res["hidden"].diagnosis
    assert [(d["cell"], d["mutant"]) for d in hidden] == [("conv_params", None)], hidden
    assert "segredo_oculto" not in json.dumps(hidden, ensure_ascii=False), \
        f"mensagem literal de teste oculto vazou para o diagnóstico: {hidden}"
    cached = list((course / ".diagnose").glob(f"{A}-*.json"))
    assert len(cached) == 1, f"referências deveriam ficar em cache na raiz do curso: {cached}"
    ref = json.loads(cached[0].read_text())
    assert sorted(ref["mutants"]) == ["forgets-bias", "off-by-one-size", "padding-one-side"], sorted(ref["mutants"])
    assert ref["cells"] == ["conv_params", "output_size"], f"só as células que algum aluno precisou: {ref['cells']}"
    assert res["buggy"].to_json()["diagnosis"] == res["buggy"].diagnosis, "o registro guarda o diagnóstico"


# --------------------------------------------------------------------------- requirements 1-4

@pytest.mark.slow
@pytest.mark.parametrize("assignment", ["01-convolucao", "02-camada-convolucional", "03-pooling-softmax-lenet"])
def test_probe_requirements_in_process(assignment):
    """PROBES_SPEC.md requirements 1-4, and the matching rule names every mutant exactly
    (forbidden ones: none); 04-09 are proved by `autograder check` in the sandbox."""
    res = dg.local_outputs(assignment)
    problems = dg.requirement_problems(res)
    names = dg.predicted_names(res)
    for m in res["mutants"]:
        want = None if m.forbidden else m.name
        if names.get("m:" + m.name) != want:
            problems.append(f"mutante {m.name}: esperado {want!r}, obtido {names.get('m:' + m.name)!r}")
    for c in res["correct"]:
        if names.get("c:" + c.name) is not None:
            problems.append(f"resposta correta {c.name} nomeada como {names['c:' + c.name]!r}")
    assert not problems, f"{assignment}:\n" + "\n".join(problems)
    errors = [(cell, o) for cell, outs in res["solution"].items() for o in outs
              if isinstance(o, dict) and "error" in o and o["error"] != "ValueError"]
    assert not errors, f"{assignment}: a solução não deveria falhar nas sondas (só ValueError de contrato): {errors}"


# --------------------------------------------------------------------------- loading

@pytest.mark.parametrize("text, message", [
    ('[[probe]]\ncell = "nope"\ncalls = ["f(1)"]\n',
     r"'cell' must be the grade_id of a solution cell .* Received: 'nope'"),
    ('[[probe]]\ncell = "relu"\ncalls = []\n', "'calls' must be a non-empty list"),
    ('[[probe]]\ncell = "relu"\ncalls = ["x = 1"]\n', "call #1 must be one Python expression"),
    ('[[probe]]\ncell = "relu"\ncalls = ["relu(1)"]\nsetup = "def (:"\n', "'setup' does not compile"),
    ('[[probe]]\ncell = "relu"\ncalls = ["relu(1)"]\ncolour = 1\n', r"unknown fields \['colour'\]"),
    ('[[wrong]]\nname = "w"\ncell = "relu"\ncode = "x"\nexpect = "nobody"\n', "'expect' must name a"),
    ('[[wrong]]\nname = "W W"\ncell = "relu"\ncode = "x"\n', "unique lowercase slug"),
    ('[[other]]\n', r"only \[\[mutant\]\], \[\[correct\]\], \[\[probe\]\] and \[\[wrong\]\]"),
])
def test_probe_and_wrong_validation_errors(tmp_path, text, message):
    from autograder.errors import AutograderError
    from autograder.mutants import load_mutants, load_probes, load_wrong_answers

    path = tmp_path / "mutants.toml"
    path.write_text(text)
    ids = {"relu", "output_size", "conv_params"}
    with pytest.raises(AutograderError, match=message):
        load_mutants(path)
        load_probes(path, ids)
        load_wrong_answers(path, ids, {"m1"})
