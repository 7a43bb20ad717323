"""Building blocks of the classic CNNs (VGG, NiN, Inception, residual, ConvNeXt).

Each block is a serializable Keras layer (``package="cnnlib"``) made of ``keras.layers``
sub-layers, so a model built from blocks saves to ``.keras`` and loads again after
``import cnnlib``. All blocks take channels-last images ``(batch, height, width,
channels)``. Importing this module builds nothing.

Every block takes ``layers="keras"`` (``keras.layers``' convolutions and pooling) or
``layers="cnnlib"`` (:mod:`cnnlib.layers`, whose gradients are the lecture's, written by
hand); both give the same outputs and gradients with the same weights.

Blocks:

- :class:`VGGBlock`: ``num_convs`` 3x3 convolutions + ReLU, then 2x2 max pooling.
- :class:`NiNBlock`: one kxk convolution followed by two 1x1 convolutions ("MLP conv").
- :class:`InceptionBlock`: four parallel branches concatenated on channels, in three
  variants: ``"naive"`` (1x1, 3x3, 5x5, 3x3 max pool), ``"v1"`` (with 1x1 reductions,
  GoogLeNet) and ``"v2"`` (nxn factorized into 1xn then nx1).
- :class:`ResidualBlock`: basic (two 3x3) or bottleneck (1x1, 3x3, 1x1) residual block
  with a 1x1 projection shortcut when the shape changes.
- :class:`ConvNeXtBlock`: 7x7 depthwise conv, LayerNorm, 4x inverted bottleneck with GELU,
  layer scale and stochastic depth.
- :class:`StochasticDepth`: drops the whole residual branch of a sample during training.
"""

import keras

from cnnlib import validation

__all__ = [
    "VGGBlock",
    "NiNBlock",
    "InceptionBlock",
    "ResidualBlock",
    "ConvNeXtBlock",
    "StochasticDepth",
    "LAYER_SOURCES",
    "layer_module",
]

_register = keras.saving.register_keras_serializable(package="cnnlib")


# --------------------------------------------------------------------------- validation
def _positive_int(name, value):
    return validation.check_integer(value, name, minimum=1)


def _optional_positive_int(name, value):
    return validation.check_integer(value, name, minimum=1, allow_none=True)


def _rate(name, value):
    return validation.check_number(value, name, 0, 1, high_open=True)


LAYER_SOURCES = ("keras", "cnnlib")


def layer_module(layers):
    """The module whose ``Conv2D``, ``DepthwiseConv2D``, ``MaxPooling2D``,
    ``AveragePooling2D`` and ``GlobalAveragePooling2D`` a block or model uses.

    Args:
        layers: ``"keras"`` (``keras.layers``) or ``"cnnlib"`` (:mod:`cnnlib.layers`, the
            hand-written gradients).

    Example:
        >>> layer_module("cnnlib").Conv2D.__module__
        'cnnlib.layers.conv2d'
    """
    layers = validation.check_one_of(layers, LAYER_SOURCES, "layers")
    if layers == "cnnlib":
        from cnnlib import layers as module
        return module
    return keras.layers


def _check_image_shape(layer, input_shape):
    if len(input_shape) != 4 or input_shape[-1] is None:
        raise ValueError(
            f"{type(layer).__name__} expects channels-last images (batch, height, width, "
            f"channels) with a known number of channels. Received: input_shape={input_shape}"
        )
    return tuple(input_shape)


def _build_chain(chain, shape):
    """Builds the layers of ``chain`` one after the other; returns the output shape."""
    for layer in chain:
        layer.build(shape)
        shape = layer.compute_output_shape(shape)
    return shape


def _run_chain(chain, x, training=None):
    for layer in chain:
        if isinstance(layer, (keras.layers.BatchNormalization, keras.layers.Dropout)):
            x = layer(x, training=training)
        else:
            x = layer(x)
    return x


def _conv_unit(filters, kernel_size, strides=1, padding="same", batch_norm=False,
               use_bias=True, activation="relu", epsilon=1e-3, layers="keras", groups=1):
    """conv [-> BN] -> activation, as a list of layers."""
    conv2d = layer_module(layers).Conv2D
    extra = {"groups": groups} if groups != 1 else {}
    if not batch_norm:
        return [conv2d(filters, kernel_size, strides=strides, padding=padding,
                       use_bias=use_bias, activation=activation, **extra)]
    chain = [
        conv2d(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias,
               **extra),
        keras.layers.BatchNormalization(epsilon=epsilon),
    ]
    if activation is not None:
        chain.append(keras.layers.Activation(activation))
    return chain


