"""cnnlib.layers.Conv2D: a 2-D convolution layer with the lecture's hand-written gradient."""

import keras

from cnnlib.layers._base_conv import BaseConv


@keras.saving.register_keras_serializable(package="cnnlib")
class Conv2D(BaseConv):
    """2-D convolution (cross-correlation), like ``keras.layers.Conv2D``, channels_last.

    The forward pass is ``tf.nn.conv2d``; the backward pass is written by hand from the
    lecture: ``dL/dF = Conv(X, dL/dO)``, ``dL/dX = FullConv(rot180(F), dL/dO)`` (stride by
    polyphase decomposition, equivalent to zero insertion), ``dL/db = sum(dL/dO)``.

    Args:
        filters: number of output channels ``C_out``.
        kernel_size: int or ``(KH, KW)``.
        strides: int or ``(SH, SW)``, positive (default 1).
        padding: ``"valid"``, ``"same"`` (TensorFlow's rule), an int, ``(ph, pw)`` or
            ``((top, bottom), (left, right))``.
        data_format: None or ``"channels_last"`` (the only layout supported).
        dilation_rate: int or ``(DH, DW)``; cannot exceed 1 together with ``strides``.
        activation: a Keras activation (name or callable), None for linear.
        use_bias: whether to add a bias ``(C_out,)``.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: as in Keras.

    Input shape:
        ``(batch, H, W, C_in)``, float; H and W static when called.

    Output shape:
        ``(batch, H_out, W_out, filters)``, ``H_out = (H + pt + pb - DH(KH-1) - 1) // SH + 1``
        (``ceil(H / SH)`` for ``"same"``).

    Raises:
        ValueError / TypeError: non-positive sizes, stride with dilation, wrong rank,
        channel mismatch, kernel larger than the valid-padded input, non-float inputs.

    Example:
        >>> import numpy as np
        >>> layer = Conv2D(6, 5, activation="tanh")
        >>> layer(np.zeros((2, 32, 32, 1), "float32")).shape
        TensorShape([2, 28, 28, 6])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(False, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
        })
        return config
