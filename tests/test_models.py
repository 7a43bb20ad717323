"""cnnlib.models: published parameter counts, keras.applications equivalence (counts,
weight shapes, outputs with copied weights), the lecture's FLOP tables, summary_table,
small CPU variants, saving, and argument errors.

Big models are built inside the one test that needs them and dropped afterwards, so the
module holds at most two ImageNet-size models at a time.
"""

import gc

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnnlib import models as M
from cnnlib.blocks import ConvNeXtBlock, ResidualBlock


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _trainable(model):
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def _conv_biases(model):
    """Entries of the convolution biases (what use_bias=False removes)."""
    total = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.Conv2D) and layer.use_bias:
            total += int(np.prod(layer.bias.shape))
    return total


def _release(*models):
    del models
    keras.backend.clear_session()
    gc.collect()


def _close(actual, expected, rel, what):
    assert abs(actual - expected) <= rel * expected, (
        f"{what}: expected {expected:,} within {rel:.0%}, got {actual:,}")


# ------------------------------------------------------------------------------ LeNet
def test_lenet5_matches_the_lecture_table():
    model = M.lenet5()
    table = M.summary_table(model)
    assert table.total_params == 61_706, f"expected 61,706 parameters, got {table.total_params:,}"
    assert table.total_weights == 61_470, (
        f"expected 61,470 weights (the lecture's 'Parameters'), got {table.total_weights:,}")
    assert M.count_weights(model) == 61_470
    expected = {"conv1": ((32, 32, 1), (28, 28, 6), 156), "pool1": (None, (14, 14, 6), 0),
                "conv2": (None, (10, 10, 16), 2_416), "pool2": (None, (5, 5, 16), 0),
                "linear1": ((400,), (120,), 48_120), "linear2": ((120,), (84,), 10_164),
                "linear3": ((84,), (10,), 850)}
    for name, (in_shape, out_shape, params) in expected.items():
        row = table[name]
        got = (row.output_shape, row.params)
        assert got == (out_shape, params), f"{name}: expected {(out_shape, params)}, got {got}"
        if in_shape is not None:
            assert row.input_shape == in_shape, (
                f"{name}: expected input {in_shape}, got {row.input_shape}")
    assert table["linear1"].weights == 48_000, table["linear1"]
    # multiply-adds: 5*5*1*6 * 28*28, 5*5*6*16 * 10*10, then the dense weights
    assert [table[n].flops for n in ("conv1", "conv2", "linear1", "linear2", "linear3")] == [
        117_600, 240_000, 48_000, 10_080, 840], [r.flops for r in table]
    text = str(table)
    for piece in ("conv1 (Conv2D)", "32×32×1", "28×28×6", "5×5×16", "Parameters: 61,706",
                  "weights without biases 61,470", "linear1: 48,120 (78%)"):
        assert piece in text, f"expected {piece!r} in the rendered table:\n{text}"


