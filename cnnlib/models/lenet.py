"""LeNet-5 (LeCun et al., 1998) as in the lecture's table: 61,706 parameters."""

import keras

from cnnlib import validation
from cnnlib.models._common import check_input_shape, check_layers, check_num_classes, layer_module, min_input_size


def lenet5(num_classes=10, input_shape=(32, 32, 1), activation="relu", pooling="max",
           conv1_padding="valid", layers="keras", classifier_activation=None):
    """LeNet-5 as the lecture's table: conv5x5(6) -> pool -> conv5x5(16) -> pool ->
    dense 120 -> dense 84 -> dense ``num_classes``.

    With 32x32x1 inputs and 10 classes it has 61,706 parameters, of which 61,470 are
    weights (the number the lecture's table prints as "Parameters"; the 236 biases are
    the difference, see the course errata). For 28x28 MNIST images pass
    ``conv1_padding="same"``: the first convolution then keeps 28x28 and the count stays.

    Args:
        num_classes: output units. input_shape: (H, W, C), at least 16x16 ("valid");
            32x32 gives the lecture's shapes and count.
        activation: activation after each hidden layer ("relu" as the lecture; "tanh" for
            the 1998 paper). pooling: "max" (lecture) or "avg" (1998 paper).
        conv1_padding: "valid" (32x32 inputs) or "same" (28x28 inputs).
        layers: "keras" (keras.layers, fast) or "cnnlib" (the course's own Conv2D and
            pooling with hand-written gradients).
        classifier_activation: None for logits (default), "softmax" for probabilities.

    Returns:
        ``keras.Model`` mapping ``(batch, *input_shape)`` to ``(batch, num_classes)``.

    Raises:
        ValueError: bad argument (the message names it and what was received).

    Example:
        >>> lenet5().count_params()
        61706
    """
    num_classes = check_num_classes(num_classes)
    lib = layer_module(check_layers(layers))
    pooling = validation.check_one_of(pooling, ("max", "avg"), "pooling")
    conv1_padding = validation.check_one_of(conv1_padding, ("valid", "same"), "conv1_padding")
    ops = [(5, 1, conv1_padding), (2, 2, "valid"), (5, 1, "valid"), (2, 2, "valid")]
    check_input_shape(input_shape, min_input_size(ops), "lenet5")
    Conv = lib.Conv2D
    Pool = lib.MaxPooling2D if pooling == "max" else lib.AveragePooling2D
    act = keras.activations.get(activation)

    inputs = keras.Input(input_shape, name="image")
    x = Conv(6, 5, padding=conv1_padding, name="conv1")(inputs)
    x = keras.layers.Activation(act, name="act1")(x)
    x = Pool(2, 2, name="pool1")(x)
    x = Conv(16, 5, name="conv2")(x)
    x = keras.layers.Activation(act, name="act2")(x)
    x = Pool(2, 2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(120, activation=act, name="linear1")(x)
    x = keras.layers.Dense(84, activation=act, name="linear2")(x)
    outputs = keras.layers.Dense(num_classes, activation=classifier_activation,
                                 name="linear3")(x)
    return keras.Model(inputs, outputs, name="lenet5")