class _ChainBlock(keras.layers.Layer):
    """A block that runs its ``self._chain`` of layers in order."""

    def build(self, input_shape):
        _build_chain(self._chain, _check_image_shape(self, input_shape))

    def call(self, inputs, training=None):
        return _run_chain(self._chain, inputs, training)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._chain:
            shape = layer.compute_output_shape(shape)
        return shape


# --------------------------------------------------------------------------------- VGG
@_register
class VGGBlock(_ChainBlock):
    """VGG block: ``num_convs`` times (3x3 conv, 'same' padding, ReLU), then 2x2 max pool.

    Two stacked 3x3 convolutions see a 5x5 field, three see 7x7, with 27C^2 instead of
    49C^2 weights for C channels (Simonyan & Zisserman, 2014).

    Args:
        num_convs: number of convolutions in the block (positive int).
        filters: output channels of every convolution (positive int).
        kernel_size: kernel size of the convolutions (default 3).
        batch_norm: insert BatchNormalization before each ReLU (VGG-BN variant).
        pool: end with 2x2/2 max pooling (default True).
        layers: ``"keras"`` or ``"cnnlib"`` (see :func:`layer_module`).

    Input shape: ``(batch, H, W, C)``.
    Output shape: ``(batch, H // 2, W // 2, filters)`` (``(batch, H, W, filters)`` if
    ``pool=False``).

    Example:
        >>> block = VGGBlock(2, 64)
        >>> block(keras.ops.zeros((1, 32, 32, 3))).shape
        TensorShape([1, 16, 16, 64])
    """

    def __init__(self, num_convs, filters, kernel_size=3, batch_norm=False, pool=True,
                 layers="keras", **kwargs):
        super().__init__(**kwargs)
        self.num_convs = _positive_int("num_convs", num_convs)
        self.filters = _positive_int("filters", filters)
        self.kernel_size = _positive_int("kernel_size", kernel_size)
        self.batch_norm = bool(batch_norm)
        self.pool = bool(pool)
        self.layer_source = validation.check_one_of(layers, LAYER_SOURCES, "layers")
        chain = []
        for _ in range(self.num_convs):
            chain += _conv_unit(self.filters, self.kernel_size, batch_norm=self.batch_norm,
                                layers=self.layer_source)
        if self.pool:
            chain.append(layer_module(self.layer_source).MaxPooling2D(pool_size=2, strides=2))
        self._chain = chain

    def get_config(self):
        return {**super().get_config(), "num_convs": self.num_convs, "filters": self.filters,
                "kernel_size": self.kernel_size, "batch_norm": self.batch_norm,
                "pool": self.pool, "layers": self.layer_source}


