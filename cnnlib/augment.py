"""Data augmentation pipelines (train vs evaluation) applied inside ``tf.data``.

The lecture's augmentations (flip, rotation, crop, color jitter, brightness, hue, blur) plus
RandAugment, AugMix and the batch-level MixUp / CutMix, built on one of two backends chosen by
a single switch:

- ``backend="keras_cv"``: keras-cv 0.9.0 layers (the lecture's "here keras-cv"). keras-cv gets
  no more releases;
- ``backend="keras"``: Keras 3 core preprocessing layers (``keras.layers.RandomFlip``, ...),
  the maintained successor, giving the same pipelines.

Every pipeline takes images in ``[0, 255]`` (uint8 or float), augments them there, and ends
with ``x / 255`` followed by ImageNet standardization, as the lecture gives it::

    RGB [0, 255] (250, 214, 38) -> [0, 1] (0.98, 0.84, 0.15) -> standardized (2.16, 1.71, -1.14)
    mean = (0.485, 0.456, 0.406), std = (0.229, 0.224, 0.225)

The evaluation pipeline only resizes and standardizes ("as transformações de validação
englobam apenas a conversão de tipos e normalização dos dados").

Where the layers fail (keras 3.15.1, keras-cv 0.9.0, TensorFlow 2.21; pinned by
``tests/test_augment.py``, listed in ``KNOWN_FAILURES`` and ``KERAS_NO_XLA``):

========  ===================  =======================================  ==============================
backend   layer                fails where                              error
========  ===================  =======================================  ==============================
keras_cv  RandAugment          inside a model, in ``model.fit``         ``OperatorNotAllowedInGraph``
                               (graph mode, no AutoGraph), XLA or not   ``Error`` (in Equalization)
keras_cv  AugMix               same                                     same
keras_cv  RandomRotation       ``model.fit`` with ``jit_compile=True``  ``InvalidArgumentError``
                               (XLA)                                    (ImageProjectiveTransformV3)
keras_cv  RandomCropAndResize  ``model.fit`` with ``jit_compile=True``  ``InvalidArgumentError``
                                                                        (CropAndResize)
keras     RandomRotation,      never fail, but declare                  ``UserWarning`` "Model doesn't
          RandomZoom,          ``supports_jit=False``: a model holding  support `jit_compile=True`"
          RandAugment, AugMix  one silently runs without XLA
========  ===================  =======================================  ==============================

The other layers here (flip, color jitter, brightness, hue, Gaussian blur, MixUp, CutMix) work
everywhere on both backends; inside a model, in ``fit`` and under XLA.
All of them work inside ``tf.data`` (``Dataset.map`` traces with AutoGraph, on the CPU, never
XLA), which is why the pipelines here run there and the model receives augmented batches.

Determinism: a pipeline built with ``seed=s`` gives each layer its own seed derived from ``s``
and, when traced (in ``Dataset.map`` or its own ``tf.function``), sets the graph-level seed
``s`` so keras-cv's stateful ops (``tf.random.gamma`` in MixUp/CutMix, factor samplers) are
reproducible too. Two pipelines with the same seed fed the same data give the same output;
different seeds give different output. Keep ``Dataset.map`` sequential (``make_dataset`` does)
for this to hold: the random state lives in variables.

Epochs: Keras layers keep their random state in variables, so every pass over a dataset (every
epoch) draws anew. keras-cv draws some amounts with stateful TF ops instead (brightness,
contrast and saturation amounts, blur sigma, crop area, MixUp/CutMix pairs and lambda); when
seeded, those restart with each new pass, while flips, rotations, crop positions and hue signs
advance. Train with ``make_dataset(..., shuffle=True)`` (reshuffled each epoch, seeded) and each
image still meets new draws every epoch; the ``keras`` backend has no such restart.

Example:

```python
from cnnlib import augment
train = augment.train_pipeline((96, 96), ops=("crop", "flip", "rotation"), mix="mixup", seed=0)
ds = augment.make_dataset(x_train, y_train, train, batch_size=32, num_classes=10, shuffle=True)
model.fit(ds, epochs=5)
```
"""

import numpy as np

