"""ConvNeXt (Liu et al., 2022): Tiny, Small, Base, as torchvision and keras.applications."""

import functools

import keras

from cnnlib import validation
from cnnlib.blocks import ConvNeXtBlock
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

#: name: (blocks per stage, channels per stage)
CONVNEXT_CONFIGS = {
    "tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "small": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
}


def convnext(depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), num_classes=1000,
             input_shape=(224, 224, 3), width=1.0, drop_path_rate=0.0,
             layer_scale_init_value=1e-6, patch_size=4, seed=None,
             classifier_activation=None, name="convnext", layers="keras"):
    """ConvNeXt: patchify stem (conv 4x4/4 + LayerNorm), four stages of
    :class:`~cnnlib.blocks.ConvNeXtBlock` s separated by LayerNorm + conv 2x2/2
    downsampling, global average pooling, LayerNorm, dense.

    Args:
        depths: blocks per stage. dims: channels per stage (same length as depths).
        num_classes: output units. input_shape: (H, W, C).
        width: multiplier of ``dims`` (small CPU variants).
        drop_path_rate: stochastic depth rate of the last block, rising linearly from 0.
        layer_scale_init_value: initial layer scale (1e-6), None to disable.
        patch_size: stem's kernel and stride (4; 1 or 2 for 32x32 images).
        seed: seed of the stochastic depth.
        classifier_activation: None for logits (default) or "softmax".
        layers: "keras" or "cnnlib": every convolution (stem, downsampling, the blocks'
            depthwise 7x7) and the global pooling with hand-written gradients.

    Returns:
        ``keras.Model`` ``(batch, *input_shape) -> (batch, num_classes)``.
    """
    num_classes = check_num_classes(num_classes)
    width = check_width(width)
    layers = check_layers(layers)
    lib = layer_module(layers)
    depths = validation.check_int_sequence(depths, "depths")
    dims = validation.check_int_sequence(dims, "dims")
    if len(depths) != len(dims):
        raise ValueError("depths and dims must be sequences of positive integers of the "
                         f"same length. Received: depths={depths!r}, dims={dims!r}")
    patch_size = validation.check_integer(patch_size, "patch_size", minimum=1)
    input_shape = check_input_shape(input_shape, patch_size * 2 ** (len(depths) - 1), name)
    drop_path_rate = validation.check_number(drop_path_rate, "drop_path_rate", 0, 1,
                                             high_open=True)
    dims = [scaled(d, width) for d in dims]
    total = sum(depths)
    rates = [drop_path_rate * i / max(total - 1, 1) for i in range(total)]

    inputs = keras.Input(input_shape, name="image")
    x = lib.Conv2D(dims[0], patch_size, strides=patch_size, name="stem_conv")(inputs)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="stem_norm")(x)
    k = 0
    for stage, (depth, dim) in enumerate(zip(depths, dims)):
        if stage > 0:
            x = keras.layers.LayerNormalization(epsilon=1e-6,
                                                name=f"downsample{stage}_norm")(x)
            x = lib.Conv2D(dim, 2, strides=2, name=f"downsample{stage}_conv")(x)
        for i in range(depth):
            block_seed = None if seed is None else seed + k
            x = ConvNeXtBlock(rates[k], layer_scale_init_value, seed=block_seed,
                              name=f"stage{stage + 1}_block{i + 1}", layers=layers)(x)
            k += 1
    x = lib.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="head_norm")(x)
    outputs = head(x, num_classes, classifier_activation)
    return keras.Model(inputs, outputs, name=name)


def _make(size, count):
    depths, dims = CONVNEXT_CONFIGS[size]

    return named_builder(
        f"convnext_{size}", functools.partial(convnext, depths, dims),
        f"ConvNeXt-{size.capitalize()}: depths {depths}, dims {dims}; {count:,} parameters at "
        "224x224x3 with 1000 classes (as torchvision and keras.applications). Keyword "
        "arguments as :func:`convnext`.")


convnext_tiny = _make("tiny", 28_589_128)
convnext_small = _make("small", 50_223_688)
convnext_base = _make("base", 88_591_464)
