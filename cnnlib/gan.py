"""Generative adversarial networks: losses from logits, DCGAN and conditional GAN.

The lecture's discriminator D is a binary classifier trained with cross-entropy,

    min_D  -E_x log D(x) - E_z log(1 - D(G(z))),

and the generator G plays the other side of the same game. Everything here works on
*logits* ``l`` (``D = sigmoid(l)``), never on probabilities, so that the losses stay finite
for logits of +-100 where ``log(sigmoid(l))`` would be ``log(0)``:

    -log sigmoid(l)      = softplus(-l)
    -log(1 - sigmoid(l)) = softplus(l)

Generator losses:

- ``"minimax"`` (the lecture's ``min_G log(1 - D(G(z)))``) = ``-mean(softplus(l_fake))``.
  It saturates: when D confidently rejects the fakes (``l_fake << 0``) its gradient
  ``-sigmoid(l_fake)`` vanishes, so an untrained G learns nothing.
- ``"non_saturating"`` (the lecture's ``min_G -log D(G(z))``) = ``mean(softplus(-l_fake))``.
  Same fixed point, gradient ``-sigmoid(-l_fake)`` close to -1 exactly where the minimax one
  vanishes. This is what DCGAN and almost every GAN train with.

Models: ``build_generator`` / ``build_discriminator`` make the DCGAN networks
(transposed convolutions + BatchNorm + ReLU, tanh output in [-1, 1]; strided convolutions
+ LeakyReLU, one logit), optionally conditioned on a class label. ``DCGAN`` and
``ConditionalGAN`` are ``keras.Model``s whose ``train_step`` does one discriminator step
and one generator step per batch, so ``gan.fit(dataset)`` trains them.

Example:

>>> import keras
>>> from cnnlib import gan
>>> g = gan.build_generator(latent_dim=32, image_shape=(28, 28, 1), filters=16)
>>> d = gan.build_discriminator(image_shape=(28, 28, 1), filters=16)
>>> model = gan.DCGAN(g, d, latent_dim=32, seed=0)
>>> model.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
...               g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
>>> # model.fit(images_in_minus1_1, batch_size=64, epochs=1)
"""

import keras
import numpy as np
import tensorflow as tf

from cnnlib import validation

GENERATOR_LOSS_MODES = ("non_saturating", "minimax")

__all__ = [
    "GENERATOR_LOSS_MODES",
    "ConditionalGAN",
    "DCGAN",
    "build_discriminator",
    "build_generator",
    "discriminator_loss",
    "generator_loss",
    "scale_images",
]


# --------------------------------------------------------------------------- losses


def _as_logits(name, logits):
    """Converts ``logits`` to a non-empty floating tensor, or raises naming ``name``."""
    if isinstance(logits, (tf.Tensor, tf.Variable)) or keras.ops.is_tensor(logits):
        t = tf.convert_to_tensor(logits)
    else:
        arr = np.asarray(logits)
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(
                f"{name} must be floating-point logits (float16/32/64). "
                f"Received: {name} with dtype {arr.dtype}"
            )
        t = tf.convert_to_tensor(arr)
    if not t.dtype.is_floating:
        raise TypeError(
            f"{name} must be floating-point logits (float16/32/64). "
            f"Received: {name} with dtype {t.dtype.name}"
        )
    if t.shape.num_elements() == 0:
        raise ValueError(
            f"{name} must hold at least one logit. Received: {name} with shape {tuple(t.shape)}"
        )
    return t


def _check_smoothing(label_smoothing):
    """In [0, 1): the real target becomes ``1 - label_smoothing``."""
    return validation.check_number(label_smoothing, "label_smoothing", 0, 1, high_open=True)


def _check_mode(mode):
    return validation.check_one_of(mode, GENERATOR_LOSS_MODES, "mode")


