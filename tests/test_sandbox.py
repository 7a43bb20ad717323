"""Fast unit tests of the grader's run layer: the definitions-only filter, the integrity
snapshot, the static review, cell matching by grade_id, safe student ids, and what the
grader says where it is not root."""

from __future__ import annotations

import copy
import sys

import nbformat
import numpy as np
import pytest

from autograder.grades.store import safe_id
from autograder.run import cells as cellmod
from autograder.run import sandbox
from autograder.run.harness import CappedText, Integrity, definitions_only
from autograder.run.scan import scan


def test_definitions_only_keeps_definitions_and_constants():
    src = ("import numpy as np\nfrom math import sqrt\nK = 3\nW = np.array([[1, 2], [3, 4]], dtype=float)\n"
           "SIZES = (1, 2, 3)\n@np.vectorize\ndef f(x, k=K):\n    return x * k\nclass C:\n    y = 1\n"
           "print('topo')\nget_ipython().input_transformers_post.append(lambda l: ['pass'])\n"
           "np.allclose = lambda *a, **k: True\nwhile True:\n    pass\nT = {k: k for k in range(3)}\n"
           "X = f(2)\nraise NotImplementedError()\n")
    out, dropped = definitions_only(src)
    ns = {}
    exec(out, ns)  # must not loop, patch NumPy or print
    assert ns["K"] == 3 and ns["W"].shape == (2, 2) and ns["f"](2) == 6 and ns["C"].y == 1
    assert np.allclose.__module__.startswith("numpy"), "the patch of NumPy must have been dropped"
    assert [line for line, _ in dropped] == [11, 12, 13, 14, 16, 17, 18], dropped
    assert dropped[0] == (11, "print('topo')"), dropped


def test_definitions_only_leaves_syntax_errors_to_the_run():
    out, dropped = definitions_only("def f(:\n    pass")
    assert (out, dropped) == ("def f(:\n    pass", [])


def test_integrity_restores_patched_modules_and_reports_them():
    import numpy.testing

    integrity = Integrity()
    original = numpy.testing.assert_allclose
    numpy.testing.assert_allclose = lambda *a, **k: None
    try:
        changed = integrity.restore()
    finally:
        numpy.testing.assert_allclose = original
    assert "numpy.testing.assert_allclose" in changed, changed
    assert numpy.testing.assert_allclose is original


def test_capped_text_keeps_the_limit_and_counts_the_rest():
    buf = CappedText(10)
    buf.write("a" * 8)
    buf.write("b" * 100)
    assert buf.getvalue().startswith("aaaaaaaabb\n[saída truncada: 98 caracteres omitidos]"), buf.getvalue()


@pytest.mark.parametrize("source, expected", [
    ("def f(x):\n    import sys\n    return sys._getframe(1).f_locals['expected']", "_getframe"),
    ("class A:\n    def __eq__(self, o):\n        return True", "__eq__"),
    ("import numpy as np\ndef f():\n    np.allclose = lambda *a: True", "altera um módulo importado"),
    ("def f():\n    try:\n        g()\n    except AssertionError:\n        pass", "AssertionError"),
    ("def f():\n    import subprocess", "subprocess"),
])
def test_scan_flags_reach_arounds(source, expected):
    found = scan(source)
    assert any(expected in f for f in found), f"esperado {expected!r} em {found}"


def test_scan_leaves_an_honest_answer_alone():
    honest = ("import numpy as np\ndef conv(x, k, stride=1):\n    out = np.zeros((3, 3))\n"
              "    for i in range(3):\n        out[i] = (x[i:i + 2] * k).sum()\n    return out\n")
    assert scan(honest) == []


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _cell(source, **meta):
    cell = nbformat.v4.new_code_cell(source)
    if meta:
        cell.metadata["nbgrader"] = meta
    return cell