# --------------------------------------------------------------------------------- NiN
@_register
class NiNBlock(_ChainBlock):
    """Network-in-Network block: kxk conv + ReLU, then two 1x1 convs + ReLU.

    The 1x1 convolutions act as a small MLP applied at every pixel, mixing channels
    without touching the spatial structure (Lin, Chen & Yan, 2013).

    Args:
        filters: output channels of all three convolutions (positive int).
        kernel_size: size of the first convolution (positive int).
        strides: stride of the first convolution (default 1).
        padding: ``"valid"`` or ``"same"`` for the first convolution.
        layers: ``"keras"`` or ``"cnnlib"`` (see :func:`layer_module`).

    Input shape: ``(batch, H, W, C)``.
    Output shape: ``(batch, H', W', filters)``, H' from the first convolution.

    Example:
        >>> NiNBlock(96, 11, strides=4)(keras.ops.zeros((1, 224, 224, 3))).shape
        TensorShape([1, 54, 54, 96])
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", layers="keras",
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = _positive_int("filters", filters)
        self.kernel_size = _positive_int("kernel_size", kernel_size)
        self.strides = _positive_int("strides", strides)
        self.padding = validation.check_one_of(padding, ("valid", "same"), "padding")
        self.layer_source = validation.check_one_of(layers, LAYER_SOURCES, "layers")
        conv2d = layer_module(self.layer_source).Conv2D
        self._chain = [
            conv2d(self.filters, self.kernel_size, strides=self.strides, padding=self.padding,
                   activation="relu"),
            conv2d(self.filters, 1, activation="relu"),
            conv2d(self.filters, 1, activation="relu"),
        ]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "layers": self.layer_source}


# --------------------------------------------------------------------------- Inception
_INCEPTION_VARIANTS = ("naive", "v1", "v2")


@_register
class InceptionBlock(keras.layers.Layer):
    """Inception block: four parallel branches concatenated along the channels.

    Variants (``variant=``):

    - ``"naive"``: 1x1 conv | 3x3 conv | 5x5 conv | 3x3 max pool (the pool branch keeps the
      input's C channels). ``reduce_3x3``, ``reduce_5x5`` and ``filters_pool`` must be None.
    - ``"v1"`` (GoogLeNet): 1x1 | 1x1 reduce -> 3x3 | 1x1 reduce -> 5x5 |
      3x3 max pool -> 1x1 projection.
    - ``"v2"`` (factorized, Szegedy et al. 2016, fig. 6): 1x1 | 1x1 reduce -> 1xn -> nx1 |
      1x1 reduce -> 1xn -> nx1 -> 1xn -> nx1 | 3x3 max pool -> 1x1, with
      ``n = factor_size``. Each nxn convolution becomes a 1xn and an nx1 one: 2n instead
      of n^2 weights per channel pair.

    Every convolution is 'same' padded, stride 1, followed by ReLU (and BatchNormalization
    before the ReLU when ``batch_norm=True``).

    Args:
        filters_1x1: channels of the 1x1 branch.
        filters_3x3: channels of the 3x3 (v2: 1xn/nx1) branch.
        filters_5x5: channels of the 5x5 (v2: double 1xn/nx1) branch.
        filters_pool: channels of the 1x1 after the pool branch (None for "naive").
        reduce_3x3, reduce_5x5: channels of the 1x1 reductions (None for "naive").
        variant: "naive", "v1" or "v2".
        factor_size: n of the v2 factorization (default 3).
        batch_norm: BatchNormalization after each convolution.
        layers: ``"keras"`` or ``"cnnlib"`` (see :func:`layer_module`).

    Input shape: ``(batch, H, W, C)``.
    Output shape: ``(batch, H, W, filters_1x1 + filters_3x3 + filters_5x5 + P)`` with
    ``P = filters_pool`` (``C`` for "naive").

    Example:
        >>> block = InceptionBlock(64, 128, 32, 32, reduce_3x3=96, reduce_5x5=16)
        >>> block(keras.ops.zeros((1, 28, 28, 192))).shape  # GoogLeNet's inception (3a)
        TensorShape([1, 28, 28, 256])
    """

    def __init__(self, filters_1x1, filters_3x3, filters_5x5, filters_pool=None,
                 reduce_3x3=None, reduce_5x5=None, variant="v1", factor_size=3,
                 batch_norm=False, layers="keras", **kwargs):
        super().__init__(**kwargs)
        self.variant = validation.check_one_of(variant, _INCEPTION_VARIANTS, "variant")
        self.layer_source = validation.check_one_of(layers, LAYER_SOURCES, "layers")
        max_pooling2d = layer_module(self.layer_source).MaxPooling2D
        self.filters_1x1 = _positive_int("filters_1x1", filters_1x1)
        self.filters_3x3 = _positive_int("filters_3x3", filters_3x3)
        self.filters_5x5 = _positive_int("filters_5x5", filters_5x5)
        self.filters_pool = _optional_positive_int("filters_pool", filters_pool)
        self.reduce_3x3 = _optional_positive_int("reduce_3x3", reduce_3x3)
        self.reduce_5x5 = _optional_positive_int("reduce_5x5", reduce_5x5)
        self.factor_size = _positive_int("factor_size", factor_size)
        self.batch_norm = bool(batch_norm)
        extra = {"filters_pool": filters_pool, "reduce_3x3": reduce_3x3,
                 "reduce_5x5": reduce_5x5}
        if variant == "naive":
            given = {k: v for k, v in extra.items() if v is not None}
            if given:
                raise ValueError("The naive Inception block has no 1x1 reductions or pool "
                                 f"projection; leave them None. Received: {given}")
        else:
            missing = [k for k, v in extra.items() if v is None]
            if missing:
                raise ValueError(f"variant={variant!r} needs {', '.join(missing)} "
                                 f"(positive integers). Received: {extra}")

        def unit(filters, kernel_size):
            return _conv_unit(filters, kernel_size, batch_norm=self.batch_norm,
                              layers=self.layer_source)

        n = self.factor_size
        if variant == "naive":
            branches = [unit(self.filters_1x1, 1), unit(self.filters_3x3, 3),
                        unit(self.filters_5x5, 5),
                        [max_pooling2d(3, strides=1, padding="same")]]
        elif variant == "v1":
            branches = [
                unit(self.filters_1x1, 1),
                unit(self.reduce_3x3, 1) + unit(self.filters_3x3, 3),
                unit(self.reduce_5x5, 1) + unit(self.filters_5x5, 5),
                [max_pooling2d(3, strides=1, padding="same")]
                + unit(self.filters_pool, 1),
            ]
        else:
            branches = [
                unit(self.filters_1x1, 1),
                unit(self.reduce_3x3, 1) + unit(self.filters_3x3, (1, n))
                + unit(self.filters_3x3, (n, 1)),
                unit(self.reduce_5x5, 1) + unit(self.filters_5x5, (1, n))
                + unit(self.filters_5x5, (n, 1)) + unit(self.filters_5x5, (1, n))
                + unit(self.filters_5x5, (n, 1)),
                [max_pooling2d(3, strides=1, padding="same")]
                + unit(self.filters_pool, 1),
            ]
        self._branches = branches
        self._concat = keras.layers.Concatenate(axis=-1)

    def build(self, input_shape):
        input_shape = _check_image_shape(self, input_shape)
        shapes = [_build_chain(branch, input_shape) for branch in self._branches]
        self._concat.build(shapes)

    def call(self, inputs, training=None):
        return self._concat([_run_chain(b, inputs, training) for b in self._branches])

    def compute_output_shape(self, input_shape):
        pool_channels = input_shape[-1] if self.variant == "naive" else self.filters_pool
        channels = self.filters_1x1 + self.filters_3x3 + self.filters_5x5 + pool_channels
        return tuple(input_shape[:-1]) + (channels,)

    def get_config(self):
        return {**super().get_config(), "filters_1x1": self.filters_1x1,
                "filters_3x3": self.filters_3x3, "filters_5x5": self.filters_5x5,
                "filters_pool": self.filters_pool, "reduce_3x3": self.reduce_3x3,
                "reduce_5x5": self.reduce_5x5, "variant": self.variant,
                "factor_size": self.factor_size, "batch_norm": self.batch_norm,
                "layers": self.layer_source}


# ---------------------------------------------------------------------------- residual
@_register
class ResidualBlock(keras.layers.Layer):
    """Residual block: ``relu(F(x) + shortcut(x))`` (He et al., 2015).

    - basic (ResNet-18/34): 3x3 conv (stride s) -> BN -> ReLU -> 3x3 conv -> BN.
    - bottleneck (ResNet-50/101/152): 1x1 conv -> BN -> ReLU -> 3x3 conv -> BN -> ReLU ->
      1x1 conv (``expansion * filters`` channels) -> BN. The stride sits on the first 1x1
      conv, as in the paper and ``keras.applications`` (ResNet v1; this is what gives the
      paper's 3.8 GFLOPs for ResNet-50); ``stride_in_3x3=True`` moves it to the 3x3
      ("v1.5", torchvision).

    The shortcut is the identity when shapes match, else a 1x1 convolution with stride s
    followed by BN (the projection shortcut). ``projection=True``/``False`` forces it.

    Args:
        filters: channels of the 3x3 convolution (positive int).
        strides: stride of the block (1 or 2 usually).
        bottleneck: bottleneck (True) or basic (False) block.
        expansion: output channels = ``expansion * filters`` for bottleneck blocks.
        projection: None (automatic), True or False.
        use_bias: biases in the convolutions (keras.applications has them; the paper's
            convolutions, followed by BN, do not need them).
        stride_in_3x3: put the bottleneck's stride on the 3x3 conv instead of the 1x1.
        epsilon: BatchNormalization epsilon (1.001e-5 as keras.applications).
        groups: groups of the 3x3 convolution (``filters`` must be divisible by it):
            ``groups=32`` with ``bottleneck=True`` is ResNeXt's block (Xie et al., 2017).
        layers: ``"keras"`` or ``"cnnlib"`` (see :func:`layer_module`).

    Input shape: ``(batch, H, W, C)``.
    Output shape: ``(batch, ceil(H / s), ceil(W / s), F)`` with ``F = filters`` (basic)
    or ``expansion * filters`` (bottleneck).

    Example:
        >>> block = ResidualBlock(64, bottleneck=True)
        >>> block(keras.ops.zeros((1, 56, 56, 64))).shape
        TensorShape([1, 56, 56, 256])
    """

    def __init__(self, filters, strides=1, bottleneck=False, expansion=4, projection=None,
                 use_bias=True, stride_in_3x3=False, epsilon=1.001e-5, groups=1,
                 layers="keras", **kwargs):
        super().__init__(**kwargs)
        self.filters = _positive_int("filters", filters)
        self.strides = _positive_int("strides", strides)
        self.bottleneck = bool(bottleneck)
        self.expansion = _positive_int("expansion", expansion)
        self.projection = validation.check_one_of(projection, (None, True, False), "projection")
        self.groups = _positive_int("groups", groups)
        if self.filters % self.groups:
            raise ValueError("filters must be divisible by groups. "
                             f"Received: filters={self.filters}, groups={self.groups}")
        self.layer_source = validation.check_one_of(layers, LAYER_SOURCES, "layers")
        self.use_bias = bool(use_bias)
        self.stride_in_3x3 = bool(stride_in_3x3)
        self.epsilon = float(epsilon)
        self.out_channels = self.filters * (self.expansion if self.bottleneck else 1)

        def unit(filters, kernel_size, strides=1, activation="relu", groups=1):
            return _conv_unit(filters, kernel_size, strides=strides, batch_norm=True,
                              use_bias=self.use_bias, activation=activation,
                              epsilon=self.epsilon, layers=self.layer_source, groups=groups)

        s = self.strides
        if self.bottleneck:
            s1, s3 = (1, s) if self.stride_in_3x3 else (s, 1)
            self._residual = (unit(self.filters, 1, s1)
                              + unit(self.filters, 3, s3, groups=self.groups)
                              + unit(self.out_channels, 1, activation=None))
        else:
            self._residual = (unit(self.filters, 3, s, groups=self.groups)
                              + unit(self.filters, 3, activation=None))
        self._shortcut = []
        self._add = keras.layers.Add()
        self._relu = keras.layers.ReLU()

    def build(self, input_shape):
        input_shape = _check_image_shape(self, input_shape)
        project = self.projection
        if project is None:
            project = self.strides != 1 or input_shape[-1] != self.out_channels
        if not project and (self.strides != 1 or input_shape[-1] != self.out_channels):
            raise ValueError(
                "An identity shortcut needs strides=1 and as many input channels as output "
                f"channels ({self.out_channels}). Received: strides={self.strides}, "
                f"input_shape={input_shape}")
        if project:
            self._shortcut = _conv_unit(self.out_channels, 1, strides=self.strides,
                                        padding="valid", batch_norm=True,
                                        use_bias=self.use_bias, activation=None,
                                        epsilon=self.epsilon, layers=self.layer_source)
        out_shape = _build_chain(self._residual, input_shape)
        short_shape = _build_chain(self._shortcut, input_shape)
        self._add.build([out_shape, short_shape])
        self._relu.build(out_shape)

    def call(self, inputs, training=None):
        residual = _run_chain(self._residual, inputs, training)
        shortcut = _run_chain(self._shortcut, inputs, training)
        return self._relu(self._add([residual, shortcut]))

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._residual:
            shape = layer.compute_output_shape(shape)
        return shape

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides,
                "bottleneck": self.bottleneck, "expansion": self.expansion,
                "projection": self.projection, "use_bias": self.use_bias,
                "stride_in_3x3": self.stride_in_3x3, "epsilon": self.epsilon,
                "groups": self.groups, "layers": self.layer_source}


# ---------------------------------------------------------------------------- ConvNeXt
@_register
class StochasticDepth(keras.layers.Layer):
    """Stochastic depth ("drop path"): zeroes a whole sample's branch with probability
    ``rate`` during training and scales the kept ones by ``1 / (1 - rate)``.

    Args:
        rate: drop probability in [0, 1).
        seed: optional int seed.

    Input shape: any ``(batch, ...)``. Output shape: same as the input.
    In inference (``training=False``) it is the identity.
    """

    def __init__(self, rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate("rate", rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        keep = 1.0 - self.rate
        shape = (keras.ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        noise = keras.random.uniform(shape, seed=self.seed_generator, dtype=inputs.dtype)
        mask = keras.ops.floor(keep + noise)
        return inputs / keep * mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@_register
class ConvNeXtBlock(keras.layers.Layer):
    """ConvNeXt block (Liu et al., 2022), channels C taken from the input:

    ``x + drop_path(gamma * Dense_C(GELU(Dense_4C(LayerNorm(DepthwiseConv7x7(x))))))``

    The depthwise 7x7 convolution mixes space (one filter per channel), the two pointwise
    (1x1 = Dense on the last axis) layers form an inverted bottleneck that mixes channels,
    ``gamma`` is the learned layer scale (initialised to ``layer_scale_init_value``) and
    ``drop_path`` is :class:`StochasticDepth`.

    Args:
        drop_path_rate: stochastic depth rate in [0, 1).
        layer_scale_init_value: initial value of gamma; 0 or None disables layer scale.
        expansion: width of the inverted bottleneck, in multiples of C (default 4).
        kernel_size: depthwise kernel size (default 7).
        epsilon: LayerNorm epsilon (1e-6 as the paper).
        layers: ``"keras"`` or ``"cnnlib"`` (see :func:`layer_module`) for the depthwise
            convolution (the pointwise ones are ``Dense`` layers either way).

    Input shape: ``(batch, H, W, C)``. Output shape: ``(batch, H, W, C)``.

    Example:
        >>> ConvNeXtBlock()(keras.ops.zeros((1, 56, 56, 96))).shape
        TensorShape([1, 56, 56, 96])
    """

    def __init__(self, drop_path_rate=0.0, layer_scale_init_value=1e-6, expansion=4,
                 kernel_size=7, epsilon=1e-6, seed=None, layers="keras", **kwargs):
        super().__init__(**kwargs)
        self.drop_path_rate = _rate("drop_path_rate", drop_path_rate)
        validation.check_number(layer_scale_init_value, "layer_scale_init_value", minimum=0,
                                allow_none=True)
        self.layer_scale_init_value = layer_scale_init_value
        self.layer_source = validation.check_one_of(layers, LAYER_SOURCES, "layers")
        self.expansion = _positive_int("expansion", expansion)
        self.kernel_size = _positive_int("kernel_size", kernel_size)
        self.epsilon = float(epsilon)
        self.seed = seed
        self.drop_path = StochasticDepth(self.drop_path_rate, seed=seed)

    def build(self, input_shape):
        input_shape = _check_image_shape(self, input_shape)
        channels = input_shape[-1]
        self.depthwise = layer_module(self.layer_source).DepthwiseConv2D(self.kernel_size,
                                                                   padding="same")
        self.norm = keras.layers.LayerNormalization(epsilon=self.epsilon)
        self.expand = keras.layers.Dense(self.expansion * channels, activation="gelu")
        self.project = keras.layers.Dense(channels)
        _build_chain([self.depthwise, self.norm, self.expand, self.project], input_shape)
        self.drop_path.build(input_shape)
        if self.layer_scale_init_value:
            self.gamma = self.add_weight(
                shape=(channels,), name="gamma",
                initializer=keras.initializers.Constant(self.layer_scale_init_value))
        else:
            self.gamma = None

    def call(self, inputs, training=None):
        x = self.project(self.expand(self.norm(self.depthwise(inputs))))
        if self.gamma is not None:
            x = x * self.gamma
        return inputs + self.drop_path(x, training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate,
                "layer_scale_init_value": self.layer_scale_init_value,
                "expansion": self.expansion, "kernel_size": self.kernel_size,
                "epsilon": self.epsilon, "seed": self.seed, "layers": self.layer_source}