def discriminator_loss(real_logits, fake_logits, label_smoothing=0.0):
    """Discriminator cross-entropy from logits, with optional one-sided label smoothing.

    ``loss = mean(BCE(1 - label_smoothing, real_logits)) + mean(BCE(0, fake_logits))`` where
    ``BCE(t, l) = softplus(l) - t * l`` is ``-t log sigmoid(l) - (1 - t) log(1 - sigmoid(l))``
    written so it is finite for any finite logit. One-sided: only the real targets are
    smoothed (Salimans et al. 2016); fake targets stay 0.

    Args:
        real_logits: D's logits on real images, any shape ``(N, ...)``, float.
        fake_logits: D's logits on generated images, any shape ``(M, ...)``, float.
        label_smoothing: float in [0, 1); the real target is ``1 - label_smoothing``.

    Returns:
        Scalar tensor (dtype of ``real_logits``).

    Raises:
        TypeError: non-float logits, non-number ``label_smoothing``.
        ValueError: empty logits, ``label_smoothing`` outside [0, 1).

    Example:
        >>> float(discriminator_loss([0.0], [0.0]))  # 2 log 2
        1.3862943611198906
    """
    real = _as_logits("real_logits", real_logits)
    fake = _as_logits("fake_logits", fake_logits)
    smoothing = _check_smoothing(label_smoothing)
    fake = tf.cast(fake, real.dtype)
    real_targets = tf.fill(tf.shape(real), tf.constant(1.0 - smoothing, dtype=real.dtype))
    real_loss = tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=real_targets, logits=real)
    )
    fake_loss = tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(fake), logits=fake)
    )
    return real_loss + fake_loss


def generator_loss(fake_logits, mode="non_saturating"):
    """Generator loss from D's logits on generated images.

    - ``"non_saturating"``: ``mean(-log D(G(z))) = mean(softplus(-l))`` (>= 0).
    - ``"minimax"``: ``mean(log(1 - D(G(z)))) = -mean(softplus(l))`` (<= 0), the lecture's
      ``min_G log(1 - D(G(z)))``; its gradient vanishes when D rejects the fakes.

    Args:
        fake_logits: D's logits on generated images, any shape ``(N, ...)``, float.
        mode: ``"non_saturating"`` or ``"minimax"``.

    Returns:
        Scalar tensor (dtype of ``fake_logits``).

    Raises:
        TypeError: non-float logits.
        ValueError: empty logits, unknown ``mode``.

    Example:
        >>> float(generator_loss([0.0]))  # log 2
        0.6931471805599453
    """
    fake = _as_logits("fake_logits", fake_logits)
    mode = _check_mode(mode)
    if mode == "non_saturating":
        return tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(fake), logits=fake)
        )
    return -tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(fake), logits=fake)
    )


# --------------------------------------------------------------------------- data


def scale_images(images, size=None):
    """Scales uint8 images in [0, 255] to float32 in [-1, 1] (the generator's tanh range).

    Args:
        images: uint8 array ``(N, H, W)`` or ``(N, H, W, C)``.
        size: optional ``(height, width)`` to resize to (area averaging, e.g. 28 -> 14 to
            train faster on CPU).

    Returns:
        float32 array ``(N, H', W', C)`` (``C = 1`` added for grayscale), ``x / 127.5 - 1``.

    Raises:
        TypeError: ``images`` not uint8.
        ValueError: ``images`` not 3-D or 4-D, ``size`` not two positive integers.
    """
    arr = np.asarray(images)
    if arr.dtype != np.uint8:
        raise TypeError(
            f"images must be uint8 in [0, 255]. Received: images with dtype {arr.dtype}"
        )
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4:
        raise ValueError(
            "images must have shape (N, H, W) or (N, H, W, C). "
            f"Received: images with shape {np.asarray(images).shape}"
        )
    out = (arr.astype(np.float32) / 127.5 - 1.0).astype(np.float32)
    if size is not None:
        try:
            h, w = size
            ok = all(validation.is_integer(v) and v > 0 for v in (h, w))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                f"size must be None or (height, width), positive integers. Received: size={size!r}"
            )
        out = tf.image.resize(out, (int(h), int(w)), method="area").numpy().astype(np.float32)
    return out


# --------------------------------------------------------------------------- networks


def _check_positive_int(name, value):
    return validation.check_integer(value, name, minimum=1)


def _check_image_shape(image_shape):
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = None
    if (
        shape is None
        or len(shape) != 3
        or any(not validation.is_integer(s) or s <= 0 for s in shape)
    ):
        raise ValueError(
            "image_shape must be three positive integers (height, width, channels). "
            f"Received: image_shape={image_shape!r}"
        )
    shape = tuple(int(s) for s in shape)
    n = _num_upsamplings(shape[0], shape[1])
    if n == 0:
        raise ValueError(
            "image_shape's height and width must both be 4 or more times a power of two "
            "(e.g. 14, 28, 32, 64) so the generator can grow them from a small seed. "
            f"Received: image_shape={image_shape!r}"
        )
    return shape


