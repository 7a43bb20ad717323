"""cnnlib.augment: every exposed layer on real photos, in tf.data and in a model fed by it.

Both backends (keras-cv 0.9.0 and Keras 3 core) are exercised; values are checked against
TensorFlow's own ops where one exists (resize, flip, standardization), determinism with a
seed, and the documented failures (KNOWN_FAILURES) are pinned.
"""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnnlib import augment, data

SIZE = 64
PHOTOS = ("astronaut", "chelsea", "coffee")
MEAN = np.array(augment.IMAGENET_MEAN, np.float32)
STD = np.array(augment.IMAGENET_STD, np.float32)


@pytest.fixture(scope="module")
def photos():
    """The three course photos, uint8, each at its own size."""
    return [data.load_photo(name) for name in PHOTOS]


@pytest.fixture(scope="module")
def batch(photos):
    """Six real photos (astronaut, chelsea, coffee twice) as uint8 (6, 64, 64, 3) and labels 0,1,2,0,1,2."""
    small = np.stack([tf.cast(tf.round(tf.image.resize(p, (SIZE, SIZE))), tf.uint8).numpy() for p in photos])
    return np.tile(small, (2, 1, 1, 1)), np.tile(np.arange(3), 2)


@pytest.fixture(scope="module")
def clean(batch):
    """The eval pipeline's output on `batch`: resized and standardized, no augmentation."""
    x, y = batch
    return next(iter(augment.make_dataset(x, y, augment.eval_pipeline(SIZE), batch_size=6)))[0].numpy()


@pytest.fixture(scope="module")
def model():
    """A small CNN on (64, 64, 3) with 3 softmax outputs, compiled once for every fit step."""
    keras.utils.set_random_seed(0)
    m = keras.Sequential([
        keras.Input((SIZE, SIZE, 3)),
        keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3, activation="softmax"),
    ])
    m.compile(keras.optimizers.SGD(0.01), "categorical_crossentropy")
    return m


def _unit(x):
    """Standardized -> [0, 1]."""
    return np.asarray(x) * STD + MEAN


# --------------------------------------------------------------------------- standardization


def test_standardize_reproduces_the_lecture_pixel():
    rgb = np.array([250, 214, 38], np.float64)
    unit = rgb / 255
    np.testing.assert_allclose(unit.round(2), [0.98, 0.84, 0.15], err_msg="lecture: (0.98, 0.84, 0.15)")
    got = augment.standardize(unit).numpy()
    np.testing.assert_allclose(got.round(2), [2.16, 1.71, -1.14], err_msg=f"lecture: (2.16, 1.71, -1.14); got {got}")
    # The slide's rounded [0, 1] values give the same rounded result.
    got_rounded = augment.standardize([0.98, 0.84, 0.15]).numpy()
    np.testing.assert_allclose(got_rounded.round(2), [2.16, 1.71, -1.14], err_msg=f"got {got_rounded}")


def test_standardize_matches_keras_normalization_and_inverts():
    x = np.random.default_rng(0).uniform(0, 1, (2, 5, 5, 3)).astype(np.float32)
    ref = keras.layers.Normalization(mean=list(MEAN), variance=list(STD**2))(x)
    got = augment.standardize(x)
    np.testing.assert_allclose(got, ref, atol=1e-5, err_msg="expected keras.layers.Normalization's output")
    np.testing.assert_allclose(augment.unstandardize(got), x, atol=1e-6, err_msg="unstandardize must invert")


@pytest.mark.parametrize("kwargs, match", [
    ({"images": np.zeros((2, 2, 4))}, r"3 channels.*Received: images.shape=\(2, 2, 4\)"),
    ({"images": np.zeros((1, 3)), "std": (0.2, 0.0, 0.1)}, r"std must be positive. Received: std=\(0.2, 0.0, 0.1\)"),
    ({"images": np.zeros((1, 3)), "mean": (0.5, 0.5)}, r"mean and std must be 1-D of equal length"),
])
def test_standardize_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        augment.standardize(**kwargs)


# --------------------------------------------------------------------------- evaluation pipeline


