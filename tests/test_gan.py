"""cnnlib.gan: losses (closed forms, Keras' BCE, autodiff, logits of +-100), networks, and
DCGAN / conditional GAN training on real Fashion-MNIST / MNIST."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnnlib import data, gan

LOG2 = math.log(2.0)


def _naive_bce(targets, logits):
    """The lecture's -t log D - (1 - t) log(1 - D) with D = sigmoid(l), computed naively."""
    d = tf.sigmoid(logits)
    return tf.reduce_mean(-targets * tf.math.log(d) - (1 - targets) * tf.math.log(1 - d))


# --------------------------------------------------------------------------- loss values


def test_losses_at_zero_logits_are_log2():
    z = np.zeros(7, np.float32)
    got = float(gan.discriminator_loss(z, z))
    assert got == pytest.approx(2 * LOG2, rel=1e-6), f"expected 2 log 2, got {got}"
    assert float(gan.generator_loss(z)) == pytest.approx(LOG2, rel=1e-6)
    assert float(gan.generator_loss(z, mode="minimax")) == pytest.approx(-LOG2, rel=1e-6)
    # One-sided smoothing at l = 0: BCE(0.9, 0) = log 2 as well (softplus(0) - 0.9 * 0).
    assert float(gan.discriminator_loss(z, z, label_smoothing=0.1)) == pytest.approx(2 * LOG2)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_discriminator_loss_matches_keras_bce(smoothing):
    rng = np.random.default_rng(0)
    real = rng.normal(0, 3, (32, 1)).astype("float32")
    fake = rng.normal(0, 3, (48, 1)).astype("float32")
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    want = float(bce(np.full_like(real, 1 - smoothing), real)) + float(bce(np.zeros_like(fake), fake))
    got = float(gan.discriminator_loss(real, fake, label_smoothing=smoothing))
    assert got == pytest.approx(want, rel=1e-5), f"expected {want}, got {got}"
    # One-sided: smoothing must not touch the fake targets (they stay exactly 0).
    two_sided = float(keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=2 * smoothing)(
        np.ones_like(real), real)) + float(keras.losses.BinaryCrossentropy(
            from_logits=True, label_smoothing=2 * smoothing)(np.zeros_like(fake), fake))
    if smoothing:
        assert abs(got - two_sided) > 1e-3, "smoothing changed the fake targets (two-sided)"


def test_generator_losses_match_keras_bce():
    rng = np.random.default_rng(1)
    fake = rng.normal(0, 3, (64, 1)).astype("float32")
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    want_ns = float(bce(np.ones_like(fake), fake))
    want_mm = -float(bce(np.zeros_like(fake), fake))
    assert float(gan.generator_loss(fake)) == pytest.approx(want_ns, rel=1e-5)
    assert float(gan.generator_loss(fake, mode="minimax")) == pytest.approx(want_mm, rel=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_losses_are_stable_for_logits_of_100(dtype):
    big = np.array([100.0], dtype)
    small = -big
    cases = {
        # D right and sure: loss ~ 2 * log(1 + e^-100) = 0.
        "d right": (gan.discriminator_loss(big, small), 0.0),
        # D wrong and sure: softplus(100) + softplus(100) = 200.
        "d wrong": (gan.discriminator_loss(small, big), 200.0),
        # One-sided smoothing 0.1 on a sure real: softplus(100) - 0.9 * 100 = 10.
        "d smoothed": (gan.discriminator_loss(big, small, label_smoothing=0.1), 10.0),
        "g ns fooled": (gan.generator_loss(big), 0.0),
        "g ns caught": (gan.generator_loss(small), 100.0),
        "g mm fooled": (gan.generator_loss(big, mode="minimax"), -100.0),
        "g mm caught": (gan.generator_loss(small, mode="minimax"), 0.0),
    }
    for name, (value, want) in cases.items():
        v = float(value)
        assert math.isfinite(v), f"{name}: expected a finite loss, got {v}"
        assert v == pytest.approx(want, abs=1e-5), f"{name}: expected {want}, got {v}"
    # The naive formula is what these functions avoid: log(1 - sigmoid(100)) = log(0).
    naive = float(_naive_bce(tf.constant(0.0, "float32"), tf.constant(100.0, "float32")))
    assert not math.isfinite(naive), f"the naive float32 formula should overflow, got {naive}"


# --------------------------------------------------------------------------- gradients


def _grad(fn, *arrays):
    vs = [tf.Variable(a) for a in arrays]
    with tf.GradientTape() as tape:
        loss = fn(*vs)
    return [g.numpy() for g in tape.gradient(loss, vs)]


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_discriminator_gradient_matches_naive_formula(smoothing):
    rng = np.random.default_rng(2)
    real = rng.normal(0, 4, 20)
    fake = rng.normal(0, 4, 30)

    def naive(r, f):
        return _naive_bce(tf.constant(1 - smoothing, tf.float64), r) + _naive_bce(
            tf.constant(0.0, tf.float64), f)

    got = _grad(lambda r, f: gan.discriminator_loss(r, f, label_smoothing=smoothing), real, fake)
    want = _grad(naive, real, fake)
    for g, w, name in zip(got, want, ("real", "fake")):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12, err_msg=f"d loss / d {name}")
    # Closed form: (sigmoid(l) - t) / N.
    sig = 1 / (1 + np.exp(-real))
    np.testing.assert_allclose(got[0], (sig - (1 - smoothing)) / real.size, rtol=1e-9)


