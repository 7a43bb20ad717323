"""EfficientNet-Lite0 in Keras 3, and the conversion of its PyTorch ImageNet weights.

EfficientNet-Lite (Tan & Le 2019, the TensorFlow "lite" variant) is EfficientNet-B0 made
friendly to integer hardware: ReLU6 instead of swish, no squeeze-and-excitation, and the
stem (32 filters) and head (1280 filters) are not scaled. Lite0 has 4,694,024 parameters
(4,652,008 trainable, the PyTorch model's count, + 42,016 BatchNorm moving statistics).

Layer names follow ``keras.applications.EfficientNetB0`` (``stem_conv``, ``block2a_expand_conv``,
``block2a_dwconv``, ``block2a_project_conv``, ``top_conv``, ``predictions``...), so freezing
by block is a name prefix. Padding is ``"same"``, which is exactly the TensorFlow SAME padding
(``pad_total // 2`` before, the rest after) that the PyTorch port reproduces.

Weight layout: torch conv ``(out, in, kh, kw)`` -> Keras ``(kh, kw, in, out)``; depthwise
``(C, 1, kh, kw)`` -> ``(kh, kw, C, 1)``; linear ``(out, in)`` -> ``(in, out)``.
"""

from __future__ import annotations

import keras

from cnnlib import validation

# (repeats, kernel, stride, expand_ratio, filters_in, filters_out) of the 7 stages,
# from efficientnet/lite/efficientnet_lite_builder.py ('r1_k3_s11_e1_i32_o16', ...).
LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM_FILTERS = 32
TOP_FILTERS = 1280
BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99
NUM_PARAMS = 4_694_024  # keras count_params(), moving statistics included
NUM_TRAINABLE_PARAMS = 4_652_008
NUM_BLOCKS = sum(stage[0] for stage in LITE0_STAGES)  # 16


def _block_specs():
    """Yield (block_name, torch_index, kernel, stride, expand, f_in, f_out) for the 16 blocks."""
    index = 0
    for stage, (repeats, kernel, stride, expand, f_in, f_out) in enumerate(LITE0_STAGES, start=1):
        for r in range(repeats):
            yield (f"block{stage}{chr(ord('a') + r)}", index, kernel,
                   stride if r == 0 else 1, expand, f_in if r == 0 else f_out, f_out)
            index += 1


def block_names() -> list[str]:
    """The 18 block names in forward order: ``stem``, ``block1a`` ... ``block7a``, ``top``."""
    return ["stem"] + [spec[0] for spec in _block_specs()] + ["top"]


def _bn(name):
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)


