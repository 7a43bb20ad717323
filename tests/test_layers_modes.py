"""cnnlib.layers' new Keras-contract features (issue 16): grouped convolution,
channels_first, LoRA, stateless layers built at creation and Keras' argument rules.

Each mode is checked against keras.layers and autodiff (hypothesis sweep), by float64
numeric gradients, and its gradient graph must hold none of TensorFlow's backprop kernels.
Keras' own shipped tests are in tests/test_keras_peer.py.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from test_layers import compare_with_keras, distinct_values
from test_layers_keras import FORBIDDEN_PREFIXES, gradient_graph_ops

from cnnlib import gradcheck
from cnnlib import layers as L


def _nchw(x):
    return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))


class _KerasOnNCHW(keras.layers.Layer):
    """A channels_last Keras layer applied to NCHW tensors (transposes around it).

    The reference for our channels_first layers: Keras' own channels_first depthwise
    convolution gives wrong values on CPU for some shapes (TF 2.21 / Keras 3.15, e.g.
    ``DepthwiseConv2D(1, strides=2, data_format="channels_first")`` on a (1, 2, 1, 3)
    input), so we compare against the NHWC computation, which is right.
    """

    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def build(self, input_shape):
        n, c, h, w = input_shape
        self.inner.build((n, h, w, c))

    def call(self, x):
        y = self.inner(tf.transpose(x, [0, 2, 3, 1]))
        return tf.transpose(y, [0, 3, 1, 2]) if len(y.shape) == 4 else y

    def compute_output_shape(self, input_shape):
        n, c, h, w = input_shape
        out = self.inner.compute_output_shape((n, h, w, c))
        return (out[0], out[3], out[1], out[2]) if len(out) == 4 else out


def _reference(keras_cls, **kwargs):
    """keras_cls(**kwargs), through NHWC when kwargs ask for channels_first."""
    if kwargs.get("data_format") == "channels_first":
        return _KerasOnNCHW(keras_cls(**{**kwargs, "data_format": "channels_last"}))
    return keras_cls(**kwargs)


# ------------------------------------------------------------ sweeps against Keras
@st.composite
def grouped_cases(draw, max_size=14):
    groups = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    dilation = 1 if stride > 1 else draw(st.integers(1, 2))
    padding = draw(st.sampled_from(["valid", "same"]))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    low_h = 1 if padding == "same" else dilation * (kh - 1) + 1
    low_w = 1 if padding == "same" else dilation * (kw - 1) + 1
    return dict(batch=draw(st.integers(1, 3)), h=draw(st.integers(low_h, max_size)),
                w=draw(st.integers(low_w, max_size)), groups=groups,
                c_in=groups * draw(st.integers(1, 3)), filters=groups * draw(st.integers(1, 3)),
                kernel=(kh, kw), strides=stride, dilation=dilation, padding=padding,
                data_format=draw(st.sampled_from(["channels_last", "channels_first"])),
                seed=draw(st.integers(0, 2**16)))


@settings(max_examples=25)
@given(grouped_cases())
def test_grouped_and_channels_first_conv2d_match_keras_and_autodiff(case):
    x = np.random.default_rng(case["seed"]).normal(
        size=(case["batch"], case["h"], case["w"], case["c_in"])).astype("float32")
    if case["data_format"] == "channels_first":
        x = _nchw(x)
    kwargs = dict(filters=case["filters"], kernel_size=case["kernel"], strides=case["strides"],
                  padding=case["padding"], dilation_rate=case["dilation"],
                  groups=case["groups"], data_format=case["data_format"])
    compare_with_keras(L.Conv2D(**kwargs), _reference(keras.layers.Conv2D, **kwargs), x,
                       case["seed"])


@settings(max_examples=15)
@given(grouped_cases(), st.integers(1, 2))
def test_channels_first_depthwise_matches_keras_and_autodiff(case, multiplier):
    x = np.random.default_rng(case["seed"]).normal(
        size=(case["batch"], case["c_in"], case["h"], case["w"])).astype("float32")
    kwargs = dict(kernel_size=case["kernel"], strides=case["strides"], padding=case["padding"],
                  dilation_rate=case["dilation"], depth_multiplier=multiplier,
                  data_format="channels_first")
    compare_with_keras(L.DepthwiseConv2D(**kwargs),
                       _reference(keras.layers.DepthwiseConv2D, **kwargs), x, case["seed"])


@pytest.mark.parametrize("name,kwargs", [
    ("MaxPooling2D", dict(pool_size=3, strides=2, padding="same")),
    ("AveragePooling2D", dict(pool_size=(2, 3), strides=1, padding="same")),
    ("GlobalAveragePooling2D", dict(keepdims=True)),
    ("GlobalAveragePooling2D", dict()),
], ids=["maxpool", "avgpool", "gap-keepdims", "gap"])
def test_channels_first_pooling_matches_keras_and_autodiff(name, kwargs):
    x = distinct_values((2, 3, 7, 6), 3)                      # NCHW, no ties
    kwargs = {**kwargs, "data_format": "channels_first"}
    compare_with_keras(getattr(L, name)(**kwargs), _reference(getattr(keras.layers, name),
                                                              **kwargs), x, 3)


def test_lora_conv2d_matches_keras_lora_and_autodiff():
    """lora_rank at creation: kernel frozen, A and B trained; same values as Keras."""
    x = np.random.default_rng(5).normal(size=(2, 7, 6, 4)).astype("float32")
    kwargs = dict(filters=6, kernel_size=3, strides=2, padding="same", groups=2, lora_rank=2,
                  lora_alpha=3.0)
    ours, theirs = L.Conv2D(**kwargs), keras.layers.Conv2D(**kwargs)
    compare_with_keras(ours, theirs, x, 5)           # weights incl. non-zero A, B copied
    names = sorted(w.name for w in ours.trainable_weights)
    assert names == ["bias", "lora_kernel_a", "lora_kernel_b"], (
        f"esperado só bias e os fatores LoRA treináveis, veio {names}")
    assert not ours._kernel.trainable, "com LoRA o kernel deve ficar congelado"


# ------------------------------------------------------------ float64 numeric gradients
@pytest.mark.parametrize("layer_fn,shape", [
    (lambda: L.Conv2D(4, 3, groups=2, dtype="float64"), (2, 5, 6, 4)),
    (lambda: L.Conv2D(6, (3, 2), strides=2, padding="same", groups=3, dtype="float64"),
     (1, 7, 6, 3)),
    (lambda: L.Conv2D(2, 3, strides=2, padding="same", data_format="channels_first",
                      dtype="float64"), (1, 2, 6, 5)),
    (lambda: L.DepthwiseConv2D(3, strides=2, data_format="channels_first", dtype="float64"),
     (1, 2, 7, 6)),
    (lambda: L.MaxPool2D(3, 2, padding="same", data_format="channels_first", dtype="float64"),
     (1, 2, 6, 5)),
], ids=["grouped", "grouped-stride2", "conv-nchw", "depthwise-nchw", "maxpool-nchw"])
def test_float64_gradcheck_new_modes(layer_fn, shape):
    """(LoRA's factors are float32 by design, as Keras': checked against Keras instead.)"""
    layer = layer_fn()
    x = distinct_values(shape, 1).astype(np.float64) * 4 - 2
    errors = gradcheck.check_layer_gradients(layer, x)
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: esperado erro relativo < 1e-6, veio {err:.3g}"


# ------------------------------------------------------------ no TF backprop kernels
@pytest.mark.parametrize("layer_fn,shape", [
    (lambda: L.Conv2D(6, 3, groups=3), (2, 9, 9, 3)),
    (lambda: L.Conv2D(6, 3, strides=2, padding="same", groups=2), (2, 9, 9, 4)),
    (lambda: L.Conv2D(4, 3, strides=2, data_format="channels_first"), (2, 3, 9, 9)),
    (lambda: L.Conv2D(4, 3, groups=2, data_format="channels_first"), (2, 4, 9, 9)),
    (lambda: L.DepthwiseConv2D(3, strides=2, data_format="channels_first"), (2, 3, 9, 9)),
    (lambda: L.MaxPool2D(3, 2, data_format="channels_first"), (2, 3, 9, 9)),
    (lambda: L.AvgPool2D(2, data_format="channels_first"), (2, 3, 9, 9)),
    (lambda: L.GlobalAveragePooling2D(data_format="channels_first"), (2, 3, 9, 9)),
    (lambda: L.Conv2D(4, 3, lora_rank=2), (2, 9, 9, 3)),
], ids=["grouped", "grouped-stride2", "conv-nchw", "grouped-nchw", "depthwise-nchw",
        "maxpool-nchw", "avgpool-nchw", "gap-nchw", "lora"])
def test_gradient_is_hand_written_in_every_mode(layer_fn, shape):
    ops = gradient_graph_ops(layer_fn(), shape)
    bad = sorted(op for op in ops if op.startswith(FORBIDDEN_PREFIXES))
    assert not bad, f"esperado nenhum kernel de backprop do TF no grafo do gradiente, veio {bad}"
    assert ops & {"Conv2D", "DepthwiseConv2dNative", "MaxPool", "AvgPool", "Mean"}, (
        f"esperada a operação direta no grafo, veio {sorted(ops)}")


@pytest.mark.parametrize("layer_fn", [
    lambda: L.Conv2D(6, 3, strides=2, padding="same", groups=3),
    lambda: L.Conv2D(4, 3, strides=2, data_format="channels_first"),
], ids=["grouped", "conv-nchw"])
def test_jit_compile_gradients_equal_eager_new_modes(layer_fn):
    layer = layer_fn()
    shape = (2, 9, 11, 3) if layer.data_format == "channels_last" else (2, 3, 9, 11)
    x = tf.constant(distinct_values(shape, 4))

    def grads(xb):
        with tf.GradientTape() as tape:
            tape.watch(xb)
            loss = tf.reduce_sum(layer(xb) ** 2)
        return tape.gradient(loss, [xb] + layer.trainable_weights)

    eager = grads(x)
    for a, b in zip(tf.function(grads, jit_compile=True)(x), eager):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4, err_msg="jit_compile vs eager")


# ------------------------------------------------------------ Keras' layer contract
@pytest.mark.parametrize("make", [lambda: L.MaxPooling2D(2), lambda: L.AveragePooling2D(2),
                                  lambda: L.GlobalAveragePooling2D()],
                         ids=["maxpool", "avgpool", "gap"])
def test_stateless_layers_are_built_at_creation(make):
    layer = make()
    assert layer.built, "esperado: camada sem pesos construída na criação (como no Keras)"
    assert layer.count_params() == 0, f"esperado 0 parâmetros, veio {layer.count_params()}"


def test_keras_conv2d_config_loads_into_cnnlib():
    """A stock Keras Conv2D config (groups=1, activity_regularizer, ...) is accepted."""
    config = keras.layers.Conv2D(4, 3, groups=1).get_config()
    layer = L.Conv2D.from_config(config)
    assert (layer.groups, layer.filters) == (1, 4), f"veio groups={layer.groups}"
    assert layer.get_config()["groups"] == 1


def test_numpy_integers_are_accepted_bools_rejected():
    layer = L.Conv2D(np.int64(4), np.int64(3), strides=(np.int32(1), 1), groups=np.int64(2))
    assert (layer.filters, layer.kernel_size, layer.groups) == (4, (3, 3), 2), (
        f"veio {(layer.filters, layer.kernel_size, layer.groups)}")
    assert type(layer.filters) is int and type(layer.kernel_size[0]) is int
    y = layer(np.zeros((1, 5, 5, 2), "float32"))
    assert tuple(y.shape) == (1, 3, 3, 4), f"esperado (1, 3, 3, 4), veio {tuple(y.shape)}"
    assert L.MaxPool2D(np.int32(2)).pool_size == (2, 2)
    with pytest.raises(TypeError, match=r"including element True of type bool"):
        L.Conv2D(4, (3, True))


def test_groups_must_divide_the_input_channels():
    with pytest.raises(ValueError, match=r"input channels must be evenly divisible by the number "
                                         r"of groups\. Received groups=2, but the input has 3 "
                                         r"channels \(full input shape is \(1, 5, 5, 3\)\)"):
        L.Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), "float32"))


def test_lora_errors_and_kernel_merge():
    layer = L.Conv2D(2, 3, kernel_constraint="non_neg")
    layer.build((1, 5, 5, 1))
    with pytest.raises(ValueError, match=r"Lora is incompatible with kernel constraints"):
        layer.enable_lora(2)
    with pytest.raises(ValueError, match=r"Cannot enable lora on a layer that isn't yet built"):
        L.Conv2D(2, 3).enable_lora(2)
    layer = L.Conv2D(2, 3)
    layer.build((1, 5, 5, 1))
    before = layer.kernel.numpy()
    layer.enable_lora(1)
    np.testing.assert_array_equal(layer.kernel.numpy(), before,
                                  err_msg="B começa em zero: o kernel efetivo não muda")
    with pytest.raises(ValueError, match=r"lora is already enabled"):
        layer.enable_lora(1)