@pytest.mark.parametrize("mode", gan.GENERATOR_LOSS_MODES)
def test_generator_gradient_matches_naive_formula(mode):
    fake = np.random.default_rng(3).normal(0, 4, 25)
    if mode == "non_saturating":
        def naive(f):
            return -tf.reduce_mean(tf.math.log(tf.sigmoid(f)))
    else:
        def naive(f):
            return tf.reduce_mean(tf.math.log(1 - tf.sigmoid(f)))
    (got,) = _grad(lambda f: gan.generator_loss(f, mode=mode), fake)
    (want,) = _grad(naive, fake)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=f"{mode} gradient")


def test_gradients_at_extreme_logits_show_saturation():
    logits = np.array([-100.0, 100.0], "float32")
    (d_real, d_fake) = _grad(lambda r, f: gan.discriminator_loss(r, f), logits, logits)
    (ns,) = _grad(lambda f: gan.generator_loss(f), logits)
    (mm,) = _grad(lambda f: gan.generator_loss(f, mode="minimax"), logits)
    for name, g in (("d_real", d_real), ("d_fake", d_fake), ("ns", ns), ("mm", mm)):
        assert np.all(np.isfinite(g)), f"{name}: expected finite gradients, got {g}"
    n = logits.size
    np.testing.assert_allclose(d_real, [-1 / n, 0.0], atol=1e-7)   # sigmoid(l) - 1
    np.testing.assert_allclose(d_fake, [0.0, 1 / n], atol=1e-7)    # sigmoid(l) - 0
    # D rejects a fake (l = -100): non-saturating still pushes with -1/N, minimax with ~0.
    np.testing.assert_allclose(ns, [-1 / n, 0.0], atol=1e-7)
    np.testing.assert_allclose(mm, [0.0, -1 / n], atol=1e-7)
    assert abs(mm[0]) < 1e-30 < abs(ns[0]), f"minimax should saturate: mm {mm[0]}, ns {ns[0]}"


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: gan.generator_loss(np.array([1, 2])), TypeError, "fake_logits must be floating.*int64"),
        (lambda: gan.discriminator_loss(tf.constant([1]), [0.0]), TypeError, "real_logits.*int32"),
        (lambda: gan.discriminator_loss(np.zeros(0, "float32"), [0.0]), ValueError,
         r"real_logits must hold at least one.*\(0,\)"),
        (lambda: gan.discriminator_loss([0.0], [0.0], label_smoothing=1.0), ValueError,
         r"\[0, 1\).*label_smoothing=1.0"),
        (lambda: gan.discriminator_loss([0.0], [0.0], label_smoothing=True), TypeError,
         "label_smoothing=True"),
        (lambda: gan.generator_loss([0.0], mode="wasserstein"), ValueError, "mode='wasserstein'"),
        (lambda: gan.build_generator(image_shape=(27, 27, 1)), ValueError, r"image_shape=\(27, 27, 1\)"),
        (lambda: gan.build_generator(latent_dim=0), ValueError, "latent_dim=0"),
        (lambda: gan.build_discriminator(num_classes=1), ValueError, "num_classes=1"),
        (lambda: gan.build_discriminator(dropout=1.0), ValueError, "dropout=1.0"),
        (lambda: gan.scale_images(np.zeros((2, 4, 4), "float32")), TypeError, "uint8.*float32"),
    ],
)
def test_bad_input_raises(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- networks


@pytest.mark.parametrize("shape", [(28, 28, 1), (14, 14, 1), (32, 32, 3)])
@pytest.mark.parametrize("num_classes", [None, 10])
def test_network_shapes(shape, num_classes):
    g = gan.build_generator(16, shape, filters=8, num_classes=num_classes)
    d = gan.build_discriminator(shape, filters=8, num_classes=num_classes)
    z = keras.random.normal((5, 16), seed=0)
    labels = tf.constant(np.arange(5).reshape(5, 1), dtype="int32")
    images = g([z, labels] if num_classes else z)
    assert tuple(images.shape) == (5, *shape), f"expected {(5, *shape)}, got {images.shape}"
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0, "tanh output must lie in [-1, 1]"
    logits = d([images, labels] if num_classes else images)
    assert tuple(logits.shape) == (5, 1), f"expected (5, 1), got {logits.shape}"


def test_scale_images_range():
    x = np.array([[[0, 255], [127, 128]]], np.uint8)
    got = gan.scale_images(x)
    assert got.shape == (1, 2, 2, 1) and got.dtype == np.float32
    np.testing.assert_allclose(got[0, :, :, 0], [[-1.0, 1.0], [127 / 127.5 - 1, 128 / 127.5 - 1]],
                               atol=1e-6)


def test_model_arguments_are_checked():
    g = gan.build_generator(8, (14, 14, 1), 4)
    d = gan.build_discriminator((14, 14, 1), 4)
    gc = gan.build_generator(8, (14, 14, 1), 4, num_classes=3)
    dc = gan.build_discriminator((14, 14, 1), 4, num_classes=3)
    with pytest.raises(ValueError, match="2 input"):
        gan.ConditionalGAN(g, d, latent_dim=8)
    with pytest.raises(ValueError, match="1 input"):
        gan.DCGAN(gc, dc, latent_dim=8)
    with pytest.raises(ValueError, match="latent_dim=9"):
        gan.DCGAN(g, d, latent_dim=9)
    with pytest.raises(TypeError, match="generator must be a keras.Model"):
        gan.DCGAN("g", d, latent_dim=8)
    model = gan.DCGAN(g, d, latent_dim=8)
    opt = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two different optimizer"):
        model.compile(opt, opt)
    with pytest.raises(TypeError, match="g_optimizer must be"):
        model.compile(opt, "adam")
    cgan = gan.ConditionalGAN(gc, dc, latent_dim=8)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\).*0 to 3"):
        cgan.generate([0, 3])
    cgan.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    with pytest.raises(ValueError, match="needs \\(images, labels\\)"):
        cgan.fit(np.zeros((4, 14, 14, 1), "float32"), batch_size=4, epochs=1, verbose=0)


