"""cnnlib.layers.Conv2D: a 2-D convolution layer with the lecture's hand-written gradient."""

import keras

from cnnlib.layers import _ops
from cnnlib.layers._base_conv import BaseConv


@keras.saving.register_keras_serializable(package="cnnlib")
class Conv2D(BaseConv):
    """2-D convolution (cross-correlation), a drop-in for ``keras.layers.Conv2D``.

    The forward pass is ``tf.nn.conv2d``; the backward pass is written by hand from the
    lecture: ``dL/dF = Conv(X, dL/dO)``, ``dL/dX = FullConv(rot180(F), dL/dO)`` (stride by
    polyphase decomposition, equivalent to zero insertion), ``dL/db = sum(dL/dO)``; with
    ``groups`` the same formulas per group. Keras' own 2-D layer tests pass on it
    (``tests/test_keras_peer.py``).

    Args:
        filters: number of output channels ``C_out``.
        kernel_size: int or ``(KH, KW)``.
        strides: int or ``(SH, SW)``, positive (default 1).
        padding: ``"valid"``, ``"same"`` (TensorFlow's rule), an int, ``(ph, pw)`` or
            ``((top, bottom), (left, right))``.
        data_format: ``"channels_last"`` (NHWC), ``"channels_first"`` (NCHW) or None
            (Keras' ``image_data_format()``).
        dilation_rate: int or ``(DH, DW)``; cannot exceed 1 together with ``strides``.
        groups: split the input channels into ``groups`` groups, each convolved with
            ``filters / groups`` filters (ResNeXt); ``groups == C_in`` is a depthwise
            convolution. Input channels and ``filters`` must be divisible by it.
        activation: a Keras activation (name or callable), None for linear.
        use_bias: whether to add a bias ``(C_out,)``.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: as in Keras.
        lora_rank, lora_alpha: enable LoRA at build time (see :meth:`enable_lora`): the
            kernel is frozen and ``lora_alpha / lora_rank * A @ B`` is learned instead.

    Input shape:
        ``(batch, H, W, C_in)`` (``(batch, C_in, H, W)`` channels_first), float; H and W
        static when called.

    Output shape:
        ``(batch, H_out, W_out, filters)`` (or channels first),
        ``H_out = (H + pt + pb - DH(KH-1) - 1) // SH + 1``
        (``ceil(H / SH)`` for ``"same"``).

    Raises:
        ValueError / TypeError: non-positive sizes, stride with dilation, groups that do
        not divide ``filters`` or the input channels, wrong rank, channel mismatch, kernel
        larger than the valid-padded input, non-float inputs (Keras' messages).

    Example:
        >>> import numpy as np
        >>> layer = Conv2D(6, 5, activation="tanh")
        >>> layer(np.zeros((2, 32, 32, 1), "float32")).shape
        TensorShape([2, 28, 28, 6])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, groups=groups,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         lora_rank=lora_rank, lora_alpha=lora_alpha, **kwargs)

    def _check_in_channels(self, in_channels, input_shape):
        if in_channels % self.groups != 0:
            raise ValueError(
                "The number of input channels must be evenly divisible by the number of "
                f"groups. Received groups={self.groups}, but the input has {in_channels} "
                f"channels (full input shape is {tuple(input_shape)}).")

    def _kernel_shape(self, in_channels):
        return (*self.kernel_size, in_channels // self.groups, self.filters)

    def _output_channels(self, in_channels):
        return self.filters

    def _convolve(self, x, kernel, bias, pads):
        return _ops.conv2d(x, kernel, bias, self.strides, pads, self.dilation_rate)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "groups": self.groups,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
        })
        return config
