"""cnnlib.reference (NumPy loops) against the lecture's worked examples, TensorFlow's own ops
(tf.nn.conv2d / pooling + autodiff, float64) and numeric gradients."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlib import gradcheck
from cnnlib import reference as R


def test_output_size_lecture_examples():
    assert R.output_size(256, 3) == 254, f"expected 254, got {R.output_size(256, 3)}"
    assert R.output_size(7, 3, 0, 2) == 3, f"expected 3, got {R.output_size(7, 3, 0, 2)}"
    assert R.output_size(5, 3, 1) == 5
    assert R.output_size(9, 3, 0, 1, 2) == 5, "dilation 2 makes a 3x3 kernel span 5 pixels"
    assert R.output_size(227, 11, 0, 4) == 55, "AlexNet conv1"


def test_same_padding_follows_tensorflow():
    for size, k, s in [(5, 3, 1), (6, 3, 2), (7, 4, 3), (2, 5, 1), (28, 2, 2)]:
        before, after = R.same_padding(size, k, s)
        x = tf.ones((1, size, 1, 1), tf.float64)
        w = tf.ones((k, 1, 1, 1), tf.float64)
        same = tf.nn.conv2d(x, w, (s, 1), "SAME").numpy()[0, :, 0, 0]
        explicit = tf.nn.conv2d(tf.pad(x, [[0, 0], [before, after], [0, 0], [0, 0]]), w, (s, 1),
                                "VALID").numpy()[0, :, 0, 0]
        np.testing.assert_array_equal(explicit, same, err_msg=f"same padding for {(size, k, s)}")


def test_cross_correlation_lecture_3x3_by_2x2():
    """O00 = x00 f00 + x01 f01 + x10 f10 + x11 f11, ... (lecture's forward example)."""
    x = np.arange(1.0, 10.0).reshape(3, 3)
    f = np.array([[1.0, 2.0], [3.0, 4.0]])
    expected = np.array([[1 * 1 + 2 * 2 + 4 * 3 + 5 * 4, 2 * 1 + 3 * 2 + 5 * 3 + 6 * 4],
                         [4 * 1 + 5 * 2 + 7 * 3 + 8 * 4, 5 * 1 + 6 * 2 + 8 * 3 + 9 * 4]])
    np.testing.assert_array_equal(R.cross_correlate2d(x, f), expected)
    np.testing.assert_array_equal(R.convolve2d(x, R.rot180(f)), expected,
                                  err_msg="convolution with the rotated kernel is correlation")


def test_lecture_backprop_formulas_single_channel():
    """dL/dF = Conv(X, dL/dO) and dL/dX = FullConv(rot180(F), dL/dO) equal conv2d_backward."""
    rng = np.random.default_rng(0)
    x, f, dout = rng.normal(size=(3, 3)), rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    out, cache = R.conv2d_forward(x[None, :, :, None], f[:, :, None, None])
    dx, dw, db = R.conv2d_backward(dout[None, :, :, None], cache)
    assert db is None
    np.testing.assert_allclose(dw[:, :, 0, 0], R.cross_correlate2d(x, dout), err_msg="dL/dF")
    np.testing.assert_allclose(dx[0, :, :, 0], R.full_convolution2d(dout, R.rot180(f)),
                               err_msg="dL/dX")
    # dX_11 = dO00 f11 + dO01 f10 + dO10 f01 + dO11 f00 (the lecture's slide)
    expected = dout[0, 0] * f[1, 1] + dout[0, 1] * f[1, 0] + dout[1, 0] * f[0, 1] + dout[1, 1] * f[0, 0]
    assert np.isclose(dx[0, 1, 1, 0], expected), f"expected dX11={expected}, got {dx[0, 1, 1, 0]}"


def test_rot180_and_full_convolution_shapes():
    k = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(R.rot180(k), np.array([[5, 4, 3], [2, 1, 0]]))
    assert R.full_convolution2d(np.ones((4, 5)), k).shape == (5, 7)
    assert R.pad2d(np.ones((2, 2)), 1).shape == (4, 4)
    assert R.pad2d(np.ones((1, 2, 2, 3)), ((1, 0), (0, 2))).shape == (1, 3, 4, 3)


@st.composite
def small_conv(draw):
    stride = draw(st.integers(1, 3))
    dilation = 1 if stride > 1 else draw(st.integers(1, 2))
    padding = draw(st.sampled_from(["valid", "same", 1, (0, 2)]))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    min_h = 1 if padding == "same" else dilation * (kh - 1) + 1
    min_w = 1 if padding == "same" else dilation * (kw - 1) + 1
    return dict(shape=(draw(st.integers(1, 2)), draw(st.integers(min_h, min_h + 6)),
                       draw(st.integers(min_w, min_w + 6)), draw(st.integers(1, 3))),
                kernel=(kh, kw, None, draw(st.integers(1, 3))), stride=stride, dilation=dilation,
                padding=padding, seed=draw(st.integers(0, 1000)))


def tf_padding(padding):
    if isinstance(padding, str):
        return padding.upper()
    pads = R.resolve_padding(padding, None, None)
    return [[0, 0], list(pads[0]), list(pads[1]), [0, 0]]


def dilate_kernel(w, d):
    """Zero insertion between kernel taps (differentiable): TF's CPU float64 kernels have no
    dilated backprop, so the expected values use an explicitly dilated kernel instead."""
    if d == 1:
        return w
    for axis in (0, 1):
        w = tf.stack([w] + [tf.zeros_like(w)] * (d - 1), axis=axis + 1)
        shape = w.shape.as_list()
        shape[axis:axis + 2] = [shape[axis] * d]
        w = tf.reshape(w, shape)
        w = w[: shape[0] - d + 1] if axis == 0 else w[:, : shape[1] - d + 1]
    return w


@settings(max_examples=25)
@given(small_conv())
def test_conv2d_reference_matches_tf_conv2d_and_autodiff(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.normal(size=case["shape"])
    kh, kw, _, c_out = case["kernel"]
    w = rng.normal(size=(kh, kw, x.shape[3], c_out))
    b = rng.normal(size=(c_out,))
    out, cache = R.conv2d_forward(x, w, b, case["stride"], case["padding"], case["dilation"])
    xt, wt, bt = tf.constant(x), tf.constant(w), tf.constant(b)
    with tf.GradientTape() as tape:
        tape.watch([xt, wt, bt])
        expected = tf.nn.conv2d(xt, dilate_kernel(wt, case["dilation"]), case["stride"],
                                tf_padding(case["padding"])) + bt
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-10, atol=1e-10, err_msg="forward")
    dout = rng.normal(size=out.shape)
    grads = tape.gradient(expected, [xt, wt, bt], output_gradients=tf.constant(dout))
    for name, got, want in zip(["dx", "dw", "db"], R.conv2d_backward(dout, cache), grads):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-10, err_msg=name)


