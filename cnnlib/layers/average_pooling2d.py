"""cnnlib.layers.AvgPool2D: average pooling with a hand-written gradient."""

import keras

from cnnlib.layers._base_pooling import BasePooling


@keras.saving.register_keras_serializable(package="cnnlib")
class AvgPool2D(BasePooling):
    """Average pooling, like ``keras.layers.AveragePooling2D``.

    With ``"same"`` padding the padded pixels are not counted (as TensorFlow). Backward:
    each window's ``dL/dO / count`` is copied to every real pixel of the window. Arguments,
    input and output shapes: as :class:`MaxPool2D`.

    Example:
        >>> import numpy as np
        >>> AvgPool2D(2)(np.ones((1, 4, 4, 3), "float32")).shape
        TensorShape([1, 2, 2, 3])
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__("average", pool_size, strides, padding, data_format, **kwargs)


AveragePooling2D = AvgPool2D