def efficientnet_lite0(input_shape=(224, 224, 3), include_top=True, classes=1000,
                       dropout_rate=0.2, drop_connect_rate=0.2, name="efficientnet_lite0"):
    """Build EfficientNet-Lite0 (random weights).

    Args:
        input_shape: ``(H, W, 3)``; the ImageNet weights were trained at 224x224, but the
            network is fully convolutional, so any size >= 32 works.
        include_top: end with global average pooling, dropout and the ``classes``-way
            ``predictions`` layer (logits, no softmax); otherwise end at ``top_activation``,
            a ``(H/32, W/32, 1280)`` feature map.
        classes: number of output logits when ``include_top``.
        dropout_rate: dropout before ``predictions``.
        drop_connect_rate: stochastic depth rate, scaled by block index as in the original
            (``rate * i / 16``); only active in training.
        name: model name.

    Input shape:
        ``(batch, H, W, 3)`` float, preprocessed with ``(x - 127) / 128`` (see
        ``cnnlib.transfer.preprocess_input``).

    Output shape:
        ``(batch, classes)`` logits with ``include_top``, else ``(batch, H/32, W/32, 1280)``.

    Returns:
        A ``keras.Model``.
    """
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(f"input_shape must be (H, W, 3). Received: input_shape={input_shape}")
    classes = validation.check_integer(classes, "classes", minimum=1)
    layers = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Conv2D(STEM_FILTERS, 3, strides=2, padding="same", use_bias=False,
                      name="stem_conv")(inputs)
    x = _bn("stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_activation")(x)

    for block, index, kernel, stride, expand, f_in, f_out in _block_specs():
        shortcut = x
        channels = f_in * expand
        if expand != 1:
            x = layers.Conv2D(channels, 1, padding="same", use_bias=False,
                              name=f"{block}_expand_conv")(x)
            x = _bn(f"{block}_expand_bn")(x)
            x = layers.ReLU(6.0, name=f"{block}_expand_activation")(x)
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False,
                                   name=f"{block}_dwconv")(x)
        x = _bn(f"{block}_bn")(x)
        x = layers.ReLU(6.0, name=f"{block}_activation")(x)
        x = layers.Conv2D(f_out, 1, padding="same", use_bias=False,
                          name=f"{block}_project_conv")(x)
        x = _bn(f"{block}_project_bn")(x)
        if stride == 1 and f_in == f_out:
            rate = drop_connect_rate * index / NUM_BLOCKS
            if rate > 0:
                x = layers.Dropout(rate, noise_shape=(None, 1, 1, 1), name=f"{block}_drop")(x)
            x = layers.Add(name=f"{block}_add")([x, shortcut])

    x = layers.Conv2D(TOP_FILTERS, 1, padding="same", use_bias=False, name="top_conv")(x)
    x = _bn("top_bn")(x)
    x = layers.ReLU(6.0, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        x = layers.Dense(classes, name="predictions")(x)
    return keras.Model(inputs, x, name=name)


def _torch_names():
    """Map Keras layer name -> torch state-dict prefix for every weighted layer."""
    names = {"stem_conv": "_conv_stem", "stem_bn": "_bn0",
             "top_conv": "_conv_head", "top_bn": "_bn1", "predictions": "_fc"}
    for block, index, _k, _s, expand, _fi, _fo in _block_specs():
        prefix = f"_blocks.{index}."
        if expand != 1:
            names[f"{block}_expand_conv"] = prefix + "_expand_conv"
            names[f"{block}_expand_bn"] = prefix + "_bn0"
        names[f"{block}_dwconv"] = prefix + "_depthwise_conv"
        names[f"{block}_bn"] = prefix + "_bn1"
        names[f"{block}_project_conv"] = prefix + "_project_conv"
        names[f"{block}_project_bn"] = prefix + "_bn2"
    return names


def load_torch_state_dict(model: keras.Model, state_dict: dict) -> None:
    """Copy a PyTorch EfficientNet-Lite0 ``state_dict`` (NumPy arrays) into ``model``.

    Every tensor of the state dict except ``num_batches_tracked`` must be used exactly once
    and every weight of the model must be set (``predictions`` only when the model has it).

    Raises:
        ValueError: a tensor is missing, unused, or has the wrong shape.
    """
    names = _torch_names()
    used = set()

    def take(key, shape):
        if key not in state_dict:
            raise ValueError(f"state_dict must contain {key!r}. Received keys: {len(state_dict)}")
        value = state_dict[key]
        if tuple(value.shape) != tuple(shape):
            raise ValueError(f"{key} must have shape {tuple(shape)}. Received: {value.shape}")
        used.add(key)
        return value

    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in names:
            raise ValueError(f"model layer {layer.name!r} has no EfficientNet-Lite0 counterpart")
        prefix = names[layer.name]
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape
            layer.set_weights([take(f"{prefix}.weight", n), take(f"{prefix}.bias", n),
                               take(f"{prefix}.running_mean", n), take(f"{prefix}.running_var", n)])
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            kh, kw, c, m = layer.kernel.shape
            w = take(f"{prefix}.weight", (c * m, 1, kh, kw))
            layer.set_weights([w.reshape(c, m, kh, kw).transpose(2, 3, 0, 1)])
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            layer.set_weights([take(f"{prefix}.weight", (cout, cin, kh, kw)).transpose(2, 3, 1, 0)])
        elif isinstance(layer, keras.layers.Dense):
            cin, cout = layer.kernel.shape
            layer.set_weights([take(f"{prefix}.weight", (cout, cin)).T, take(f"{prefix}.bias", (cout,))])
        else:
            raise ValueError(f"do not know how to convert layer {layer.name!r} ({type(layer).__name__})")

    expected = {k for k in state_dict if not k.endswith("num_batches_tracked")}
    if not any(layer.name == "predictions" for layer in model.layers):
        expected -= {"_fc.weight", "_fc.bias"}
    unused = sorted(expected - used)
    if unused:
        raise ValueError(f"every tensor of the state dict must be used. Unused: {unused[:5]} "
                         f"({len(unused)} in all)")