def test_lenet5_on_28x28_mnist_keeps_the_count_and_learns():
    keras.utils.set_random_seed(0)
    model = M.lenet5(input_shape=(28, 28, 1), conv1_padding="same")
    assert model.count_params() == 61_706, f"expected 61,706, got {model.count_params():,}"
    x = np.random.default_rng(0).uniform(size=(32, 28, 28, 1)).astype("float32")
    y = np.arange(32) % 10
    model.compile(keras.optimizers.Adam(3e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
    loss = model.fit(x, y, epochs=40, batch_size=32, verbose=0).history["loss"]
    assert loss[-1] < 0.5 * loss[0], (
        f"expected the loss to halve, got {loss[0]:.3f} -> {loss[-1]:.3f}")


def test_lenet5_with_cnnlib_layers_has_the_same_architecture():
    import cnnlib.layers

    model = M.lenet5(layers="cnnlib")
    for name, cls in (("conv1", cnnlib.layers.Conv2D), ("conv2", cnnlib.layers.Conv2D),
                      ("pool1", cnnlib.layers.MaxPool2D), ("pool2", cnnlib.layers.MaxPool2D)):
        got = type(model.get_layer(name))
        assert issubclass(got, cls), f"{name}: expected {cls.__name__}, got {got.__name__}"
    assert model.count_params() == 61_706, f"expected 61,706, got {model.count_params():,}"
    reference = M.lenet5()
    reference.set_weights(model.get_weights())
    x = _x((3, 32, 32, 1))
    np.testing.assert_allclose(model(x), reference(x), rtol=1e-4, atol=1e-5,
                               err_msg="cnnlib-layer LeNet differs from keras-layer LeNet")
    table = M.summary_table(model)
    assert table["conv2"].flops == 240_000, table["conv2"]


# ---------------------------------------------------------------------------- AlexNet
def test_alexnet_matches_the_lecture_table():
    table = M.summary_table(M.alexnet())
    # the lecture's (d2l) AlexNet table: #parameters and FLOP (multiply-adds), rounded
    published = {("conv1",): (35e3, 101e6), ("conv2",): (614e3, 415e6),
                 ("conv3", "conv4", "conv5"): (3e6, 445e6), ("dense1",): (26e6, 26e6),
                 ("dense2",): (16e6, 16e6)}
    for names, (params, flops) in published.items():
        got_params = sum(table[n].weights for n in names)
        got_flops = sum(table[n].flops for n in names)
        _close(got_params, params, 0.05, f"AlexNet {'+'.join(names)} weights")
        _close(got_flops, flops, 0.05, f"AlexNet {'+'.join(names)} FLOPs")
    assert table.total_params == 50_844_008, f"got {table.total_params:,}"
    assert table["pool3"].output_shape == (5, 5, 256), table["pool3"]
    assert "101M" in table.render(human=True) or "102M" in table.render(human=True)


# -------------------------------------------------------------------------------- VGG
@pytest.mark.parametrize("builder,reference,count", [
    (M.vgg16, "VGG16", 138_357_544),
    (M.vgg19, "VGG19", 143_667_240),
])
def test_vgg_matches_published_count_and_keras_applications(builder, reference, count):
    ours = builder()
    assert ours.count_params() == count, f"expected {count:,}, got {ours.count_params():,}"
    ref = getattr(keras.applications, reference)(weights=None)
    ours_shapes = [tuple(w.shape) for w in ours.weights]
    ref_shapes = [tuple(w.shape) for w in ref.weights]
    assert ours_shapes == ref_shapes, f"weight shapes differ: {ours_shapes} vs {ref_shapes}"
    # a plain chain: equal weight shapes in order and equal multiply-adds leave nothing to
    # differ but the activations (ReLU in both)
    assert M.count_flops(ours) == M.count_flops(ref), "multiply-adds differ"
    if reference == "VGG16":
        _close(M.count_flops(ours), 15.47e9, 0.02, "VGG-16 multiply-adds")
    _release(ours, ref)


def test_vgg11_count():
    model = M.vgg11()
    assert model.count_params() == 132_863_336, f"got {model.count_params():,}"
    _release(model)


# ----------------------------------------------------------------------------- ResNet
# depth: (keras.applications count or None, bias-free trainable count, lecture GFLOPs)
RESNETS = {18: (None, 11_689_512, 1.8), 34: (None, 21_797_672, 3.6),
           50: (25_636_712, 25_557_032, 3.8), 101: (44_707_176, 44_549_160, 7.6),
           152: (60_419_944, 60_192_808, 11.3)}


def _copy_resnet_weights(ours, ref):
    """Copies our weights into keras.applications' ResNet (same layers, other names)."""
    for layer in ours.layers:
        if isinstance(layer, ResidualBlock):
            # keras names the projection shortcut _0_ and the residual convs _1_.._3_
            parts = [(0, p) for p in layer._shortcut] + [
                (1 + i // 2, p) for i, p in enumerate(s for s in layer._residual if s.weights)]
            for j, part in parts:
                kind = "conv" if isinstance(part, keras.layers.Conv2D) else "bn"
                ref.get_layer(f"{layer.name}_{j}_{kind}").set_weights(part.get_weights())
        elif layer.weights:
            ref.get_layer(layer.name).set_weights(layer.get_weights())


@pytest.mark.parametrize("depth", sorted(RESNETS))
def test_resnet_counts_flops_and_keras_applications(depth):
    keras_count, bias_free, gflops = RESNETS[depth]
    ours = getattr(M, f"resnet{depth}")()
    # the bias-free variant is the same network minus the convolution biases
    got_bias_free = _trainable(ours) - _conv_biases(ours)
    assert got_bias_free == bias_free, (
        f"ResNet-{depth} without biases: expected {bias_free:,} trainable parameters, "
        f"got {got_bias_free:,}")
    flops = M.count_flops(ours)
    _close(flops, gflops * 1e9, 0.05, f"ResNet-{depth} FLOPs (lecture table)")
    if keras_count is not None:
        assert ours.count_params() == keras_count, (
            f"ResNet-{depth}: expected keras.applications' {keras_count:,}, "
            f"got {ours.count_params():,}")
        ref = getattr(keras.applications, f"ResNet{depth}")(weights=None)
        assert ref.count_params() == keras_count, ref.count_params()
        assert M.count_flops(ref) == flops, "same architecture, same multiply-adds"
        assert sorted(tuple(w.shape) for w in ours.weights) == sorted(
            tuple(w.shape) for w in ref.weights), "weight shapes differ from keras.applications"
        if depth == 50:
            _copy_resnet_weights(ours, ref)
            x = _x((1, 224, 224, 3))
            np.testing.assert_allclose(keras.ops.softmax(ours(x)), ref(x), rtol=1e-3,
                                       atol=1e-6, err_msg="resnet50 != ResNet50")
        _release(ref)
    _release(ours)


@pytest.mark.parametrize("depth", [18, 50])
def test_resnet_without_biases_builds_the_published_count(depth):
    model = getattr(M, f"resnet{depth}")(use_bias=False)
    _, bias_free, _ = RESNETS[depth]
    assert _trainable(model) == bias_free, f"expected {bias_free:,}, got {_trainable(model):,}"
    assert _conv_biases(model) == 0, "use_bias=False must leave no convolution bias"
    _release(model)


def test_resnet_stride_placement_changes_flops_not_params():
    v1 = M.resnet50(num_classes=10, input_shape=(64, 64, 3), width=0.25)
    v15 = M.resnet50(num_classes=10, input_shape=(64, 64, 3), width=0.25, stride_in_3x3=True)
    assert v1.count_params() == v15.count_params()
    assert M.count_flops(v15) > M.count_flops(v1), "v1.5 does its 3x3 at full resolution"
    _release(v1, v15)


# --------------------------------------------------------------------------- ConvNeXt
CONVNEXTS = {"tiny": (28_589_128, 4.5), "small": (50_223_688, 8.7), "base": (88_591_464, 15.4)}


def _copy_convnext_weights(ours, ref, prefix):
    for layer in ours.layers:
        name = layer.name
        if isinstance(layer, ConvNeXtBlock):
            stage, block = (int(s) - 1 for s in name.replace("stage", "").split("_block"))
            p = f"{prefix}_stage_{stage}_block_{block}"
            k, b = layer.depthwise.get_weights()
            ref.get_layer(f"{p}_depthwise_conv").set_weights([k.reshape(k.shape[:2] + (1, -1)), b])
            ref.get_layer(f"{p}_layernorm").set_weights(layer.norm.get_weights())
            ref.get_layer(f"{p}_pointwise_conv_1").set_weights(layer.expand.get_weights())
            ref.get_layer(f"{p}_pointwise_conv_2").set_weights(layer.project.get_weights())
            ref.get_layer(f"{p}_layer_scale").set_weights([layer.gamma.numpy()])
    stem = ours.get_layer("stem_conv").get_weights() + ours.get_layer("stem_norm").get_weights()
    ref.get_layer(f"{prefix}_stem").set_weights(stem)
    for i in range(1, 4):
        ref.get_layer(f"{prefix}_downsampling_block_{i - 1}").set_weights(
            ours.get_layer(f"downsample{i}_norm").get_weights()
            + ours.get_layer(f"downsample{i}_conv").get_weights())
    ref.get_layer(f"{prefix}_head_layernorm").set_weights(ours.get_layer("head_norm").get_weights())
    ref.get_layer(f"{prefix}_head_dense").set_weights(ours.get_layer("predictions").get_weights())


@pytest.mark.parametrize("size", list(CONVNEXTS))
def test_convnext_counts_flops_and_keras_applications(size):
    count, gflops = CONVNEXTS[size]
    ours = getattr(M, f"convnext_{size}")()
    assert ours.count_params() == count, f"expected {count:,}, got {ours.count_params():,}"
    _close(M.count_flops(ours), gflops * 1e9, 0.05, f"ConvNeXt-{size} FLOPs (paper)")
    ref = getattr(keras.applications, f"ConvNeXt{size.capitalize()}")(
        weights=None, include_preprocessing=False)
    assert ref.count_params() == count, f"keras.applications: {ref.count_params():,}"
    if size == "tiny":
        _copy_convnext_weights(ours, ref, "convnext_tiny")
        x = _x((1, 224, 224, 3))
        np.testing.assert_allclose(keras.ops.softmax(ours(x)), ref(x), rtol=1e-3, atol=1e-6,
                                   err_msg="convnext_tiny != keras.applications.ConvNeXtTiny")
    _release(ours, ref)


# -------------------------------------------------------------------- GoogLeNet, NiN
def test_googlenet_inception_flops_match_the_paper_table():
    table = M.summary_table(M.googlenet())
    # Szegedy et al. 2014, table 1, "ops" column (multiply-adds). Inception (5a) is left
    # out: its published 54M does not follow from its published channels (we get 51.1M).
    paper = {"3a": 128e6, "3b": 304e6, "4a": 73e6, "4b": 88e6, "4c": 100e6, "4d": 119e6,
             "4e": 170e6, "5b": 71e6}
    for key, ops in paper.items():
        _close(table[f"inception_{key}"].flops, ops, 0.02, f"inception ({key}) ops")
    _close(table["inception_3a"].weights, 159 * 1024, 0.02, "inception (3a) weights")
    assert table["inception_5b"].output_shape == (7, 7, 1024), table["inception_5b"]
    assert table.total_params == 6_998_552, f"got {table.total_params:,}"


def test_nin_has_no_dense_layer_and_ends_in_global_average_pooling():
    model = M.nin(num_classes=10)
    dense = [lyr.name for lyr in model.layers if isinstance(lyr, keras.layers.Dense)]
    assert not dense, f"NiN must not have dense layers, found {dense}"
    assert isinstance(model.layers[-1], keras.layers.GlobalAveragePooling2D)
    last = model.get_layer("nin4")
    assert last.compute_output_shape((None, 5, 5, 384))[-1] == 10
    assert model.output_shape == (None, 10), model.output_shape


# -------------------------------------------------------------- small CPU variants
SMALL = {
    "lenet5": lambda **kw: M.lenet5(10, (28, 28, 1), conv1_padding="same", **kw),
    "alexnet": lambda **kw: M.alexnet(10, (67, 67, 3), width=0.125, fc_units=64, **kw),
    "vgg11": lambda **kw: M.vgg11(10, (32, 32, 3), width=0.125, fc_units=64, **kw),
    "nin": lambda **kw: M.nin(10, (28, 28, 1), width=0.125, first_kernel_size=3,
                              first_strides=1, **kw),
    "googlenet": lambda **kw: M.googlenet(10, (32, 32, 3), width=0.125, **kw),
    "googlenet_v2": lambda **kw: M.googlenet(10, (32, 32, 3), width=0.0625, variant="v2", **kw),
    "resnet18": lambda **kw: M.resnet18(10, (32, 32, 3), width=0.25, stem="cifar", **kw),
    "resnet50": lambda **kw: M.resnet50(10, (32, 32, 3), width=0.125, **kw),
    "convnext": lambda **kw: M.convnext((1, 1, 2, 1), (16, 32, 64, 128), 10, (32, 32, 3),
                                        patch_size=2, drop_path_rate=0.1, seed=0, **kw),
}


@pytest.mark.parametrize("name", list(SMALL))
def test_small_variant_runs_and_has_gradients(name):
    keras.utils.set_random_seed(0)
    model = SMALL[name]()
    assert model.count_params() < 1_000_000, f"{name}: {model.count_params():,} parameters"
    x = _x((4,) + model.input_shape[1:])
    y = np.array([0, 1, 2, 3])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_fn(y, logits)
    assert tuple(logits.shape) == (4, 10), f"expected (4, 10), got {logits.shape}"
    grads = tape.gradient(loss, model.trainable_weights)
    assert np.isfinite(loss.numpy()), f"expected a finite loss, got {loss}"
    missing = [w.path for w, g in zip(model.trainable_weights, grads) if g is None]
    assert not missing, f"no gradient for {missing}"


# ------------------------------------------------ layers="cnnlib": the lecture's gradients
def _outputs_and_gradients(model, x):
    """Logits and d(loss)/d(weights) in inference mode (no dropout / batch statistics)."""
    y = np.arange(len(x)) % model.output_shape[-1]
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        logits = model(x, training=False)
        loss = loss_fn(y, logits)
    return logits.numpy(), [g.numpy() for g in tape.gradient(loss, model.trainable_weights)]


def _assert_same_model_both_ways(build, x=None):
    """The keras-layer and cnnlib-layer builds, same weights: same outputs and gradients."""

    keras.utils.set_random_seed(0)
    theirs = build(layers="keras")
    ours = build(layers="cnnlib")
    ours.set_weights(theirs.get_weights())
    x = _x((2,) + theirs.input_shape[1:]) if x is None else x
    hand_written = [lyr for lyr in ours._flatten_layers()
                    if type(lyr).__module__.startswith("cnnlib.layers")]
    keras_convs = [lyr for lyr in ours._flatten_layers()
                   if isinstance(lyr, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D,
                                     keras.layers.MaxPooling2D, keras.layers.AveragePooling2D,
                                     keras.layers.GlobalAveragePooling2D))]
    assert hand_written and not keras_convs, (
        f"esperadas só camadas do cnnlib para convolução e pooling; vieram {len(hand_written)} "
        f"do cnnlib e estas do Keras: {[lyr.name for lyr in keras_convs]}")
    assert M.count_flops(ours) == M.count_flops(theirs), (
        f"FLOPs: keras {M.count_flops(theirs):,}, cnnlib {M.count_flops(ours):,}")
    y_theirs, g_theirs = _outputs_and_gradients(theirs, x)
    y_ours, g_ours = _outputs_and_gradients(ours, x)
    np.testing.assert_allclose(y_ours, y_theirs, rtol=1e-4, atol=1e-4,
                               err_msg="saída: cnnlib.layers vs keras.layers")
    for w, a, b in zip(theirs.trainable_weights, g_ours, g_theirs):
        scale = max(1.0, float(np.max(np.abs(b))))
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4 * scale,
                                   err_msg=f"gradiente de {w.path}: cnnlib vs keras")
    return ours, hand_written


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SMALL))
def test_every_model_with_cnnlib_layers_matches_keras_layers(name):
    build = SMALL[name]
    _, hand_written = _assert_same_model_both_ways(build)
    assert len(hand_written) >= 3, f"{name}: only {len(hand_written)} cnnlib layers"


