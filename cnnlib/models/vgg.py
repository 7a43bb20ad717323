"""VGG (Simonyan & Zisserman, 2014): configurations A (VGG-11), D (VGG-16), E (VGG-19)."""

import keras

from cnnlib import validation
from cnnlib.blocks import VGGBlock
from cnnlib.models._common import (
    check_input_shape,
    check_layers,
    check_num_classes,
    check_width,
    dense_classifier,
    scaled,
)

#: convolutions per block (filters 64, 128, 256, 512, 512), table 1 of the paper.
VGG_CONFIGS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3),
               19: (2, 2, 4, 4, 4)}
_FILTERS = (64, 128, 256, 512, 512)


def vgg(convs_per_block=(2, 2, 3, 3, 3), num_classes=1000, input_shape=(224, 224, 3),
        width=1.0, fc_units=4096, dropout=0.5, batch_norm=False,
        classifier_activation=None, name="vgg", layers="keras"):
    """VGG network: five :class:`~cnnlib.blocks.VGGBlock` s, then three dense layers.

    Args:
        convs_per_block: five positive ints, the 3x3 convolutions in each block
            (``VGG_CONFIGS[16]`` = (2, 2, 3, 3, 3)).
        num_classes: output units. input_shape: (H, W, C), at least 32x32.
        width: channel multiplier of the convolutions (filters 64..512 times width).
        fc_units: units of the two hidden dense layers (4096). dropout: their dropout.
        batch_norm: VGG-BN variant.
        classifier_activation: None for logits (default) or "softmax".
        layers: "keras" or "cnnlib" (convolutions and poolings with hand-written
            gradients).

    Returns:
        ``keras.Model`` ``(batch, *input_shape) -> (batch, num_classes)``.
    """
    num_classes = check_num_classes(num_classes)
    input_shape = check_input_shape(input_shape, 32, name)
    width = check_width(width)
    try:
        convs_per_block = validation.check_int_sequence(convs_per_block, "convs_per_block", 5)
    except ValueError:
        raise ValueError("convs_per_block must be five positive integers. "
                         f"Received: convs_per_block={convs_per_block!r}") from None
    fc_units = validation.check_integer(fc_units, "fc_units", minimum=1)
    dropout = validation.check_number(dropout, "dropout", 0, 1, high_open=True)
    layers = check_layers(layers)
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for i, (n, filters) in enumerate(zip(convs_per_block, _FILTERS), start=1):
        x = VGGBlock(n, scaled(filters, width), batch_norm=batch_norm, name=f"block{i}",
                     layers=layers)(x)
    outputs = dense_classifier(x, fc_units, dropout, num_classes, classifier_activation,
                               ("fc1", "fc2"))
    return keras.Model(inputs, outputs, name=name)


def vgg11(num_classes=1000, input_shape=(224, 224, 3), **kwargs):
    """VGG-11 (configuration A): 132,863,336 parameters at 224x224x3, 1000 classes.

    Keyword arguments as :func:`vgg` (width, fc_units, dropout, batch_norm, ...).
    """
    return vgg(VGG_CONFIGS[11], num_classes, input_shape, name="vgg11", **kwargs)


def vgg16(num_classes=1000, input_shape=(224, 224, 3), **kwargs):
    """VGG-16 (configuration D): 138,357,544 parameters at 224x224x3, 1000 classes,
    as ``keras.applications.VGG16``. Keyword arguments as :func:`vgg`."""
    return vgg(VGG_CONFIGS[16], num_classes, input_shape, name="vgg16", **kwargs)


def vgg19(num_classes=1000, input_shape=(224, 224, 3), **kwargs):
    """VGG-19 (configuration E): 143,667,240 parameters at 224x224x3, 1000 classes,
    as ``keras.applications.VGG19``. Keyword arguments as :func:`vgg`."""
    return vgg(VGG_CONFIGS[19], num_classes, input_shape, name="vgg19", **kwargs)