# --------------------------------------------------------------------------- training


def _adam(lr=1e-3):
    return keras.optimizers.Adam(lr, beta_1=0.5)


SIZE = (14, 14)  # 28 -> 14 by area averaging: 3x cheaper steps on 2 CPU cores


@pytest.fixture(scope="module")
def fashion():
    (x, _), _ = data.load_fashion_mnist()
    return gan.scale_images(x[:8000], size=SIZE)


def _dcgan(seed=0, filters=16, latent_dim=32):
    keras.utils.set_random_seed(seed)
    g = gan.build_generator(latent_dim, (*SIZE, 1), filters)
    d = gan.build_discriminator((*SIZE, 1), filters)
    model = gan.DCGAN(g, d, latent_dim=latent_dim, seed=seed)
    model.compile(_adam(), _adam())
    return model


def test_scale_images_resizes_by_area(fashion):
    assert fashion.shape == (8000, 14, 14, 1), f"expected (8000, 14, 14, 1), got {fashion.shape}"
    (x, _), _ = data.load_fashion_mnist()
    full = gan.scale_images(x[:3])
    want = full.reshape(3, 14, 2, 14, 2, 1).mean(axis=(2, 4))  # 2x2 block means
    np.testing.assert_allclose(fashion[:3], want, atol=1e-5)
    with pytest.raises(ValueError, match="size=\\(14,\\)"):
        gan.scale_images(x[:1], size=(14,))


