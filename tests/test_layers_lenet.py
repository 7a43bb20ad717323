"""LeNet-5 from cnnlib layers trains on real MNIST digits like the same net from keras.layers."""

import keras
import numpy as np
import pytest

from cnnlib import data
from cnnlib import layers as L


def lenet5(lib):
    """LeNet-5 (tanh, average pooling) on 32x32x1 inputs; 61,706 parameters."""
    avg = L.AvgPool2D if lib is L else keras.layers.AveragePooling2D
    return keras.Sequential([
        keras.Input((32, 32, 1)),
        lib.Conv2D(6, 5, activation="tanh"),
        avg(2),
        lib.Conv2D(16, 5, activation="tanh"),
        avg(2),
        lib.Conv2D(120, 5, activation="tanh"),
        keras.layers.Flatten(),
        keras.layers.Dense(84, activation="tanh"),
        keras.layers.Dense(10),
    ])


@pytest.fixture(scope="module")
def digits():
    (x_train, y_train), (x_test, y_test) = data.load_mnist()

    def prep(x):
        return np.pad(x.astype("float32") / 255.0, ((0, 0), (2, 2), (2, 2)))[..., None]

    return (prep(x_train[:6000]), y_train[:6000].astype("int32"),
            prep(x_test[:2000]), y_test[:2000].astype("int32"))


def train(lib, digits, initial_weights):
    x_train, y_train, x_test, y_test = digits
    model = lenet5(lib)
    model.set_weights(initial_weights)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    keras.utils.set_random_seed(0)
    model.fit(x_train, y_train, batch_size=64, epochs=2, verbose=0)
    return model.evaluate(x_test, y_test, verbose=0)[1], model


@pytest.mark.slow
def test_lenet5_from_cnnlib_trains_like_keras(digits):
    keras.utils.set_random_seed(42)
    reference_net = lenet5(keras.layers)
    assert reference_net.count_params() == 61706, (
        f"expected LeNet-5's 61,706 parameters, got {reference_net.count_params()}")
    start = reference_net.get_weights()
    acc_keras, _ = train(keras.layers, digits, start)
    acc_ours, ours = train(L, digits, start)
    assert ours.count_params() == 61706
    print(f"LeNet-5 test accuracy: keras {acc_keras:.4f}, cnnlib {acc_ours:.4f}")
    assert acc_ours > 0.9, f"expected test accuracy > 0.9 on real digits, got {acc_ours:.4f}"
    assert abs(acc_ours - acc_keras) <= 0.01, (
        f"expected cnnlib's accuracy within 1 point of keras' {acc_keras:.4f}, got {acc_ours:.4f}")