@pytest.fixture
def source_release():
    source = _nb(_cell("import numpy as np"),
                 _cell("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                       grade_id="f", solution=True, grade=False),
                 _cell("assert f(1) == 2", grade_id="test_f", grade=True, points=1))
    release = copy.deepcopy(source)
    release.cells[1].source = "def f(x):\n    # SEU CÓDIGO AQUI\n    raise NotImplementedError()"
    return source, release


def test_cells_match_by_grade_id_whatever_the_student_did(source_release, tmp_path):
    source, release = source_release
    answer = "def f(x):\n    return x + x"
    student = copy.deepcopy(release)
    student.cells = [student.cells[2], copy.deepcopy(student.cells[1]), student.cells[1], student.cells[0]]
    student.cells[2].source = answer
    student.cells[0].source = "pass"  # edited test
    path = tmp_path / "a.ipynb"
    nbformat.write(student, path)
    prep = cellmod.prepare(source, release, path)
    assert prep.answers == {"f": answer}
    assert [c["kind"] for c in prep.cells] == ["locked", "solution", "grade"]
    assert prep.cells[2]["source"].strip() == "assert f(1) == 2", "the instructor's test must run"
    text = "; ".join(prep.notes)
    assert "aparece 2 vezes" in text and "editadas e restauradas: test_f" in text and "fora da ordem" in text, text


def test_cells_pasted_without_metadata_and_damaged_metadata(source_release, tmp_path):
    source, release = source_release
    path = tmp_path / "fresh.ipynb"
    nbformat.write(_nb(nbformat.v4.new_code_cell("def f(x):\n    return 2 * x")), path)
    prep = cellmod.prepare(source, release, path)
    assert prep.answers == {"f": "def f(x):\n    return 2 * x"}, prep.answers
    assert any("sem metadados" in n for n in prep.notes), prep.notes
    damaged = copy.deepcopy(release)
    damaged.cells[1].metadata["nbgrader"]["grade_id"] = ["f"]
    damaged.cells[1].source = "def f(x):\n    return 2 * x"
    damaged.cells[2].metadata["nbgrader"] = "quebrado"
    nbformat.write(damaged, path)
    prep = cellmod.prepare(source, release, path)
    assert prep.answers["f"].endswith("return 2 * x") and prep.fatal is None
    assert any("escrito como lista" in n for n in prep.notes), prep.notes
    path.write_text("{ not json", encoding="utf-8")
    assert "JSON" in cellmod.prepare(source, release, path).fatal


@pytest.mark.parametrize("folder", ["ana", "Maria da Silva", "José Ñúñez", "李雷", "a/b", "..", "x" * 300])
def test_safe_id_is_safe_distinct_and_stable(folder):
    sid = safe_id(folder)
    assert sid == safe_id(folder)
    assert sid[0].isalnum() and all(c.isalnum() or c in "_.@+-" for c in sid) and len(sid) <= 64, sid
    assert sid.isascii()
    if folder == "ana":
        assert sid == "ana"
    assert safe_id(folder + " ") != sid


def test_not_root_names_every_missing_protection(monkeypatch):
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    missing = sandbox.missing_protections()
    text = "\n".join(missing)
    for word in ("usuário separado", "rede", "montagem", "PID", "memória"):
        assert word in text, f"{word!r} não citado em {missing}"


def test_keep_paths_are_the_interpreter_prefixes():
    kept = [str(p) for p in sandbox.keep_paths()]
    assert kept and all(p.startswith((sys.base_prefix, sys.prefix)) or p in
                        (str(__import__("pathlib").Path(sys.base_prefix).resolve()),
                         str(__import__("pathlib").Path(sys.prefix).resolve())) for p in kept), kept


def test_keep_paths_bring_back_a_checkout_that_sits_under_a_hidden_folder(tmp_path):
    """A clone under /tmp (CI's, a TA's scratch checkout): /tmp is covered, so the repo's
    visible folders must be staged and bound back, and only folders (a file cannot be
    bound onto the staging folder)."""
    repo = tmp_path / "ci"
    for name in (".venv", "cnnlib", "autograder"):
        (repo / name).mkdir(parents=True)
    (repo / "pyproject.toml").write_text("")
    kept = sandbox.keep_paths(repo, [".venv", "cnnlib", "autograder", "pyproject.toml", "absent"])
    assert {repo / ".venv", repo / "cnnlib", repo / "autograder"} <= set(kept), kept
    assert repo / "pyproject.toml" not in kept and repo / "absent" not in kept, kept


# --------------------------------------------------------------------------- coercion

def _harness(cells, modules=("np",)):
    """Run cells (kind, grade_id, source) through the harness in this process; done events."""
    import io
    import json

    from autograder.run import harness

    out = io.BytesIO()
    harness.run({"cells": [{"kind": k, "grade_id": g, "source": s} for k, g, s in cells],
                 "modules": list(modules)}, out)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    return {e["index"]: e for e in events if e["event"] == "done"}


COERCE_ANSWER = '''class Any:
    def __eq__(self, other):
        return True
class FakeArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)
    def __array_function__(self, func, types, args, kwargs):
        return True
class SneakyInt(int):
    def __eq__(self, other):
        return True
class Layer:
    def __init__(self):
        self.w = 2
    def __call__(self, x):
        return Any()
    def forward(self, x):
        return np.asarray(x) * self.w
def always_equal(x):
    return Any()
def fake_array(x):
    return np.zeros(3).view(FakeArray)
def sneaky(x):
    return SneakyInt(7)
def honest(x):
    return np.asarray(x) * 2, [1, 2.0], {"k": 3}
def nested(x):
    return (1, [Any()])
def make_layer():
    return Layer()
def mock_any():
    from unittest.mock import ANY
    return ANY
def compose(*fns):
    def composed(x):
        for f in fns:
            x = f(x)
        return x
    return composed
def make_pipeline():
    return compose(np.abs, np.sqrt)
def make_liar():
    def liar(x):
        return Any()
    return liar
'''


def test_results_of_the_answer_are_coerced_before_the_tests_compare_them():
    tests = {
        "always-equal": "assert always_equal(1) == 254",
        "fake-array": "r = fake_array(1)\nassert type(r) is np.ndarray, type(r)\n"
                      "np.testing.assert_array_equal(r, [0.0, 0.0, 0.0])\n"
                      "np.testing.assert_allclose(r, [1.0, 2.0, 3.0])",
        "sneaky-int": "r = sneaky(1)\nassert type(r) is int and r == 7, (type(r), r)\nassert sneaky(1) == 254",
        "honest": "a, b, c = honest([1, 2])\nassert type(a) is np.ndarray and b == [1, 2.0] and c == {'k': 3}\n"
                  "import inspect\nassert list(inspect.signature(honest).parameters) == ['x']",
        "nested": "assert nested(1) == (1, [5])",
        "layer-call": "layer = make_layer()\nassert type(layer).__name__ == 'Layer'\n"
                      "np.testing.assert_array_equal(layer.forward([1, 2]), [2, 4])\nassert layer(1) == 3",
        "mock-any": "assert mock_any() == 3",
        "closure": "f = compose(np.abs, np.sqrt)\nassert f.__name__ == 'composed'\n"
                   "np.testing.assert_allclose(f(np.array([-4.0, 9.0])), [2.0, 3.0])",
        "closure-liar": "assert make_liar()(1) == 3",
        "closure-in-answer": "np.testing.assert_allclose(make_pipeline()(np.array([-4.0])), [2.0])",
    }
    cells = [("locked", None, "import numpy as np"), ("solution", "answer", COERCE_ANSWER)]
    cells += [("grade", name, source) for name, source in tests.items()]
    done = _harness(cells)
    got = {cells[i][1]: (e["ok"], (e["error"] or {}).get("ename"), (e["error"] or {}).get("evalue", "")[:80])
           for i, e in done.items() if cells[i][0] == "grade"}
    expected_ok = {"honest": True, "always-equal": False, "fake-array": False, "sneaky-int": False,
                   "nested": False, "layer-call": False, "mock-any": False, "closure": True, "closure-liar": False,
                   "closure-in-answer": True}
    assert {k: v[0] for k, v in got.items()} == expected_ok, f"esperado {expected_ok}, obtido {got}"
    for name in ("always-equal", "nested", "layer-call", "mock-any", "closure-liar"):
        assert got[name][1] == "TypeError" and "sua função devolveu um objeto do tipo" in got[name][2], got[name]
    # the fake array was compared as plain data: equal to zeros, different from 1..3
    assert got["fake-array"][1] == "AssertionError", got["fake-array"]
    assert got["sneaky-int"][1] == "AssertionError", got["sneaky-int"]
    assert "Any (__eq__)" in " ".join(done[1]["flags"]), done[1]["flags"]
    flagged = {cells[i][1]: e["flags"] for i, e in done.items() if cells[i][0] == "grade" and e["flags"]}
    assert flagged == {}, f"a conversão não deve marcar as células de teste para revisão: {flagged}"


def test_coercion_leaves_plain_values_and_library_objects_untouched():
    from autograder.run.coerce import Coercer

    coerce = Coercer()
    values = [3, 2.5, True, None, "s", np.float32(1.5), np.int64(2), np.arange(4), (1, 2.0),
              [np.zeros(2), 1], {"a": 1}, np.array([1, 2], dtype=object)]
    for value in values:
        assert coerce(value) is value, f"esperado o mesmo objeto para {value!r}, obtido outro"
    import fractions
    from unittest import mock

    assert not coerce.suspect(np.ndarray), "ndarray exato não deve ser convertido"
    assert coerce.suspect(np.ma.MaskedArray), "subclasse de ndarray deve ser convertida"
    assert not coerce.suspect(fractions.Fraction), "tipo de biblioteca confiável não deve ser convertido"
    assert coerce.suspect(type(mock.ANY)), "mock.ANY (igual a tudo, de fora das bibliotecas) deve ser convertido"
    masked = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    assert type(coerce(masked)) is np.ndarray, f"esperado ndarray, obtido {type(coerce(masked))}"
