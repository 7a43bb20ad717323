"""Private base of Conv2D and DepthwiseConv2D (one base with a mode switch, as Keras)."""

import keras
import tensorflow as tf

from cnnlib.layers import _ops, _utils


class BaseConv(keras.layers.Layer):
    """2-D convolution whose gradient is hand-written (see :mod:`cnnlib.layers._ops`).

    ``depthwise=False``: kernel ``(KH, KW, C_in, filters)``; ``depthwise=True``: kernel
    ``(KH, KW, C_in, depth_multiplier)`` and ``C_in * depth_multiplier`` output channels.
    """

    def __init__(self, depthwise, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self._depthwise = depthwise
        name = "depth_multiplier" if depthwise else "filters"
        if not isinstance(filters, int) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"{name} must be a positive integer. Received: {name}={filters!r}")
        self.filters = filters
        self.kernel_size = _utils.standardize_pair(kernel_size, "kernel_size")
        self.strides = _utils.standardize_pair(strides, "strides")
        self.dilation_rate = _utils.standardize_pair(dilation_rate, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "strides > 1 is not supported together with dilation_rate > 1 (as in Keras). "
                f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.padding = _utils.standardize_padding(padding)
        self.data_format = _utils.standardize_data_format(data_format)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)

    def _check_shape(self, input_shape):
        input_shape = _utils.check_rank4(input_shape, self.__class__.__name__)
        if input_shape[-1] is None:
            raise ValueError(f"{self.__class__.__name__} needs a known number of input channels. "
                             f"Received: inputs.shape={input_shape}")
        if self.built and input_shape[-1] != self._in_channels:
            raise ValueError(
                f"{self.__class__.__name__} was built for {self._in_channels} input channels "
                f"(kernel shape {tuple(self.kernel.shape)}) but got {input_shape[-1]}. "
                f"Received: inputs.shape={input_shape}")
        pads = _utils.resolve(self.padding, input_shape, self.kernel_size, self.strides,
                              self.dilation_rate)
        _utils.check_fits(input_shape, self.kernel_size, self.dilation_rate, pads,
                          self.__class__.__name__, "kernel_size")
        return input_shape

    def build(self, input_shape):
        input_shape = self._check_shape(input_shape)
        self._in_channels = input_shape[-1]
        out_channels = self._in_channels * self.filters if self._depthwise else self.filters
        self.kernel = self.add_weight(
            name="kernel", shape=(*self.kernel_size, self._in_channels, self.filters),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, trainable=True)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(out_channels,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                trainable=True)

    def call(self, inputs):
        x = tf.convert_to_tensor(inputs)
        _utils.check_call_input(x, self.__class__.__name__)
        self._check_shape(x.shape)
        pads = _utils.resolve(self.padding, x.shape, self.kernel_size, self.strides,
                              self.dilation_rate)
        kernel = tf.cast(tf.convert_to_tensor(self.kernel), x.dtype)
        bias = tf.cast(tf.convert_to_tensor(self.bias), x.dtype) if self.use_bias else None
        op = _ops.depthwise_conv2d if self._depthwise else _ops.conv2d
        out = op(x, kernel, bias, self.strides, pads, self.dilation_rate)
        return self.activation(out) if self.activation is not None else out

    def compute_output_shape(self, input_shape):
        input_shape = self._check_shape(input_shape)
        h, w = _utils.output_hw(input_shape, self.kernel_size, self.strides,
                                self.dilation_rate, self.padding)
        channels = input_shape[-1] * self.filters if self._depthwise else self.filters
        return (input_shape[0], h, w, channels)

    def get_config(self):
        config = super().get_config()
        config.update({
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": _utils.padding_to_config(self.padding),
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
        })
        return config
