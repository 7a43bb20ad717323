"""cnnlib.layers against TensorFlow / Keras (outputs and autodiff gradients) and the NumPy
reference, over randomized shapes (hypothesis), plus float64 gradient checks."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlib import geometry, gradcheck, reference
from cnnlib import layers as L
from cnnlib.layers import _ops


def assert_close(got, expected, what, rtol=1e-4):
    """float32 tolerance scaled by the magnitude of the expected values."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    assert got.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {got.shape}"
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    err = float(np.max(np.abs(got - expected), initial=0.0))
    assert err <= rtol * scale, f"{what}: expected max abs error <= {rtol * scale:.3g}, got {err:.3g}"


def forward_and_grads(layer, x, dout):
    """Output of ``layer(x)`` and the gradients of ``sum(dout * y)`` w.r.t. x and the weights."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
    grads = tape.gradient(y, [xt] + layer.trainable_weights, output_gradients=tf.constant(dout))
    return y.numpy(), [g.numpy() for g in grads]


def compare_with_keras(ours, theirs, x, seed):
    """Build both layers, give them the same weights, compare outputs and gradients."""
    ours.build(x.shape)
    theirs.build(x.shape)
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    out_shape = tuple(theirs.compute_output_shape(x.shape))
    assert tuple(ours.compute_output_shape(x.shape)) == out_shape, (
        f"compute_output_shape: expected {out_shape}, got {ours.compute_output_shape(x.shape)}")
    dout = rng.normal(size=(x.shape[0],) + out_shape[1:]).astype("float32")
    y_ours, g_ours = forward_and_grads(ours, x, dout)
    y_theirs, g_theirs = forward_and_grads(theirs, x, dout)
    assert_close(y_ours, y_theirs, "output")
    names = ["dL/dx"] + [w.name for w in theirs.trainable_weights]
    for name, a, b in zip(names, g_ours, g_theirs):
        assert_close(a, b, name)
    return dout, y_ours, g_ours, weights


@st.composite
def conv_cases(draw, max_size=33, max_kernel=11, max_channels=16):
    stride = draw(st.integers(1, 4))
    dilation = 1 if stride > 1 else draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    eff_h, eff_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1
    min_h, min_w = (1, 1) if padding == "same" else (eff_h, eff_w)
    if min_h > max_size or min_w > max_size:
        kh = kw = 1
        eff_h = eff_w = 1
        min_h = min_w = 1
    # kernel = input size is a case of its own
    h = draw(st.one_of(st.just(max(min_h, eff_h)), st.integers(min_h, max_size)))
    w = draw(st.one_of(st.just(max(min_w, eff_w)), st.integers(min_w, max_size)))
    return dict(batch=draw(st.integers(1, 4)), h=min(h, max_size), w=min(w, max_size),
                c_in=draw(st.integers(1, max_channels)), kernel=(kh, kw), strides=stride,
                dilation=dilation, padding=padding, seed=draw(st.integers(0, 2**16)))


@given(conv_cases(), st.integers(1, 16))
def test_conv2d_matches_keras_conv2d_and_autodiff(case, filters):
    x = np.random.default_rng(case["seed"]).normal(
        size=(case["batch"], case["h"], case["w"], case["c_in"])).astype("float32")
    kwargs = dict(kernel_size=case["kernel"], strides=case["strides"], padding=case["padding"],
                  dilation_rate=case["dilation"])
    compare_with_keras(L.Conv2D(filters, **kwargs), keras.layers.Conv2D(filters, **kwargs), x,
                       case["seed"])


@given(conv_cases(max_channels=8), st.integers(1, 3))
def test_depthwise_conv2d_matches_keras_and_autodiff(case, multiplier):
    x = np.random.default_rng(case["seed"]).normal(
        size=(case["batch"], case["h"], case["w"], case["c_in"])).astype("float32")
    kwargs = dict(kernel_size=case["kernel"], strides=case["strides"], padding=case["padding"],
                  dilation_rate=case["dilation"], depth_multiplier=multiplier)
    compare_with_keras(L.DepthwiseConv2D(**kwargs), keras.layers.DepthwiseConv2D(**kwargs), x,
                       case["seed"])


@st.composite
def pool_cases(draw, max_size=33):
    padding = draw(st.sampled_from(["valid", "same"]))
    ph, pw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    strides = draw(st.one_of(st.none(), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    low_h, low_w = (1, 1) if padding == "same" else (ph, pw)
    return dict(batch=draw(st.integers(1, 4)), h=draw(st.integers(low_h, max_size)),
                w=draw(st.integers(low_w, max_size)), c=draw(st.integers(1, 16)),
                pool=(ph, pw), strides=strides, padding=padding, seed=draw(st.integers(0, 2**16)))


def distinct_values(shape, seed):
    """A random permutation: no ties, so the max is unique in every window."""
    size = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(size).reshape(shape) / size).astype("float32")


@given(pool_cases())
def test_max_pool2d_matches_keras_and_autodiff(case):
    x = distinct_values((case["batch"], case["h"], case["w"], case["c"]), case["seed"])
    kwargs = dict(pool_size=case["pool"], strides=case["strides"], padding=case["padding"])
    compare_with_keras(L.MaxPool2D(**kwargs), keras.layers.MaxPooling2D(**kwargs), x, case["seed"])


@given(pool_cases())
def test_avg_pool2d_matches_keras_and_autodiff(case):
    x = np.random.default_rng(case["seed"]).normal(
        size=(case["batch"], case["h"], case["w"], case["c"])).astype("float32")
    kwargs = dict(pool_size=case["pool"], strides=case["strides"], padding=case["padding"])
    compare_with_keras(L.AvgPool2D(**kwargs), keras.layers.AveragePooling2D(**kwargs), x,
                       case["seed"])


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling_matches_keras(keepdims):
    x = np.random.default_rng(0).normal(size=(3, 7, 5, 4)).astype("float32")
    compare_with_keras(L.GlobalAveragePooling2D(keepdims=keepdims),
                       keras.layers.GlobalAveragePooling2D(keepdims=keepdims), x, 0)


@settings(max_examples=15)
@given(conv_cases(max_size=9, max_kernel=4, max_channels=3), st.integers(1, 3))
def test_conv2d_keras_and_numpy_reference_agree(case, filters):
    """The three agree: cnnlib layer (checked against keras above) and the NumPy loops."""
    x = np.random.default_rng(case["seed"]).normal(
        size=(case["batch"], case["h"], case["w"], case["c_in"])).astype("float32")
    layer = L.Conv2D(filters, case["kernel"], strides=case["strides"], padding=case["padding"],
                     dilation_rate=case["dilation"])
    theirs = keras.layers.Conv2D(filters, case["kernel"], strides=case["strides"],
                                 padding=case["padding"], dilation_rate=case["dilation"])
    dout, y, grads, (w, b) = compare_with_keras(layer, theirs, x, case["seed"])
    out, cache = reference.conv2d_forward(x.astype(np.float64), w, b, case["strides"],
                                          case["padding"], case["dilation"])
    assert_close(y, out, "reference output")
    for name, got, ref in zip(["dx", "dw", "db"], grads, reference.conv2d_backward(dout, cache)):
        assert_close(got, ref, f"reference {name}")


@settings(max_examples=15)
@given(conv_cases(max_size=9, max_kernel=4, max_channels=3), st.integers(1, 2))
def test_depthwise_keras_and_numpy_reference_agree(case, multiplier):
    x = np.random.default_rng(case["seed"]).normal(
        size=(case["batch"], case["h"], case["w"], case["c_in"])).astype("float32")
    kwargs = dict(kernel_size=case["kernel"], strides=case["strides"], padding=case["padding"],
                  dilation_rate=case["dilation"], depth_multiplier=multiplier)
    dout, y, grads, (w, b) = compare_with_keras(
        L.DepthwiseConv2D(**kwargs), keras.layers.DepthwiseConv2D(**kwargs), x, case["seed"])
    out, cache = reference.depthwise_conv2d_forward(x.astype(np.float64), w, b, case["strides"],
                                                    case["padding"], case["dilation"])
    assert_close(y, out, "reference output")
    for name, got, ref in zip(["dx", "dw", "db"], grads,
                              reference.depthwise_conv2d_backward(dout, cache)):
        assert_close(got, ref, f"reference {name}")


@settings(max_examples=15)
@given(pool_cases(max_size=9))
def test_pooling_keras_and_numpy_reference_agree(case):
    x = distinct_values((case["batch"], case["h"], case["w"], case["c"]), case["seed"])
    kwargs = dict(pool_size=case["pool"], strides=case["strides"], padding=case["padding"])
    for ours, theirs, fwd, bwd in [
            (L.MaxPool2D, keras.layers.MaxPooling2D, reference.maxpool2d_forward,
             reference.maxpool2d_backward),
            (L.AvgPool2D, keras.layers.AveragePooling2D, reference.avgpool2d_forward,
             reference.avgpool2d_backward)]:
        dout, y, (dx,), _ = compare_with_keras(ours(**kwargs), theirs(**kwargs), x, case["seed"])
        out, cache = fwd(x.astype(np.float64), case["pool"], case["strides"], case["padding"])
        assert_close(y, out, f"{ours.__name__} reference output")
        assert_close(dx, bwd(dout, cache), f"{ours.__name__} reference dx")


@pytest.mark.parametrize("method", ["im2col", "batch_as_channel", "patches"])
@pytest.mark.parametrize("strides,dilation,kernel", [
    (1, 1, (3, 3)), (2, 1, (3, 3)), (3, 1, (5, 2)), (4, 1, (11, 11)), (1, 2, (3, 3)),
    (1, 3, (2, 4)), (2, 1, (1, 1)), (3, 1, (2, 2)),
])
def test_both_filter_gradient_methods_match_autodiff(method, strides, dilation, kernel):
    """The three dL/dF algorithms (chosen per shape in production) are each correct."""
    rng = np.random.default_rng(strides * 10 + dilation)
    x = tf.constant(rng.normal(size=(2, 23, 17, 3)), tf.float32)
    w = tf.constant(rng.normal(size=kernel + (3, 5)), tf.float32)
    pads = geometry.resolve_padding("same", (23, 17), kernel, (strides,) * 2, (dilation,) * 2)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, w])
        ours = _ops.conv2d(x, w, None, (strides,) * 2, pads, (dilation,) * 2, method)
        theirs = tf.nn.conv2d(x, w, strides, "SAME", dilations=dilation)
    assert_close(ours, theirs, "output")
    dout = tf.constant(rng.normal(size=theirs.shape), tf.float32)
    for name, a, b in zip(["dx", "dw"], tape.gradient(ours, [x, w], dout),
                          tape.gradient(theirs, [x, w], dout)):
        assert_close(a, b, f"{method} {name}")


def test_max_pool_tie_rule_first_maximum_gets_the_gradient():
    """All-equal windows: the top-left pixel of each window gets the whole gradient."""
    x = tf.ones((1, 4, 4, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = L.MaxPool2D(2)(x)
    dx = tape.gradient(y, x, output_gradients=tf.constant([[[[1.0], [2.0]], [[3.0], [4.0]]]]))
    expected = np.zeros((4, 4))
    expected[0, 0], expected[0, 2], expected[2, 0], expected[2, 2] = 1, 2, 3, 4
    np.testing.assert_array_equal(dx.numpy()[0, :, :, 0], expected,
                                  err_msg="tie rule: expected the first (row-major) max to win")
    out, cache = reference.maxpool2d_forward(np.ones((1, 4, 4, 1)), 2)
    ref = reference.maxpool2d_backward(np.arange(1.0, 5.0).reshape(1, 2, 2, 1), cache)
    np.testing.assert_array_equal(ref[0, :, :, 0], expected, err_msg="reference tie rule")


def test_max_pool_overlapping_windows_add_their_gradients():
    x = np.array([[0, 1, 0], [1, 9, 1], [0, 1, 0]], np.float32).reshape(1, 3, 3, 1)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = L.MaxPool2D(2, strides=1)(xt)
    dx = tape.gradient(y, xt)
    assert float(dx[0, 1, 1, 0]) == 4.0, f"the center wins 4 windows: expected 4, got {dx[0, 1, 1, 0]}"
    assert float(tf.reduce_sum(dx)) == 4.0, f"expected total 4, got {float(tf.reduce_sum(dx))}"


# ------------------------------------------------------------------ float64 gradcheck
@pytest.mark.parametrize("layer_fn,shape", [
    (lambda: L.Conv2D(3, 3, dtype="float64"), (2, 5, 6, 2)),
    (lambda: L.Conv2D(2, (3, 2), strides=2, padding="same", dtype="float64"), (1, 7, 6, 2)),
    (lambda: L.Conv2D(2, 2, dilation_rate=2, padding="same", dtype="float64"), (1, 5, 5, 2)),
    (lambda: L.Conv2D(2, 4, strides=3, padding=1, dtype="float64"), (2, 8, 7, 1)),
    (lambda: L.DepthwiseConv2D(3, strides=2, depth_multiplier=2, dtype="float64"), (1, 6, 7, 2)),
    (lambda: L.DepthwiseConv2D(3, padding="same", dilation_rate=2, dtype="float64"), (1, 5, 5, 3)),
    (lambda: L.MaxPool2D(3, strides=2, padding="same", dtype="float64"), (2, 6, 5, 2)),
    (lambda: L.AvgPool2D((2, 3), strides=1, padding="same", dtype="float64"), (1, 5, 5, 2)),
    (lambda: L.GlobalAveragePooling2D(dtype="float64"), (2, 3, 4, 2)),
], ids=["conv", "conv-stride2-same", "conv-dilated", "conv-explicit-pad", "depthwise-stride2",
        "depthwise-dilated", "maxpool", "avgpool", "gap"])
def test_float64_gradcheck(layer_fn, shape):
    x = distinct_values(shape, 1).astype(np.float64) * 4 - 2
    errors = gradcheck.check_layer_gradients(layer_fn(), x)
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: expected relative error < 1e-6, got {err:.3g}"


def test_gradcheck_detects_a_wrong_gradient():
    """The checker itself can fail: a function with a deliberately wrong custom gradient."""

    @tf.custom_gradient
    def wrong_square(x):
        return x * x, lambda dy: dy * x            # should be 2 * x

    (err,) = gradcheck.check_gradients(wrong_square, [np.linspace(1.0, 2.0, 6)])
    assert err > 0.1, f"expected a large relative error for a wrong gradient, got {err:.3g}"
    (ok,) = gradcheck.check_gradients(lambda x: x * x, [np.linspace(1.0, 2.0, 6)])
    assert ok < 1e-8, f"expected a tiny relative error for autodiff, got {ok:.3g}"


@pytest.mark.parametrize("batch, whole_batch", [(1, False), (5, False), (5, True)])
def test_filter_gradient_in_chunks_of_images(monkeypatch, batch, whole_batch):
    """im2col on large maps runs a few images at a time; a batch that is not a whole number
    of chunks (here chunks of 2 images, batch 5) is zero-padded and gives the same dL/dF.
    Small maps with a known batch take one matmul per tap over the whole batch."""
    monkeypatch.setattr(_ops, "_CHUNK_BYTES", 2 * 10 * 10 * (4 + 6) * 4)
    monkeypatch.setattr(_ops, "_WHOLE_BATCH_BYTES", (1 << 30) if whole_batch else 0)
    rng = np.random.default_rng(batch)
    x = tf.constant(rng.normal(size=(batch, 8, 8, 4)), tf.float32)
    w = tf.constant(rng.normal(size=(3, 3, 4, 6)), tf.float32)
    pads = ((1, 1), (1, 1))
    dout = tf.constant(rng.normal(size=(batch, 8, 8, 6)), tf.float32)
    for fn in (lambda f: f, tf.function):                     # eager and traced (None batch)
        with tf.GradientTape() as tape:
            tape.watch(w)
            y = fn(lambda w_: _ops.conv2d(x, w_, None, (1, 1), pads, (1, 1), "im2col"))(w)
        got = tape.gradient(y, w, output_gradients=dout)
        with tf.GradientTape() as tape:
            tape.watch(w)
            y = tf.nn.conv2d(x, w, 1, "SAME")
        assert_close(got, tape.gradient(y, w, output_gradients=dout), f"chunked dL/dF, batch {batch}")

    @tf.function(input_signature=[tf.TensorSpec((None, 8, 8, 4), tf.float32)])
    def unknown_batch(xb):
        with tf.GradientTape() as tape:
            tape.watch(w)
            y = _ops.conv2d(xb, w, None, (1, 1), pads, (1, 1), "im2col")
        return tape.gradient(y, w, output_gradients=dout)

    with tf.GradientTape() as tape:
        tape.watch(w)
        y = tf.nn.conv2d(x, w, 1, "SAME")
    assert_close(unknown_batch(x), tape.gradient(y, w, output_gradients=dout),
                 f"chunked dL/dF with a None batch dimension, batch {batch}")
