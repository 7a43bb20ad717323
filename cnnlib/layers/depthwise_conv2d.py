"""cnnlib.layers.DepthwiseConv2D: per-channel convolution with a hand-written gradient."""

import keras

from cnnlib.layers import _ops
from cnnlib.layers._base_conv import BaseConv


@keras.saving.register_keras_serializable(package="cnnlib")
class DepthwiseConv2D(BaseConv):
    """Depthwise 2-D convolution, like ``keras.layers.DepthwiseConv2D`` (used by ConvNeXt).

    Each input channel ``c`` is cross-correlated with its own ``depth_multiplier`` filters
    ``kernel[:, :, c, m]``, giving output channel ``c * depth_multiplier + m``. Gradients are
    hand-written: ``dL/dX`` is the channel-wise ``FullConv(rot180(F), dL/dO)`` (polyphase for
    stride), ``dL/dF`` one multiply-and-sum of ``X`` and ``dL/dO`` per kernel tap.

    Args:
        kernel_size: int or ``(KH, KW)``.
        strides, padding, data_format, dilation_rate, activation, use_bias,
            activity_regularizer: as :class:`cnnlib.layers.Conv2D` (channels_first too).
        depth_multiplier: filters per input channel ``M`` (default 1).
        depthwise_initializer, depthwise_regularizer, depthwise_constraint: for the kernel.
        bias_initializer, bias_regularizer, bias_constraint: for the bias ``(C*M,)``.

    Input shape:
        ``(batch, H, W, C)``.

    Output shape:
        ``(batch, H_out, W_out, C * depth_multiplier)``.

    Example:
        >>> import numpy as np
        >>> DepthwiseConv2D(7, padding="same")(np.zeros((1, 28, 28, 8), "float32")).shape
        TensorShape([1, 28, 28, 8])
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(depth_multiplier, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=depthwise_constraint, bias_constraint=bias_constraint,
                         **kwargs)

    _filters_name = "depth_multiplier"

    @property
    def depth_multiplier(self):
        return self.filters

    def _kernel_shape(self, in_channels):
        return (*self.kernel_size, in_channels, self.filters)

    def _output_channels(self, in_channels):
        return in_channels * self.filters

    def _convolve(self, x, kernel, bias, pads):
        return _ops.depthwise_conv2d(x, kernel, bias, self.strides, pads, self.dilation_rate)

    def get_config(self):
        config = super().get_config()
        config.update({
            "depth_multiplier": self.filters,
            "depthwise_initializer": keras.initializers.serialize(self.kernel_initializer),
            "depthwise_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "depthwise_constraint": keras.constraints.serialize(self.kernel_constraint),
        })
        return config