def _num_upsamplings(height, width, max_steps=4):
    """Largest n <= max_steps with H, W divisible by 2**n and H/2**n, W/2**n >= 3."""
    n = 0
    while (
        n < max_steps
        and height % 2 ** (n + 1) == 0
        and width % 2 ** (n + 1) == 0
        and height // 2 ** (n + 1) >= 3
        and width // 2 ** (n + 1) >= 3
    ):
        n += 1
    return n


def _check_num_classes(num_classes):
    return validation.check_integer(num_classes, "num_classes", minimum=2, allow_none=True)


def build_generator(latent_dim=100, image_shape=(28, 28, 1), filters=64, num_classes=None,
                    name="generator"):
    """DCGAN generator: ``z`` (and a label) -> image in [-1, 1].

    ``Dense -> BN -> ReLU -> reshape to (H/2^n, W/2^n, filters*2^(n-1))``, then ``n``
    stride-2 ``Conv2DTranspose`` (4x4) that halve the filters and double the size, BN + ReLU
    between them, ``tanh`` on the last (Radford et al. 2016). ``n`` is the largest number of
    doublings (at most 4) that leaves a seed of at least 3x3: 28 -> 7x7 seed, n = 2.

    Conditional (``num_classes`` given): the label goes through an ``Embedding(num_classes,
    latent_dim)`` and is concatenated to ``z``.

    Args:
        latent_dim: size of ``z``.
        image_shape: ``(H, W, C)`` of the images to generate.
        filters: filters of the last hidden transposed convolution.
        num_classes: ``None`` (DCGAN) or the number of classes (conditional GAN).
        name: model name.

    Input shape:
        ``z``: ``(N, latent_dim)``; conditional: ``[z, labels]`` with labels int ``(N, 1)``.

    Output shape:
        ``(N, H, W, C)`` float in [-1, 1].

    Returns:
        A functional ``keras.Model``.

    Raises:
        ValueError: non-positive sizes, an image size that cannot be grown by doublings,
            ``num_classes < 2``.
    """
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    filters = _check_positive_int("filters", filters)
    height, width, channels = _check_image_shape(image_shape)
    num_classes = _check_num_classes(num_classes)
    n = _num_upsamplings(height, width)

    z = keras.Input((latent_dim,), name="z")
    inputs = z
    x = z
    if num_classes is not None:
        label = keras.Input((1,), dtype="int32", name="label")
        e = keras.layers.Embedding(num_classes, latent_dim, name="label_embedding")(label)
        e = keras.layers.Flatten()(e)
        x = keras.layers.Concatenate()([z, e])
        inputs = [z, label]
    seed_h, seed_w = height // 2 ** n, width // 2 ** n
    seed_c = filters * 2 ** (n - 1)
    x = keras.layers.Dense(seed_h * seed_w * seed_c, use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Reshape((seed_h, seed_w, seed_c))(x)
    for i in range(n - 1):
        x = keras.layers.Conv2DTranspose(
            filters * 2 ** (n - 2 - i), 4, strides=2, padding="same", use_bias=False
        )(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
    out = keras.layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", activation="tanh", name="image"
    )(x)
    return keras.Model(inputs, out, name=name)


def build_discriminator(image_shape=(28, 28, 1), filters=64, num_classes=None, dropout=0.3,
                        name="discriminator"):
    """DCGAN discriminator: image (and a label) -> one real/fake logit.

    ``n`` stride-2 4x4 ``Conv2D`` (``filters``, ``2*filters``, ...; at most 3) with
    LeakyReLU(0.2), then ``Flatten -> Dropout -> Dense(1)`` (a logit: no sigmoid, the losses
    take logits). No BatchNorm, so real and fake batches never share statistics.

    Conditional (``num_classes`` given): the label goes through an ``Embedding(num_classes,
    H*W)``, is reshaped to one ``(H, W, 1)`` plane and concatenated as an extra channel.

    Args:
        image_shape: ``(H, W, C)``.
        filters: filters of the first convolution.
        num_classes: ``None`` or the number of classes.
        dropout: dropout rate before the last layer, in [0, 1).
        name: model name.

    Input shape:
        images ``(N, H, W, C)`` in [-1, 1]; conditional: ``[images, labels (N, 1) int]``.

    Output shape:
        ``(N, 1)`` logits.

    Returns:
        A functional ``keras.Model``.

    Raises:
        ValueError: as ``build_generator``; ``dropout`` outside [0, 1).
    """
    filters = _check_positive_int("filters", filters)
    height, width, channels = _check_image_shape(image_shape)
    num_classes = _check_num_classes(num_classes)
    dropout = validation.check_number(dropout, "dropout", 0, 1, high_open=True)
    n = min(_num_upsamplings(height, width), 3)

    image = keras.Input((height, width, channels), name="image")
    inputs = image
    x = image
    if num_classes is not None:
        label = keras.Input((1,), dtype="int32", name="label")
        e = keras.layers.Embedding(num_classes, height * width, name="label_embedding")(label)
        e = keras.layers.Reshape((height, width, 1))(e)
        x = keras.layers.Concatenate()([image, e])
        inputs = [image, label]
    for i in range(n):
        x = keras.layers.Conv2D(filters * 2 ** i, 4, strides=2, padding="same")(x)
        x = keras.layers.LeakyReLU(negative_slope=0.2)(x)
    x = keras.layers.Flatten()(x)
    if dropout:
        x = keras.layers.Dropout(float(dropout))(x)
    out = keras.layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, out, name=name)


