"""Argument standardization and shape checks shared by the cnnlib layers.

The argument rules come from :mod:`cnnlib.validation` (Keras' messages for sizes), the
window arithmetic from :mod:`cnnlib.geometry`; shape checks work on the NHWC view of a
shape (see :func:`to_nhwc`), whatever the layer's ``data_format``.
"""

import keras

from cnnlib import geometry, validation

_DATA_FORMATS = ("channels_last", "channels_first")


def standardize_pair(value, name, allow_zero=False):
    """An integer or a pair of integers -> a tuple of two ints, positive (or >= 0).

    Keras' rule and message: ``The `strides` argument must be a tuple of 2 integers.
    Received strides=(1, 0), including values {0} that do not satisfy `value > 0```.
    """
    return validation.standardize_tuple(value, 2, name, allow_zero=allow_zero)


def standardize_padding(padding):
    """``"valid"`` / ``"same"`` (any case) or explicit ints -> ``"valid"``, ``"same"`` or
    ``((top, bottom), (left, right))``."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("valid", "same"):
            raise ValueError('padding must be "valid", "same" or explicit integers. '
                             f"Received: padding={padding!r}")
        return mode
    return geometry.resolve_padding(padding, None, None)


def padding_to_config(padding):
    return padding if isinstance(padding, str) else [list(p) for p in padding]


def standardize_data_format(data_format):
    """None (Keras' ``image_data_format()``), ``"channels_last"`` or ``"channels_first"``."""
    if data_format is None:
        return keras.config.image_data_format()
    key = data_format.lower() if isinstance(data_format, str) else data_format
    if key not in _DATA_FORMATS:
        raise ValueError('The `data_format` argument must be one of "channels_first", '
                         f'"channels_last". Received: data_format={data_format!r}')
    return key


def to_nhwc(shape, data_format):
    """A rank-4 shape in the layer's layout -> the same shape as (N, H, W, C)."""
    shape = tuple(shape)
    if data_format == "channels_first" and len(shape) == 4:
        return (shape[0], shape[2], shape[3], shape[1])
    return shape


def from_nhwc(shape, data_format):
    """Inverse of :func:`to_nhwc`."""
    shape = tuple(shape)
    if data_format == "channels_first" and len(shape) == 4:
        return (shape[0], shape[3], shape[1], shape[2])
    return shape


def check_rank4(input_shape, layer_name, data_format="channels_last"):
    """The shape as a tuple (in the layer's layout); ValueError unless rank 4."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 4:
        axes = ("(batch, channels, height, width)" if data_format == "channels_first"
                else "(batch, height, width, channels)")
        raise ValueError(f"{layer_name} expects inputs of rank 4 {axes}. "
                         f"Received: inputs.shape={input_shape}")
    return input_shape


def check_fits(input_shape, window, dilation, pads, layer_name, window_name,
               received_shape=None):
    """The (dilated) window must fit in the padded input along H and W (NHWC shape)."""
    for axis in (0, 1):
        size = input_shape[1 + axis]
        if size is None:
            continue
        effective = dilation[axis] * (window[axis] - 1) + 1
        padded = size + sum(pads[axis]) if pads is not None else size
        if padded < effective:
            shown = tuple(received_shape if received_shape is not None else input_shape)
            raise ValueError(
                f"Computed output size would be zero or negative: {layer_name}'s "
                f"{window_name} (dilated: {effective}) is larger than the padded input along "
                f"{'height' if axis == 0 else 'width'} ({padded}). "
                f"Received: inputs.shape={shown}, {window_name}={tuple(window)}, "
                f"dilation_rate={tuple(dilation)}")


def resolve(padding, input_shape, window, strides, dilation):
    """Explicit ``((top, bottom), (left, right))`` for static H, W (None if unknown)."""
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return (0, 0), (0, 0)
    if input_shape[1] is None or input_shape[2] is None:
        return None
    return geometry.resolve_padding(padding, input_shape[1:3], window, strides, dilation)


def output_hw(input_shape, window, strides, dilation, padding):
    """Spatial output size of an NHWC shape (None where the input size is unknown)."""
    pads = resolve(padding, input_shape, window, strides, dilation)
    out = []
    for axis in (0, 1):
        size = input_shape[1 + axis]
        if size is None:
            out.append(None)
        elif padding == "same":
            out.append(-(-size // strides[axis]))
        else:
            out.append(geometry.output_size(size, window[axis], pads[axis], strides[axis],
                                            dilation[axis]))
    return tuple(out)


def check_call_input(x, layer_name, data_format="channels_last"):
    """Float dtype, rank 4 and static spatial dims, checked when the layer is called."""
    if not x.dtype.is_floating:
        raise TypeError(f"{layer_name} expects floating-point inputs. "
                        f"Received: inputs.dtype={x.dtype.name}, inputs.shape={tuple(x.shape)}")
    check_rank4(x.shape, layer_name, data_format)
    nhwc = to_nhwc(x.shape, data_format)
    if nhwc[1] is None or nhwc[2] is None:
        raise ValueError(f"{layer_name} needs static height and width when called. "
                         f"Received: inputs.shape={tuple(x.shape)}")