@pytest.mark.parametrize("backend", augment.BACKENDS)
def test_eval_pipeline_is_resize_and_standardize_only(photos, backend):
    chelsea = photos[1][None]  # (1, 300, 451, 3)
    pipe = augment.eval_pipeline((SIZE, 80), backend=backend)
    got = next(iter(augment.make_dataset(chelsea, None, pipe, batch_size=1))).numpy()
    ref = ((tf.image.resize(chelsea.astype(np.float32), (SIZE, 80)) / 255 - MEAN) / STD).numpy()
    assert got.shape == (1, SIZE, 80, 3), f"expected (1, 64, 80, 3), got {got.shape}"
    np.testing.assert_allclose(got, ref, atol=1e-5, err_msg="eval = tf.image.resize + ImageNet standardization")
    again = pipe(chelsea).numpy()  # eager call, same result: no randomness
    np.testing.assert_allclose(again, got, atol=1e-5, err_msg="eval pipeline must be deterministic")


# --------------------------------------------------------------------------- every layer


@pytest.mark.slow
@pytest.mark.parametrize("backend", augment.BACKENDS)
@pytest.mark.parametrize("op", augment.TRAIN_OPS + augment.MIX_OPS)
def test_every_layer_on_photos_in_tf_data_and_fit(batch, clean, model, backend, op):
    x, y = batch
    ops, mix = ((), op) if op in augment.MIX_OPS else ((op,), None)
    pipe = augment.train_pipeline(SIZE, ops=ops, mix=mix, backend=backend, seed=7)
    ds = augment.make_dataset(x, y, pipe, batch_size=6, num_classes=3)
    images, labels = (t.numpy() for t in next(iter(ds)))

    assert images.shape == (6, SIZE, SIZE, 3) and images.dtype == np.float32, (images.shape, images.dtype)
    assert np.isfinite(images).all(), f"{backend}/{op}: non-finite output"
    unit = _unit(images)
    assert unit.min() >= -1e-3 and unit.max() <= 1 + 1e-3, (
        f"{backend}/{op}: expected images in [0, 1] before standardization, got [{unit.min()}, {unit.max()}]")
    changed = np.abs(images - clean).max(axis=(1, 2, 3))
    assert changed.max() > 1e-2, f"{backend}/{op}: expected augmented images, got the clean ones"

    onehot = np.eye(3, dtype=np.float32)[y]
    if mix:
        np.testing.assert_allclose(labels.sum(1), 1, atol=1e-5, err_msg=f"{op}: mixed labels must sum to 1")
        assert (labels.max(1) < 1 - 1e-3).any(), f"{op}: expected some mixed labels, got {labels}"
    else:
        np.testing.assert_array_equal(labels, onehot, err_msg=f"{op}: labels must pass through")

    if op == "flip":  # each image is itself or TF's left-right mirror, and both happen
        mirrored = tf.image.flip_left_right(clean).numpy()
        same = np.abs(images - clean).max(axis=(1, 2, 3)) < 1e-5
        flipped = np.abs(images - mirrored).max(axis=(1, 2, 3)) < 1e-5
        assert (same | flipped).all() and same.any() and flipped.any(), (same, flipped)
    if op == "brightness":  # a constant shift per image (where not clipped at 0 or 255)
        delta = (unit - _unit(clean)) * 255
        inside = (unit > 0.01) & (unit < 0.99)
        for i in range(6):
            d = delta[i][inside[i]]
            assert d.std() < 0.5 and abs(d.mean()) > 0.1, f"image {i}: shift mean {d.mean()}, std {d.std()}"

    history = model.fit(ds, epochs=1, steps_per_epoch=1, shuffle=False, verbose=0)
    loss = history.history["loss"][0]
    assert np.isfinite(loss), f"{backend}/{op}: fit step on the augmented dataset gave loss {loss}"


# --------------------------------------------------------------------------- seeds, backends


SEEDED_OPS = augment.DEFAULT_TRAIN_OPS  # crop, flip, rotation, color jitter


