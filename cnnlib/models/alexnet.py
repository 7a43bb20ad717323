"""AlexNet (Krizhevsky et al., 2012), single-GPU, as the lecture's parameter/FLOP table."""

import keras

from cnnlib import validation
from cnnlib.models._common import (
    check_input_shape,
    check_layers,
    check_num_classes,
    check_width,
    dense_classifier,
    layer_module,
    min_input_size,
    scaled,
)

_OPS = [(11, 4, "valid"), (3, 2, "valid"), (5, 1, "same"), (3, 2, "valid"),
        (3, 1, "same"), (3, 1, "same"), (3, 1, "same"), (3, 2, "valid")]


def alexnet(num_classes=1000, input_shape=(224, 224, 3), width=1.0, fc_units=4096,
            dropout=0.5, classifier_activation=None, layers="keras"):
    """AlexNet without the two-GPU split, as the lecture's (d2l) table.

    conv 11x11/4 (96) -> max pool 3/2 -> conv 5x5 (256) -> max pool 3/2 -> conv 3x3 (384)
    -> conv 3x3 (384) -> conv 3x3 (256) -> max pool 3/2 -> dense 4096 -> dropout -> dense
    4096 -> dropout -> dense ``num_classes``. At 224x224x3 the layers have the table's
    35K / 614K / 3M / 26M / 16M parameters and 101M / 415M / 445M / 26M / 16M FLOPs
    (multiply-adds); with the 1000-way output 50,844,008 parameters in all.

    Args:
        num_classes: output units. input_shape: (H, W, C), at least 67x67.
        width: multiplier of the conv channels (0.25 for a small CPU variant).
        fc_units: units of the two hidden dense layers. dropout: their dropout rate.
        classifier_activation: None for logits (default) or "softmax".
        layers: "keras" or "cnnlib" (convolutions and poolings with hand-written
            gradients).

    Returns:
        ``keras.Model`` ``(batch, *input_shape) -> (batch, num_classes)``.

    Raises:
        ValueError: bad argument (named in the message with what was received).
    """
    num_classes = check_num_classes(num_classes)
    input_shape = check_input_shape(input_shape, min_input_size(_OPS), "alexnet")
    width = check_width(width)
    fc_units = validation.check_integer(fc_units, "fc_units", minimum=1)
    dropout = validation.check_number(dropout, "dropout", 0, 1, high_open=True)
    lib = layer_module(check_layers(layers))
    conv = lib.Conv2D
    inputs = keras.Input(input_shape, name="image")
    x = conv(scaled(96, width), 11, strides=4, activation="relu", name="conv1")(inputs)
    x = lib.MaxPooling2D(3, 2, name="pool1")(x)
    x = conv(scaled(256, width), 5, padding="same", activation="relu", name="conv2")(x)
    x = lib.MaxPooling2D(3, 2, name="pool2")(x)
    x = conv(scaled(384, width), 3, padding="same", activation="relu", name="conv3")(x)
    x = conv(scaled(384, width), 3, padding="same", activation="relu", name="conv4")(x)
    x = conv(scaled(256, width), 3, padding="same", activation="relu", name="conv5")(x)
    x = lib.MaxPooling2D(3, 2, name="pool3")(x)
    outputs = dense_classifier(x, fc_units, dropout, num_classes, classifier_activation,
                               ("dense1", "dense2"))
    return keras.Model(inputs, outputs, name="alexnet")
