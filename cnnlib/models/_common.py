"""Argument checks and small helpers shared by the model builders."""

import keras


def check_num_classes(num_classes):
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer. "
                         f"Received: num_classes={num_classes!r}")
    return num_classes


def check_input_shape(input_shape, min_size=1, model="model"):
    """input_shape must be (height, width, channels), positive ints, each side >= min_size."""
    ok = (isinstance(input_shape, (tuple, list)) and len(input_shape) == 3
          and all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                  for d in input_shape))
    if not ok:
        raise ValueError("input_shape must be (height, width, channels) with positive "
                         f"integers. Received: input_shape={input_shape!r}")
    if min(input_shape[:2]) < min_size:
        raise ValueError(f"{model} needs images of at least {min_size}x{min_size} pixels "
                         f"(its convolutions and poolings shrink them). "
                         f"Received: input_shape={tuple(input_shape)}")
    return tuple(input_shape)


def check_width(width):
    if isinstance(width, bool) or not isinstance(width, (int, float)) or width <= 0:
        raise ValueError(f"width must be a positive number (a channel multiplier). "
                         f"Received: width={width!r}")
    return float(width)


def scaled(channels, width):
    """Channels times the width multiplier, at least 1."""
    return max(1, int(round(channels * width)))


def head(x, num_classes, classifier_activation, name="predictions"):
    return keras.layers.Dense(num_classes, activation=classifier_activation, name=name)(x)


def min_input_size(ops):
    """Smallest square side that survives ``ops``: (kernel, stride, padding) tuples."""
    size = 1
    for kernel, stride, padding in reversed(ops):
        # out = floor((in - k) / s) + 1 ('valid') or ceil(in / s) ('same') must be >= size
        size = (size - 1) * stride + (kernel if padding == "valid" else 1)
    return size