@pytest.fixture(scope="module")
def seeded(batch):
    """The default pipeline + MixUp per backend, seeds 1 (two epochs), 1 again (new pipeline), 2."""
    x, y = batch
    out = {}
    for backend in augment.BACKENDS:
        for key, seed in (("a", 1), ("b", 1), ("c", 2)):
            pipe = augment.train_pipeline(SIZE, ops=SEEDED_OPS, mix="mixup", backend=backend, seed=seed)
            ds = augment.make_dataset(x, y, pipe, batch_size=6, num_classes=3)
            epochs = 2 if key == "a" else 1
            out[backend, key] = [[t.numpy() for t in next(iter(ds))] for _ in range(epochs)]
    return out


@pytest.mark.parametrize("backend", augment.BACKENDS)
def test_same_seed_same_output_different_seed_different_output(seeded, backend):
    (xa, ya), (xb, yb), (xc, yc) = (seeded[backend, k][0] for k in "abc")
    np.testing.assert_array_equal(xa, xb, err_msg=f"{backend}: same seed must give the same images")
    np.testing.assert_array_equal(ya, yb, err_msg=f"{backend}: same seed must give the same labels")
    diff = np.abs(xa - xc).max()
    assert diff > 0.1, f"{backend}: seeds 1 and 2 gave the same images (max diff {diff})"


@pytest.mark.parametrize("backend", augment.BACKENDS)
def test_each_epoch_sees_new_augmentations(seeded, backend):
    first, second = seeded[backend, "a"]
    diff = np.abs(first[0] - second[0]).max()
    assert diff > 0.1, f"{backend}: epochs 1 and 2 gave the same augmented images (max diff {diff})"


def _two_passes(backend, shuffle):
    """Brightness-only pipeline, seed 4: two passes over 8 images whose labels are their ids."""
    x = np.full((8, 16, 16, 3), 128, np.uint8)
    pipe = augment.train_pipeline(16, ops=("brightness",), backend=backend, seed=4)
    ds = augment.make_dataset(x, np.arange(8), pipe, batch_size=8, shuffle=shuffle, seed=0)
    passes = []
    for _ in range(2):
        images, ids = (t.numpy() for t in next(iter(ds)))
        passes.append(images[np.argsort(ids)])  # back to image order
    return passes


def test_keras_cv_stateful_draws_restart_each_pass_and_shuffle_gives_new_ones():
    first, second = _two_passes("keras_cv", shuffle=False)
    np.testing.assert_array_equal(first, second, err_msg="documented: seeded keras-cv brightness restarts per pass")
    first, second = _two_passes("keras_cv", shuffle=True)
    moved = (np.abs(first - second).max(axis=(1, 2, 3)) > 1e-3).sum()
    assert moved >= 6, f"with shuffle=True expected most of 8 images to get new brightness, got {moved}"
    first, second = _two_passes("keras", shuffle=False)
    moved = (np.abs(first - second).max(axis=(1, 2, 3)) > 1e-3).sum()
    assert moved == 8, f"keras backend: expected all 8 images to get new brightness each pass, got {moved}"


def test_both_backends_give_valid_differently_seeded_output_of_the_same_shapes(seeded):
    (xk, yk), (xc, yc) = seeded["keras", "a"][0], seeded["keras_cv", "a"][0]
    assert xk.shape == xc.shape == (6, SIZE, SIZE, 3), (xk.shape, xc.shape)
    assert yk.shape == yc.shape == (6, 3), (yk.shape, yc.shape)
    assert xk.dtype == xc.dtype == np.float32 and yk.dtype == yc.dtype == np.float32
    for name, x, y in (("keras", xk, yk), ("keras_cv", xc, yc)):
        unit = _unit(x)
        assert np.isfinite(x).all() and unit.min() > -1e-3 and unit.max() < 1 + 1e-3, (name, unit.min(), unit.max())
        np.testing.assert_allclose(y.sum(1), 1, atol=1e-5, err_msg=f"{name}: labels must sum to 1")
    assert np.abs(xk - xc).max() > 0.1, "the two backends gave identical images: expected different random draws"