@pytest.mark.slow
def test_resnet18_and_convnext_tiny_both_ways_same_outputs_and_gradients():
    """Issue 15: every convolution and pooling gradient of the model is the lecture's."""
    _assert_same_model_both_ways(
        lambda **kw: M.resnet18(10, (32, 32, 3), width=0.125, **kw), _x((2, 32, 32, 3)))
    ours, _ = _assert_same_model_both_ways(
        lambda **kw: M.convnext_tiny(10, (32, 32, 3), width=1 / 12, **kw), _x((2, 32, 32, 3)))
    assert [b for b in ours.layers if b.name == "stage3_block9"], "ConvNeXt-Tiny has 9 blocks"


def test_integer_arguments_accept_numpy_integers_and_reject_bools():
    labels = np.array([0, 3, 9])
    model = M.lenet5(num_classes=labels.max() + 1)           # np.int64, as in Keras
    assert model.output_shape == (None, 10), f"expected (None, 10), got {model.output_shape}"
    assert M.resnet(depths=np.array([1, 1]), num_classes=np.int32(3), input_shape=(8, 8, 3),
                    width=0.125, stem="cifar").output_shape == (None, 3)
    with pytest.raises(TypeError, match=r"num_classes must be a positive integer\. "
                                        r"Received: num_classes=True"):
        M.lenet5(num_classes=True)
    with pytest.raises(ValueError, match=r"num_classes must be a positive integer"):
        M.lenet5(num_classes=np.float64(10))


