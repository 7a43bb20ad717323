"""Private base of MaxPool2D and AvgPool2D (one base with a mode switch, as Keras)."""

import keras
import tensorflow as tf

from cnnlib.layers import _ops, _utils


class BasePooling(keras.layers.Layer):
    """2-D pooling with a hand-written backward; ``mode`` is ``"max"`` or ``"average"``.

    Stateless, so built at creation (as Keras' pooling layers): ``count_params()`` is 0
    before any call. ``data_format="channels_first"`` transposes to NHWC around the op.
    """

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
        self._build_at_init()          # stateless: built at creation unless build is overridden

    def _check_shape(self, input_shape):
        """Checks a shape given in the layer's layout; returns it as NHWC."""
        received = _utils.check_rank4(input_shape, self.__class__.__name__, self.data_format)
        nhwc = _utils.to_nhwc(received, self.data_format)
        pads = _utils.resolve(self.padding, nhwc, self.pool_size, self.strides, (1, 1))
        _utils.check_fits(nhwc, self.pool_size, (1, 1), pads, self.__class__.__name__,
                          "pool_size", received)
        return nhwc

    def call(self, inputs):
        x = tf.convert_to_tensor(inputs)
        _utils.check_call_input(x, self.__class__.__name__, self.data_format)
        nhwc = self._check_shape(x.shape)
        pads = _utils.resolve(self.padding, nhwc, self.pool_size, self.strides, (1, 1))
        op = _ops.max_pool2d if self._mode == "max" else _ops.avg_pool2d
        if self.data_format == "channels_first":
            x = tf.transpose(x, [0, 2, 3, 1])
        out = op(x, self.pool_size, self.strides, pads)
        if self.data_format == "channels_first":
            out = tf.transpose(out, [0, 3, 1, 2])
        return out

    def compute_output_shape(self, input_shape):
        nhwc = self._check_shape(input_shape)
        h, w = _utils.output_hw(nhwc, self.pool_size, self.strides, (1, 1), self.padding)
        return _utils.from_nhwc((nhwc[0], h, w, nhwc[3]), self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "strides": self.strides,
                       "padding": self.padding, "data_format": self.data_format})
        return config
