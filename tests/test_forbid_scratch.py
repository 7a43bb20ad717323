"""The from-scratch rule re-checked statically on the answers' source
(autograder/run/scratch_rule.py): one case per route around ``forbid``; honest answers,
including legitimate NumPy (sliding_window_view, einsum, as_strided), are never flagged.
"""

from __future__ import annotations

import pytest

from autograder.run import scratch_rule

LOCKED = "import numpy as np\nimport scipy.signal\n"
TEST = ('from autograder.forbid import forbid as _forbid, DEFAULT_CONV_TARGETS as _BANNED\n'
        'x, k = np.ones((5, 5)), np.ones((3, 3))\n'
        'with _forbid(*_BANNED, "numpy.pad"):\n'
        '    out = cross_correlation2d(x, k)\n'
        'assert out.shape == (3, 3)\n')
HONEST = '''def cross_correlation2d(x, k):
    """Valid cross-correlation with loops."""
    h, w = k.shape
    out = np.zeros((x.shape[0] - h + 1, x.shape[1] - w + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + h, j:j + w] * k)
    message = "conv2d feito à mão"
    return out
'''


def _cells(answer: str, test: str = TEST) -> list[dict]:
    return [{"kind": "locked", "grade_id": None, "source": LOCKED},
            {"kind": "solution", "grade_id": "cross_correlation2d", "source": answer},
            {"kind": "grade", "grade_id": "test_cc", "source": test}]


def test_the_rule_is_read_from_the_test_cells():
    rule = scratch_rule.forbidden_for(_cells(HONEST))
    assert set(rule) == {"cross_correlation2d"}, rule
    expected = {"scipy.signal", "numpy.pad", "tensorflow.nn.conv2d", "cnnlib.reference"}
    assert expected <= rule["cross_correlation2d"], f"esperado {expected} entre as proibições, obtido {rule}"


@pytest.mark.parametrize("answer", [
    HONEST,
    "from numpy.lib.stride_tricks import sliding_window_view\n"
    "def cross_correlation2d(x, k):\n    return np.einsum('ijkl,kl->ij', sliding_window_view(x, k.shape), k)\n",
    "def cross_correlation2d(x, k):\n    v = np.lib.stride_tricks.as_strided(x, (3, 3, 3, 3), x.strides * 2)\n"
    "    return np.tensordot(v, k, axes=2)\n",
], ids=["loops", "sliding-window-einsum", "as-strided"])
def test_honest_answers_are_not_flagged(answer):
    assert scratch_rule.review(_cells(answer)) == [], "resposta honesta não deve ser marcada"


CASES = {
    # replacing the checker (rebinding forbid in its module)
    "replace-checker": ("def cross_correlation2d(x, k):\n    import autograder.forbid as f\n"
                        "    f.forbid = lambda *a: None\n    return scipy.signal.correlate2d(x, k, 'valid')\n",
                        "alcança o verificador"),
    # unwrapping a guard to reach the original
    "unwrap": ("def cross_correlation2d(x, k):\n    fn = getattr(scipy.signal.correlate2d, '__wrapped__')\n"
               "    return fn(x, k, 'valid')\n", "__wrapped__"),
    # saved references: a default argument and a module-level name
    "saved-default": ("def cross_correlation2d(x, k, _c=scipy.signal.correlate2d):\n    return _c(x, k, 'valid')\n",
                      "referência a scipy.signal"),
    "saved-module-level": ("from scipy.signal import correlate2d as _saved\n_KEEP = [_saved]\n"
                           "def cross_correlation2d(x, k):\n    return _KEEP[0](x, k, 'valid')\n",
                           "importa scipy.signal.correlate2d"),
    # a name built at run time for another framework's convolution
    "built-name-framework": ("def cross_correlation2d(x, k):\n"
                             "    m = __import__('to' + 'rch')\n"
                             "    return getattr(m.nn.functional, 'con' + 'v2d')(x, k)\n", "torch"),
    "built-name-fstring-join": ("def cross_correlation2d(x, k):\n    import importlib\n"
                                "    tf = importlib.import_module(''.join(reversed('wolfrosnet')))\n"
                                "    op = f\"{'con'}v2d\"\n    return getattr(tf.nn, op)(x, k, 1, 'VALID')\n",
                                "nome montado em tempo de execução 'conv2d'"),
    "built-name-reversed-slice": ("def cross_correlation2d(x, k):\n    name = 'd2etalerroc'[::-1]\n"
                                  "    return getattr(scipy.signal, name)(x, k, 'valid')\n", "correlate2d"),
    # NumPy's internal pad (numpy.pad is forbidden)
    "numpy-internal-pad": ("def cross_correlation2d(x, k):\n    from numpy.lib import _arraypad_impl\n"
                           "    x = _arraypad_impl.pad(x, 0)\n    return x[:3, :3]\n", "interno de numpy"),
    # sys.modules lookup
    "sys-modules": ("import sys\ndef cross_correlation2d(x, k):\n"
                    "    return sys.modules['scipy.signal'].correlate2d(x, k, 'valid')\n", "sys.modules"),
    # the cheat lives in a helper the tested function calls
    "helper": ("def _aux(x, k):\n    return getattr(scipy.signal, 'correlate' + '2d')(x, k, 'valid')\n"
               "def cross_correlation2d(x, k):\n    return _aux(x, k)\n", "correlate2d"),
    # a lookup whose name is only known at run time
    "dynamic-getattr": ("def cross_correlation2d(x, k):\n    name = input()\n"
                        "    return getattr(scipy.signal, name)(x, k)\n",
                        "nome calculado em tempo de execução"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_route_around_forbid_is_flagged(case):
    answer, expected = CASES[case]
    flags = scratch_rule.review(_cells(answer))
    assert len(flags) == 1 and flags[0].startswith("regra do zero (cross_correlation2d"), \
        f"{case}: esperado 1 marcação, obtido {flags}"
    assert expected in flags[0], f"{case}: esperado {expected!r} na marcação, obtido {flags[0]!r}"


def test_an_answer_not_tested_under_forbid_is_not_read():
    answer = "def cross_correlation2d(x, k):\n    return scipy.signal.correlate2d(x, k, 'valid')\n"
    plain_test = "out = cross_correlation2d(np.ones((5, 5)), np.ones((3, 3)))\nassert out.shape == (3, 3)\n"
    assert scratch_rule.review(_cells(answer, plain_test)) == []