def test_resnext_grouped_blocks_both_ways():
    """groups=4 on the 3x3 convolutions (ResNeXt) with cnnlib's grouped Conv2D."""
    _assert_same_model_both_ways(
        lambda **kw: M.resnet((1, 1), True, 5, (16, 16, 3), width=0.25, stem="cifar",
                              groups=4, **kw), _x((2, 16, 16, 3)))


def test_cnnlib_layer_resnext_saves_and_loads(tmp_path):
    """layers="cnnlib" and groups survive .keras saving (block configs carry them)."""
    import cnnlib.layers

    model = M.resnet((1, 1), True, 5, (16, 16, 3), width=0.25, stem="cifar", groups=4,
                     layers="cnnlib")
    x = _x((2, 16, 16, 3))
    path = tmp_path / "resnext.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-5, atol=1e-6,
                               err_msg="a ResNeXt de camadas cnnlib recarregada difere")
    convs = [lyr for lyr in loaded._flatten_layers() if isinstance(lyr, cnnlib.layers.Conv2D)]
    assert convs and {lyr.groups for lyr in convs} == {1, 4}, (
        f"esperadas convoluções cnnlib com groups 1 e 4, vieram {[lyr.groups for lyr in convs]}")


def test_small_resnet_saves_and_loads(tmp_path):
    model = SMALL["resnet18"]()
    x = _x((2, 32, 32, 3))
    path = tmp_path / "resnet18.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-5, atol=1e-6,
                               err_msg="reloaded resnet18 differs")


