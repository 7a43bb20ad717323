"""autograder.forbid: hidden tests reject built-in shortcuts, and leave no trace.

Student code is exec'd into a fresh dict, and the "hidden test" runs in that same dict,
as nbgrader runs every cell of a notebook in one kernel namespace.
"""

import builtins
import importlib
import sys
import textwrap

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal

from autograder.forbid import (
    CONV_ALIASES,
    ForbiddenCallError,
    assert_not_calling,
    forbid,
)

X = np.arange(30, dtype=np.float64).reshape(5, 6)
K = np.array([[1.0, 0.0], [2.0, -1.0]])
EXPECTED = scipy.signal.correlate2d(X, K, mode="valid")

FROM_SCRATCH = """
import numpy as np

def xcorr(x, k):
    kh, kw = k.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * k)
    return out
"""

HIDDEN_TEST = """
from autograder.forbid import forbid
with forbid({targets}):
    result = xcorr(X, K)
"""

DEFAULT = '"scipy.signal", "scipy.ndimage", "numpy.convolve", "tensorflow.nn.conv2d"'

# Each cheating answer and the target list that must catch it.
CHEATS = {
    "scipy-direct": """
import scipy.signal
def xcorr(x, k):
    return scipy.signal.correlate2d(x, k, mode="valid")
""",
    "scipy-module-alias": """
from scipy import signal as sg
def xcorr(x, k):
    return sg.correlate2d(x, k, mode="valid")
""",
    "scipy-name-imported-before": """
from scipy.signal import correlate2d
def xcorr(x, k):
    return correlate2d(x, k, mode="valid")
""",
    "scipy-renamed-alias": """
from scipy.signal import correlate2d as my_loop_free_corr
def xcorr(x, k):
    return my_loop_free_corr(x, k, mode="valid")
""",
    "scipy-private-module-name": """
from scipy.signal._signaltools import correlate2d
def xcorr(x, k):
    return correlate2d(x, k, mode="valid")
""",
    "scipy-assigned-alias": """
import scipy.signal
fast = scipy.signal.correlate2d
def xcorr(x, k):
    return fast(x, k, mode="valid")
""",
    "scipy-fftconvolve": """
from scipy.signal import fftconvolve
def xcorr(x, k):
    return fftconvolve(x, k[::-1, ::-1], mode="valid")
""",
    "ndimage": """
import scipy.ndimage as ndi
def xcorr(x, k):
    full = ndi.correlate(x, k, mode="constant")
    return full[1:x.shape[0] - k.shape[0] + 2, 1:x.shape[1] - k.shape[1] + 2]  # 2x2 origin
""",
    "nested-helper": """
from scipy.signal import correlate2d
def _helper(x, k):
    return correlate2d(x, k, mode="valid")
def xcorr(x, k):
    return _helper(x, k)
""",
    "inner-function": """
import scipy.signal
def xcorr(x, k):
    def inner(a):
        return scipy.signal.correlate2d(a, k, mode="valid")
    return inner(x)
""",
    "import-inside-function": """
def xcorr(x, k):
    from scipy.signal import correlate2d
    return correlate2d(x, k, mode="valid")
""",
    "default-argument": """
from scipy.signal import correlate2d
def xcorr(x, k, _c=correlate2d):
    return _c(x, k, mode="valid")
""",
    "closure": """
from scipy.signal import correlate2d as c2
def make():
    c = c2
    def xcorr(x, k):
        return c(x, k, mode="valid")
    return xcorr
xcorr = make()
del c2
""",
    "numpy-convolve-rows": """
import numpy as np
def xcorr(x, k):
    rows = []
    for i in range(x.shape[0] - k.shape[0] + 1):
        acc = 0
        for r in range(k.shape[0]):
            acc = acc + np.convolve(x[i + r], k[r, ::-1], mode="valid")
        rows.append(acc)
    return np.array(rows)
""",
    "numpy-convolve-alias": """
from numpy import convolve
def xcorr(x, k):
    rows = []
    for i in range(x.shape[0] - k.shape[0] + 1):
        rows.append(sum(convolve(x[i + r], k[r, ::-1], mode="valid")
                        for r in range(k.shape[0])))
    return rows
""",
}


