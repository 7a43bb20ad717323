"""Models from LeNet-5 to ConvNeXt, with their published sizes, and ``summary_table``.

Every builder is ``name(num_classes=..., input_shape=..., **options)`` and returns a
``keras.Model`` whose output is logits by default (``classifier_activation=None``; pass
``"softmax"`` for probabilities). Width/depth options give small CPU-trainable variants,
e.g. ``resnet18(10, (32, 32, 3), width=0.25, stem="cifar")``.
"""

from cnnlib.models.alexnet import alexnet
from cnnlib.models.convnext import CONVNEXT_CONFIGS, convnext, convnext_base, convnext_small, convnext_tiny
from cnnlib.models.googlenet import GOOGLENET_INCEPTIONS, googlenet
from cnnlib.models.lenet import lenet5
from cnnlib.models.nin import nin
from cnnlib.models.resnet import RESNET_CONFIGS, resnet, resnet18, resnet34, resnet50, resnet101, resnet152
from cnnlib.models.summary import Row, SummaryTable, count_flops, count_weights, layer_flops, summary_table
from cnnlib.models.vgg import VGG_CONFIGS, vgg, vgg11, vgg16, vgg19

__all__ = [
    "lenet5", "alexnet", "vgg", "vgg11", "vgg16", "vgg19", "nin", "googlenet",
    "resnet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "convnext", "convnext_tiny", "convnext_small", "convnext_base",
    "summary_table", "SummaryTable", "Row", "count_flops", "count_weights", "layer_flops",
    "VGG_CONFIGS", "RESNET_CONFIGS", "CONVNEXT_CONFIGS", "GOOGLENET_INCEPTIONS",
]