# --------------------------------------------------------------------------- models


class _GAN(keras.Model):
    """Shared training loop of DCGAN and ConditionalGAN (``conditional`` is the switch)."""

    conditional = False

    def __init__(self, generator, discriminator, latent_dim, generator_loss="non_saturating",
                 label_smoothing=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(value, keras.Model):
                raise TypeError(
                    f"{arg} must be a keras.Model. Received: {arg} of type {type(value).__name__}"
                )
        self.latent_dim = _check_positive_int("latent_dim", latent_dim)
        self.generator_loss_mode = _check_mode(generator_loss)
        self.label_smoothing = _check_smoothing(label_smoothing)
        validation.check_integer(seed, "seed", allow_none=True)
        n_in = len(generator.inputs)
        want = 2 if self.conditional else 1
        if n_in != want or len(discriminator.inputs) != want:
            kind = "[z, labels] / [images, labels]" if self.conditional else "z / images"
            raise ValueError(
                f"{type(self).__name__} needs a generator and a discriminator with {want} "
                f"input(s) ({kind}). Received: generator with {n_in} input(s), "
                f"discriminator with {len(discriminator.inputs)} input(s)"
            )
        g_latent = generator.inputs[0].shape[-1]
        if g_latent != self.latent_dim:
            raise ValueError(
                f"latent_dim must equal the generator's z size. "
                f"Received: latent_dim={latent_dim}, generator z shape {generator.inputs[0].shape}"
            )
        self.generator = generator
        self.discriminator = discriminator
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Args: ``d_optimizer``, ``g_optimizer``: one ``keras.optimizers.Optimizer`` each."""
        for arg, value in (("d_optimizer", d_optimizer), ("g_optimizer", g_optimizer)):
            if not isinstance(value, keras.optimizers.Optimizer):
                raise TypeError(
                    f"{arg} must be a keras.optimizers.Optimizer instance. "
                    f"Received: {arg} of type {type(value).__name__}"
                )
        if d_optimizer is g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer must be two different optimizer instances "
                "(each keeps its own moments). Received: the same object twice"
            )
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self):
        """``d_loss``, ``g_loss`` and D's mean probability on real (``d_real``) and fake."""
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    def _unpack(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if self.conditional:
            if y is None:
                raise ValueError(
                    "ConditionalGAN needs (images, labels) batches. Received: images only"
                )
            y = tf.reshape(tf.cast(y, "int32"), (-1, 1))
        return tf.convert_to_tensor(x), y

    def _g_inputs(self, z, labels):
        return [z, labels] if self.conditional else z

    def _d_inputs(self, images, labels):
        return [images, labels] if self.conditional else images

    def call(self, inputs, training=False):
        """Generates images: ``inputs`` is ``z`` (DCGAN) or ``[z, labels]`` (conditional)."""
        return self.generator(inputs, training=training)

    def train_step(self, data):
        """One discriminator step, then one generator step, on fresh ``z`` each.

        Returns:
            ``{"d_loss", "g_loss", "d_real", "d_fake"}`` running means for the epoch.
        """
        images, labels = self._unpack(data)
        batch = tf.shape(images)[0]

        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(self._g_inputs(z, labels), training=True)
        d_vars = self.discriminator.trainable_weights
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(self._d_inputs(images, labels), training=True)
            fake_logits = self.discriminator(self._d_inputs(fake, labels), training=True)
            d_loss = discriminator_loss(real_logits, fake_logits, self.label_smoothing)
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))

        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        g_vars = self.generator.trainable_weights
        with tf.GradientTape() as tape:
            fake = self.generator(self._g_inputs(z, labels), training=True)
            g_logits = self.discriminator(self._d_inputs(fake, labels), training=True)
            g_loss = generator_loss(g_logits, self.generator_loss_mode)
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        """Losses on a batch without updating: ``d_loss`` and ``g_loss`` on fresh ``z``."""
        images, labels = self._unpack(data)
        batch = tf.shape(images)[0]
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(self._g_inputs(z, labels), training=False)
        real_logits = self.discriminator(self._d_inputs(images, labels), training=False)
        fake_logits = self.discriminator(self._d_inputs(fake, labels), training=False)
        self.d_loss_tracker.update_state(
            discriminator_loss(real_logits, fake_logits, self.label_smoothing))
        self.g_loss_tracker.update_state(generator_loss(fake_logits, self.generator_loss_mode))
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        return {m.name: m.result() for m in self.metrics}


