"""ResNet-18/34/50/101/152 (He et al., 2015), as keras.applications' ResNet (v1)."""

import functools

import keras

from cnnlib import validation
from cnnlib.blocks import ResidualBlock
from cnnlib.models._common import (
    check_input_shape,
    check_layers,
    check_num_classes,
    check_width,
    head,
    layer_module,
    named_builder,
    scaled,
)

#: depth: (blocks per stage, bottleneck), table 1 of the paper.
RESNET_CONFIGS = {18: ((2, 2, 2, 2), False), 34: ((3, 4, 6, 3), False),
                  50: ((3, 4, 6, 3), True), 101: ((3, 4, 23, 3), True),
                  152: ((3, 8, 36, 3), True)}

_STEMS = ("imagenet", "cifar")


def resnet(depths=(2, 2, 2, 2), bottleneck=False, num_classes=1000,
           input_shape=(224, 224, 3), width=1.0, use_bias=True, stem="imagenet",
           stride_in_3x3=False, classifier_activation=None, name="resnet", groups=1,
           layers="keras"):
    """ResNet: stem, four stages of :class:`~cnnlib.blocks.ResidualBlock` s with 64, 128,
    256, 512 filters (times ``width``), global average pooling, dense.

    Parameter counts. ``keras.Model.count_params()`` counts the BatchNorm moving mean and
    variance too; the papers and torchvision count trainable parameters only. With the
    default ``use_bias=True`` the model is ``keras.applications.ResNet50`` layer for layer
    (convolutions with biases, stride on the first 1x1 conv of a bottleneck): ResNet-50 has
    25,636,712 parameters (25,583,592 trainable), the count keras.applications prints. We
    match that one because it can be checked tensor by tensor against a reference Keras
    implementation. ``use_bias=False`` drops the biases, redundant before BatchNorm as in
    the paper: 25,557,032 trainable parameters, the count torchvision publishes.
    FLOPs (multiply-adds at 224x224): 1.8/3.6/3.9/7.6/11.3 G for 18/34/50/101/152.

    Args:
        depths: residual blocks per stage (four positive ints).
        bottleneck: bottleneck (1x1-3x3-1x1, x4 channels) or basic (3x3-3x3) blocks.
        num_classes: output units. input_shape: (H, W, C).
        width: multiplier of the channels (base 64).
        use_bias: biases in the convolutions (see above).
        stem: "imagenet" (7x7/2 conv + 3x3/2 max pool) or "cifar" (one 3x3 conv, no
            pooling: for 32x32 images).
        stride_in_3x3: ResNet "v1.5" (stride on the bottleneck's 3x3).
        classifier_activation: None for logits (default) or "softmax".
        groups: groups of every block's 3x3 convolution (ResNeXt: ``bottleneck=True``,
            ``groups=32``); the stage's filters must be divisible by it.
        layers: "keras" or "cnnlib": every convolution and pooling with the lecture's
            hand-written gradients (BatchNorm, ReLU and the dense head stay Keras').

    Returns:
        ``keras.Model`` ``(batch, *input_shape) -> (batch, num_classes)``.
    """
    num_classes = check_num_classes(num_classes)
    input_shape = check_input_shape(input_shape, 1, name)
    width = check_width(width)
    try:
        depths = validation.check_int_sequence(depths, "depths")
    except ValueError:
        raise ValueError(f"depths must be a non-empty sequence of positive integers. "
                         f"Received: depths={depths!r}") from None
    stem = validation.check_one_of(stem, _STEMS, "stem")
    groups = validation.check_integer(groups, "groups", minimum=1)
    layers = check_layers(layers)
    lib = layer_module(layers)
    base = scaled(64, width)
    inputs = keras.Input(input_shape, name="image")
    if stem == "imagenet":
        x = keras.layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
        x = lib.Conv2D(base, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    else:
        x = lib.Conv2D(base, 3, padding="same", use_bias=use_bias, name="conv1_conv")(inputs)
    x = keras.layers.BatchNormalization(epsilon=1.001e-5, name="conv1_bn")(x)
    x = keras.layers.ReLU(name="conv1_relu")(x)
    if stem == "imagenet":
        x = keras.layers.ZeroPadding2D(1, name="pool1_pad")(x)
        x = lib.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, blocks in enumerate(depths):
        filters = base * 2 ** stage
        for i in range(blocks):
            strides = 2 if stage > 0 and i == 0 else 1
            x = ResidualBlock(filters, strides=strides, bottleneck=bottleneck,
                              use_bias=use_bias, stride_in_3x3=stride_in_3x3,
                              groups=groups, layers=layers,
                              name=f"conv{stage + 2}_block{i + 1}")(x)
    x = lib.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = head(x, num_classes, classifier_activation)
    return keras.Model(inputs, outputs, name=name)


#: depth: (count_params with use_bias=True, trainable with use_bias=False, GFLOPs)
_COUNTS = {18: (11_703_912, 11_689_512, 1.8), 34: (21_823_208, 21_797_672, 3.6),
           50: (25_636_712, 25_557_032, 3.8), 101: (44_707_176, 44_549_160, 7.6),
           152: (60_419_944, 60_192_808, 11.3)}


def _make(depth):
    depths, bottleneck = RESNET_CONFIGS[depth]
    with_bias, bias_free, gflops = _COUNTS[depth]

    return named_builder(
        f"resnet{depth}", functools.partial(resnet, depths, bottleneck),
        f"ResNet-{depth}: :func:`resnet` with depths {depths}, "
        f"{'bottleneck' if bottleneck else 'basic'} blocks; {with_bias:,} parameters at "
        f"224x224x3 with 1000 classes (use_bias=False: {bias_free:,} trainable), {gflops} "
        "GFLOPs. Keyword arguments as :func:`resnet` (width, use_bias, stem, ...); see there "
        "why the default matches keras.applications.")


resnet18 = _make(18)
resnet34 = _make(34)
resnet50 = _make(50)
resnet101 = _make(101)
resnet152 = _make(152)
