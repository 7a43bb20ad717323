"""Private base of MaxPool2D and AvgPool2D (one base with a mode switch, as Keras)."""

import keras
import tensorflow as tf

from cnnlib.layers import _ops, _utils


class BasePooling(keras.layers.Layer):
    """2-D pooling with a hand-written backward; ``mode`` is ``"max"`` or ``"average"``."""

    def __init__(self, mode, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self._mode = mode
        self.pool_size = _utils.standardize_pair(pool_size, "pool_size")
        self.strides = (self.pool_size if strides is None
                        else _utils.standardize_pair(strides, "strides"))
        if not isinstance(padding, str):
            raise ValueError(f'padding must be "valid" or "same". Received: padding={padding!r}')
        self.padding = _utils.standardize_padding(padding)
        self.data_format = _utils.standardize_data_format(data_format)

    def _check_shape(self, input_shape):
        input_shape = _utils.check_rank4(input_shape, self.__class__.__name__)
        pads = _utils.resolve(self.padding, input_shape, self.pool_size, self.strides, (1, 1))
        _utils.check_fits(input_shape, self.pool_size, (1, 1), pads, self.__class__.__name__,
                          "pool_size")
        return input_shape

    def build(self, input_shape):
        self._check_shape(input_shape)

    def call(self, inputs):
        x = tf.convert_to_tensor(inputs)
        _utils.check_call_input(x, self.__class__.__name__)
        self._check_shape(x.shape)
        pads = _utils.resolve(self.padding, x.shape, self.pool_size, self.strides, (1, 1))
        op = _ops.max_pool2d if self._mode == "max" else _ops.avg_pool2d
        return op(x, self.pool_size, self.strides, pads)

    def compute_output_shape(self, input_shape):
        input_shape = self._check_shape(input_shape)
        h, w = _utils.output_hw(input_shape, self.pool_size, self.strides, (1, 1), self.padding)
        return (input_shape[0], h, w, input_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "strides": self.strides,
                       "padding": self.padding, "data_format": self.data_format})
        return config
