"""Network in Network (Lin et al., 2013): NiN blocks and global average pooling, no dense."""

import keras

from cnnlib import validation
from cnnlib.blocks import NiNBlock
from cnnlib.models._common import (
    check_input_shape,
    check_layers,
    check_num_classes,
    check_width,
    layer_module,
    min_input_size,
    scaled,
)


def nin(num_classes=10, input_shape=(224, 224, 3), width=1.0, first_kernel_size=11,
        first_strides=4, dropout=0.5, classifier_activation=None, layers="keras"):
    """NiN as d2l: NiN(96, 11/4) -> pool 3/2 -> NiN(256, 5) -> pool -> NiN(384, 3) -> pool
    -> dropout -> NiN(num_classes, 3) -> global average pooling.

    The last NiN block outputs one channel per class and global average pooling turns each
    into a score: no fully connected layer, so far fewer parameters than AlexNet.

    Args:
        num_classes: classes (channels of the last block).
        input_shape: (H, W, C); at least 67x67 with the default first block.
        width: multiplier of the hidden channels.
        first_kernel_size, first_strides: first block's convolution (3 and 1 for 28x28
            Fashion-MNIST).
        dropout: rate before the last block.
        classifier_activation: None for logits (default) or "softmax".
        layers: "keras", or "cnnlib" for convolutions, poolings and the global average
            pooling with the lecture's hand-written gradients.

    Returns:
        ``keras.Model`` from ``(batch, *input_shape)`` images to ``(batch, num_classes)``.
    """
    num_classes = check_num_classes(num_classes)
    width = check_width(width)
    first_kernel_size = validation.check_integer(first_kernel_size, "first_kernel_size",
                                                 minimum=1)
    first_strides = validation.check_integer(first_strides, "first_strides", minimum=1)
    dropout = validation.check_number(dropout, "dropout", 0, 1, high_open=True)
    layers = check_layers(layers)
    lib = layer_module(layers)
    ops = [(first_kernel_size, first_strides, "valid"), (3, 2, "valid"), (3, 2, "valid"),
           (3, 2, "valid")]
    input_shape = check_input_shape(input_shape, min_input_size(ops), "nin")
    inputs = keras.Input(input_shape, name="image")
    x = NiNBlock(scaled(96, width), first_kernel_size, strides=first_strides,
                 name="nin1", layers=layers)(inputs)
    x = lib.MaxPooling2D(3, 2, name="pool1")(x)
    x = NiNBlock(scaled(256, width), 5, padding="same", name="nin2", layers=layers)(x)
    x = lib.MaxPooling2D(3, 2, name="pool2")(x)
    x = NiNBlock(scaled(384, width), 3, padding="same", name="nin3", layers=layers)(x)
    x = lib.MaxPooling2D(3, 2, name="pool3")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    x = NiNBlock(num_classes, 3, padding="same", name="nin4", layers=layers)(x)
    x = lib.GlobalAveragePooling2D(name="global_avg_pool")(x)
    if classifier_activation is not None:
        x = keras.layers.Activation(classifier_activation, name="predictions")(x)
    return keras.Model(inputs, x, name="nin")
