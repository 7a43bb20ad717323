"""The lecture's convolution and pooling formulas in plain NumPy loops: the ground truth.

Everything here is written to be read, not to be fast: one loop per index of the slide
formulas. The Keras layers in :mod:`cnnlib.layers` and the notebooks are checked against
these functions. Notebooks forbid students to call this module in from-scratch exercises.

Conventions (as in Keras / TensorFlow):

- images are NHWC: ``x`` has shape ``(N, H, W, C)``;
- conv kernels are ``(KH, KW, C_in, C_out)``, depthwise kernels ``(KH, KW, C, M)``;
- "convolution" in a CNN is a cross-correlation (the kernel is *not* flipped);
- output size along one axis, with input size ``W``, kernel ``K``, padding ``P_before +
  P_after``, stride ``S`` and dilation ``D``::

      K_eff = D * (K - 1) + 1
      W_out = floor((W + P_before + P_after - K_eff) / S) + 1

- ``padding="same"`` follows TensorFlow: ``W_out = ceil(W / S)``, the total padding
  ``max((W_out - 1) * S + K_eff - W, 0)`` is split with the extra pixel at the end
  (bottom / right).

Forward functions return ``(out, cache)``; backward functions take ``(dout, cache)`` and
return one gradient per input of the forward (CS231n style).
"""

import numpy as np

from cnnlib import validation

# The window arithmetic lives in a dependency-free module that the layers share.
from cnnlib.geometry import output_size, resolve_padding, same_padding

__all__ = [
    "output_size", "same_padding", "resolve_padding", "pad2d", "unpad2d", "rot180",
    "cross_correlate2d", "convolve2d", "full_convolution2d",
    "conv2d_forward", "conv2d_backward",
    "depthwise_conv2d_forward", "depthwise_conv2d_backward",
    "maxpool2d_forward", "maxpool2d_backward",
    "avgpool2d_forward", "avgpool2d_backward",
]


# --------------------------------------------------------------------------- helpers
def _pair(value, name):
    """Return ``value`` as a pair of ints (an int is used for both axes)."""
    if validation.is_integer(value):
        return int(value), int(value)
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(validation.is_integer(v) for v in value)):
        return int(value[0]), int(value[1])
    raise validation.ArgumentTypeError(
        f"{name} must be an int or a pair of ints. Received: {name}={value!r}")


def _positive_pair(value, name):
    pair = _pair(value, name)
    if min(pair) < 1:
        raise ValueError(f"{name} must be positive integers. Received: {name}={value!r}")
    return pair


