"""Output size and padding of a convolution or pooling window: the arithmetic only.

Shared by the NumPy reference (:mod:`cnnlib.reference`) and the layers
(:mod:`cnnlib.layers`), so the layers never import the reference answers. No NumPy, no
TensorFlow: plain integers in, plain integers out.

Along one axis, with input size ``W``, window ``K``, padding ``P_before + P_after``,
stride ``S`` and dilation ``D``::

    K_eff = D * (K - 1) + 1
    W_out = floor((W + P_before + P_after - K_eff) / S) + 1

``padding="same"`` follows TensorFlow: ``W_out = ceil(W / S)``; the total padding
``max((W_out - 1) * S + K_eff - W, 0)`` is split with the extra pixel at the end.
"""

from cnnlib import validation

__all__ = ["output_size", "same_padding", "resolve_padding"]


def output_size(w_in, k, p=0, s=1, d=1):
    """Spatial size of a convolution / pooling output along one axis.

    ``W_out = floor((W_in + 2P - K_eff) / S) + 1`` with ``K_eff = D (K - 1) + 1``.

    Args:
        w_in: input size ``W_in`` (int).
        k: kernel (or pooling window) size ``K``.
        p: padding on *each* side ``P`` (int), or a pair ``(before, after)``.
        s: stride ``S``.
        d: dilation ``D``.

    Returns:
        int ``W_out``.

    Raises:
        ValueError: when the (padded) input is smaller than the dilated kernel, or
            ``k``, ``s``, ``d`` are not positive, or ``p`` is negative.

    Example:
        >>> output_size(256, 3)        # the lecture's 256x256 example
        254
        >>> output_size(7, 3, 0, 2)
        3
    """
    w_in, k, s, d = (validation.check_integer(v, name, minimum=1)
                     for name, v in (("w_in", w_in), ("k", k), ("s", s), ("d", d)))
    if isinstance(p, (tuple, list)):
        before, after = validation.standardize_tuple(p, 2, "p", allow_zero=True)
    else:
        before = after = validation.check_integer(p, "p", minimum=0)
    k_eff = d * (k - 1) + 1
    if w_in + before + after < k_eff:
        raise ValueError(
            "The dilated kernel (d * (k - 1) + 1) must fit in the padded input "
            f"(w_in + padding). Received: w_in={w_in}, k={k}, p={p}, d={d}")
    return (w_in + before + after - k_eff) // s + 1


def same_padding(w_in, k, s=1, d=1):
    """TensorFlow's ``"same"`` padding along one axis: ``(before, after)``.

    ``W_out = ceil(W_in / S)``; ``total = max((W_out - 1) S + K_eff - W_in, 0)``;
    ``before = total // 2``, ``after = total - before``.

    Example:
        >>> same_padding(5, 3, 2)
        (1, 1)
    """
    w_out = -(-w_in // s)
    total = max((w_out - 1) * s + d * (k - 1) + 1 - w_in, 0)
    return total // 2, total - total // 2


_PADDING_RULE = ('padding must be "valid", "same", an int, (ph, pw) or '
                 "((top, bottom), (left, right))")


def resolve_padding(padding, input_hw, kernel_hw, strides=(1, 1), dilation=(1, 1)):
    """Turn a padding spec into explicit ``((top, bottom), (left, right))``.

    Args:
        padding: ``"valid"``, ``"same"``, an int (all sides), a pair ``(ph, pw)``
            (symmetric per axis) or ``((top, bottom), (left, right))``.
        input_hw, kernel_hw, strides, dilation: pairs ``(H, W)`` etc. (only read for
            ``"same"``).

    Returns:
        ``((top, bottom), (left, right))`` of non-negative ints.

    Raises:
        ValueError / TypeError naming ``padding`` for anything else.

    Example:
        >>> resolve_padding("same", (5, 5), (3, 3), (2, 2))
        ((1, 1), (1, 1))
        >>> resolve_padding(((1, 0), 2), None, None)
        ((1, 0), (2, 2))
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            return tuple(same_padding(input_hw[i], kernel_hw[i], strides[i], dilation[i])
                         for i in range(2))
        raise ValueError(
            f'padding must be "valid", "same" or integers. Received: padding={padding!r}')
    if validation.is_integer(padding):
        pads = ((int(padding),) * 2,) * 2
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        pads = []
        for item in padding:
            if validation.is_integer(item):
                pads.append((int(item), int(item)))
            elif (isinstance(item, (tuple, list)) and len(item) == 2
                  and all(validation.is_integer(v) for v in item)):
                pads.append((int(item[0]), int(item[1])))
            else:
                raise validation.ArgumentTypeError(
                    f"{_PADDING_RULE}. Received: padding={padding!r}")
        pads = tuple(pads)
    else:
        raise validation.ArgumentTypeError(f"{_PADDING_RULE}. Received: padding={padding!r}")
    if min(min(p) for p in pads) < 0:
        raise ValueError(f"padding must be non-negative. Received: padding={padding!r}")
    return pads
