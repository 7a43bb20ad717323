"""GoogLeNet (Szegedy et al., 2014): Inception v1 blocks, table 1 of the paper."""

import keras

from cnnlib import validation
from cnnlib.blocks import InceptionBlock
from cnnlib.models._common import (
    check_input_shape,
    check_layers,
    check_num_classes,
    check_width,
    head,
    layer_module,
    scaled,
)

#: name: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj), table 1 of the paper.
GOOGLENET_INCEPTIONS = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def googlenet(num_classes=1000, input_shape=(224, 224, 3), width=1.0, variant="v1",
              batch_norm=False, dropout=0.4, classifier_activation=None, layers="keras"):
    """GoogLeNet without the auxiliary classifiers (and without LRN).

    conv 7x7/2 (64) -> max pool 3/2 -> conv 1x1 (64) -> conv 3x3 (192) -> max pool 3/2 ->
    inception 3a, 3b -> max pool -> 4a..4e -> max pool -> 5a, 5b -> global average pool ->
    dropout -> dense. Each inception has the paper's channels, so its weights match table
    1 (e.g. 3a: 159K, 5b: 1388K, with K = 1024); at 224x224x3 and 1000 classes the model
    has 6,998,552 parameters.

    Args:
        num_classes: output units. input_shape: (H, W, C).
        width: multiplier of every channel count (0.25 for a small CPU variant).
        variant: Inception variant of the blocks, "v1" or "v2" (factorized 1x3/3x1).
        batch_norm: BatchNormalization after every convolution.
        dropout: rate before the classifier (0.4 as the paper).
        classifier_activation: None for logits (default) or "softmax".
        layers: "keras" or "cnnlib" (convolutions and poolings with hand-written
            gradients, in the Inception blocks too).

    Returns:
        ``keras.Model`` ``(batch, *input_shape) -> (batch, num_classes)``.
    """
    num_classes = check_num_classes(num_classes)
    input_shape = check_input_shape(input_shape, 1, "googlenet")
    width = check_width(width)
    variant = validation.check_one_of(variant, ("v1", "v2"), "variant")
    dropout = validation.check_number(dropout, "dropout", 0, 1, high_open=True)
    layers = check_layers(layers)
    lib = layer_module(layers)

    def conv(x, filters, kernel_size, strides, name):
        x = lib.Conv2D(scaled(filters, width), kernel_size, strides=strides,
                       padding="same", use_bias=not batch_norm, name=name)(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
        return keras.layers.ReLU(name=f"{name}_relu")(x)

    def inception(x, key):
        c1, r3, c3, r5, c5, pp = (scaled(c, width) for c in GOOGLENET_INCEPTIONS[key])
        return InceptionBlock(c1, c3, c5, pp, reduce_3x3=r3, reduce_5x5=r5,
                              variant=variant, batch_norm=batch_norm,
                              name=f"inception_{key}", layers=layers)(x)

    inputs = keras.Input(input_shape, name="image")
    x = conv(inputs, 64, 7, 2, "conv1")
    x = lib.MaxPooling2D(3, 2, padding="same", name="pool1")(x)
    x = conv(x, 64, 1, 1, "conv2_reduce")
    x = conv(x, 192, 3, 1, "conv2")
    x = lib.MaxPooling2D(3, 2, padding="same", name="pool2")(x)
    x = inception(inception(x, "3a"), "3b")
    x = lib.MaxPooling2D(3, 2, padding="same", name="pool3")(x)
    for key in ("4a", "4b", "4c", "4d", "4e"):
        x = inception(x, key)
    x = lib.MaxPooling2D(3, 2, padding="same", name="pool4")(x)
    x = inception(inception(x, "5a"), "5b")
    x = lib.GlobalAveragePooling2D(name="global_avg_pool")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = head(x, num_classes, classifier_activation)
    return keras.Model(inputs, outputs, name="googlenet")