def _exec(src, ns):
    exec(compile(textwrap.dedent(src), "<cell>", "exec"), ns)


def _student(src):
    ns = {"__name__": "__main__", "X": X, "K": K}
    _exec(src, ns)
    return ns


def _hidden(ns, targets=DEFAULT):
    _exec(HIDDEN_TEST.format(targets=targets), ns)


def test_cheating_answers_really_compute_the_right_thing():
    """Sanity: each cheat is a correct answer, so only forbid can catch it."""
    for name, src in CHEATS.items():
        ns = _student(src)
        got = np.asarray(ns["xcorr"](X, K), dtype=float)
        np.testing.assert_allclose(got, EXPECTED, err_msg=f"cheat {name!r} is wrong")


def test_from_scratch_answer_passes():
    ns = _student(FROM_SCRATCH)
    _hidden(ns)
    np.testing.assert_allclose(ns["result"], EXPECTED)


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_each_cheat_fails(name):
    ns = _student(CHEATS[name])
    before = dict(ns)
    with pytest.raises(ForbiddenCallError) as info:
        _hidden(ns)
    message = str(info.value)
    assert "Chamada proibida" in message and "do zero" in message, (
        f"expected a pt-BR message naming the call, got {message!r}"
    )
    # Restored: same objects under the same names, the answer works again.
    assert set(ns) == set(before) | {"forbid"}, (
        f"namespace keys changed: expected {sorted(before)}, got {sorted(ns)}"
    )
    for key, value in before.items():
        assert ns[key] is value, f"ns[{key!r}] not restored"
    np.testing.assert_allclose(np.asarray(ns["xcorr"](X, K), float), EXPECTED)


def test_error_is_an_assertion_error_and_names_the_alias():
    ns = _student(CHEATS["scipy-renamed-alias"])
    with pytest.raises(AssertionError, match=r"scipy\.signal\.correlate2d.*my_loop_free_corr"):
        _hidden(ns)


def test_module_attributes_and_import_machinery_restored():
    originals = {n: getattr(scipy.signal, n) for n in ("correlate2d", "convolve2d", "correlate")}
    nd = scipy.ndimage.correlate
    npc = np.convolve
    imp, imp_mod = builtins.__import__, importlib.import_module
    with pytest.raises(ZeroDivisionError):
        with forbid("scipy.signal", "scipy.ndimage", "numpy.convolve"):
            assert scipy.signal.correlate2d is not originals["correlate2d"]
            assert builtins.__import__ is not imp
            1 / 0  # the block fails for an unrelated reason
    for n, obj in originals.items():
        assert getattr(scipy.signal, n) is obj, f"scipy.signal.{n} not restored"
    assert scipy.ndimage.correlate is nd and np.convolve is npc
    assert builtins.__import__ is imp and importlib.import_module is imp_mod
    assert "convolve" in vars(np) and vars(np)["convolve"] is npc


def test_re_exported_numpy_stays_allowed():
    """scipy.signal's namespace may hold numpy objects; forbidding it leaves numpy alone."""
    ns = _student("from numpy import sum as npsum, zeros\nimport numpy as np\n")
    with forbid("scipy.signal", "scipy.ndimage"):
        assert ns["npsum"](np.ones(3)) == 3.0
        assert ns["zeros"](2).shape == (2,)
        assert np.correlate([1, 2], [1]).tolist() == [1, 2]