def _check_array(x, name, ndim):
    x = np.asarray(x)
    if x.ndim != ndim:
        raise ValueError(f"{name} must have rank {ndim}. Received: {name}.shape={x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def pad2d(x, pad, value=0.0):
    """Pad the two spatial axes of an image or a batch.

    Args:
        x: ``(H, W)`` or ``(N, H, W, C)``.
        pad: int (all sides), ``(ph, pw)`` or ``((top, bottom), (left, right))``.
        value: the fill value (0 for convolution, ``-inf`` for max pooling).

    Returns:
        ``(H + top + bottom, W + left + right)`` or ``(N, H + top + bottom, W + left +
        right, C)``.

    Example:
        >>> pad2d(np.ones((2, 2)), 1).shape
        (4, 4)
    """
    x = np.asarray(x)
    if isinstance(pad, str):
        raise TypeError(f"pad must be explicit integers. Received: pad={pad!r}")
    (top, bottom), (left, right) = resolve_padding(pad, None, None)
    if x.ndim == 2:
        widths = ((top, bottom), (left, right))
    elif x.ndim == 4:
        widths = ((0, 0), (top, bottom), (left, right), (0, 0))
    else:
        raise ValueError(f"x must have rank 2 (H, W) or 4 (N, H, W, C). Received: x.shape={x.shape}")
    return np.pad(x, widths, mode="constant", constant_values=value)


def unpad2d(xp, pad, hw):
    """The inverse of :func:`pad2d` on a batch: cut the padding off ``(N, Hp, Wp, C)``.

    The backward passes accumulate into the padded input and return this window of it.

    Args:
        xp: ``(N, H + top + bottom, W + left + right, C)``.
        pad: as :func:`pad2d`.
        hw: the unpadded ``(H, W)``.

    Returns:
        ``xp[:, top:top + H, left:left + W, :]``.

    Example:
        >>> x = np.arange(4.0).reshape(1, 2, 2, 1)
        >>> bool((unpad2d(pad2d(x, 1), 1, (2, 2)) == x).all())
        True
    """
    (top, _), (left, _) = resolve_padding(pad, None, None)
    return xp[:, top:top + hw[0], left:left + hw[1], :]


def rot180(kernel):
    """Rotate a kernel by 180°: a vertical flip followed by a horizontal flip.

    Args:
        kernel: ``(KH, KW)`` or ``(KH, KW, ...)`` (only the first two axes are flipped).

    Returns:
        Same shape, ``out[i, j] = kernel[KH - 1 - i, KW - 1 - j]``.

    Example:
        >>> rot180([[1, 2], [3, 4]]).tolist()
        [[4, 3], [2, 1]]
    """
    kernel = np.asarray(kernel)
    if kernel.ndim < 2:
        raise ValueError(f"kernel must have rank >= 2. Received: kernel.shape={kernel.shape}")
    return kernel[::-1, ::-1].copy()


def cross_correlate2d(x, kernel, stride=1, dilation=1):
    """Single-channel 2-D cross-correlation (what CNNs call convolution), "valid" mode.

    ``out[i, j] = sum_{a, b} x[i*S + a*D, j*S + b*D] * kernel[a, b]``

    Args:
        x: ``(H, W)``.
        kernel: ``(KH, KW)``.
        stride: int or pair ``S``.
        dilation: int or pair ``D``.

    Returns:
        ``(H_out, W_out)`` with ``H_out = floor((H - D(KH-1) - 1) / S) + 1``.

    Example (the lecture's 3x3 * 2x2):
        >>> cross_correlate2d(np.arange(9.).reshape(3, 3), np.ones((2, 2)))
        array([[ 8., 12.],
               [20., 24.]])
    """
    x = _check_array(x, "x", 2)
    kernel = _check_array(kernel, "kernel", 2)
    sh, sw = _positive_pair(stride, "stride")
    dh, dw = _positive_pair(dilation, "dilation")
    kh, kw = kernel.shape
    h_out = output_size(x.shape[0], kh, 0, sh, dh)
    w_out = output_size(x.shape[1], kw, 0, sw, dw)
    out = np.zeros((h_out, w_out), dtype=np.result_type(x, kernel))
    for i in range(h_out):
        for j in range(w_out):
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    total += x[i * sh + a * dh, j * sw + b * dw] * kernel[a, b]
            out[i, j] = total
    return out


def convolve2d(x, kernel):
    """True single-channel 2-D convolution, "valid" mode: cross-correlation with ``rot180(kernel)``.

    ``out[i, j] = sum_{a, b} x[i + a, j + b] * kernel[KH-1-a, KW-1-b]``

    Args:
        x: ``(H, W)``; kernel: ``(KH, KW)``.

    Returns:
        ``(H - KH + 1, W - KW + 1)``.

    Example:
        >>> convolve2d(np.arange(9.0).reshape(3, 3), [[1.0, 0.0], [0.0, 0.0]]).tolist()
        [[4.0, 5.0], [7.0, 8.0]]
    """
    return cross_correlate2d(x, rot180(_check_array(kernel, "kernel", 2)))


def full_convolution2d(x, kernel):
    """"Full" 2-D cross-correlation: ``x`` zero-padded by ``K - 1`` on every side.

    The lecture's ``dL/dX = FullConv(rot180(F), dL/dO)`` is
    ``full_convolution2d(dout, rot180(f))`` for a single channel and stride 1.

    Args:
        x: ``(H, W)``; kernel: ``(KH, KW)``.

    Returns:
        ``(H + KH - 1, W + KW - 1)``.

    Example:
        >>> full_convolution2d(np.ones((2, 2)), np.ones((2, 2))).tolist()
        [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    x = _check_array(x, "x", 2)
    kernel = _check_array(kernel, "kernel", 2)
    kh, kw = kernel.shape
    return cross_correlate2d(pad2d(x, ((kh - 1, kh - 1), (kw - 1, kw - 1))), kernel)


def _conv_geometry(x_shape, kernel_hw, stride, padding, dilation):
    stride = _positive_pair(stride, "stride")
    dilation = _positive_pair(dilation, "dilation")
    if max(stride) > 1 and max(dilation) > 1:
        raise ValueError("stride > 1 together with dilation > 1 is not supported (as in Keras). "
                         f"Received: stride={stride}, dilation={dilation}")
    pads = resolve_padding(padding, x_shape[1:3], kernel_hw, stride, dilation)
    out_hw = tuple(
        output_size(x_shape[1 + i], kernel_hw[i], pads[i], stride[i], dilation[i])
        for i in range(2))
    return stride, dilation, pads, out_hw


# ---------------------------------------------------------------------- convolution
def conv2d_forward(x, w, b=None, stride=1, padding="valid", dilation=1):
    """Forward pass of a conv layer (cross-correlation), naive loops.

    ``out[n, i, j, o] = b[o] + sum_{a, c_, k} xp[n, i*S + a*D, j*S + c_*D, k] * w[a, c_, k, o]``
    where ``xp`` is ``x`` zero-padded.

    Args:
        x: input ``(N, H, W, C_in)``.
        w: kernel ``(KH, KW, C_in, C_out)``.
        b: bias ``(C_out,)`` or None.
        stride: int or ``(SH, SW)``.
        padding: ``"valid"``, ``"same"`` (TensorFlow's rule), int, ``(ph, pw)`` or
            ``((top, bottom), (left, right))``.
        dilation: int or ``(DH, DW)``; stride and dilation cannot both exceed 1.

    Returns:
        out: ``(N, H_out, W_out, C_out)``, ``H_out = floor((H + pt + pb - DH(KH-1) - 1)/SH) + 1``.
        cache: ``(x, w, b, stride, pads, dilation)`` with ``pads`` explicit.

    Raises:
        ValueError: wrong ranks, channel mismatch, kernel larger than the padded input,
            non-positive stride/dilation, stride > 1 with dilation > 1.

    Example:
        >>> x = np.ones((1, 5, 5, 1))
        >>> out, cache = conv2d_forward(x, np.ones((3, 3, 1, 2)), stride=2, padding="same")
        >>> out.shape, out[0, :, :, 0].tolist()
        ((1, 3, 3, 2), [[4.0, 6.0, 4.0], [6.0, 9.0, 6.0], [4.0, 6.0, 4.0]])
        >>> dx, dw, db = conv2d_backward(np.ones_like(out), cache)
        >>> dx.shape, dw.shape, db
        ((1, 5, 5, 1), (3, 3, 1, 2), None)
    """
    x = _check_array(x, "x", 4)
    w = _check_array(w, "w", 4)
    if x.shape[3] != w.shape[2]:
        raise ValueError("x's channels must equal w's input channels (axis 2). "
                         f"Received: x.shape={x.shape}, w.shape={w.shape}")
    if b is not None:
        b = np.asarray(b, dtype=np.result_type(w, np.float32))
        if b.shape != (w.shape[3],):
            raise ValueError(f"b must have shape (C_out,) = ({w.shape[3]},). Received: b.shape={b.shape}")
    kh, kw, _, c_out = w.shape
    stride, dilation, pads, (h_out, w_out) = _conv_geometry(x.shape, (kh, kw), stride, padding, dilation)
    xp = pad2d(x, pads)
    n = x.shape[0]
    out = np.zeros((n, h_out, w_out, c_out), dtype=np.result_type(x, w))
    for i in range(h_out):
        for j in range(w_out):
            for a in range(kh):
                for c_ in range(kw):
                    pixel = xp[:, i * stride[0] + a * dilation[0], j * stride[1] + c_ * dilation[1], :]
                    out[:, i, j, :] += pixel @ w[a, c_]          # (N, C_in) @ (C_in, C_out)
    if b is not None:
        out += b
    return out, (x, w, b, stride, pads, dilation)


def conv2d_backward(dout, cache):
    """Backward pass of :func:`conv2d_forward`, the lecture's formulas.

    - ``dL/dF = Conv(X, dL/dO)``: ``dw[a, c_, k, o] = sum_{n,i,j} xp[n, i*S + a*D, j*S + c_*D, k]
      * dout[n, i, j, o]``;
    - ``dL/dX = FullConv(rot180(F), dL/dO)``: each ``dout[n, i, j, o]`` is sent back to the
      pixels its window read, weighted by the kernel (with stride, the output is spread out:
      zero insertion); the padding rows are then cut off;
    - ``db[o] = sum_{n,i,j} dout[n, i, j, o]``.

    Args:
        dout: upstream gradient ``(N, H_out, W_out, C_out)``.
        cache: from :func:`conv2d_forward`.

    Returns:
        dx ``(N, H, W, C_in)``, dw ``(KH, KW, C_in, C_out)``, db ``(C_out,)`` (None when the
        forward had no bias).
    """
    x, w, b, stride, pads, dilation = cache
    dout = np.asarray(dout, dtype=np.result_type(x, w))
    kh, kw, _, _ = w.shape
    xp = pad2d(x, pads)
    h_out, w_out = dout.shape[1:3]
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(h_out):
        for j in range(w_out):
            g = dout[:, i, j, :]                                   # (N, C_out)
            for a in range(kh):
                for c_ in range(kw):
                    r, c = i * stride[0] + a * dilation[0], j * stride[1] + c_ * dilation[1]
                    dw[a, c_] += xp[:, r, c, :].T @ g              # (C_in, N) @ (N, C_out)
                    dxp[:, r, c, :] += g @ w[a, c_].T              # (N, C_out) @ (C_out, C_in)
    dx = unpad2d(dxp, pads, x.shape[1:3])
    db = dout.sum(axis=(0, 1, 2)) if b is not None else None
    return dx, dw, db


def depthwise_conv2d_forward(x, w, b=None, stride=1, padding="valid", dilation=1):
    """Forward pass of a depthwise conv: each input channel has its own ``M`` filters.

    ``out[n, i, j, k*M + m] = b[k*M + m] + sum_{a, c_} xp[n, i*S + a*D, j*S + c_*D, k] * w[a, c_, k, m]``

    Args:
        x: ``(N, H, W, C)``; w: ``(KH, KW, C, M)``; b: ``(C*M,)`` or None;
        stride, padding, dilation: as :func:`conv2d_forward`.

    Returns:
        out ``(N, H_out, W_out, C*M)``; cache ``(x, w, b, stride, pads, dilation)``.

    Example:
        >>> x = np.stack([np.ones((3, 3)), 2 * np.ones((3, 3))], axis=-1)[None]   # 2 channels
        >>> out, _ = depthwise_conv2d_forward(x, np.ones((3, 3, 2, 1)))
        >>> out.reshape(-1).tolist()                    # channel k only sees channel k
        [9.0, 18.0]
    """
    x = _check_array(x, "x", 4)
    w = _check_array(w, "w", 4)
    if x.shape[3] != w.shape[2]:
        raise ValueError("x's channels must equal w's channels (axis 2). "
                         f"Received: x.shape={x.shape}, w.shape={w.shape}")
    kh, kw, c, m = w.shape
    stride, dilation, pads, (h_out, w_out) = _conv_geometry(x.shape, (kh, kw), stride, padding, dilation)
    xp = pad2d(x, pads)
    out = np.zeros((x.shape[0], h_out, w_out, c, m), dtype=np.result_type(x, w))
    for i in range(h_out):
        for j in range(w_out):
            for a in range(kh):
                for c_ in range(kw):
                    pixel = xp[:, i * stride[0] + a * dilation[0], j * stride[1] + c_ * dilation[1], :]
                    out[:, i, j] += pixel[:, :, None] * w[a, c_]
    out = out.reshape(x.shape[0], h_out, w_out, c * m)
    if b is not None:
        out = out + np.asarray(b)
    return out, (x, w, b, stride, pads, dilation)


def depthwise_conv2d_backward(dout, cache):
    """Backward pass of :func:`depthwise_conv2d_forward`.

    Returns:
        dx ``(N, H, W, C)``, dw ``(KH, KW, C, M)``, db ``(C*M,)`` or None.
    """
    x, w, b, stride, pads, dilation = cache
    kh, kw, c, m = w.shape
    dout = np.asarray(dout, dtype=np.result_type(x, w))
    n, h_out, w_out, _ = dout.shape
    g_all = dout.reshape(n, h_out, w_out, c, m)
    xp = pad2d(x, pads)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(h_out):
        for j in range(w_out):
            g = g_all[:, i, j]                                     # (N, C, M)
            for a in range(kh):
                for c_ in range(kw):
                    r, cc = i * stride[0] + a * dilation[0], j * stride[1] + c_ * dilation[1]
                    dw[a, c_] += (xp[:, r, cc, :, None] * g).sum(axis=0)
                    dxp[:, r, cc, :] += (g * w[a, c_]).sum(axis=-1)
    dx = unpad2d(dxp, pads, x.shape[1:3])
    db = dout.sum(axis=(0, 1, 2)) if b is not None else None
    return dx, dw, db


# -------------------------------------------------------------------------- pooling
def _pool_geometry(x, pool_size, stride, padding):
    x = _check_array(x, "x", 4)
    pool = _positive_pair(pool_size, "pool_size")
    stride = pool if stride is None else _positive_pair(stride, "stride")
    if isinstance(padding, str) and padding.lower() not in ("valid", "same"):
        raise ValueError(f'padding must be "valid" or "same". Received: padding={padding!r}')
    pads = resolve_padding(padding, x.shape[1:3], pool, stride)
    out_hw = tuple(output_size(x.shape[1 + i], pool[i], pads[i], stride[i]) for i in range(2))
    return x, pool, stride, pads, out_hw


def maxpool2d_forward(x, pool_size=2, stride=None, padding="valid"):
    """Max pooling, naive loops.

    ``out[n, i, j, c] = max_{a < PH, b < PW} xp[n, i*S + a, j*S + b, c]`` where ``xp`` is
    padded with ``-inf`` (padding never wins).

    Args:
        x: ``(N, H, W, C)``.
        pool_size: int or ``(PH, PW)``.
        stride: int, pair or None (= pool_size, as Keras).
        padding: ``"valid"`` or ``"same"`` (or explicit ints).

    Returns:
        out ``(N, H_out, W_out, C)``, ``H_out = floor((H + pt + pb - PH) / SH) + 1``;
        cache ``(x, pool, stride, pads, argmax)`` where ``argmax[n, i, j, c]`` is the flat
        index ``a * PW + b`` of the winner in its window.

    Tie rule: when several pixels of a window share the maximum, the *first* one in
    row-major order (smallest ``a``, then smallest ``b``) is the winner and receives the
    whole gradient.

    Example:
        >>> x = np.array([[1.0, 1.0], [0.0, 1.0]]).reshape(1, 2, 2, 1)
        >>> out, cache = maxpool2d_forward(x, 2)
        >>> maxpool2d_backward(np.ones_like(out), cache)[0, :, :, 0].tolist()   # tie: first wins
        [[1.0, 0.0], [0.0, 0.0]]
    """
    x, pool, stride, pads, (h_out, w_out) = _pool_geometry(x, pool_size, stride, padding)
    xp = pad2d(x, pads, value=-np.inf)
    n, _, _, c = x.shape
    out = np.zeros((n, h_out, w_out, c), dtype=x.dtype)
    argmax = np.zeros((n, h_out, w_out, c), dtype=np.int64)
    for i in range(h_out):
        for j in range(w_out):
            window = xp[:, i * stride[0]:i * stride[0] + pool[0], j * stride[1]:j * stride[1] + pool[1], :]
            flat = window.reshape(n, -1, c)
            argmax[:, i, j, :] = flat.argmax(axis=1)             # first maximum wins ties
            out[:, i, j, :] = flat.max(axis=1)
    return out, (x, pool, stride, pads, argmax)


def maxpool2d_backward(dout, cache):
    """Backward of max pooling: each ``dout`` goes to its window's max (summed if overlapping).

    Args:
        dout: ``(N, H_out, W_out, C)``; cache: from :func:`maxpool2d_forward`.

    Returns:
        dx ``(N, H, W, C)``.
    """
    x, pool, stride, pads, argmax = cache
    dout = np.asarray(dout, dtype=x.dtype)
    dxp = np.zeros_like(pad2d(x, pads))
    n, h_out, w_out, c = dout.shape
    for nn in range(n):
        for i in range(h_out):
            for j in range(w_out):
                for k in range(c):
                    a, b = divmod(int(argmax[nn, i, j, k]), pool[1])
                    dxp[nn, i * stride[0] + a, j * stride[1] + b, k] += dout[nn, i, j, k]
    return unpad2d(dxp, pads, x.shape[1:3])


def avgpool2d_forward(x, pool_size=2, stride=None, padding="valid"):
    """Average pooling, naive loops; padded pixels are *not* counted (as TensorFlow).

    ``out[n, i, j, c] = mean of the real (non-padding) pixels of the window``.

    Args: as :func:`maxpool2d_forward`.

    Returns:
        out ``(N, H_out, W_out, C)``; cache ``(x, pool, stride, pads, count)`` with
        ``count[i, j]`` the number of real pixels in window ``(i, j)``.

    Example:
        >>> out, cache = avgpool2d_forward(np.ones((1, 3, 3, 1)), 2, padding="same")
        >>> out[0, :, :, 0].tolist(), cache[-1].tolist()   # padding is not averaged in
        ([[1.0, 1.0], [1.0, 1.0]], [[4.0, 2.0], [2.0, 1.0]])
    """
    x, pool, stride, pads, (h_out, w_out) = _pool_geometry(x, pool_size, stride, padding)
    xp = pad2d(x, pads)
    mask = pad2d(np.ones((x.shape[1], x.shape[2]), dtype=x.dtype), pads)
    out = np.zeros((x.shape[0], h_out, w_out, x.shape[3]), dtype=x.dtype)
    count = np.zeros((h_out, w_out), dtype=x.dtype)
    for i in range(h_out):
        for j in range(w_out):
            rows = slice(i * stride[0], i * stride[0] + pool[0])
            cols = slice(j * stride[1], j * stride[1] + pool[1])
            count[i, j] = mask[rows, cols].sum()
            out[:, i, j, :] = xp[:, rows, cols, :].sum(axis=(1, 2)) / count[i, j]
    return out, (x, pool, stride, pads, count)


def avgpool2d_backward(dout, cache):
    """Backward of average pooling: ``dout / count`` copied to every pixel of the window.

    Args and return value as :func:`maxpool2d_backward` (``cache`` from
    :func:`avgpool2d_forward`).
    """
    x, pool, stride, pads, count = cache
    dout = np.asarray(dout, dtype=x.dtype)
    dxp = np.zeros_like(pad2d(x, pads))
    h_out, w_out = dout.shape[1:3]
    for i in range(h_out):
        for j in range(w_out):
            share = dout[:, i, j, :] / count[i, j]
            dxp[:, i * stride[0]:i * stride[0] + pool[0], j * stride[1]:j * stride[1] + pool[1], :] += \
                share[:, None, None, :]
    return unpad2d(dxp, pads, x.shape[1:3])
