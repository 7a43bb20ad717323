"""cnnlib.layers.MaxPool2D: max pooling whose gradient is routed to the maximum by hand."""

import keras

from cnnlib.layers._base_pooling import BasePooling


@keras.saving.register_keras_serializable(package="cnnlib")
class MaxPool2D(BasePooling):
    """Max pooling, like ``keras.layers.MaxPooling2D``.

    Backward: each window's ``dL/dO`` goes to the pixel that held the maximum; overlapping
    windows add. **Tie rule**: when several pixels of a window share the maximum, the first
    one in row-major order (top-most, then left-most) gets the whole gradient — the same
    choice as ``tf.nn.max_pool2d``'s gradient on CPU. Padding (``"same"``) never wins.

    Args:
        pool_size: int or ``(PH, PW)`` (default 2).
        strides: int, pair or None (= ``pool_size``).
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"``, ``"channels_first"`` or None (Keras'
            ``image_data_format()``).

    Input shape:
        ``(batch, H, W, C)`` (``(batch, C, H, W)`` channels_first).

    Output shape:
        ``(batch, H_out, W_out, C)`` (or channels first), ``H_out = (H - PH) // SH + 1`` (valid) or
        ``ceil(H / SH)`` (same).

    Example:
        >>> import numpy as np
        >>> MaxPool2D(2)(np.arange(16, dtype="float32").reshape(1, 4, 4, 1))[0, ..., 0].numpy()
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__("max", pool_size, strides, padding, data_format, **kwargs)


MaxPooling2D = MaxPool2D