def test_eager_call_is_reproducible_and_advances(batch):
    x, y = batch
    onehot = np.eye(3, dtype=np.float32)[y]
    p1, p2 = (augment.train_pipeline(SIZE, ops=("flip", "hue"), mix="cutmix", seed=3) for _ in range(2))
    a1, b1 = p1(x, onehot)
    a2, b2 = p2(x, onehot)
    np.testing.assert_array_equal(a1.numpy(), a2.numpy(), err_msg="same seed, eager: same images")
    np.testing.assert_array_equal(b1.numpy(), b2.numpy(), err_msg="same seed, eager: same labels")
    again = p1(x, onehot)[0].numpy()
    assert np.abs(again - a1.numpy()).max() > 0.1, "a second call must draw new augmentations"


# --------------------------------------------------------------------------- where layers fail


def _fit_one_step(layer, jit_compile):
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    m = keras.Sequential([keras.Input((32, 32, 3)), *layer, keras.layers.Conv2D(2, 3),
                          keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
    m.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit_compile)
    loss = m.fit(x, np.array([0, 1, 0, 1]), epochs=1, batch_size=4, verbose=0).history["loss"][0]
    return m, loss


_KCV_FAILING = {"RandAugment": "rand_augment", "AugMix": "aug_mix", "RandomRotation": "rotation",
                "RandomCropAndResize": "crop"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_KCV_FAILING))
def test_keras_cv_layers_fail_where_documented(name):
    failure = augment.KNOWN_FAILURES["keras_cv", name]
    layer = augment.make_layer(_KCV_FAILING[name], "keras_cv", image_size=32, seed=0)
    assert type(layer).__name__ == name, f"expected a keras_cv {name}, got {type(layer).__name__}"
    errors = {"OperatorNotAllowedInGraphError": tf.errors.OperatorNotAllowedInGraphError,
              "InvalidArgumentError": tf.errors.InvalidArgumentError}
    with pytest.raises(errors[failure["error"]], match=failure.get("match")):
        _fit_one_step([layer], failure["jit_compile"])


@pytest.mark.slow
def test_keras_core_counterparts_work_in_fit_but_turn_xla_off():
    layers = [augment.make_layer(op, "keras", image_size=32, seed=0) for op in _KCV_FAILING.values()]
    names = sorted(type(layer).__name__ for layer in layers)
    assert names == sorted(augment.KERAS_NO_XLA), f"expected {sorted(augment.KERAS_NO_XLA)}, got {names}"
    with pytest.warns(UserWarning, match="doesn't support `jit_compile=True`"):
        model, loss = _fit_one_step(layers, jit_compile=True)
    assert model.jit_compile is False, "Keras should have turned XLA off for these layers"
    assert np.isfinite(loss), f"expected a finite loss, got {loss}"


@pytest.mark.slow
@pytest.mark.parametrize("backend", augment.BACKENDS)
def test_other_layers_run_in_fit_under_xla(backend):
    ops = ("flip", "color_jitter", "brightness", "hue", "blur")
    model, loss = _fit_one_step([augment.make_layer(op, backend, image_size=32, seed=0) for op in ops], True)
    assert model.jit_compile is True, f"{backend}: expected XLA kept on for {ops}"
    assert np.isfinite(loss), f"{backend}: expected a finite loss, got {loss}"


# --------------------------------------------------------------------------- plot


