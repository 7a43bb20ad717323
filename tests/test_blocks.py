"""cnnlib.blocks: shapes, parameter counts, values against TF ops and keras.applications'
own blocks, stochastic depth, serialization, training, and argument errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnnlib.blocks import ConvNeXtBlock, InceptionBlock, NiNBlock, ResidualBlock, StochasticDepth, VGGBlock


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _randomize_bn(layer, seed=1):
    """Non-trivial moving statistics so inference-mode BN is not the identity."""
    rng = np.random.default_rng(seed)
    for sub in layer._flatten_layers(include_self=True, recursive=True):
        if isinstance(sub, keras.layers.BatchNormalization):
            n = sub.gamma.shape[0]
            sub.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(size=n),
                             rng.normal(size=n), rng.uniform(0.5, 2.0, n)])


# name, block factory, input shape (no batch), output shape, parameter count by hand
CASES = [
    ("vgg_2x8", lambda: VGGBlock(2, 8), (16, 16, 3), (8, 8, 8),
     (27 * 8 + 8) + (72 * 8 + 8)),
    ("vgg_bn", lambda: VGGBlock(1, 4, batch_norm=True), (6, 6, 3), (3, 3, 4),
     (27 * 4 + 4) + 4 * 4),
    ("nin_stride2", lambda: NiNBlock(8, 3, strides=2), (15, 15, 3), (7, 7, 8),
     (27 * 8 + 8) + 2 * (8 * 8 + 8)),
    ("inception_3a", lambda: InceptionBlock(64, 128, 32, 32, reduce_3x3=96, reduce_5x5=16),
     (28, 28, 192), (28, 28, 256), 163_328 + (64 + 96 + 128 + 16 + 32 + 32)),
    ("inception_naive", lambda: InceptionBlock(4, 6, 2, variant="naive"), (8, 8, 5),
     (8, 8, 4 + 6 + 2 + 5), (5 * 4 + 4) + (45 * 6 + 6) + (125 * 2 + 2)),
    ("inception_v2", lambda: InceptionBlock(4, 6, 2, 3, reduce_3x3=2, reduce_5x5=1,
                                            variant="v2"), (8, 8, 5), (8, 8, 15),
     24 + 12 + 42 + 114 + 6 + 8 + 14 + 14 + 14 + 18),
    ("residual_basic_identity", lambda: ResidualBlock(8), (8, 8, 8), (8, 8, 8),
     2 * (72 * 8 + 8) + 2 * 4 * 8),
    ("residual_basic_projection", lambda: ResidualBlock(8, strides=2), (8, 8, 4), (4, 4, 8),
     (36 * 8 + 8) + (72 * 8 + 8) + (4 * 8 + 8) + 3 * 4 * 8),
    ("bottleneck_identity", lambda: ResidualBlock(4, bottleneck=True), (8, 8, 16),
     (8, 8, 16), (16 * 4 + 4) + (36 * 4 + 4) + (4 * 16 + 16) + 4 * (4 + 4 + 16)),
    ("bottleneck_projection", lambda: ResidualBlock(4, strides=2, bottleneck=True),
     (8, 8, 8), (4, 4, 16),
     (8 * 4 + 4) + (36 * 4 + 4) + (4 * 16 + 16) + (8 * 16 + 16) + 4 * (4 + 4 + 16 + 16)),
    ("bottleneck_no_bias", lambda: ResidualBlock(4, strides=2, bottleneck=True,
                                                 use_bias=False),
     (8, 8, 8), (4, 4, 16), 8 * 4 + 36 * 4 + 4 * 16 + 8 * 16 + 4 * (4 + 4 + 16 + 16)),
    ("convnext", lambda: ConvNeXtBlock(), (8, 8, 16), (8, 8, 16),
     (49 * 16 + 16) + 2 * 16 + (16 * 64 + 64) + (64 * 16 + 16) + 16),
    ("convnext_no_layer_scale", lambda: ConvNeXtBlock(layer_scale_init_value=None),
     (8, 8, 16), (8, 8, 16), (49 * 16 + 16) + 2 * 16 + (16 * 64 + 64) + (64 * 16 + 16)),
]


@pytest.mark.parametrize("factory,in_shape,out_shape,params",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_block_shapes_and_parameter_counts(factory, in_shape, out_shape, params):
    block = factory()
    y = block(_x((2,) + in_shape))
    assert tuple(y.shape) == (2,) + out_shape, f"expected {(2,) + out_shape}, got {y.shape}"
    predicted = block.compute_output_shape((None,) + in_shape)
    assert tuple(predicted) == (None,) + out_shape, (
        f"compute_output_shape: expected {(None,) + out_shape}, got {predicted}")
    assert block.count_params() == params, (
        f"expected {params} parameters, got {block.count_params()}")


def test_vgg_block_equals_tf_conv_relu_maxpool():
    block = VGGBlock(2, 5)
    x = _x((2, 10, 10, 3))
    y = block(x)
    (k1, b1, k2, b2) = [w.numpy() for w in block.weights]
    ref = tf.nn.relu(tf.nn.conv2d(x, k1, 1, "SAME") + b1)
    ref = tf.nn.relu(tf.nn.conv2d(ref, k2, 1, "SAME") + b2)
    ref = tf.nn.max_pool2d(ref, 2, 2, "VALID")
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5,
                               err_msg="VGGBlock differs from conv-relu-conv-relu-maxpool")


def test_nin_block_equals_conv_then_two_pointwise_convs():
    block = NiNBlock(4, 3, strides=2, padding="same")
    x = _x((1, 9, 9, 3))
    y = block(x)
    k1, b1, k2, b2, k3, b3 = [w.numpy() for w in block.weights]
    assert k2.shape == (1, 1, 4, 4) and k3.shape == (1, 1, 4, 4), (
        f"expected two 1x1 kernels (1, 1, 4, 4), got {k2.shape}, {k3.shape}")
    ref = tf.nn.relu(tf.nn.conv2d(x, k1, 2, "SAME") + b1)
    ref = tf.nn.relu(tf.einsum("bhwc,cd->bhwd", ref, k2[0, 0]) + b2)
    ref = tf.nn.relu(tf.einsum("bhwc,cd->bhwd", ref, k3[0, 0]) + b3)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_inception_naive_branches():
    block = InceptionBlock(2, 3, 4, variant="naive")
    x = _x((1, 6, 6, 5))
    y = block(x).numpy()
    k1, b1 = block._branches[0][0].get_weights()
    np.testing.assert_allclose(y[..., :2], tf.nn.relu(tf.nn.conv2d(x, k1, 1, "SAME") + b1),
                               rtol=1e-5, atol=1e-5, err_msg="1x1 branch")
    k5, b5 = block._branches[2][0].get_weights()
    assert k5.shape == (5, 5, 5, 4), f"expected a 5x5 kernel (5, 5, 5, 4), got {k5.shape}"
    np.testing.assert_allclose(y[..., 5:9], tf.nn.relu(tf.nn.conv2d(x, k5, 1, "SAME") + b5),
                               rtol=1e-5, atol=1e-5, err_msg="5x5 branch")
    np.testing.assert_allclose(y[..., 9:], tf.nn.max_pool2d(x, 3, 1, "SAME"),
                               err_msg="the naive pool branch must be 3x3/1 max pooling")


def test_inception_v2_factorizes_into_1xn_and_nx1():
    block = InceptionBlock(2, 3, 4, 1, reduce_3x3=2, reduce_5x5=2, variant="v2",
                           factor_size=5)
    block.build((None, 8, 8, 3))
    shapes = [tuple(w.shape) for w in block.weights if w.name == "kernel"]
    expected = [(1, 1, 3, 2), (1, 1, 3, 2), (1, 5, 2, 3), (5, 1, 3, 3), (1, 1, 3, 2),
                (1, 5, 2, 4), (5, 1, 4, 4), (1, 5, 4, 4), (5, 1, 4, 4), (1, 1, 3, 1)]
    assert shapes == expected, f"expected kernels {expected}, got {shapes}"


def _bn(x, layer):
    gamma, beta, mean, var = layer.get_weights()
    return gamma * (x - mean) / np.sqrt(var + layer.epsilon) + beta


def test_basic_residual_block_inference_equals_formula():
    block = ResidualBlock(6, strides=2)
    x = _x((2, 7, 7, 3))
    block(x)
    _randomize_bn(block)
    y = block(x, training=False)
    conv1, bn1, _, conv2, bn2 = block._residual
    conv0, bn0 = block._shortcut
    k1, c1 = conv1.get_weights()
    k2, c2 = conv2.get_weights()
    k0, c0 = conv0.get_weights()
    h = tf.nn.relu(_bn(tf.nn.conv2d(x, k1, 2, "SAME") + c1, bn1))
    h = _bn(tf.nn.conv2d(h, k2, 1, "SAME") + c2, bn2)
    short = _bn(tf.nn.conv2d(x, k0, 2, "VALID") + c0, bn0)
    np.testing.assert_allclose(y, tf.nn.relu(h + short), rtol=1e-4, atol=1e-4,
                               err_msg="relu(F(x) + projection(x)) in inference")


def _keras_block_model(block_fn, in_shape):
    inputs = keras.Input(in_shape)
    return keras.Model(inputs, block_fn(inputs))


def test_bottleneck_block_equals_keras_applications_residual_block_v1():
    from keras.src.applications.resnet import residual_block_v1

    x = _x((2, 8, 8, 12))
    ref = _keras_block_model(lambda t: residual_block_v1(t, 5, stride=2, name="ref"), (8, 8, 12))
    ours = ResidualBlock(5, strides=2, bottleneck=True)
    ours(x)
    _randomize_bn(ours)
    chain = [layer for layer in ours._residual if layer.weights]
    for j, layer in enumerate(ours._shortcut + chain):
        suffix = "conv" if isinstance(layer, keras.layers.Conv2D) else "bn"
        ref.get_layer(f"ref_{j // 2}_{suffix}").set_weights(
            layer.get_weights())
    np.testing.assert_allclose(ours(x, training=False), ref(x, training=False),
                               rtol=1e-4, atol=1e-4,
                               err_msg="ResidualBlock(bottleneck) != keras residual_block_v1")


def test_convnext_block_equals_keras_applications_block():
    from keras.src.applications.convnext import ConvNeXtBlock as KerasConvNeXtBlock

    x = _x((2, 9, 9, 8))
    ref = _keras_block_model(KerasConvNeXtBlock(8, layer_scale_init_value=0.5, name="ref"),
                             (9, 9, 8))
    ours = ConvNeXtBlock(layer_scale_init_value=0.5)
    ours(x)
    rng = np.random.default_rng(3)
    for w in ours.weights:  # random values everywhere, gamma included
        w.assign(rng.normal(size=w.shape).astype("float32"))
    dw_k, dw_b = ours.depthwise.get_weights()
    ref.get_layer("ref_depthwise_conv").set_weights([dw_k.reshape(7, 7, 1, 8), dw_b])
    ref.get_layer("ref_layernorm").set_weights(ours.norm.get_weights())
    ref.get_layer("ref_pointwise_conv_1").set_weights(ours.expand.get_weights())
    ref.get_layer("ref_pointwise_conv_2").set_weights(ours.project.get_weights())
    ref.get_layer("ref_layer_scale").set_weights([ours.gamma.numpy()])
    np.testing.assert_allclose(ours(x), ref(x), rtol=1e-4, atol=1e-4,
                               err_msg="ConvNeXtBlock != keras.applications ConvNeXt block")


def test_stochastic_depth_drops_whole_samples_and_keeps_the_mean():
    layer = StochasticDepth(0.5, seed=7)
    x = np.ones((2000, 2, 2, 3), "float32")
    np.testing.assert_array_equal(layer(x, training=False), x,
                                  err_msg="inference must be the identity")
    y = layer(x, training=True).numpy()
    per_sample = y.reshape(2000, -1)
    assert np.all((per_sample == 0) | (per_sample == 2)), (
        f"each sample must be all 0 or all 1/(1-rate)=2, got values {np.unique(y)}")
    assert np.all(per_sample.min(axis=1) == per_sample.max(axis=1)), "mask must be per sample"
    kept = (per_sample[:, 0] > 0).mean()
    assert 0.45 < kept < 0.55, f"expected about half of the samples kept, got {kept:.3f}"


def test_convnext_block_drop_path_only_in_training():
    block = ConvNeXtBlock(drop_path_rate=0.5, layer_scale_init_value=1.0, seed=1)
    x = _x((64, 4, 4, 8))
    y_train = block(x, training=True).numpy()
    y_eval = block(x, training=False).numpy()
    same = np.all(np.isclose(y_train, x, atol=1e-6), axis=(1, 2, 3))
    assert 0 < same.sum() < 64, (
        f"expected some samples to skip the branch (output == input), got {same.sum()}/64")
    assert not np.any(np.all(np.isclose(y_eval, x, atol=1e-6), axis=(1, 2, 3))), (
        "in inference no sample may skip the branch")


ALL_BLOCKS = [
    VGGBlock(1, 4, batch_norm=True, name="vgg"),
    NiNBlock(6, 3, padding="same", name="nin"),
    InceptionBlock(2, 3, 2, 2, reduce_3x3=2, reduce_5x5=1, name="inc_v1"),
    InceptionBlock(2, 2, 2, variant="naive", name="inc_naive"),
    InceptionBlock(2, 3, 2, 2, reduce_3x3=2, reduce_5x5=1, variant="v2", batch_norm=True,
                   name="inc_v2"),
    ResidualBlock(4, strides=2, bottleneck=True, expansion=2, name="res"),
    ConvNeXtBlock(drop_path_rate=0.2, seed=3, name="cnx"),
]


def _all_blocks_model():
    inputs = keras.Input((12, 12, 3))
    x = inputs
    for block in ALL_BLOCKS:
        x = block.__class__.from_config(block.get_config())(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[b.name for b in ALL_BLOCKS])
def test_get_config_round_trip(block):
    clone = block.__class__.from_config(block.get_config())
    assert clone.get_config() == block.get_config(), (
        f"expected {block.get_config()}, got {clone.get_config()}")


def test_model_of_all_blocks_saves_loads_and_has_gradients(tmp_path):
    keras.utils.set_random_seed(0)
    model = _all_blocks_model()
    x, y = _x((8, 12, 12, 3)), np.arange(8) % 3
    path = tmp_path / "blocks.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6, err_msg="reloaded model differs")
    # One eager gradient step (fit's graph tracing of ~80 layers costs tens of seconds on
    # 2 loaded cores; fit itself is exercised in test_models.py and the jit test below).
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_weights)
    missing = [w.path for w, g in zip(model.trainable_weights, grads)
               if g is None or not np.any(g.numpy())]
    assert np.isfinite(loss.numpy()), f"expected a finite loss, got {loss}"
    assert not missing, f"expected a non-zero gradient for every weight, none for {missing}"


def test_residual_block_trains_under_jit_compile():
    inputs = keras.Input((8, 8, 4))
    x = ResidualBlock(4, strides=2)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    model.compile("sgd", "mse", jit_compile=True)
    loss = model.train_on_batch(_x((4, 8, 8, 4)), _x((4, 2)))
    assert np.isfinite(loss), f"expected a finite loss, got {loss}"


@pytest.mark.parametrize("make,match", [
    (lambda: VGGBlock(0, 8), r"num_convs must be a positive integer\. Received: num_convs=0"),
    (lambda: VGGBlock(2, 2.5), r"filters must be a positive integer\. Received: filters=2\.5"),
    (lambda: NiNBlock(4, 3, padding="full"), r"padding must be one of \('valid', 'same'\)\. "
                                             r"Received: padding='full'"),
    (lambda: VGGBlock(2, 8, layers="torch"), r"layers must be one of \('keras', 'cnnlib'\)"),
    (lambda: ResidualBlock(6, groups=4), r"filters must be divisible by groups"),
    (lambda: InceptionBlock(1, 1, 1, variant="v3"), r"variant must be one of"),
    (lambda: InceptionBlock(1, 1, 1, 1, variant="naive"),
     r"naive Inception block has no 1x1 reductions.*filters_pool"),
    (lambda: InceptionBlock(1, 1, 1, 1, reduce_3x3=1), r"variant='v1' needs reduce_5x5"),
    (lambda: ResidualBlock(4, projection="yes"), r"projection must be one of \(None, True, False\)\. "
                                               r"Received: projection='yes'"),
    (lambda: StochasticDepth(1.0), r"rate must be a number in \[0, 1\)\. Received: rate=1\.0"),
    (lambda: ConvNeXtBlock(layer_scale_init_value=-1),
     r"layer_scale_init_value must be None or a non-negative number\. "
     r"Received: layer_scale_init_value=-1"),
])
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_integer_arguments_accept_numpy_integers_and_reject_bools():
    block = VGGBlock(np.int64(2), np.int32(8))
    assert (block.num_convs, block.filters) == (2, 8), f"got {(block.num_convs, block.filters)}"
    assert type(block.filters) is int, f"expected a Python int, got {type(block.filters)}"
    assert tuple(block(_x((1, 8, 8, 3))).shape) == (1, 4, 4, 8)
    with pytest.raises(TypeError, match=r"filters must be a positive integer\. "
                                        r"Received: filters=True"):
        VGGBlock(2, True)


@pytest.mark.parametrize("factory,in_shape", [(c[1], c[2]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_block_with_cnnlib_layers_equals_keras_layers(factory, in_shape):
    """layers="cnnlib": same weights, same outputs and gradients, hand-written layers only."""
    theirs = factory()
    config = {**theirs.get_config(), "layers": "cnnlib"}
    config.pop("name")
    ours = theirs.__class__.from_config(config)
    x = _x((2,) + in_shape)
    theirs(x)
    ours(x)
    _randomize_bn(theirs)
    ours.set_weights(theirs.get_weights())
    kinds = {type(lyr).__module__.split(".")[0] for lyr in ours._flatten_layers()
             if "Conv" in type(lyr).__name__ or "Pool" in type(lyr).__name__}
    assert kinds == {"cnnlib"}, f"expected only cnnlib convolutions/pools, got {kinds}"
    results = []
    for block in (theirs, ours):
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = block(xt, training=False)
            loss = tf.reduce_sum(y * y)
        results.append((y.numpy(), tape.gradient(loss, [xt] + block.trainable_weights)))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-4, atol=1e-4,
                               err_msg="output: cnnlib layers vs keras layers")
    names = ["dL/dx"] + [w.path for w in theirs.trainable_weights]
    for name, a, b in zip(names, results[1][1], results[0][1]):
        scale = max(1.0, float(np.max(np.abs(b))))
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4 * scale,
                                   err_msg=f"{name}: cnnlib layers vs keras layers")


def test_identity_shortcut_with_changed_shape_raises():
    with pytest.raises(ValueError, match=r"identity shortcut needs strides=1.*Received: "
                                         r"strides=2"):
        ResidualBlock(4, strides=2, projection=False)(_x((1, 4, 4, 4)))


def test_non_image_input_raises():
    with pytest.raises(ValueError, match=r"VGGBlock expects channels-last images.*"
                                         r"Received: input_shape=\(None, 8, 3\)"):
        VGGBlock(1, 2).build((None, 8, 3))