def test_softmax_classifier_activation():
    model = M.resnet18(5, (32, 32, 3), width=0.125, stem="cifar",
                       classifier_activation="softmax")
    p = model(_x((3, 32, 32, 3))).numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5, err_msg="rows must sum to 1")


# --------------------------------------------------------------------- summary_table
def test_summary_table_expanded_rows_add_up():
    model = SMALL["resnet50"]()
    table = M.summary_table(model)
    nested = M.summary_table(model, expand_nested=True)
    assert len(nested) > len(table), "expand_nested must list the blocks' sub-layers"
    for t in (table, nested):
        assert sum(r.params for r in t) == t.total_params, (
            f"row params {sum(r.params for r in t):,} != total {t.total_params:,}")
        assert sum(r.flops for r in t) == t.total_flops
    assert any(r.layer.startswith("conv2_block1/") for r in nested), [r.layer for r in nested][:5]


def _tf_profiler_flops(layer, shape):
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    from tensorflow.python.profiler import model_analyzer, option_builder

    fn = tf.function(lambda x: layer(x)).get_concrete_function(
        tf.TensorSpec((1,) + shape, tf.float32))
    graph = convert_variables_to_constants_v2(fn).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return model_analyzer.profile(graph=graph, options=options).total_float_ops


@pytest.mark.parametrize("layer,shape", [
    (keras.layers.Conv2D(8, 3, strides=2, use_bias=False), (17, 17, 5)),
    (keras.layers.Conv2D(4, (1, 5), padding="same", use_bias=False), (6, 9, 3)),
    (keras.layers.DepthwiseConv2D(7, padding="same", use_bias=False), (9, 9, 6)),
    (keras.layers.Dense(7, use_bias=False), (5,)),
    (keras.layers.Conv2DTranspose(4, 4, strides=2, padding="same", use_bias=False), (7, 7, 8)),
], ids=["conv_strided", "conv_1x5", "depthwise", "dense", "conv_transpose"])
def test_layer_flops_match_tensorflow_profiler(layer, shape):
    tf_flops = _tf_profiler_flops(layer, shape)  # TF counts a multiply-add as 2 FLOPs
    ours = M.layer_flops(layer, (1,) + shape)
    assert 2 * ours == tf_flops, f"expected {tf_flops // 2} multiply-adds (TF), got {ours}"