def _embedding_classes(model):
    """``input_dim`` of the model's ``label_embedding`` layer, or None if it has none."""
    try:
        return int(model.get_layer("label_embedding").input_dim)
    except ValueError:
        return None


class DCGAN(_GAN):
    """Deep convolutional GAN (Radford et al. 2016) with its own ``train_step``.

    Args:
        generator: ``keras.Model`` ``z (N, latent_dim) -> images`` (``build_generator``).
        discriminator: ``keras.Model`` ``images -> logits (N, 1)`` (``build_discriminator``).
        latent_dim: size of ``z ~ N(0, 1)``; must match the generator's input.
        generator_loss: ``"non_saturating"`` (default) or ``"minimax"``.
        label_smoothing: one-sided smoothing of the real targets, in [0, 1).
        seed: integer seed of the ``z`` samples (``None``: unseeded).

    Input shape (``fit``):
        batches of images ``(N, H, W, C)`` in [-1, 1] (labels, if given, are ignored).

    Example:
        >>> gan = DCGAN(build_generator(32, (28, 28, 1), 16), build_discriminator((28, 28, 1), 16),
        ...             latent_dim=32, seed=0)
        >>> gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5),
        ...             keras.optimizers.Adam(2e-4, beta_1=0.5))
        >>> # gan.fit(scale_images(x_train), batch_size=64, epochs=1)
        >>> gan.generate(16).shape
        (16, 28, 28, 1)
    """

    conditional = False

    def generate(self, num_images, seed=None):
        """Images from ``num_images`` fresh ``z`` (seeded by ``seed``).

        Returns:
            NumPy float32 ``(num_images, H, W, C)`` in [-1, 1].
        """
        num_images = _check_positive_int("num_images", num_images)
        z = keras.random.normal((num_images, self.latent_dim), seed=seed)
        return keras.ops.convert_to_numpy(self.generator(z, training=False))


class ConditionalGAN(_GAN):
    """Conditional GAN (Mirza & Osindero 2014): G and D both see the class label.

    Same arguments as ``DCGAN``; generator and discriminator take ``[z, labels]`` and
    ``[images, labels]`` (``build_generator`` / ``build_discriminator`` with
    ``num_classes``). ``fit`` takes ``(images, labels)`` batches; fakes are generated for
    the batch's own labels.

    Example:
        >>> g = build_generator(32, (28, 28, 1), 16, num_classes=10)
        >>> d = build_discriminator((28, 28, 1), 16, num_classes=10)
        >>> cgan = ConditionalGAN(g, d, latent_dim=32, seed=0)
        >>> cgan.generate([0, 1, 2]).shape
        (3, 28, 28, 1)
    """

    conditional = True

    def generate(self, labels, seed=None):
        """One image per label in ``labels`` (ints in [0, num_classes)).

        Returns:
            NumPy float32 ``(len(labels), H, W, C)`` in [-1, 1].
        """
        arr = np.asarray(labels)
        if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                "labels must be a non-empty 1-D sequence of integers. "
                f"Received: labels with shape {arr.shape} and dtype {arr.dtype}"
            )
        num_classes = _embedding_classes(self.generator)
        if num_classes is not None and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(
                f"labels must be in [0, {num_classes}). "
                f"Received: labels from {arr.min()} to {arr.max()}"
            )
        z = keras.random.normal((arr.size, self.latent_dim), seed=seed)
        lab = tf.constant(arr.reshape(-1, 1), dtype="int32")
        return keras.ops.convert_to_numpy(self.generator([z, lab], training=False))
