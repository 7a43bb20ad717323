"""cnnlib.metrics / viz / transfer / efficientnet_lite check their arguments through
cnnlib.validation: NumPy integers are accepted, bools are rejected (issue 15)."""

import numpy as np
import pytest

from cnnlib import efficientnet_lite, metrics, transfer, validation, viz

Y_TRUE = np.array([0, 1, 2, 1, 0])
Y_PRED = np.array([0, 2, 2, 1, 0])


def test_metrics_accept_numpy_integers():
    cm = metrics.confusion_matrix(Y_TRUE, Y_PRED, num_classes=np.int64(4))
    assert cm.shape == (4, 4), f"esperado (4, 4) com num_classes=np.int64(4), veio {cm.shape}"
    binary = metrics.precision([0, 1, 1, 0], [0, 1, 0, 0], pos_label=np.int32(1))
    assert binary == pytest.approx(1.0), f"precisão binária: esperado 1.0, veio {binary}"
    dice = metrics.soft_dice(np.ones((2, 3)), np.ones((2, 3)), smooth=np.float32(1))
    assert float(np.mean(dice)) == pytest.approx(1.0), f"Dice de máscaras iguais: esperado 1, veio {dice}"


@pytest.mark.parametrize("call, name", [
    (lambda: metrics.confusion_matrix(Y_TRUE, Y_PRED, num_classes=True), "num_classes"),
    (lambda: metrics.precision([0, 1], [0, 1], pos_label=True), "pos_label"),
    (lambda: metrics.soft_dice(np.ones(3), np.ones(3), smooth=True), "smooth"),
    (lambda: viz.plot_kernels(np.zeros((3, 3, 2, 4)), channel=np.bool_(True)), "channel"),
    (lambda: viz.plot_kernels(np.zeros((3, 3, 1, 4)), ncols=True), "ncols"),
    (lambda: viz.plot_feature_maps(np.zeros((4, 4, 3)), max_maps=False), "max_maps"),
    (lambda: transfer.center_crop_resize(np.zeros((8, 8, 3)), size=True), "size"),
    (lambda: efficientnet_lite.efficientnet_lite0(classes=True), "classes"),
])
def test_bools_are_rejected_with_a_type_error_naming_the_argument(call, name):
    with pytest.raises(validation.ArgumentTypeError, match=rf"^{name} must be .*type (bool|bool_)\)$"):
        call()


def test_range_errors_keep_naming_the_rule():
    with pytest.raises(ValueError, match=r"^channel must be an integer in \[0, 2\)\. Received: channel=2$"):
        viz.plot_kernels(np.zeros((3, 3, 2, 4)), channel=2)
    with pytest.raises(ValueError, match=r"^average must be one of .*Received: average='weighted'$"):
        metrics.precision([0, 1], [0, 1], average="weighted")
    backbone = _tiny_backbone()
    with pytest.raises(ValueError, match=r"^dropout must be a number in \[0, 1\)\. Received: dropout=1$"):
        transfer.build_classifier(backbone, 10, dropout=1)
    with pytest.raises(validation.ArgumentTypeError, match=r"^num_classes must be an integer >= 2"):
        transfer.build_classifier(backbone, True)
    model = transfer.build_classifier(backbone, np.int64(3), dropout=np.float32(0.1))
    assert model.output_shape == (None, 3), f"esperado (None, 3), veio {model.output_shape}"
    plots = viz.plot_kernels(np.zeros((3, 3, 2, 4)), channel=np.int64(1), ncols=np.int64(2))
    assert plots is not None, "plot_kernels com channel/ncols np.int64 deveria desenhar"


def _tiny_backbone():
    import keras

    inputs = keras.Input((8, 8, 3))
    return keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs))