# -------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make,match", [
    (lambda: M.lenet5(num_classes=0), r"num_classes must be a positive integer\. "
                                      r"Received: num_classes=0"),
    (lambda: M.lenet5(input_shape=(32, 32)), r"input_shape must be \(height, width, "
                                             r"channels\).*Received: input_shape=\(32, 32\)"),
    (lambda: M.lenet5(input_shape=(12, 12, 1)), r"lenet5 needs images of at least 16x16"),
    (lambda: M.lenet5(layers="torch"), r"layers must be one of \('keras', 'cnnlib'\)"),
    (lambda: M.alexnet(input_shape=(64, 64, 3)), r"alexnet needs images of at least 67x67"),
    (lambda: M.vgg16(width=0), r"width must be a positive number.*Received: width=0"),
    (lambda: M.vgg(convs_per_block=(2, 2)), r"convs_per_block must be five positive"),
    (lambda: M.resnet18(stem="tiny"), r"stem must be one of"),
    (lambda: M.resnet(depths=()), r"depths must be a non-empty sequence"),
    (lambda: M.convnext((1, 1), (8,)), r"depths and dims must be sequences"),
    (lambda: M.convnext_tiny(input_shape=(16, 16, 3)), r"needs images of at least 32x32"),
    (lambda: M.googlenet(variant="v3"), r"variant must be one of \('v1', 'v2'\)"),
    (lambda: M.resnet18(groups=3), r"filters must be divisible by groups"),
])
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_summary_table_rejects_non_models():
    with pytest.raises(TypeError, match=r"model must be a keras.Model\. Received: model of "
                                        r"type Dense"):
        M.summary_table(keras.layers.Dense(3))
    with pytest.raises(ValueError, match=r"model must be built"):
        M.summary_table(keras.Sequential([keras.layers.Dense(3)]))


def test_cli_prints_measured_next_to_published(capsys):
    from cnnlib.models.__main__ import main

    assert main(["lenet5"]) == 0
    out = capsys.readouterr().out
    assert "lenet5" in out and "61,706" in out and "61,684" in out, out
    assert main(["nope"]) == 1
    assert "unknown model(s) ['nope']" in capsys.readouterr().err
