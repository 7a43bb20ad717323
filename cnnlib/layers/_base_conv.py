"""Private base of Conv2D and DepthwiseConv2D (one base, hooks per subclass, as Keras)."""

import keras
import tensorflow as tf

from cnnlib import validation
from cnnlib.layers import _utils


class BaseConv(keras.layers.Layer):
    """2-D convolution whose gradient is hand-written (see :mod:`cnnlib.layers._ops`).

    Subclasses set ``_filters_name`` (the argument ``filters`` is called in messages) and
    override three hooks: :meth:`_kernel_shape`, :meth:`_output_channels` and
    :meth:`_convolve` (NHWC in, NHWC out). The base standardizes and validates the
    arguments (Keras' rules and messages), owns the weights (``kernel``, optional LoRA
    factors, ``bias``), handles ``data_format="channels_first"`` by transposing to NHWC
    around the hand-written op, and saves / serializes as Keras' ``BaseConv`` does.
    """

    _filters_name = "filters"

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1), groups=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        name = self._filters_name
        if not validation.is_integer(filters) or filters <= 0:
            raise ValueError(f"Invalid value for argument `{name}`. Expected a strictly "
                             f"positive value. Received {name}={filters}.")
        self.filters = int(filters)
        self.kernel_size = _utils.standardize_pair(kernel_size, "kernel_size")
        self.strides = _utils.standardize_pair(strides, "strides")
        self.dilation_rate = _utils.standardize_pair(dilation_rate, "dilation_rate")
        if not validation.is_integer(groups) or groups <= 0:
            raise ValueError("The number of groups must be a positive integer. "
                             f"Received: groups={groups}.")
        self.groups = int(groups)
        if self.filters % self.groups != 0:
            raise ValueError("The number of filters must be evenly divisible by the number "
                             f"of groups. Received: groups={self.groups}, "
                             f"filters={self.filters}.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.padding = _utils.standardize_padding(padding)
        self.data_format = _utils.standardize_data_format(data_format)
        self.activation = keras.activations.get(activation)
        self.use_bias = validation.check_bool(use_bias, "use_bias")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.lora_rank = validation.check_integer(lora_rank, "lora_rank", minimum=1,
                                                  allow_none=True)
        self.lora_alpha = lora_alpha if lora_alpha is not None else self.lora_rank
        self.lora_enabled = False

    # ------------------------------------------------------------------ hooks
    def _kernel_shape(self, in_channels):
        """Shape of the kernel weight for ``in_channels`` input channels."""
        raise NotImplementedError

    def _output_channels(self, in_channels):
        """Number of output channels for ``in_channels`` input channels."""
        raise NotImplementedError

    def _convolve(self, x, kernel, bias, pads):
        """The hand-written op on NHWC ``x`` with explicit ``pads``."""
        raise NotImplementedError

    def _check_in_channels(self, in_channels, input_shape):
        """Extra rules on the number of input channels (groups)."""

    # ------------------------------------------------------------------ shapes
    def _check_shape(self, input_shape):
        """Checks a shape given in the layer's layout; returns it as NHWC."""
        received = _utils.check_rank4(input_shape, self.__class__.__name__, self.data_format)
        nhwc = _utils.to_nhwc(received, self.data_format)
        if nhwc[-1] is None:
            raise ValueError(f"{self.__class__.__name__} needs a known number of input channels. "
                             f"Received: inputs.shape={received}")
        if self.built and nhwc[-1] != self._in_channels:
            raise ValueError(
                f"{self.__class__.__name__} was built for {self._in_channels} input channels "
                f"(kernel shape {tuple(self._kernel.shape)}) but got {nhwc[-1]}. "
                f"Received: inputs.shape={received}")
        self._check_in_channels(nhwc[-1], received)
        pads = _utils.resolve(self.padding, nhwc, self.kernel_size, self.strides,
                              self.dilation_rate)
        _utils.check_fits(nhwc, self.kernel_size, self.dilation_rate, pads,
                          self.__class__.__name__, "kernel_size", received)
        return nhwc

    # ------------------------------------------------------------------ Keras API
    def build(self, input_shape):
        nhwc = self._check_shape(input_shape)
        self._in_channels = nhwc[-1]
        self._kernel = self.add_weight(
            name="kernel", shape=self._kernel_shape(self._in_channels),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, trainable=True)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self._output_channels(self._in_channels),),
                initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                constraint=self.bias_constraint, trainable=True)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    @property
    def kernel(self):
        """The kernel used by ``call``: the weight, plus ``alpha / rank * A @ B`` with LoRA."""
        if not self.built:
            raise AttributeError("You must build the layer before accessing `kernel`.")
        if not self.lora_enabled:
            return self._kernel
        delta = tf.matmul(tf.reshape(self.lora_kernel_a, [-1, self.lora_rank]),
                          self.lora_kernel_b)
        delta = tf.reshape(delta, self._kernel.shape)
        return tf.cast(tf.convert_to_tensor(self._kernel)
                       + tf.cast((self.lora_alpha / self.lora_rank) * delta, self._kernel.dtype),
                       self.compute_dtype)

    def call(self, inputs):
        x = tf.convert_to_tensor(inputs)
        name = self.__class__.__name__
        _utils.check_call_input(x, name, self.data_format)
        nhwc = self._check_shape(x.shape)
        pads = _utils.resolve(self.padding, nhwc, self.kernel_size, self.strides,
                              self.dilation_rate)
        kernel = tf.cast(tf.convert_to_tensor(self.kernel), x.dtype)
        bias = tf.cast(tf.convert_to_tensor(self.bias), x.dtype) if self.use_bias else None
        if self.data_format == "channels_first":
            x = tf.transpose(x, [0, 2, 3, 1])
        out = self._convolve(x, kernel, bias, pads)
        if self.data_format == "channels_first":
            out = tf.transpose(out, [0, 3, 1, 2])
        return self.activation(out) if self.activation is not None else out

    def compute_output_shape(self, input_shape):
        nhwc = self._check_shape(input_shape)
        h, w = _utils.output_hw(nhwc, self.kernel_size, self.strides, self.dilation_rate,
                                self.padding)
        return _utils.from_nhwc((nhwc[0], h, w, self._output_channels(nhwc[-1])),
                                self.data_format)

    # ------------------------------------------------------------------ LoRA
    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros"):
        """Freeze the kernel and learn a low-rank update ``alpha / rank * A @ B`` (as Keras).

        ``A`` has the kernel's shape with the last axis replaced by ``rank``, ``B`` is
        ``(rank, last axis)``; ``B`` starts at zero, so the layer's output does not change
        until training moves it. The gradient of the convolution is still hand-written;
        ``A`` and ``B`` get theirs through ``matmul``'s.
        """
        rank = validation.check_integer(rank, "rank", minimum=1)
        if self.kernel_constraint:
            raise ValueError("Lora is incompatible with kernel constraints. In order to enable "
                             "lora on this layer, remove the `kernel_constraint` argument.")
        if not self.built:
            raise ValueError("Cannot enable lora on a layer that isn't yet built.")
        if self.lora_enabled:
            raise ValueError("lora is already enabled. This can only be done once per layer.")
        self._tracker.unlock()
        # float32 factors (as Keras): no underflow while fine-tuning in mixed precision.
        self.lora_kernel_a = self.add_weight(
            name="lora_kernel_a", shape=tuple(self._kernel.shape[:-1]) + (rank,),
            initializer=keras.initializers.get(a_initializer), dtype="float32",
            regularizer=self.kernel_regularizer)
        self.lora_kernel_b = self.add_weight(
            name="lora_kernel_b", shape=(rank, self._kernel.shape[-1]),
            initializer=keras.initializers.get(b_initializer), dtype="float32",
            regularizer=self.kernel_regularizer)
        self._kernel.trainable = False
        self._tracker.lock()
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    def save_own_variables(self, store):
        """Saves the effective kernel (LoRA merged) and the bias, as Keras' BaseConv."""
        if not self.built:
            return
        target_variables = [self.kernel]
        if self.use_bias:
            target_variables.append(self.bias)
        for i, variable in enumerate(target_variables):
            store[str(i)] = variable

    def load_own_variables(self, store):
        if not self.lora_enabled:
            self._check_load_own_variables(store)
        if not self.built:
            return
        target_variables = [self._kernel]
        if self.use_bias:
            target_variables.append(self.bias)
        for i, variable in enumerate(target_variables):
            variable.assign(store[str(i)])
        if self.lora_enabled:
            self.lora_kernel_a.assign(tf.zeros(self.lora_kernel_a.shape))
            self.lora_kernel_b.assign(tf.zeros(self.lora_kernel_b.shape))

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
            "activity_regularizer": keras.regularizers.serialize(self.activity_regularizer),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
        })
        if self.lora_rank:
            config["lora_rank"] = self.lora_rank
            config["lora_alpha"] = self.lora_alpha
        return config