@settings(max_examples=20)
@given(small_conv())
def test_depthwise_reference_matches_tf(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.normal(size=case["shape"])
    kh, kw, _, m = case["kernel"]
    w = rng.normal(size=(kh, kw, x.shape[3], m))
    out, cache = R.depthwise_conv2d_forward(x, w, None, case["stride"], case["padding"],
                                            case["dilation"])
    xt, wt = tf.constant(x), tf.constant(w)
    pads = R.resolve_padding(case["padding"], x.shape[1:3], (kh, kw), (case["stride"],) * 2,
                             (case["dilation"],) * 2)
    with tf.GradientTape() as tape:
        tape.watch([xt, wt])
        xp = tf.pad(xt, [[0, 0], list(pads[0]), list(pads[1]), [0, 0]])
        expected = tf.nn.depthwise_conv2d(xp, dilate_kernel(wt, case["dilation"]),
                                          [1, case["stride"], case["stride"], 1], "VALID")
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-10, atol=1e-10, err_msg="forward")
    dout = rng.normal(size=out.shape)
    dx, dw, db = R.depthwise_conv2d_backward(dout, cache)
    assert db is None
    gx, gw = tape.gradient(expected, [xt, wt], output_gradients=tf.constant(dout))
    np.testing.assert_allclose(dx, gx.numpy(), rtol=1e-10, atol=1e-10, err_msg="dx")
    np.testing.assert_allclose(dw, gw.numpy(), rtol=1e-10, atol=1e-10, err_msg="dw")


@settings(max_examples=25)
@given(st.integers(1, 4), st.integers(1, 4), st.sampled_from([None, 1, 2, 3]),
       st.sampled_from(["valid", "same"]), st.integers(4, 9), st.integers(0, 1000))