@pytest.mark.slow
def test_training_is_seeded(fashion):
    images = fashion[:256]
    runs = []
    for _ in range(2):
        model = _dcgan(seed=3, filters=8)
        model.run_eagerly = True  # no tracing: two short runs stay cheap
        ds = tf.data.Dataset.from_tensor_slices(images).shuffle(256, seed=3).batch(32)
        hist = model.fit(ds, epochs=1, verbose=0).history
        runs.append((hist, model.generator.get_weights()[0]))
    (h1, w1), (h2, w2) = runs
    for key in ("d_loss", "g_loss"):
        assert h1[key] == pytest.approx(h2[key], rel=1e-5), f"{key}: run 1 {h1[key]}, run 2 {h2[key]}"
    np.testing.assert_allclose(w1, w2, rtol=1e-5, atol=1e-6, err_msg="generator weights differ")


@pytest.mark.slow
def test_dcgan_lowers_generator_loss_on_fashion_mnist(fashion):
    """300 steps on real Fashion-MNIST (14x14): the trained G fools the final D far better
    than G's initial weights do (generator loss against the same D, same z), the running
    generator loss comes down from its peak, and the samples' mean image approaches the data's."""
    model = _dcgan(seed=0)
    g0 = keras.models.clone_model(model.generator)
    g0.set_weights(model.generator.get_weights())
    ds = tf.data.Dataset.from_tensor_slices(fashion).shuffle(8000, seed=0).repeat().batch(64)
    hist = model.fit(ds, steps_per_epoch=50, epochs=6, verbose=0).history
    for key, values in hist.items():
        assert np.all(np.isfinite(values)), f"{key} not finite: {values}"

    z = keras.random.normal((512, 32), seed=123)
    d = model.discriminator
    loss_before = float(gan.generator_loss(d(g0(z, training=False), training=False)))
    loss_after = float(gan.generator_loss(d(model.generator(z, training=False), training=False)))
    assert loss_after < 0.6 * loss_before, (
        f"expected the trained generator's loss against the final D to be below 0.6x the "
        f"untrained one's: untrained {loss_before:.3f}, trained {loss_after:.3f}"
    )
    g_loss = hist["g_loss"]
    assert g_loss[-1] < max(g_loss) - 0.05, f"g_loss never came down from its peak: {g_loss}"

    real_mean = fashion[:2000].mean(axis=0)
    dist_before = np.abs(g0(z, training=False).numpy().mean(0) - real_mean).mean()
    dist_after = np.abs(model.generate(512, seed=7).mean(0) - real_mean).mean()
    assert dist_after < 0.5 * dist_before, (
        f"expected the generated mean image to approach the data's: "
        f"L1 before {dist_before:.3f}, after {dist_after:.3f}"
    )


@pytest.mark.slow
def test_conditional_gan_follows_the_label_on_mnist():
    """400 steps on real MNIST digits (14x14): images generated for digit c look, on
    average, more like the real c's than like any other digit (nearest class-mean image)."""
    (x, y), _ = data.load_mnist()
    images, labels = gan.scale_images(x, size=SIZE), y.astype("int32")
    keras.utils.set_random_seed(0)
    g = gan.build_generator(32, (*SIZE, 1), 16, num_classes=10)
    d = gan.build_discriminator((*SIZE, 1), 16, num_classes=10)
    model = gan.ConditionalGAN(g, d, latent_dim=32, seed=0)
    model.compile(_adam(2e-3), _adam(2e-3))
    means = np.stack([images[labels == c].mean(0) for c in range(10)])

    def hits():
        found = []
        for c in range(10):
            dist = np.abs(means - model.generate([c] * 64, seed=c).mean(0)).mean(axis=(1, 2, 3))
            found.append(int(np.argmin(dist)))
        return sum(int(f == c) for c, f in enumerate(found)), found

    before, _ = hits()
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(8000, seed=0).repeat().batch(64)
    hist = model.fit(ds, steps_per_epoch=100, epochs=4, verbose=0).history
    after, found = hits()
    assert np.all(np.isfinite(hist["g_loss"])), f"g_loss not finite: {hist['g_loss']}"
    assert after >= 7 and after > before, (
        f"expected generated digits nearest their own class mean for >= 7 of 10 classes "
        f"(before training: {before}); got {after}, nearest classes {found}"
    )


def test_generator_saves_and_reloads(tmp_path):
    keras.utils.set_random_seed(0)
    g = gan.build_generator(8, (14, 14, 1), 4, num_classes=3)
    path = tmp_path / "g.keras"
    g.save(path)
    loaded = keras.models.load_model(path)
    z = keras.random.normal((2, 8), seed=1)
    lab = tf.constant([[0], [2]], dtype="int32")
    np.testing.assert_allclose(loaded([z, lab]).numpy(), g([z, lab]).numpy(), rtol=1e-6)
