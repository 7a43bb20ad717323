"""cnnlib.validation (one set of argument rules) and cnnlib.geometry (window arithmetic
without the NumPy reference answers)."""

import ast
import pathlib

import numpy as np
import pytest

import cnnlib
from cnnlib import geometry, reference, validation

ROOT = pathlib.Path(cnnlib.__file__).parent


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_integers_of_any_integral_type_are_accepted(value):
    got = validation.check_integer(value, "n", minimum=1)
    assert got == 3 and type(got) is int, f"esperado o int 3, veio {got!r} ({type(got)})"


@pytest.mark.parametrize("value", [True, np.bool_(True), 3.0, np.float32(3), "3", None])
def test_bools_floats_and_strings_are_not_integers(value):
    with pytest.raises(validation.ArgumentTypeError,
                       match=r"n must be a positive integer\. Received: n="):
        validation.check_integer(value, "n", minimum=1)


def test_argument_type_error_is_both_type_and_value_error():
    """Python says TypeError, Keras says ValueError: code written for either keeps working."""
    for kind in (TypeError, ValueError):
        with pytest.raises(kind):
            validation.check_integer(2.5, "filters", minimum=1)


def test_range_messages_state_the_rule_and_what_came():
    with pytest.raises(ValueError, match=r"^num_classes must be None or an integer >= 2\. "
                                         r"Received: num_classes=1$"):
        validation.check_integer(1, "num_classes", minimum=2, allow_none=True)
    with pytest.raises(ValueError, match=r"^rate must be a number in \[0, 1\)\. "
                                         r"Received: rate=1\.0$"):
        validation.check_number(1.0, "rate", 0, 1, high_open=True)
    with pytest.raises(ValueError, match=r"width must be a positive number\. Received: width=0$"):
        validation.check_number(0, "width", minimum=0, low_open=True)
    with pytest.raises(ValueError, match=r"not-a-number|NaN|Received: x=nan"):
        validation.check_number(float("nan"), "x")
    assert validation.check_number(np.float32(0.5), "rate", 0, 1) == 0.5


def test_standardize_tuple_speaks_keras():
    assert validation.standardize_tuple(np.int64(3), 2, "kernel_size") == (3, 3)
    assert validation.standardize_tuple([1, np.int8(2)], 2, "strides") == (1, 2)
    with pytest.raises(ValueError, match=r"^The `kernel_size` argument must be a tuple of 2 "
                                         r"integers\. Received kernel_size=\(1, 0\), including "
                                         r"values \{0\} that do not satisfy `value > 0`$"):
        validation.standardize_tuple((1, 0), 2, "kernel_size")
    with pytest.raises(ValueError,
                       match=r"must be a tuple of 2 integers\. Received pad=\(1, 2, 3\)"):
        validation.standardize_tuple((1, 2, 3), 2, "pad", allow_zero=True)
    assert validation.standardize_tuple((0, 2), 2, "pad", allow_zero=True) == (0, 2)


def test_one_of_and_sequences():
    assert validation.check_one_of("MAX", ("max", "avg"), "pooling", lower=True) == "max"
    with pytest.raises(ValueError, match=r"pooling must be one of \('max', 'avg'\)\. "
                                         r"Received: pooling=\['max'\]"):
        validation.check_one_of(["max"], ("max", "avg"), "pooling")
    assert validation.check_int_sequence(np.array([2, 3]), "depths") == (2, 3)
    with pytest.raises(ValueError, match=r"depths must be a tuple/list of 4 integers >= 1"):
        validation.check_int_sequence((2, 2), "depths", length=4)
    with pytest.raises(TypeError, match=r"Received: depths=\(2, True\)"):
        validation.check_int_sequence((2, True), "depths")


# ------------------------------------------------------------------------ geometry
@pytest.mark.parametrize("w_in,k,p,s,d", [(256, 3, 0, 1, 1), (7, 3, 0, 2, 1), (11, 3, 1, 2, 1),
                                          (10, 3, (0, 2), 3, 1), (9, 3, 2, 1, 3)])
def test_output_size_is_the_lecture_formula(w_in, k, p, s, d):
    before, after = p if isinstance(p, tuple) else (p, p)
    expected = (w_in + before + after - (d * (k - 1) + 1)) // s + 1
    got = geometry.output_size(np.int64(w_in), k, p, s, d)
    assert got == expected, f"esperado {expected}, veio {got}"


def test_same_padding_matches_tensorflow():
    import tensorflow as tf

    for size, k, s in [(5, 3, 2), (6, 3, 2), (7, 4, 3), (3, 5, 1)]:
        before, after = geometry.same_padding(size, k, s)
        x = tf.ones([1, size, 1, 1])
        ours = tf.nn.conv2d(tf.pad(x, [[0, 0], [before, after], [0, 0], [0, 0]]),
                            tf.ones([k, 1, 1, 1]), [s, 1], "VALID")
        theirs = tf.nn.conv2d(x, tf.ones([k, 1, 1, 1]), [s, 1], "SAME")
        np.testing.assert_array_equal(ours, theirs, err_msg=f"same padding of {(size, k, s)}")


def test_reference_reexports_geometry():
    for name in ("output_size", "same_padding", "resolve_padding"):
        assert getattr(reference, name) is getattr(geometry, name), (
            f"cnnlib.reference.{name} deve ser o de cnnlib.geometry")


def _imported_modules(path):
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_layers_do_not_depend_on_the_reference_answers():
    for path in sorted((ROOT / "layers").glob("*.py")):
        bad = {n for n in _imported_modules(path) if "reference" in n}
        assert not bad, f"{path.name} importa {bad}: as camadas não usam as respostas NumPy"


def test_geometry_and_validation_are_dependency_free():
    for module in ("geometry.py", "validation.py"):
        imported = _imported_modules(ROOT / module)
        heavy = {n for n in imported if n.split(".")[0] in ("numpy", "tensorflow", "keras")}
        assert not heavy, f"{module} importa {heavy}"