def test_pooling_reference_matches_tf(ph, pw, stride, padding, size, seed):
    rng = np.random.default_rng(seed)
    x = rng.permutation(2 * size * (size + 1) * 3).reshape(2, size, size + 1, 3).astype(np.float64)
    strides = (ph, pw) if stride is None else (stride, stride)
    for fwd, bwd, tf_op in [(R.maxpool2d_forward, R.maxpool2d_backward, tf.nn.max_pool2d),
                            (R.avgpool2d_forward, R.avgpool2d_backward, tf.nn.avg_pool2d)]:
        out, cache = fwd(x, (ph, pw), stride, padding)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            expected = tf_op(xt, (ph, pw), strides, padding.upper())
        np.testing.assert_allclose(out, expected.numpy(), rtol=1e-12, err_msg=f"{fwd.__name__}")
        dout = rng.normal(size=out.shape)
        np.testing.assert_allclose(bwd(dout, cache),
                                   tape.gradient(expected, xt, tf.constant(dout)).numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=f"{bwd.__name__}")


def test_reference_backward_passes_numeric_gradcheck():
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(2, 5, 4, 2)), rng.normal(size=(3, 2, 2, 3)), rng.normal(size=3)
    kwargs = dict(stride=2, padding="same")
    out, cache = R.conv2d_forward(x, w, b, **kwargs)
    dout = rng.normal(size=out.shape)
    dx, dw, db = R.conv2d_backward(dout, cache)
    checks = {
        "dx": (dx, gradcheck.numeric_gradient(lambda v: R.conv2d_forward(v, w, b, **kwargs)[0], x, dout)),
        "dw": (dw, gradcheck.numeric_gradient(lambda v: R.conv2d_forward(x, v, b, **kwargs)[0], w, dout)),
        "db": (db, gradcheck.numeric_gradient(lambda v: R.conv2d_forward(x, w, v, **kwargs)[0], b, dout)),
    }
    for name, (analytic, numeric) in checks.items():
        err = gradcheck.rel_error(analytic, numeric)
        assert err < 1e-7, f"{name}: expected relative error < 1e-7, got {err:.3g}"


def test_numeric_gradient_scalar_function_and_rel_error():
    x = np.array([1.0, -2.0, 3.0])
    g = gradcheck.numeric_gradient(lambda v: np.sum(v ** 3), x)
    assert gradcheck.rel_error(g, 3 * x ** 2) < 1e-8
    assert gradcheck.rel_error(np.ones(3), 2 * np.ones(3)) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match=r"h must be positive.*h=0"):
        gradcheck.numeric_gradient(np.sum, x, h=0)
    with pytest.raises(ValueError, match=r"same shape.*\(3,\).*\(2,\)"):
        gradcheck.rel_error(np.ones(3), np.ones(2))


@pytest.mark.parametrize("call,error,match", [
    (lambda: R.conv2d_forward(np.ones((4, 4, 1)), np.ones((2, 2, 1, 1))), ValueError,
     r"x must have rank 4.*x.shape=\(4, 4, 1\)"),
    (lambda: R.conv2d_forward(np.ones((1, 4, 4, 2)), np.ones((2, 2, 3, 1))), ValueError,
     r"channels.*x.shape=\(1, 4, 4, 2\), w.shape=\(2, 2, 3, 1\)"),
    (lambda: R.conv2d_forward(np.ones((1, 4, 4, 1)), np.ones((5, 5, 1, 1))), ValueError,
     r"must fit in the padded input.*w_in=4, k=5"),
    (lambda: R.conv2d_forward(np.ones((1, 4, 4, 1)), np.ones((2, 2, 1, 1)), stride=0), ValueError,
     r"stride must be positive.*stride=0"),
    (lambda: R.conv2d_forward(np.ones((1, 6, 6, 1)), np.ones((2, 2, 1, 1)), stride=2, dilation=2),
     ValueError, r"stride > 1 together with dilation > 1"),
    (lambda: R.conv2d_forward(np.ones((1, 4, 4, 1)), np.ones((2, 2, 1, 1)), padding="full"),
     ValueError, r"padding must be .*'full'"),
    (lambda: R.maxpool2d_forward(np.ones((1, 4, 4, 1)), 0), ValueError, r"pool_size must be positive"),
    (lambda: R.output_size(3, 5), ValueError, r"must fit"),
])
def test_reference_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
