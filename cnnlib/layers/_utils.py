"""Argument standardization and shape checks shared by the cnnlib layers."""

from cnnlib import reference


def standardize_pair(value, name, allow_zero=False):
    """An int or a pair of ints -> a tuple of two positive ints (ValueError/TypeError otherwise)."""
    if isinstance(value, int) and not isinstance(value, bool):
        pair = (value, value)
    elif (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name} must be an int or a tuple of 2 ints. Received: {name}={value!r}")
    low = 0 if allow_zero else 1
    if min(pair) < low:
        rule = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be {rule} integers. Received: {name}={value!r}")
    return pair


def standardize_padding(padding):
    """``"valid"`` / ``"same"`` (any case) or explicit ints -> ``"valid"``, ``"same"`` or
    ``((top, bottom), (left, right))``."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("valid", "same"):
            raise ValueError('padding must be "valid", "same" or explicit integers. '
                             f"Received: padding={padding!r}")
        return mode
    return reference.resolve_padding(padding, None, None)


def padding_to_config(padding):
    return padding if isinstance(padding, str) else [list(p) for p in padding]


def standardize_data_format(data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError('cnnlib layers support only data_format="channels_last" (NHWC). '
                         f"Received: data_format={data_format!r}")
    return "channels_last"


def check_rank4(input_shape, layer_name):
    input_shape = tuple(input_shape)
    if len(input_shape) != 4:
        raise ValueError(
            f"{layer_name} expects inputs of rank 4 (batch, height, width, channels). "
            f"Received: inputs.shape={input_shape}")
    return input_shape


def check_fits(input_shape, window, dilation, pads, layer_name, window_name):
    """The (dilated) window must fit in the padded input along H and W."""
    for axis in (0, 1):
        size = input_shape[1 + axis]
        if size is None:
            continue
        effective = dilation[axis] * (window[axis] - 1) + 1
        padded = size + sum(pads[axis]) if pads is not None else size
        if padded < effective:
            raise ValueError(
                f"{layer_name}: the {window_name} (dilated: {effective}) is larger than the "
                f"padded input along {'height' if axis == 0 else 'width'} ({padded}). "
                f"Received: inputs.shape={tuple(input_shape)}, {window_name}={tuple(window)}, "
                f"dilation_rate={tuple(dilation)}")


def resolve(padding, input_shape, window, strides, dilation):
    """Explicit ``((top, bottom), (left, right))`` for static H, W (None if unknown)."""
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return (0, 0), (0, 0)
    if input_shape[1] is None or input_shape[2] is None:
        return None
    return reference.resolve_padding(padding, input_shape[1:3], window, strides, dilation)


def output_hw(input_shape, window, strides, dilation, padding):
    """Spatial output size (None where the input size is unknown)."""
    pads = resolve(padding, input_shape, window, strides, dilation)
    out = []
    for axis in (0, 1):
        size = input_shape[1 + axis]
        if size is None:
            out.append(None)
        elif padding == "same":
            out.append(-(-size // strides[axis]))
        else:
            out.append(reference.output_size(size, window[axis], pads[axis], strides[axis],
                                             dilation[axis]))
    return tuple(out)


def check_call_input(x, layer_name):
    """Float dtype and static spatial dims, checked when the layer is called."""
    if not x.dtype.is_floating:
        raise TypeError(f"{layer_name} expects floating-point inputs. "
                        f"Received: inputs.dtype={x.dtype.name}, inputs.shape={tuple(x.shape)}")
    if x.shape.rank != 4:
        raise ValueError(
            f"{layer_name} expects inputs of rank 4 (batch, height, width, channels). "
            f"Received: inputs.shape={tuple(x.shape)}")
    if x.shape[1] is None or x.shape[2] is None:
        raise ValueError(f"{layer_name} needs static height and width when called. "
                         f"Received: inputs.shape={tuple(x.shape)}")