def test_plot_augmented_puts_versions_of_one_photo_in_its_row(batch):
    x = batch[0][:3]
    pipe = augment.train_pipeline(SIZE, ops=("flip",), backend="keras", seed=0)
    fig = augment.plot_augmented(x, pipe, n=4)
    assert len(fig.axes) == 12, f"expected 3 rows x 4 columns = 12 axes, got {len(fig.axes)}"
    shown = np.stack([np.asarray(ax.images[0].get_array()) for ax in fig.axes])
    assert shown.shape == (12, SIZE, SIZE, 3), shown.shape
    flipped = 0
    for idx, panel in enumerate(shown):
        photo = x[idx // 4] / 255.0  # row i = photo i
        as_is, mirrored = np.abs(panel - photo).max(), np.abs(panel - photo[:, ::-1]).max()
        assert min(as_is, mirrored) < 1e-4, f"panel {idx}: not photo {idx // 4} nor its mirror ({as_is}, {mirrored})"
        flipped += mirrored < as_is
    assert 0 < flipped < 12, f"expected some flipped and some original panels, got {flipped} flipped of 12"


def test_plot_augmented_with_cutmix_renders_to_png(batch):
    pipe = augment.train_pipeline(SIZE, ops=("rotation",), mix="cutmix", backend="keras_cv", seed=0)
    fig = augment.plot_augmented(batch[0][:3], pipe, n=3)
    assert len(fig.axes) == 9, f"expected 9 axes, got {len(fig.axes)}"
    row = [np.asarray(ax.images[0].get_array()) for ax in fig.axes[:3]]
    assert max(np.abs(row[0] - r).max() for r in row[1:]) > 0.05, "the versions of one photo should differ"
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n" and len(buf.getvalue()) > 5000, len(buf.getvalue())


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call, error, match", [
    (lambda: augment.train_pipeline(backend="torch"), ValueError,
     r"backend must be one of \('keras_cv', 'keras'\). Received: backend='torch'"),
    (lambda: augment.train_pipeline(ops=("flip", "zoom")), ValueError,
     r"unknown: \['zoom'\]. Received: ops=\('flip', 'zoom'\)"),
    (lambda: augment.train_pipeline(ops="flip"), ValueError, r"ops must be a tuple.*Received: ops='flip'"),
    (lambda: augment.train_pipeline(ops=("flip", "flip")), ValueError, r"must not repeat"),
    (lambda: augment.train_pipeline(mix="mosaic"), ValueError, r"mix must be None or one of.*Received: mix='mosaic'"),
    (lambda: augment.train_pipeline(image_size=(0, 32)), ValueError,
     r"image_size must be.*Received: image_size=\(0, 32\)"),
    (lambda: augment.train_pipeline(seed=1.5), TypeError,
     r"seed must be None or a non-negative integer. Received: seed=1.5"),
    (lambda: augment.eval_pipeline(backend=None), ValueError, r"Received: backend=None"),
    (lambda: augment.make_layer("zoom"), ValueError, r"op must be 'resize' or one of.*Received: op='zoom'"),
    (lambda: augment.make_dataset(np.zeros((4, 8, 8, 3)), np.zeros(3), augment.eval_pipeline(8)), ValueError,
     r"labels must have one entry per image"),
    (lambda: augment.make_dataset(np.zeros((4, 8, 8, 3)), np.arange(4), augment.eval_pipeline(8), num_classes=3),
     ValueError, r"labels must be integers in \[0, 3\)"),
    (lambda: augment.make_dataset(np.zeros((4, 8, 8, 3)), None, augment.eval_pipeline(8), batch_size=0),
     ValueError, r"batch_size must be a positive integer. Received: batch_size=0"),
    (lambda: augment.augment_dataset(tf.data.Dataset.range(3), lambda x: x), TypeError,
     r"pipeline must be a cnnlib.augment.Pipeline. Received: pipeline=function"),
    (lambda: augment.plot_augmented(np.zeros((1, 8, 8, 3)), augment.eval_pipeline(8), n=0), ValueError,
     r"n must be a positive integer. Received: n=0"),
])
def test_bad_arguments_are_named_in_the_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_mix_needs_one_hot_labels_and_color_ops_need_rgb():
    mix = augment.train_pipeline(8, ops=(), mix="mixup", seed=0)
    with pytest.raises(ValueError, match=r"needs one-hot labels.*Received: labels shape=\(None,\)"):
        augment.make_dataset(np.zeros((4, 8, 8, 3)), np.arange(4) % 2, mix, batch_size=4)
    hue = augment.train_pipeline(8, ops=("hue",), seed=0)
    with pytest.raises(ValueError, match=r"need RGB images \(C=3\). Received: images.shape=\(None, 8, 8, 1\)"):
        augment.make_dataset(np.zeros((4, 8, 8), np.uint8), None, hue, batch_size=4)
