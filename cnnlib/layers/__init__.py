"""Keras 3 layers whose gradients are written by hand (``tf.custom_gradient``).

The backward passes follow the lecture (``dL/dF = Conv(X, dL/dO)``, ``dL/dX =
FullConv(rot180(F), dL/dO)``, pooling routes the gradient to the max) using only
TensorFlow forward ops; see :mod:`cnnlib.layers._ops`. Every layer is registered for
``.keras`` saving under the package name ``"cnnlib"``.

They are drop-in replacements for ``keras.layers``' 2-D classes: grouped convolution,
``data_format="channels_first"``, LoRA (``lora_rank`` / ``enable_lora``), stateless layers
built at creation, Keras' argument errors; Keras' own 2-D layer tests pass on them
(``tests/test_keras_peer.py``). Sizes and paddings come from :mod:`cnnlib.geometry`, never
from the NumPy reference answers (:mod:`cnnlib.reference`).
"""

from cnnlib.layers.average_pooling2d import AveragePooling2D, AvgPool2D
from cnnlib.layers.conv2d import Conv2D
from cnnlib.layers.depthwise_conv2d import DepthwiseConv2D
from cnnlib.layers.global_average_pooling2d import GlobalAveragePooling2D
from cnnlib.layers.max_pooling2d import MaxPool2D, MaxPooling2D

__all__ = [
    "Conv2D", "DepthwiseConv2D", "MaxPool2D", "AvgPool2D", "GlobalAveragePooling2D",
    "MaxPooling2D", "AveragePooling2D",
]
