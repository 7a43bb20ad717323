"""Argument checks (rules from :mod:`cnnlib.validation`) and helpers of the model builders."""

import keras

from cnnlib import validation
from cnnlib.blocks import LAYER_SOURCES, layer_module  # noqa: F401  (re-exported)


def check_num_classes(num_classes):
    """A positive integer (``np.int64`` too, e.g. ``y.max() + 1``) -> int."""
    return validation.check_integer(num_classes, "num_classes", minimum=1)


def check_layers(layers):
    """``"keras"`` or ``"cnnlib"``: where the convolutions and poolings come from."""
    return validation.check_one_of(layers, LAYER_SOURCES, "layers")


def check_input_shape(input_shape, min_size=1, model="model"):
    """input_shape must be (height, width, channels), positive ints, each side >= min_size."""
    ok = (isinstance(input_shape, (tuple, list)) and len(input_shape) == 3
          and all(validation.is_integer(d) and d > 0 for d in input_shape))
    if not ok:
        raise ValueError("input_shape must be (height, width, channels) with positive "
                         f"integers. Received: input_shape={input_shape!r}")
    input_shape = tuple(int(d) for d in input_shape)
    if min(input_shape[:2]) < min_size:
        raise ValueError(f"{model} needs images of at least {min_size}x{min_size} pixels "
                         f"(its convolutions and poolings shrink them). "
                         f"Received: input_shape={tuple(input_shape)}")
    return input_shape


def check_width(width):
    """A positive number (a channel multiplier) -> float."""
    return validation.check_number(width, "width", minimum=0, low_open=True)


def scaled(channels, width):
    """Channels times the width multiplier, at least 1."""
    return max(1, int(round(channels * width)))


def head(x, num_classes, classifier_activation, name="predictions"):
    return keras.layers.Dense(num_classes, activation=classifier_activation, name=name)(x)


def dense_classifier(x, fc_units, dropout, num_classes, classifier_activation, names):
    """AlexNet's / VGG's classifier: Flatten, two (Dense ReLU, Dropout), then :func:`head`.

    ``names``: the two hidden Dense layers' names (their weights are saved by name).
    """
    x = keras.layers.Flatten(name="flatten")(x)
    for i, dense_name in enumerate(names, start=1):
        x = keras.layers.Dense(fc_units, activation="relu", name=dense_name)(x)
        x = keras.layers.Dropout(dropout, name=f"dropout{i}")(x)
    return head(x, num_classes, classifier_activation)


def named_builder(name, build, doc):
    """``builder(num_classes=1000, input_shape=(224, 224, 3), **kwargs)`` =
    ``build(num_classes, input_shape, name=name, **kwargs)``, named ``name``, documented ``doc``."""

    def builder(num_classes=1000, input_shape=(224, 224, 3), **kwargs):
        return build(num_classes, input_shape, name=name, **kwargs)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = doc
    return builder


def min_input_size(ops):
    """Smallest square side that survives ``ops``: (kernel, stride, padding) tuples."""
    size = 1
    for kernel, stride, padding in reversed(ops):
        # out = floor((in - k) / s) + 1 ('valid') or ceil(in / s) ('same') must be >= size
        size = (size - 1) * stride + (kernel if padding == "valid" else 1)
    return size
