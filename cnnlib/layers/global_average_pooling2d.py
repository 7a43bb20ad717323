"""cnnlib.layers.GlobalAveragePooling2D: mean over H and W (NiN), hand-written gradient."""

import keras
import tensorflow as tf

from cnnlib import validation
from cnnlib.layers import _ops, _utils


@keras.saving.register_keras_serializable(package="cnnlib")
class GlobalAveragePooling2D(keras.layers.Layer):
    """Global average pooling, a drop-in for ``keras.layers.GlobalAveragePooling2D``.

    Backward: ``dL/dX[n, i, j, c] = dL/dO[n, c] / (H * W)``. Stateless, so built at
    creation (as Keras).

    Args:
        data_format: ``"channels_last"``, ``"channels_first"`` or None (Keras' default).
        keepdims: keep the spatial axes as size 1.

    Input shape:
        ``(batch, H, W, C)`` (``(batch, C, H, W)`` channels_first).

    Output shape:
        ``(batch, C)``, or ``(batch, 1, 1, C)`` (``(batch, C, 1, 1)``) with ``keepdims``.

    Example:
        >>> import numpy as np
        >>> GlobalAveragePooling2D()(np.ones((2, 7, 7, 5), "float32")).shape
        TensorShape([2, 5])
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _utils.standardize_data_format(data_format)
        self.keepdims = validation.check_bool(keepdims, "keepdims")
        self._build_at_init()          # stateless: built at creation unless build is overridden

    def call(self, inputs):
        x = tf.convert_to_tensor(inputs)
        _utils.check_call_input(x, "GlobalAveragePooling2D", self.data_format)
        if self.data_format == "channels_first":
            x = tf.transpose(x, [0, 2, 3, 1])
        out = _ops.global_average_pool2d(x, self.keepdims)
        if self.data_format == "channels_first" and self.keepdims:
            out = tf.transpose(out, [0, 3, 1, 2])
        return out

    def compute_output_shape(self, input_shape):
        input_shape = _utils.check_rank4(input_shape, "GlobalAveragePooling2D", self.data_format)
        n, _, _, c = _utils.to_nhwc(input_shape, self.data_format)
        if self.keepdims:
            return _utils.from_nhwc((n, 1, 1, c), self.data_format)
        return (n, c)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config
