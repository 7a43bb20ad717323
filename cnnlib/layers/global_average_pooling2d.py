"""cnnlib.layers.GlobalAveragePooling2D: mean over H and W (NiN), hand-written gradient."""

import keras
import tensorflow as tf

from cnnlib.layers import _ops, _utils


@keras.saving.register_keras_serializable(package="cnnlib")
class GlobalAveragePooling2D(keras.layers.Layer):
    """Global average pooling, like ``keras.layers.GlobalAveragePooling2D``, channels_last.

    Backward: ``dL/dX[n, i, j, c] = dL/dO[n, c] / (H * W)``.

    Args:
        data_format: None or ``"channels_last"``.
        keepdims: keep the spatial axes as size 1.

    Input shape:
        ``(batch, H, W, C)``.

    Output shape:
        ``(batch, C)``, or ``(batch, 1, 1, C)`` with ``keepdims=True``.

    Example:
        >>> import numpy as np
        >>> GlobalAveragePooling2D()(np.ones((2, 7, 7, 5), "float32")).shape
        TensorShape([2, 5])
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _utils.standardize_data_format(data_format)
        self.keepdims = bool(keepdims)

    def build(self, input_shape):
        _utils.check_rank4(input_shape, "GlobalAveragePooling2D")

    def call(self, inputs):
        x = tf.convert_to_tensor(inputs)
        _utils.check_call_input(x, "GlobalAveragePooling2D")
        return _ops.global_average_pool2d(x, self.keepdims)

    def compute_output_shape(self, input_shape):
        input_shape = _utils.check_rank4(input_shape, "GlobalAveragePooling2D")
        if self.keepdims:
            return (input_shape[0], 1, 1, input_shape[3])
        return (input_shape[0], input_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config