from cnnlib import validation

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BACKENDS = ("keras_cv", "keras")
TRAIN_OPS = (
    "crop", "flip", "rotation", "color_jitter", "brightness", "hue", "blur", "rand_augment", "aug_mix",
)
DEFAULT_TRAIN_OPS = ("crop", "flip", "rotation", "color_jitter")
COLOR_OPS = ("color_jitter", "brightness", "hue", "rand_augment", "aug_mix")
MIX_OPS = ("mixup", "cutmix")

# (backend, layer class) -> where it raises and what; see the module docstring.
KNOWN_FAILURES = {
    ("keras_cv", "RandAugment"): {
        "where": "fit", "jit_compile": False, "error": "OperatorNotAllowedInGraphError", "match": None},
    ("keras_cv", "AugMix"): {
        "where": "fit", "jit_compile": False, "error": "OperatorNotAllowedInGraphError", "match": None},
    ("keras_cv", "RandomRotation"): {
        "where": "fit", "jit_compile": True, "error": "InvalidArgumentError",
        "match": "ImageProjectiveTransformV3"},
    ("keras_cv", "RandomCropAndResize"): {
        "where": "fit", "jit_compile": True, "error": "InvalidArgumentError", "match": "CropAndResize"},
}
# Keras 3 core layers with supports_jit=False: a model holding one runs without XLA (UserWarning).
KERAS_NO_XLA = ("RandomRotation", "RandomZoom", "RandAugment", "AugMix")

_VALUE_RANGE = (0, 255)


# --------------------------------------------------------------------------- validation


def _check_backend(backend):
    validation.check_one_of(backend, BACKENDS, "backend")


def _check_seed(seed):
    validation.check_integer(seed, "seed", minimum=0, allow_none=True)


def _image_size(image_size):
    """``int`` or ``(height, width)`` -> ``(height, width)`` of positive ints."""
    size = (image_size, image_size) if validation.is_integer(image_size) else image_size
    ok = (
        isinstance(size, (tuple, list)) and len(size) == 2
        and all(validation.is_integer(v) and v > 0 for v in size)
    )
    if not ok:
        raise ValueError(
            "image_size must be a positive integer or a (height, width) pair of positive integers. "
            f"Received: image_size={image_size!r}"
        )
    return int(size[0]), int(size[1])


def _layer_seeds(seed, n):
    if seed is None:
        return [None] * n
    return [int(s) % (2**31 - 1) for s in np.random.SeedSequence(seed).generate_state(n)]


# --------------------------------------------------------------------------- standardization


