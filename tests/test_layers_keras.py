"""cnnlib.layers as Keras layers: hand-written gradient graph, eager / tf.function / fit /
jit_compile, None batch dimension, .keras save and reload in a fresh process, config
round-trip, and clear errors on bad input."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import cnnlib
from cnnlib import layers as L

FORBIDDEN_PREFIXES = ("Conv2DBackprop", "DepthwiseConv2dNativeBackprop", "MaxPoolGrad",
                      "AvgPoolGrad", "Conv2DTranspose")


def gradient_graph_ops(layer, input_shape):
    """Op types of the traced graph (and its function library) that computes the gradients."""
    layer.build(input_shape)

    @tf.function
    def grads(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [x] + layer.trainable_weights)

    graph_def = grads.get_concrete_function(tf.TensorSpec(input_shape, tf.float32)).graph.as_graph_def()
    ops = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        ops |= {node.op for node in function.node_def}
    return ops


def test_gradient_graph_walker_sees_keras_backprop_ops():
    """Positive control: the walker finds TensorFlow's own backprop kernels in Keras' layers."""
    assert "Conv2DBackpropFilter" in gradient_graph_ops(keras.layers.Conv2D(4, 3, strides=2),
                                                        (2, 9, 9, 3))
    assert "MaxPoolGrad" in gradient_graph_ops(keras.layers.MaxPooling2D(2), (2, 8, 8, 3))


@pytest.mark.parametrize("layer_fn", [
    lambda: L.Conv2D(4, 3), lambda: L.Conv2D(4, 3, strides=2, padding="same"),
    lambda: L.Conv2D(4, 11, strides=4), lambda: L.Conv2D(4, 3, dilation_rate=2),
    lambda: L.DepthwiseConv2D(3, strides=2, padding="same"), lambda: L.MaxPool2D(3, 2),
    lambda: L.AvgPool2D(2), lambda: L.GlobalAveragePooling2D(),
], ids=["conv", "conv-stride2", "conv-alexnet", "conv-dilated", "depthwise", "maxpool",
        "avgpool", "gap"])
def test_gradient_is_hand_written(layer_fn):
    ops = gradient_graph_ops(layer_fn(), (2, 23, 23, 3))
    bad = sorted(op for op in ops if op.startswith(FORBIDDEN_PREFIXES))
    assert not bad, f"expected no TensorFlow backprop kernels in the gradient graph, got {bad}"
    assert ops & {"Conv2D", "DepthwiseConv2dNative", "MaxPool", "AvgPool", "Mean"}, (
        f"expected the forward op in the graph, got {sorted(ops)}")


def small_net(lib, input_shape=(12, 12, 3)):
    """The same small CNN from cnnlib.layers or keras.layers."""
    pool_max = lib.MaxPool2D if lib is L else keras.layers.MaxPooling2D
    pool_avg = lib.AvgPool2D if lib is L else keras.layers.AveragePooling2D
    return keras.Sequential([
        keras.Input(input_shape),
        lib.Conv2D(8, 3, padding="same", activation="relu"),
        lib.DepthwiseConv2D(3, padding="same"),
        pool_max(2),
        lib.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
        lib.Conv2D(6, 1, activation="relu"),
        lib.Conv2D(6, 3, strides=2, padding="same"),
        pool_avg(2, strides=1, padding="same"),
        lib.GlobalAveragePooling2D(),
        keras.layers.Dense(3),
    ])


@pytest.fixture(scope="module")
def toy_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 12, 12, 3)).astype("float32")
    y = (x[:, :6].mean(axis=(1, 2, 3)) > 0).astype("int32") + (x[..., 0].mean(axis=(1, 2)) > 0)
    return x, y


def train_weights(lib, x, y, jit_compile):
    keras.utils.set_random_seed(0)
    model = small_net(lib)
    keras.utils.set_random_seed(1)
    model.set_weights([np.random.default_rng(k).normal(size=w.shape).astype("float32") * 0.3
                       for k, w in enumerate(model.get_weights())])
    model.compile(optimizer=keras.optimizers.SGD(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile)
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return model, history.history["loss"]


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fit_matches_keras_layers_step_for_step(toy_data, jit_compile):
    """Same start, same batches: cnnlib and keras.layers end with the same weights."""
    x, y = toy_data
    ours, loss_ours = train_weights(L, x, y, jit_compile)
    theirs, loss_theirs = train_weights(keras.layers, x, y, False)
    np.testing.assert_allclose(loss_ours, loss_theirs, rtol=1e-4,
                               err_msg="training loss per epoch: expected keras', got cnnlib's")
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4,
                                   err_msg="weights after fit: expected keras', got cnnlib's")


def test_eager_tf_function_and_none_batch_agree(toy_data):
    x, _ = toy_data
    model = small_net(L)
    eager = model(x[:5]).numpy()
    fn = tf.function(model.__call__, input_signature=[tf.TensorSpec((None, 12, 12, 3), tf.float32)])
    for n in (1, 5, 7):                                       # one trace, mixed batch sizes
        got = fn(tf.constant(x[:n])).numpy()
        np.testing.assert_allclose(got[:min(n, 5)], eager[:min(n, 5)], rtol=1e-5, atol=1e-6,
                                   err_msg=f"tf.function batch {n} vs eager")
    assert len(fn.get_concrete_function().graph.inputs) >= 1
    np.testing.assert_allclose(model.predict(x[:7], batch_size=3, verbose=0)[:5], eager,
                               rtol=1e-5, atol=1e-6, err_msg="predict with a ragged last batch")

    @tf.function(jit_compile=True, input_signature=[tf.TensorSpec((None, 12, 12, 3), tf.float32)])
    def grads(xb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(xb) ** 2)
        return tape.gradient(loss, model.trainable_weights)

    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x[:5]) ** 2)
    eager_grads = tape.gradient(loss, model.trainable_weights)
    for a, b in zip(grads(tf.constant(x[:5])), eager_grads):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg="jit_compile gradients")


@pytest.mark.parametrize("layer", [
    L.Conv2D(4, (3, 2), strides=(2, 1), padding="same", activation="relu", use_bias=False,
             kernel_initializer="he_normal", kernel_regularizer="l2"),
    L.Conv2D(4, 3, padding=((1, 0), (2, 1)), dilation_rate=2),
    L.DepthwiseConv2D(5, depth_multiplier=3, padding="same", depthwise_initializer="ones"),
    L.MaxPool2D((3, 2), strides=1, padding="same"), L.AvgPool2D(2),
    L.GlobalAveragePooling2D(keepdims=True),
], ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config(), (
        f"expected {layer.get_config()}, got {clone.get_config()}")
    x = np.random.default_rng(0).normal(size=(2, 9, 9, 2)).astype("float32")
    layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x), layer(x), err_msg="clone output")


def test_save_and_load_in_a_fresh_process(tmp_path, toy_data):
    x, _ = toy_data
    model = small_net(L)
    expected = model.predict(x[:4], verbose=0)
    path = tmp_path / "net.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x[:4])
    script = (
        "import json, numpy as np, keras, cnnlib\n"
        f"m = keras.models.load_model({str(path)!r})\n"
        f"y = m.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0)\n"
        "print(json.dumps({'types': [type(l).__module__ + '.' + type(l).__name__ for l in m.layers],"
        " 'y': y.tolist()}))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, f"loading failed:\n{done.stderr[-3000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["types"][:3] == ["cnnlib.layers.conv2d.Conv2D",
                                   "cnnlib.layers.depthwise_conv2d.DepthwiseConv2D",
                                   "cnnlib.layers.max_pooling2d.MaxPool2D"], (
        f"expected cnnlib layers after reload, got {result['types']}")
    np.testing.assert_allclose(np.array(result["y"]), expected, rtol=1e-5, atol=1e-6,
                               err_msg="predictions after reload in a fresh process")


# -------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("make,error,match", [
    # Keras' own rules and messages (keras.src.utils.argument_validation, base_conv.py)
    (lambda: L.Conv2D(4, 3, strides=0), ValueError,
     r"The `strides` argument must be a tuple of 2 integers\. Received strides=0, "
     r"including values \{0\} that do not satisfy `value > 0`"),
    (lambda: L.Conv2D(4, 3, strides=(1, -2)), ValueError, r"including values \{-2\}"),
    (lambda: L.Conv2D(4, 3, strides=2, dilation_rate=2), ValueError,
     r"`strides > 1` not supported in conjunction with `dilation_rate > 1`\. "
     r"Received: strides=\(2, 2\) and dilation_rate=\(2, 2\)"),
    (lambda: L.Conv2D(0, 3), ValueError,
     r"Invalid value for argument `filters`\. Expected a strictly positive value\. "
     r"Received filters=0\."),
    (lambda: L.Conv2D(True, 3), ValueError, r"Received filters=True"),
    (lambda: L.Conv2D(4, 0), ValueError, r"The `kernel_size` argument must be a tuple of 2"),
    (lambda: L.Conv2D(4, "3"), TypeError, r"The `kernel_size` argument must be a tuple"),
    (lambda: L.Conv2D(4, (3, 2.5)), TypeError, r"including element 2\.5 of type float"),
    (lambda: L.Conv2D(4, 3, padding="full"), ValueError, r"padding must be .*padding='full'"),
    (lambda: L.Conv2D(4, 3, data_format="nhwc"), ValueError,
     r"data_format.*\"channels_first\", \"channels_last\"\. Received: data_format='nhwc'"),
    (lambda: L.Conv2D(5, 3, groups=0), ValueError,
     r"The number of groups must be a positive integer\. Received: groups=0\."),
    (lambda: L.Conv2D(5, 3, groups=2), ValueError,
     r"filters must be evenly divisible by the number of groups\. Received: groups=2, "
     r"filters=5\."),
    (lambda: L.Conv2D(4, 3, lora_rank=0), ValueError,
     r"lora_rank must be None or a positive integer\. Received: lora_rank=0"),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=0), ValueError,
     r"Invalid value for argument `depth_multiplier`.*Received depth_multiplier=0\."),
    (lambda: L.MaxPool2D(0), ValueError, r"The `pool_size` argument must be a tuple of 2"),
    (lambda: L.AvgPool2D(2, strides=0), ValueError, r"The `strides` argument must be"),
    (lambda: L.GlobalAveragePooling2D(keepdims="yes"), TypeError, r"keepdims must be True or"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("layer_fn", [lambda: L.Conv2D(2, 3), lambda: L.DepthwiseConv2D(3),
                                      lambda: L.MaxPool2D(2), lambda: L.AvgPool2D(2),
                                      lambda: L.GlobalAveragePooling2D()],
                         ids=["conv", "depthwise", "maxpool", "avgpool", "gap"])
def test_wrong_rank_and_dtype(layer_fn):
    with pytest.raises(ValueError, match=r"rank 4.*Received: inputs.shape=\(8, 8, 3\)"):
        layer_fn()(np.zeros((8, 8, 3), "float32"))
    with pytest.raises(TypeError, match=r"floating-point.*inputs.dtype=int32.*\(1, 8, 8, 3\)"):
        layer_fn()(tf.zeros((1, 8, 8, 3), tf.int32))


def test_channel_mismatch_names_the_shapes():
    layer = L.Conv2D(2, 3)
    layer(np.zeros((1, 8, 8, 3), "float32"))
    with pytest.raises(ValueError, match=r"built for 3 input channels .*\(3, 3, 3, 2\).* got 4.*"
                                         r"inputs.shape=\(1, 8, 8, 4\)"):
        layer(np.zeros((1, 8, 8, 4), "float32"))


@pytest.mark.parametrize("layer_fn,match", [
    (lambda: L.Conv2D(2, 5), r"kernel_size \(dilated: 5\) is larger than the padded input along height \(4\)"),
    (lambda: L.Conv2D(2, 3, dilation_rate=3), r"dilated: 7"),
    (lambda: L.DepthwiseConv2D((1, 9)), r"along width \(6\)"),
    (lambda: L.MaxPool2D(5), r"pool_size \(dilated: 5\) is larger"),
])
def test_kernel_larger_than_valid_input(layer_fn, match):
    with pytest.raises(ValueError, match=match + r".*Received: inputs.shape=\(1, 4, 6, 2\)"):
        layer_fn()(np.zeros((1, 4, 6, 2), "float32"))


def test_same_padding_accepts_a_kernel_larger_than_the_input():
    y = L.Conv2D(2, 5, padding="same")(np.ones((1, 3, 3, 1), "float32"))
    assert tuple(y.shape) == (1, 3, 3, 2), f"expected (1, 3, 3, 2), got {tuple(y.shape)}"


def test_cnnlib_exports():
    for name in ("Conv2D", "DepthwiseConv2D", "MaxPool2D", "AvgPool2D", "GlobalAveragePooling2D"):
        cls = getattr(cnnlib.layers, name)
        registered = keras.saving.get_registered_name(cls)
        assert registered == f"cnnlib>{name}", f"expected cnnlib>{name}, got {registered}"


@pytest.mark.parametrize("layer_fn", [
    lambda: L.Conv2D(4, 3, strides=2, padding="same"), lambda: L.Conv2D(4, (5, 2), strides=3),
    lambda: L.Conv2D(4, 3, dilation_rate=2, padding="same"),
    lambda: L.DepthwiseConv2D(3, strides=(2, 3), depth_multiplier=2),
    lambda: L.MaxPool2D(3, 2, padding="same"), lambda: L.AvgPool2D(3, 2, padding="same"),
], ids=["conv-s2", "conv-s3", "conv-dilated", "depthwise-s2x3", "maxpool", "avgpool"])
def test_jit_compile_gradients_equal_eager(layer_fn):
    layer = layer_fn()
    x = tf.constant(np.random.default_rng(0).permutation(2 * 11 * 13 * 3).reshape(2, 11, 13, 3)
                    / 100.0, tf.float32)

    def grads(xb):
        with tf.GradientTape() as tape:
            tape.watch(xb)
            loss = tf.reduce_sum(layer(xb) ** 2)
        return tape.gradient(loss, [xb] + layer.trainable_weights)

    eager = grads(x)
    jitted = tf.function(grads, jit_compile=True)(x)
    for a, b in zip(jitted, eager):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4, err_msg="jit_compile vs eager")


def test_mixed_float16_policy():
    layer = L.Conv2D(4, 3, strides=2, dtype="mixed_float16")
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 9, 9, 3)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(tf.cast(y, tf.float32))
    gx, gw, gb = tape.gradient(loss, [x, layer.kernel, layer.bias])
    assert y.dtype == tf.float16, f"expected float16 outputs, got {y.dtype}"
    assert gw.dtype == tf.float32 and gw.shape == (3, 3, 3, 4), f"got {gw.dtype} {gw.shape}"
    assert float(gb[0]) == pytest.approx(32.0), f"dL/db = batch x output pixels: expected 32, got {float(gb[0])}"