def test_lazily_imported_submodule_is_caught(tmp_path, monkeypatch):
    """A target module that is not imported yet is patched when the student imports it."""
    pkg = tmp_path / "fakelib"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "reference.py").write_text(
        "import numpy as np\n"
        "def pad2d(x, p):\n    return np.pad(x, p)\n"
        "def cross_correlate2d(x, k):\n    return x\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import fakelib  # noqa: F401  (the package is loaded, its submodule is not)

    ns = _student("def xcorr(x, k):\n    import fakelib.reference as r\n    return r.pad2d(x, 1)\n")
    with pytest.raises(ForbiddenCallError, match=r"fakelib\.reference\.pad2d"):
        with forbid("fakelib.reference"):
            ns["xcorr"](X, K)
    assert sys.modules["fakelib.reference"].pad2d(np.ones((1, 1)), 1).shape == (3, 3)
    # Now imported: a name bound before the block is caught too.
    ns = _student("from fakelib.reference import cross_correlate2d as cc\n"
                  "def xcorr(x, k):\n    return cc(x, k)\n")
    with pytest.raises(ForbiddenCallError, match="importada como `cc`"):
        with forbid("fakelib.reference", namespaces=[ns]):  # called from outside ns
            ns["xcorr"](X, K)
    # numpy's np.pad, used inside the module, is not part of the forbidden module.
    with forbid("fakelib.reference"):
        assert np.pad(np.ones(1), 1).shape == (3,)


def test_package_imported_inside_the_block_keeps_no_guard(tmp_path, monkeypatch):
    """Module-level code run by an import inside the block must capture the originals."""
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "reference.py").write_text("def conv(x):\n    return x + 1\n")
    (pkg / "__init__.py").write_text("from fakepkg.reference import conv as captured\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ns = _student("def xcorr(x, k):\n    import fakepkg\n    return fakepkg.reference.conv(x)\n")
    with pytest.raises(ForbiddenCallError, match=r"fakepkg\.reference\.conv"):
        with forbid("fakepkg.reference"):
            ns["xcorr"](1, None)
    import fakepkg

    assert fakepkg.captured(1) == 2, "a name bound while importing inside the block kept the guard"
    assert fakepkg.reference.conv(1) == 2


def test_package_target_covers_its_submodules(tmp_path, monkeypatch):
    """forbid("pkg") forbids pkg.sub.f, loaded before the block or imported inside it."""
    pkg = tmp_path / "fakeroot"
    (pkg / "inner").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f(x):\n    return x\n")
    (pkg / "inner" / "__init__.py").write_text("")
    (pkg / "inner" / "b.py").write_text("def g(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import fakeroot.a

    with forbid("fakeroot"):
        with pytest.raises(ForbiddenCallError, match=r"`fakeroot\.a\.f`"):
            fakeroot.a.f(1)
        from fakeroot.inner import b  # first import happens inside the block

        with pytest.raises(ForbiddenCallError, match=r"`fakeroot\.inner\.b\.g`"):
            b.g(1)
        assert np.sum([1, 2]) == 3  # other packages untouched
    assert fakeroot.a.f(1) == 1 and b.g(2) == 2


@pytest.mark.parametrize(
    "target, error, pattern",
    [
        (42, TypeError, r"dotted names \(str\).*Received: 42"),
        ("numpy..convolve", ValueError, r"dotted Python names.*Received: 'numpy..convolve'"),
        ("numpy.convolv", ValueError, r"'numpy' has no attribute 'convolv'"),
        ("numpy.pi", ValueError, r"module or a callable.*'numpy.pi'"),
    ],
)
def test_bad_targets(target, error, pattern):
    with pytest.raises(error, match=pattern):
        with forbid(target):
            pass
    assert builtins.__import__ is importlib.__import__ or callable(builtins.__import__)


def test_no_targets_is_an_error():
    with pytest.raises(ValueError, match="at least one target"):
        forbid()


def test_uninstalled_package_is_not_an_error():
    with forbid("no_such_package_xyz.conv"):
        assert np.sum(X) == X.sum()


# --- TensorFlow / Keras (one import for the module) ----------------------------------

@pytest.fixture(scope="module")
def tf():
    import tensorflow

    return tensorflow


TF_CHEATS = {
    "tf.nn.conv2d": "tf.nn.conv2d(x4, k4, 1, 'VALID')",
    "tf.nn.convolution": "tf.nn.convolution(x4, k4, padding='VALID')",
    "tf.nn.depthwise_conv2d": "tf.nn.depthwise_conv2d(x4, k4, [1, 1, 1, 1], 'VALID')",
    "tf.raw_ops.Conv2D": "tf.raw_ops.Conv2D(input=x4, filter=k4, strides=[1, 1, 1, 1], padding='VALID')",
    "keras.ops.conv": "keras.ops.conv(x4, k4)",
    "keras.layers.Conv2D": "keras.layers.Conv2D(1, 2)(x4)",
    "tf.keras.layers.Conv2D": "tf.keras.layers.Conv2D(1, 2)(x4)",
    "alias conv2d": "c2d(x4, k4, 1, 'VALID')",
}


@pytest.mark.parametrize("name", sorted(TF_CHEATS))
def test_tensorflow_aliases_all_forbidden(tf, name):
    src = (
        "import tensorflow as tf\nimport keras\nimport numpy as np\n"
        "from tensorflow.nn import conv2d as c2d\n"
        "def xcorr(x, k):\n"
        "    x4 = tf.constant(x[None, :, :, None], tf.float32)\n"
        "    k4 = tf.constant(k[:, :, None, None], tf.float32)\n"
        f"    return np.asarray({TF_CHEATS[name]})[0, :, :, 0]\n"
    )
    ns = _student(src)
    original = tf.nn.conv2d
    if name not in ("keras.layers.Conv2D", "tf.keras.layers.Conv2D"):  # random weights
        np.testing.assert_allclose(ns["xcorr"](X, K), EXPECTED, rtol=1e-5)
    with pytest.raises(ForbiddenCallError, match="Chamada proibida"):
        _hidden(ns, targets='"tensorflow.nn.conv2d"')
    assert tf.nn.conv2d is original, "tf.nn.conv2d not restored"
    ns["xcorr"](X, K)  # works again


def test_tensorflow_imported_inside_the_function(tf):
    ns = _student(
        "def xcorr(x, k):\n"
        "    import tensorflow\n"
        "    return tensorflow.nn.conv2d(x[None, :, :, None], k[:, :, None, None], 1, 'VALID')\n"
    )
    with pytest.raises(ForbiddenCallError):
        _hidden(ns)


def test_tensorflow_math_stays_allowed(tf):
    with forbid(*CONV_ALIASES):
        assert float(tf.reduce_sum(tf.ones((2, 2)))) == 4.0


# --- assert_not_calling --------------------------------------------------------------

NAMES = ("correlate2d", "conv2d", "convolve", "convolve2d", "fftconvolve")


def test_static_check_passes_from_scratch():
    ns = _student(FROM_SCRATCH)
    assert_not_calling(ns["xcorr"], NAMES)


@pytest.mark.parametrize(
    "name",
    ["scipy-direct", "scipy-module-alias", "scipy-name-imported-before", "nested-helper",
     "inner-function", "import-inside-function", "numpy-convolve-rows", "scipy-fftconvolve"],
)
def test_static_check_flags_cheats(name):
    ns = _student(CHEATS[name])
    with pytest.raises(ForbiddenCallError, match="do zero"):
        assert_not_calling(ns["xcorr"], NAMES)


def test_static_check_allows_own_helper_with_a_forbidden_name():
    ns = _student(FROM_SCRATCH + "\ndef conv2d(x, k):\n    return xcorr(x, k)\n"
                  "def layer(x, k):\n    return conv2d(x, k) + 1\n")
    assert_not_calling(ns["layer"], NAMES)
    ns = _student("import numpy as np\ndef convolve(a, b):\n    return np.convolve(a, b)\n"
                  "def layer(a, b):\n    return convolve(a, b)\n")
    with pytest.raises(ForbiddenCallError, match="`convolve` \\(em `convolve`\\)"):
        assert_not_calling(ns["layer"], "numpy.convolve")


@pytest.mark.parametrize(
    "fn, names, pattern",
    [(len, "conv2d", "Python function"), (lambda: 0, [""], "non-empty strings"),
     (lambda: 0, [3], "non-empty strings")],
)
def test_static_check_bad_arguments(fn, names, pattern):
    with pytest.raises(TypeError, match=pattern):
        assert_not_calling(fn, names)


# --- routes around the patched names (issue 11 / issue 12) ---------------------------

BYPASSES = {
    "partial-at-cell-level": """
import functools, scipy.signal
fast = functools.partial(scipy.signal.correlate2d, mode="valid")
def xcorr(x, k):
    return fast(x, k)
""",
    "nested-partial-in-a-dict": """
import functools, scipy.signal
TOOLS = {"c": functools.partial(functools.partial(scipy.signal.correlate2d), mode="valid")}
def xcorr(x, k):
    return TOOLS["c"](x, k)
""",
    "saved-in-a-list": """
import scipy.signal
SAVED = [scipy.signal.correlate2d]
def xcorr(x, k):
    return SAVED[0](x, k, mode="valid")
""",
    "saved-in-a-tuple": """
import scipy.signal
SAVED = (scipy.signal.correlate2d,)
def xcorr(x, k):
    return SAVED[0](x, k, mode="valid")
""",
    "saved-as-class-attribute": """
import scipy.signal
class Tools:
    corr = staticmethod(scipy.signal.correlate2d)
def xcorr(x, k):
    return Tools.corr(x, k, mode="valid")
""",
    "saved-in-another-module": """
import scipy.signal, types, sys
sys.modules["stash_nb0103"] = types.SimpleNamespace(c=scipy.signal.correlate2d)
def xcorr(x, k):
    import stash_nb0103
    return stash_nb0103.c(x, k, mode="valid")
""",
    "unwrapping-the-guard": """
import scipy.signal, inspect
def xcorr(x, k):
    f = inspect.unwrap(scipy.signal.correlate2d)
    f = getattr(f, "__wrapped__", f)
    return f(x, k, mode="valid")
""",
    "scipy-private-c-kernel": """
import numpy as np
from scipy.signal import _sigtools
def xcorr(x, k):
    out = np.zeros((x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1))
    return _sigtools._correlateND(np.asarray(x, float), np.asarray(k, float), out, 0)
""",
    "numpy-c-correlate": """
import numpy as np
def xcorr(x, k):
    core = getattr(np, "_co" + "re").multiarray
    rows = []
    for i in range(x.shape[0] - k.shape[0] + 1):
        rows.append(sum(core.correlate2(x[i + r], k[r], 0) for r in range(k.shape[0])))
    return np.array(rows)
""",
    "numpy-polymul": """
import numpy as np
def xcorr(x, k):
    rows = []
    for i in range(x.shape[0] - k.shape[0] + 1):
        full = sum(np.polynomial.polynomial.polymul(x[i + r], k[r, ::-1])
                   for r in range(k.shape[0]))
        rows.append(full[k.shape[1] - 1: x.shape[1]])
    return np.array(rows)
""",
    "built-up-framework-name": """
import importlib
def xcorr(x, k):
    fw = importlib.import_module("to" + "rch")
    conv = getattr(fw.nn.functional, "conv" + "2d")
    t = fw.tensor(x[None, None]), fw.tensor(k[None, None])
    return conv(*t)[0, 0].numpy()
""",
    "builtin-import-of-jax": """
def xcorr(x, k):
    jax = __import__("ja" + "x")
    return jax.scipy.signal.correlate2d(x, k, mode="valid")
""",
}


def test_bypasses_really_compute_the_right_thing():
    """Each bypass is a correct answer outside the block (except the frameworks that are
    not installed), so only forbid can catch it."""
    for name, src in BYPASSES.items():
        if name in ("built-up-framework-name", "builtin-import-of-jax"):
            continue  # would import torch/jax: slow or absent
        ns = _student(src)
        np.testing.assert_allclose(np.asarray(ns["xcorr"](X, K), float), EXPECTED,
                                   err_msg=f"bypass {name!r} is wrong")


@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_each_bypass_fails_and_is_undone(name):
    ns = _student(BYPASSES[name])
    with pytest.raises(ForbiddenCallError, match="proibida"):
        _hidden(ns)
    if name not in ("built-up-framework-name", "builtin-import-of-jax"):
        np.testing.assert_allclose(np.asarray(ns["xcorr"](X, K), float), EXPECTED,
                                   err_msg=f"{name}: not restored after the block")
    sys.modules.pop("stash_nb0103", None)


def test_blocked_framework_import_is_an_import_error_too():
    """A library probing `try: import torch` inside the block sees it as missing."""
    with forbid("tensorflow.nn.conv2d"):
        try:
            import cv2  # noqa: F401
        except ImportError as err:
            assert isinstance(err, ForbiddenCallError), f"expected ForbiddenCallError, got {err!r}"
        else:  # pragma: no cover - cv2 already imported elsewhere
            assert "cv2" in sys.modules
    # Not forbidding a convolution: the import machinery is left alone for frameworks.
    with forbid("numpy.pad"):
        with pytest.raises(ImportError) as info:
            importlib.import_module("no_such_framework_nb0103")
        assert not isinstance(info.value, ForbiddenCallError)


def test_numpy_pad_internals_and_saved_references():
    saved = [np.pad]
    impl = np.lib._arraypad_impl
    original_code = np.pad._implementation.__code__
    with forbid("numpy.pad"):
        for call in (lambda: np.pad(X, 1), lambda: saved[0](X, 1),
                     lambda: saved[0].__wrapped__(X, 1),
                     lambda: impl._pad_simple(X, ((1, 1), (1, 1)), fill_value=0),
                     lambda: impl.pad(X, 1)):
            with pytest.raises(ForbiddenCallError, match="Chamada proibida"):
                call()
        assert np.zeros(3).sum() == 0.0  # the rest of NumPy works
    assert np.pad._implementation.__code__ is original_code, "np.pad's code not restored"
    assert saved[0](np.ones((1, 1)), 1).shape == (3, 3)
    padded, _ = impl._pad_simple(np.ones(2), ((1, 1),), fill_value=0)
    assert padded.tolist() == [0, 1, 1, 0], f"expected [0, 1, 1, 0], got {padded.tolist()}"


def test_guards_keep_no_reference_to_the_original():
    with forbid("scipy.signal"):
        guard = scipy.signal.correlate2d
        assert not hasattr(guard, "__wrapped__"), "a guard must not expose the original"
        assert guard.__name__ == "correlate2d"


def test_checker_cannot_be_rebound():
    import autograder.forbid as checker

    for attr in ("forbid", "ForbiddenCallError", "assert_not_calling", "_make_guard"):
        with pytest.raises(AttributeError, match="read-only"):
            setattr(checker, attr, lambda *a, **k: None)
    with pytest.raises(AttributeError, match="read-only"):
        forbid.__enter__ = lambda self: self
    with pytest.raises(AttributeError, match="read-only"):
        del checker.forbid
    assert checker.verify_intact() == [], f"expected intact, got {checker.verify_intact()}"


def test_tampering_through_the_back_doors_is_detected(monkeypatch):
    """Writes that skip the seal (module dict, type.__setattr__, sys.modules) are found by
    verify_intact, and forbid refuses to run while they last."""
    import contextlib

    import autograder.forbid as checker

    real_enter = vars(forbid)["__enter__"]
    real_forbid = vars(checker)["forbid"]
    cases = {
        "module dict": lambda: vars(checker).__setitem__("forbid", contextlib.nullcontext),
        "class attribute": lambda: type.__setattr__(forbid, "__exit__", lambda *a: True),
        "function code": lambda: setattr(checker._make_guard, "__code__", (lambda *a, **k: None).__code__),
    }
    make_guard_code = checker._make_guard.__code__
    real_exit = vars(forbid)["__exit__"]
    for label, tamper in cases.items():
        tamper()
        try:
            problems = checker.verify_intact()
            assert problems, f"{label}: tampering not detected"
            with pytest.raises(ForbiddenCallError, match="verificador .* alterado"):
                with real_forbid("numpy.convolve"):
                    pass
        finally:
            vars(checker)["forbid"] = real_forbid
            type.__setattr__(forbid, "__exit__", real_exit)
            checker._make_guard.__code__ = make_guard_code
    assert vars(forbid)["__enter__"] is real_enter
    monkeypatch.setitem(sys.modules, "autograder.forbid", types_module("fake"))
    assert any("sys.modules" in p for p in checker.verify_intact())
    monkeypatch.undo()
    assert checker.verify_intact() == []


def types_module(name):
    import types

    return types.ModuleType(name)


def test_static_tamper_check():
    from autograder.forbid import assert_no_tampering

    ns = _student(FROM_SCRATCH)
    assert_no_tampering(ns["xcorr"])
    for name in ("unwrapping-the-guard", "scipy-private-c-kernel"):
        ns = _student(BYPASSES[name])
        with pytest.raises(ForbiddenCallError, match="do zero"):
            assert_no_tampering(ns["xcorr"])


TF_BYPASSES = {
    "raw_ops-generic-Conv": "tf.raw_ops.Conv(input=x4, filter=k4, strides=[1, 1, 1, 1], padding='VALID')",
    "raw_ops-built-name": "getattr(tf.raw_ops, 'Con' + 'v2D')(input=x4, filter=k4, strides=[1, 1, 1, 1], padding='VALID')",  # noqa: E501
    "gen_nn_ops": "__import__('tensorflow.python.ops.gen_nn_ops', fromlist=['x']).conv2d(x4, k4, [1, 1, 1, 1], 'VALID')",  # noqa: E501
    "saved-wrapped": "SAVED[0](x4, k4, 1, 'VALID')",
    "tf.function": "tf.function(lambda a, b: tf.nn.convolution(a, b))(x4, k4)",
}


@pytest.mark.parametrize("name", sorted(TF_BYPASSES))
def test_tensorflow_ops_refused_by_name(tf, name):
    src = (
        "import tensorflow as tf\nimport numpy as np\n"
        "SAVED = [tf.nn.conv2d.__wrapped__]\n"
        "def xcorr(x, k):\n"
        "    x4 = tf.constant(x[None, :, :, None], tf.float32)\n"
        "    k4 = tf.constant(k[:, :, None, None], tf.float32)\n"
        f"    return np.asarray({TF_BYPASSES[name]})[0, :, :, 0]\n"
    )
    ns = _student(src)
    np.testing.assert_allclose(ns["xcorr"](X, K), EXPECTED, rtol=1e-5)
    with pytest.raises(ForbiddenCallError, match="proibida"):
        _hidden(ns, targets='"tensorflow.nn.conv2d"')
    np.testing.assert_allclose(ns["xcorr"](X, K), EXPECTED, rtol=1e-5, err_msg="not restored")


def test_tensorflow_pool_and_softmax_groups(tf):
    x4 = tf.constant(np.arange(16.0).reshape(1, 4, 4, 1))
    with forbid("tensorflow.nn.max_pool2d"):
        with pytest.raises(ForbiddenCallError):
            tf.raw_ops.MaxPool(input=x4, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
        with pytest.raises(ForbiddenCallError):
            tf.nn.pool(x4, [2, 2], "MAX", strides=[2, 2])
        assert float(tf.reduce_max(x4)) == 15.0  # reductions stay allowed
    with forbid("tensorflow.nn.softmax"):
        with pytest.raises(ForbiddenCallError):
            tf.math.softmax(tf.constant([1.0, 2.0]))
        with pytest.raises(ForbiddenCallError):
            tf.raw_ops.LogSoftmax(logits=tf.constant([[1.0, 2.0]]))
        assert float(tf.reduce_sum(tf.exp(tf.constant([0.0])))) == 1.0
    assert float(tf.nn.softmax(tf.constant([0.0, 0.0]))[0]) == 0.5


def test_every_brought_along_name_exists(tf):
    """No typo in the alias groups: each name whose package is loaded resolves."""
    import scipy.special  # noqa: F401
    import skimage.measure  # noqa: F401

    import autograder.forbid as checker

    names = set(checker.CONV_ALIASES + checker.POOL_ALIASES + checker.SOFTMAX_ALIASES)
    for extra in checker._INTERNALS.values():
        names |= set(extra)
    missing = []
    for name in sorted(names):
        if name.split(".")[0] not in sys.modules:
            continue  # torch, jax, cv2: not loaded here
        try:
            checker._resolve(name)
        except checker._Unavailable:
            pass
        except ValueError as err:
            missing.append(f"{name}: {err}")
    assert not missing, "names that do not exist:\n" + "\n".join(missing)


_AUDIT = {"armed": False, "flagged": [], "exempt": 0}


def _audit_hook(event, args):
    """Like the grader's hook: flag __code__ writes and new code objects, unless the checker
    raised them."""
    if not _AUDIT["armed"]:
        return
    if event == "code.__new__" or (event == "object.__setattr__" and len(args) >= 2 and args[1] == "__code__"):
        from autograder.forbid import raised_by_checker

        if raised_by_checker(event, args):
            _AUDIT["exempt"] += 1
        else:
            _AUDIT["flagged"].append(event)


def test_checker_audit_events_are_told_apart_from_student_ones():
    sys.addaudithook(_audit_hook)  # cannot be removed; inert unless armed
    ns = _student(BYPASSES["saved-in-a-list"])
    _AUDIT.update(armed=True, flagged=[], exempt=0)
    try:
        with pytest.raises(ForbiddenCallError):
            _hidden(ns)
        assert _AUDIT["flagged"] == [], f"the checker's own patching was flagged: {_AUDIT['flagged']}"
        assert _AUDIT["exempt"] > 0, "expected the checker's code swaps to raise audit events"
        # A student's own __code__ write is still flagged.
        def honest(x):
            return x

        honest.__code__ = (lambda x: x + 1).__code__
        assert _AUDIT["flagged"] == ["object.__setattr__"], (
            f"expected the student's __code__ write flagged, got {_AUDIT['flagged']}")
    finally:
        _AUDIT["armed"] = False


@pytest.mark.parametrize("target", ["tensorflow", "keras", "tf_keras"])
def test_whole_framework_is_refused_with_a_clear_error(target):
    with pytest.raises(ValueError) as info:
        forbid(target)
    text = str(info.value)
    assert f"whole {target!r} package" in text and "tensorflow.nn" in text and repr(target) in text, text


def test_no_guard_outlives_a_block_that_imported_a_module():
    """cnnlib.models imported inside the block (lazily, while resolving the target) binds
    ``from cnnlib.blocks import ...`` at import time: after the block it must hold the
    originals, not guards."""
    import subprocess

    code = (
        "import sys, types\n"
        "from autograder.forbid import forbid\n"
        "import cnnlib\n"
        "assert 'cnnlib.models' not in sys.modules and 'cnnlib.blocks' not in sys.modules\n"
        "with forbid('cnnlib.blocks', 'cnnlib.models'):\n"
        "    pass\n"
        "left = [f'{k}.{n}' for k, m in list(sys.modules.items()) if k.startswith('cnnlib')\n"
        "        and isinstance(m, types.ModuleType) for n, v in vars(m).items()\n"
        "        if type(v) is types.FunctionType and '__forbidden__' in v.__dict__]\n"
        "import cnnlib.blocks; c = sys.modules['cnnlib.models.convnext']\n"
        "assert c.ConvNeXtBlock is cnnlib.blocks.ConvNeXtBlock\n"
        "print('LEFT', left)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "LEFT []" in run.stdout, f"esperado nenhum guarda após o bloco, obtido: {run.stdout[-2000:]}"