def standardize(images, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """ImageNet standardization ``(x - mean) / std`` per channel, on images in ``[0, 1]``.

    Args:
        images: float ``(..., C)`` in ``[0, 1]``.
        mean, std: ``C`` per-channel values (ImageNet's by default); ``std`` positive.

    Returns:
        float32 tensor of the same shape.

    Raises:
        ValueError: ``mean``/``std`` length differs from the channel count, or a std <= 0.

    Example:
        >>> standardize(np.array([250, 214, 38]) / 255).numpy().round(2)  # the lecture's pixel
        array([ 2.16,  1.71, -1.14], dtype=float32)
    """
    import tensorflow as tf

    given_mean, given_std = mean, std
    mean = np.asarray(mean, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    if mean.ndim != 1 or mean.shape != std.shape:
        raise ValueError(
            f"mean and std must be 1-D of equal length. Received: mean={given_mean}, std={given_std}"
        )
    if np.any(std <= 0):
        raise ValueError(f"std must be positive. Received: std={given_std}")
    x = tf.cast(images, tf.float32)
    channels = x.shape[-1]
    if channels is not None and channels != mean.shape[0]:
        raise ValueError(
            f"images must have {mean.shape[0]} channels (one per mean/std value) on the last axis. "
            f"Received: images.shape={tuple(x.shape)}"
        )
    return (x - mean) / std


def unstandardize(images, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """Inverse of ``standardize``: ``x * std + mean`` (back to ``[0, 1]``, e.g. to plot).

    Args:
        images: float ``(..., C)`` standardized images.
        mean, std: the values ``standardize`` used.

    Returns:
        float32 tensor of the same shape.
    """
    import tensorflow as tf

    return tf.cast(images, tf.float32) * np.asarray(std, np.float32) + np.asarray(mean, np.float32)


# --------------------------------------------------------------------------- layers


def make_layer(op, backend="keras_cv", *, image_size=(224, 224), seed=None):
    """One augmentation layer of the course's pipelines, on images in ``[0, 255]``.

    Args:
        op: ``"resize"``, one of ``TRAIN_OPS`` or of ``MIX_OPS``.
        backend: ``"keras_cv"`` or ``"keras"`` (Keras 3 core layers).
        image_size: output ``(height, width)`` (used by ``resize`` and ``crop``).
        seed: layer seed or ``None``.

    Returns:
        A Keras layer. Image layers take and return ``(B, H, W, C)`` float in ``[0, 255]``;
        MixUp/CutMix take and return ``{"images": (B, H, W, C), "labels": (B, K) one-hot}``.

    Raises:
        ValueError: unknown ``op`` or ``backend``.
    """
    _check_backend(backend)
    _check_seed(seed)
    h, w = _image_size(image_size)
    builders = _KERAS_CV if backend == "keras_cv" else _KERAS
    if op not in builders:
        raise ValueError(
            f"op must be 'resize' or one of {TRAIN_OPS + MIX_OPS}. Received: op={op!r}"
        )
    return builders[op](h, w, seed)


def _kcv():
    import keras_cv

    return keras_cv.layers


def _k():
    import keras

    return keras.layers


def _same_on_both(module):
    """The ops both backends build with the same arguments; ``module()`` gives the layers."""
    return {
        "flip": lambda h, w, s: module().RandomFlip("horizontal", seed=s),
        "rotation": lambda h, w, s: module().RandomRotation(0.05, fill_mode="reflect", seed=s),
        "color_jitter": lambda h, w, s: module().RandomColorJitter(
            _VALUE_RANGE, brightness_factor=0.2, contrast_factor=0.2,
            saturation_factor=(0.3, 0.7), hue_factor=0.1, seed=s),
        "brightness": lambda h, w, s: module().RandomBrightness(0.2, value_range=_VALUE_RANGE,
                                                                seed=s),
        "hue": lambda h, w, s: module().RandomHue(0.1, _VALUE_RANGE, seed=s),
    }


# Same ranges on both backends: crop area ~[0.5, 1] with aspect 3/4..4/3, flip left-right,
# rotation +-18 degrees, color jitter +-20 %, hue +-0.1, Gaussian blur sigma 0.1..1.5 (5x5),
# RandAugment 2 ops at magnitude 0.3, AugMix 3 chains, MixUp alpha 0.2, CutMix alpha 1.
_KERAS_CV = {
    "resize": lambda h, w, s: _kcv().Resizing(h, w),
    "crop": lambda h, w, s: _kcv().RandomCropAndResize(
        (h, w), crop_area_factor=(0.5, 1.0), aspect_ratio_factor=(3 / 4, 4 / 3), seed=s),
    **_same_on_both(_kcv),
    "blur": lambda h, w, s: _kcv().RandomGaussianBlur(5, (0.1, 1.5), seed=s),
    "rand_augment": lambda h, w, s: _kcv().RandAugment(
        _VALUE_RANGE, augmentations_per_image=2, magnitude=0.3, seed=s),
    "aug_mix": lambda h, w, s: _kcv().AugMix(_VALUE_RANGE, severity=0.3, num_chains=3, seed=s),
    "mixup": lambda h, w, s: _kcv().MixUp(alpha=0.2, seed=s),
    "cutmix": lambda h, w, s: _kcv().CutMix(alpha=1.0, seed=s),
}

_KERAS = {
    "resize": lambda h, w, s: _k().Resizing(h, w),
    # Zooming in by up to 30 % per axis = a random crop of ~49-100 % of the area, resized back.
    "crop": lambda h, w, s: _k().RandomZoom((-0.3, 0.0), (-0.3, 0.0), fill_mode="reflect", seed=s),
    **_same_on_both(_k),
    "blur": lambda h, w, s: _k().RandomGaussianBlur(
        factor=1.0, kernel_size=5, sigma=(0.1, 1.5), value_range=_VALUE_RANGE, seed=s),
    "rand_augment": lambda h, w, s: _k().RandAugment(_VALUE_RANGE, num_ops=2, factor=0.3, seed=s),
    "aug_mix": lambda h, w, s: _k().AugMix(_VALUE_RANGE, num_chains=3, factor=0.3, seed=s),
    "mixup": lambda h, w, s: _k().MixUp(alpha=0.2, seed=s),
    "cutmix": lambda h, w, s: _k().CutMix(factor=1.0, seed=s),
}


# --------------------------------------------------------------------------- pipelines


class Pipeline:
    """Resize, augment, standardize: a callable for ``Dataset.map`` on batches.

    Build it with ``train_pipeline`` or ``eval_pipeline``.

    Call:
        ``pipeline(images)`` or ``pipeline(images, labels)``.

    Input shape:
        images ``(B, H, W, C)`` uint8 or float in ``[0, 255]``; labels ``(B, K)`` one-hot
        (required with ``mix``) or any ``(B, ...)`` passed through.

    Output shape:
        float32 ``(B, height, width, C)`` ImageNet-standardized (and the labels, mixed by
        MixUp/CutMix if ``mix`` is set).

    Attributes:
        image_size, backend, ops, mix, seed, training; ``layers`` (the image layers, in order,
        starting with the resize) and ``mix_layer``.
    """

    def __init__(self, image_size, ops, mix, backend, seed, training):
        self.image_size = image_size
        self.ops = tuple(ops)
        self.mix = mix
        self.backend = backend
        self.seed = seed
        self.training = training
        names = ("resize",) + self.ops + ((mix,) if mix else ())
        seeds = _layer_seeds(seed, len(names))
        built = [make_layer(n, backend, image_size=image_size, seed=s) for n, s in zip(names, seeds)]
        self.layers = built[: 1 + len(self.ops)]
        self.mix_layer = built[-1] if mix else None
        self._traced = None

    def __repr__(self):
        return (
            f"Pipeline(image_size={self.image_size}, backend={self.backend!r}, ops={self.ops}, "
            f"mix={self.mix!r}, seed={self.seed}, training={self.training})"
        )

    def _check_images(self, images):
        shape = images.shape
        if shape.rank is not None and shape.rank != 4:
            raise ValueError(
                f"images must be a batch (B, H, W, C). Received: images.shape={tuple(shape)}"
            )
        color = [op for op in self.ops if op in COLOR_OPS]
        if color and shape[-1] is not None and shape[-1] != 3:
            raise ValueError(
                f"ops {color} need RGB images (C=3). Received: images.shape={tuple(shape)}"
            )

    def _augment(self, images, labels):
        """Resize + augment (+ mix) in [0, 255]; sets the graph seed when traced."""
        import tensorflow as tf

        if self.seed is not None and not tf.executing_eagerly():
            tf.random.set_seed(self.seed)  # graph-level seed of this traced function only
        x = tf.cast(images, tf.float32)
        self._check_images(x)
        for layer in self.layers:
            x = layer(x, training=True) if self.training else layer(x)
        if self.mix_layer is not None:
            if labels is None or labels.shape.rank != 2:
                got = None if labels is None else tuple(labels.shape)
                raise ValueError(
                    f"mix={self.mix!r} needs one-hot labels (B, K) (make_dataset(num_classes=...)). "
                    f"Received: labels shape={got}"
                )
            out = self.mix_layer({"images": x, "labels": tf.cast(labels, tf.float32)})
            x, labels = out["images"], out["labels"]
        return x, labels

    def _run(self, images, labels, scale):
        import tensorflow as tf

        images = tf.convert_to_tensor(images)
        labels = None if labels is None else tf.convert_to_tensor(labels)
        if tf.executing_eagerly():
            if self._traced is None:
                self._traced = tf.function(self._apply, reduce_retracing=True)
            return self._traced(images, labels, scale)
        return self._apply(images, labels, scale)

    def _apply(self, images, labels, scale):
        x, labels = self._augment(images, labels)
        x = standardize(x / 255.0) if scale else x
        return x if labels is None else (x, labels)

    def augment(self, images, labels=None):
        """Resize + augment (+ mix) without standardizing: float32 in ``[0, 255]``, to look at."""
        return self._run(images, labels, False)

    def __call__(self, images, labels=None):
        return self._run(images, labels, True)


def train_pipeline(image_size=(224, 224), *, ops=DEFAULT_TRAIN_OPS, mix=None, backend="keras_cv", seed=0):
    """Training pipeline: resize, the chosen random augmentations, optional MixUp/CutMix, standardize.

    Args:
        image_size: output ``(height, width)`` or an int for a square.
        ops: names from ``TRAIN_OPS``, applied in the order given (after the resize).
        mix: ``None``, ``"mixup"`` or ``"cutmix"`` (batch level, needs one-hot labels).
        backend: ``"keras_cv"`` (keras-cv 0.9.0) or ``"keras"`` (Keras 3 core layers).
        seed: non-negative int for reproducible output, or ``None``.

    Returns:
        ``Pipeline``: ``(B, H, W, C)`` in ``[0, 255]`` -> float32 ``(B, height, width, C)``.

    Raises:
        ValueError: unknown backend/op/mix, repeated op or bad ``image_size``.
        TypeError: ``seed`` not a non-negative int or None.

    Example:
        >>> import numpy as np
        >>> p = train_pipeline(64, ops=("flip", "hue"), mix="cutmix", backend="keras", seed=1)
        >>> images = np.zeros((4, 32, 32, 3), "uint8")
        >>> x, y = p(images, np.eye(10, dtype="float32")[[0, 1, 2, 3]])
        >>> x.shape, y.shape
        (TensorShape([4, 64, 64, 3]), TensorShape([4, 10]))
    """
    _check_backend(backend)
    _check_seed(seed)
    size = _image_size(image_size)
    if isinstance(ops, str) or not isinstance(ops, (tuple, list)):
        raise ValueError(f"ops must be a tuple of names from {TRAIN_OPS}. Received: ops={ops!r}")
    unknown = [op for op in ops if op not in TRAIN_OPS]
    if unknown:
        raise ValueError(f"ops must be names from {TRAIN_OPS}; unknown: {unknown}. Received: ops={tuple(ops)}")
    if len(set(ops)) != len(ops):
        raise ValueError(f"ops must not repeat a name. Received: ops={tuple(ops)}")
    if mix is not None and mix not in MIX_OPS:
        raise ValueError(f"mix must be None or one of {MIX_OPS}. Received: mix={mix!r}")
    return Pipeline(size, ops, mix, backend, seed, training=True)


def eval_pipeline(image_size=(224, 224), *, backend="keras_cv"):
    """Evaluation pipeline: resize + standardize only (deterministic, no augmentation).

    Args:
        image_size: output ``(height, width)`` or an int for a square.
        backend: which library's ``Resizing`` (both are bilinear ``tf.image.resize``).

    Returns:
        ``Pipeline``: ``(B, H, W, C)`` in ``[0, 255]`` -> float32 ``(B, height, width, C)``.
    """
    _check_backend(backend)
    return Pipeline(_image_size(image_size), (), None, backend, None, training=False)


# --------------------------------------------------------------------------- datasets


def augment_dataset(dataset, pipeline):
    """Map ``pipeline`` over a batched ``tf.data.Dataset`` of images or ``(images, labels)``.

    The map is sequential (deterministic with a seeded pipeline).

    Args:
        dataset: yields ``(B, H, W, C)`` or ``((B, H, W, C), labels)``.
        pipeline: a ``Pipeline``.

    Returns:
        ``tf.data.Dataset`` of the pipeline's outputs.
    """
    import tensorflow as tf

    if not isinstance(pipeline, Pipeline):
        raise TypeError(
            f"pipeline must be a cnnlib.augment.Pipeline. Received: pipeline={type(pipeline).__name__}"
        )
    spec = dataset.element_spec
    if isinstance(spec, tuple):
        return dataset.map(lambda x, y: pipeline(x, y))
    if isinstance(spec, tf.TensorSpec):
        return dataset.map(lambda x: pipeline(x))
    raise ValueError(
        f"dataset must yield images or (images, labels). Received: element_spec={spec}"
    )


def make_dataset(images, labels, pipeline, *, batch_size=32, num_classes=None, shuffle=False, seed=0,
                 drop_remainder=False):
    """Arrays -> batched ``tf.data.Dataset`` with ``pipeline`` applied per batch.

    Args:
        images: ``(N, H, W, C)`` (or ``(N, H, W)``, given a channel axis) in ``[0, 255]``.
        labels: ``(N,)`` int or ``(N, K)`` one-hot, or ``None`` for images only.
        pipeline: a ``Pipeline`` (``train_pipeline`` / ``eval_pipeline``).
        batch_size: positive int.
        num_classes: if set, integer labels become float32 one-hot ``(N, num_classes)``
            (MixUp/CutMix need it).
        shuffle: shuffle each epoch with ``seed``.
        seed: shuffle seed.
        drop_remainder: drop the last partial batch.

    Returns:
        ``tf.data.Dataset`` of ``(float32 (B, h, w, C), labels)`` or of images.

    Raises:
        ValueError: bad shapes, ``batch_size`` or ``num_classes``.
    """
    import tensorflow as tf

    batch_size = validation.check_integer(batch_size, "batch_size", minimum=1)
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C) or (N, H, W). Received: images.shape={images.shape}")
    if labels is not None:
        labels = np.asarray(labels)
        if len(labels) != len(images):
            raise ValueError(
                "labels must have one entry per image. "
                f"Received: images.shape={images.shape}, labels.shape={labels.shape}"
            )
        if num_classes is not None:
            num_classes = validation.check_integer(num_classes, "num_classes", minimum=2)
            if labels.ndim != 1 or labels.min() < 0 or labels.max() >= num_classes:
                raise ValueError(
                    f"labels must be integers in [0, {num_classes}) to one-hot encode. "
                    f"Received: labels.shape={labels.shape}, range=[{labels.min()}, {labels.max()}]"
                )
            labels = np.eye(num_classes, dtype=np.float32)[labels]
    ds = tf.data.Dataset.from_tensor_slices(images if labels is None else (images, labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return augment_dataset(ds, pipeline).prefetch(tf.data.AUTOTUNE)


# --------------------------------------------------------------------------- plotting


def plot_augmented(images, pipeline, n=6):
    """A grid of augmented samples: one row per source image, ``n`` random versions each.

    Augments here and draws with ``cnnlib.viz.plot_image_grid`` (value range 0..255, so
    brightness changes stay visible). MixUp/CutMix, if the pipeline has them, mix each image
    with the others of the grid.

    Args:
        images: ``(K, H, W, 3)`` in ``[0, 255]`` (K >= 1).
        pipeline: a ``Pipeline``.
        n: versions per image (columns), positive int.

    Returns:
        ``matplotlib.figure.Figure`` with ``K * n`` image axes; axis ``i * n + j`` shows
        version ``j`` of image ``i``.

    Raises:
        ValueError: bad ``images`` shape or ``n``.
        TypeError: ``pipeline`` is not a ``Pipeline``.
    """
    from cnnlib import viz

    n = validation.check_integer(n, "n", minimum=1)
    if not isinstance(pipeline, Pipeline):
        raise TypeError(
            f"pipeline must be a cnnlib.augment.Pipeline. Received: pipeline={type(pipeline).__name__}"
        )
    images = np.asarray(images)
    if images.ndim != 4 or len(images) < 1:
        raise ValueError(f"images must be (K, H, W, C) with K >= 1. Received: images.shape={images.shape}")
    k = len(images)
    batch = np.tile(images, (n, 1, 1, 1))  # index j * k + i -> version j of image i
    if pipeline.mix_layer is not None:
        out, _ = pipeline.augment(batch, np.eye(k, dtype=np.float32)[np.tile(np.arange(k), n)])
    else:
        out = pipeline.augment(batch)
    out = np.clip(np.asarray(out), 0.0, 255.0)
    grid = out.reshape((n, k) + out.shape[1:]).swapaxes(0, 1).reshape(out.shape)  # -> i * n + j
    title = ", ".join(pipeline.ops + ((pipeline.mix,) if pipeline.mix else ())) or "resize"
    return viz.plot_image_grid(grid, ncols=n, value_range=(0, 255), title=f"{pipeline.backend}: {title}")
