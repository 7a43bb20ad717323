"""Convolution and pooling ops whose gradients are written by hand (``tf.custom_gradient``).

The backward passes are the lecture's formulas, built only from TensorFlow *forward* ops
(``conv2d``, ``depthwise_conv2d``, ``matmul``, ``pad``, ``reverse``, ``reshape``,
``transpose``, ``depth_to_space``): no ``Conv2DBackprop*``, no ``conv2d_transpose``,
no autodiff of the forward.

- ``dL/dX = FullConv(rot180(F), dL/dO)``: ``dL/dO`` is zero-padded by ``K_eff - 1`` and
  cross-correlated with the rotated kernel (in/out channels swapped). With stride ``S``
  the lecture inserts ``S - 1`` zeros between the ``dL/dO`` pixels; we compute the same
  result without the zeros by *polyphase decomposition*: the pixels ``p = S*m + r`` of
  ``dL/dX`` (the padded *input*, not the output) in phase ``r`` are only reached through
  the kernel taps ``F[r::S]``, so one stride-1 convolution of ``dL/dO`` with the ``S*S``
  rotated sub-kernels stacked as output channels, then ``depth_to_space`` (the
  interleaving), gives the whole gradient without the S^2-fold work on inserted zeros.
- ``dL/dF = Conv(X, dL/dO)``: a correlation of the padded input with ``dL/dO`` as kernel.
  Per shape we choose between *im2col* (one matmul per kernel tap) and *batch-as-channel*
  (one convolution where the batch axis plays the channel axis). With stride ``S`` the
  padded input is split into its ``S*S`` phases (a reshape and a transpose), which turns
  the strided correlation into stride-1 ones.

All functions take NHWC tensors, kernels ``(KH, KW, C_in, C_out)`` (depthwise
``(KH, KW, C, M)``), and *explicit* paddings ``((top, bottom), (left, right))``; the layers
resolve ``"valid"`` / ``"same"`` with :func:`cnnlib.geometry.resolve_padding`. Names:
``dx``, ``dw``, ``db`` are only ever dL/dX, dL/dW, dL/db; dilations are ``dil_h, dil_w``.

Grouped convolution (``groups > 1``, ResNeXt) runs forward as one ``tf.nn.conv2d`` with the
grouped kernel; its backward applies the same two formulas to each group.
"""

import tensorflow as tf

__all__ = ["conv2d", "depthwise_conv2d", "max_pool2d", "avg_pool2d", "global_average_pool2d"]


def _ceil_div(a, b):
    return -(-a // b)


def _pad_nhwc(x, pads, value=0):
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    return tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], constant_values=value)


def _explicit(pads):
    """``((top, bottom), (left, right))`` as ``tf.nn.conv2d``'s explicit padding (no copy)."""
    (top, bottom), (left, right) = pads
    return [[0, 0], [top, bottom], [left, right], [0, 0]]


def _fit_rows_cols(x, height, width):
    """Crop or zero-pad the spatial axes of ``x`` (at the end) to ``(height, width)``."""
    h, w = x.shape[1], x.shape[2]
    x = x[:, :min(h, height), :min(w, width), :]
    if h < height or w < width:
        x = tf.pad(x, [[0, 0], [0, max(height - h, 0)], [0, max(width - w, 0)], [0, 0]])
    return x


def _phase_kernel(kernel, strides):
    """Split ``kernel`` (KH, KW, A, B) into its stride phases, rotated 180°.

    Returns ``(KA, KB, A, SH, SW, B)`` where ``out[a', b', :, r, q, :] =
    kernel[SH*(KA-1-a') + r, SW*(KB-1-b') + q]`` (zero where the index passes the kernel).
    """
    sh, sw = strides
    kh, kw, a, b = kernel.shape
    ka, kb = _ceil_div(kh, sh), _ceil_div(kw, sw)
    kernel = tf.pad(kernel, [[0, ka * sh - kh], [0, kb * sw - kw], [0, 0], [0, 0]])
    kernel = tf.reshape(kernel, [ka, sh, kb, sw, a, b])
    kernel = tf.reverse(kernel, axis=[0, 2])                      # rot180 of each phase
    return tf.transpose(kernel, [0, 2, 4, 1, 3, 5])               # (KA, KB, A, SH, SW, B)


def _rot180_swapped(kernel):
    """``rot180(F)`` with in/out channels swapped: ``(KH, KW, A, B) -> (KH, KW, B, A)``.

    One transpose of the whole kernel, then a reverse of the (contiguous) taps: cheaper
    than strided slices of the kernel followed by per-slice transposes.
    """
    return tf.reverse(tf.transpose(kernel, [0, 1, 3, 2]), axis=[0, 1])


def _window(x, top, height, left, width):
    """``x[:, top:top+height, left:left+width]``, zero-filled where it passes ``x``'s end."""
    h, w = x.shape[1], x.shape[2]
    x = x[:, top:min(h, top + height), left:min(w, left + width), :]
    missing_h, missing_w = top + height - max(h, top), left + width - max(w, left)
    if missing_h > 0 or missing_w > 0:
        x = tf.pad(x, [[0, 0], [0, max(missing_h, 0)], [0, max(missing_w, 0)], [0, 0]])
    return x


def _interleave_phases(y, strides, channels):
    """``(N, L1, L2, SH*SW*C)`` (phase-major channels) -> ``(N, L1*SH, L2*SW, C)``."""
    sh, sw = strides
    if sh == sw == 1:
        return y
    l1, l2 = y.shape[1], y.shape[2]
    if sh == sw:
        return tf.nn.depth_to_space(y, sh)
    y = tf.transpose(tf.reshape(y, [-1, l1, l2, sh, sw, channels]), [0, 1, 3, 2, 4, 5])
    return tf.reshape(y, [-1, l1 * sh, l2 * sw, channels])


def _polyphase_input_grad(dout, kernel, strides, dilation, pads, input_hw, channels, correlate):
    """dL/dX = FullConv(rot180(F), dL/dO), stride by polyphase; returns (N, H, W, channels).

    Shared by the full and the depthwise convolution, which differ only in ``correlate(
    dout, kernel, strides, dilation, pads)``: the stride-1 correlation of ``dL/dO``
    (zero-padded by ``pads``) with the rotated phase kernels of ``kernel``, output
    channels ordered ``(SH, SW, channels)``.

    ``FullConv`` pads ``dL/dO`` by ``K_eff - 1`` on each side (``K_eff`` of the phase
    kernels ``ceil(K / S)`` taps); with stride 1 the rows that would land on the input's
    padding are not computed (the pad is reduced by ``top``/``bottom``), otherwise the
    interleaved phases are cut to the input's window.
    """
    kh, kw = kernel.shape[0], kernel.shape[1]
    sh, sw = strides
    dil_h, dil_w = dilation
    (top, bottom), (left, right) = pads
    height, width = input_hw
    reach_h = dil_h * (_ceil_div(kh, sh) - 1)
    reach_w = dil_w * (_ceil_div(kw, sw) - 1)
    if sh == sw == 1:
        exact = ((reach_h - top, reach_h - bottom), (reach_w - left, reach_w - right))
        if min(min(p) for p in exact) >= 0:                       # the usual case: no crop
            return correlate(dout, kernel, strides, dilation, exact)
    y = correlate(dout, kernel, strides, dilation, ((reach_h, reach_h), (reach_w, reach_w)))
    return _window(_interleave_phases(y, strides, channels), top, height, left, width)


def _correlate_conv(dout, kernel, strides, dilation, pads):
    """:func:`_polyphase_input_grad`'s correlation for a full convolution."""
    kh, kw, c_in, c_out = kernel.shape
    sh, sw = strides
    ka, kb = _ceil_div(kh, sh), _ceil_div(kw, sw)
    if sh == sw == 1:
        return tf.nn.conv2d(dout, _rot180_swapped(kernel), 1, _explicit(pads),
                            dilations=list(dilation))
    if ka * kb * sh * sw <= 1.3 * kh * kw:
        # All S*S phase kernels (zero-padded to KA x KB) in one convolution.
        phases = _phase_kernel(kernel, strides)                   # (KA, KB, C_in, SH, SW, C_out)
        phases = tf.reshape(tf.transpose(phases, [0, 1, 5, 3, 4, 2]),
                            [ka, kb, c_out, sh * sw * c_in])
        return tf.nn.conv2d(dout, phases, 1, _explicit(pads), dilations=list(dilation))
    # One convolution per phase with its exact sub-kernel F[r::SH, q::SW] (no zero taps);
    # here dilation is 1 (stride > 1) and ``pads`` is the full reach ``(KA-1, KB-1)``.
    (top, bottom), (left, right) = pads
    # Tap (a, b) of rot180(F), channels swapped: rotated[kh-1-a, kw-1-b] = F[a, b]^T. The
    # sub-kernel of phase (r, q) is F[r::SH, q::SW] rotated, i.e. these taps restacked
    # (slices of whole taps are contiguous; strided slices of the kernel are slow on CPU).
    rotated = _rot180_swapped(kernel)
    outputs = []
    for r in range(sh):
        for q in range(sw):
            rows = [kh - 1 - a for a in reversed(range(r, kh, sh))]
            cols = [kw - 1 - b for b in reversed(range(q, kw, sw))]
            kr, kq = len(rows), len(cols)
            if kr == 0 or kq == 0:                # a phase no tap reaches (phase (0, 0) has taps)
                outputs.append(tf.zeros_like(outputs[0]))
                continue
            sub = tf.stack([tf.stack([rotated[i, j] for j in cols]) for i in rows])
            sub_pads = ((top - (ka - kr), bottom), (left - (kb - kq), right))
            outputs.append(tf.nn.conv2d(dout, sub, 1, _explicit(sub_pads)))
    return tf.concat(outputs, axis=-1)                            # (N, L1, L2, SH*SW*C_in)


def _depthwise_forward(x, kernel, strides, pads, dilation):
    """tf.nn.depthwise_conv2d on the zero-padded input. (Its explicit-padding form aborts
    in TF 2.21's oneDNN graph rewrite, so the pad is a separate op.)"""
    return tf.nn.depthwise_conv2d(_pad_nhwc(x, pads), kernel, [1, strides[0], strides[1], 1],
                                  "VALID", dilations=list(dilation))


def _correlate_depthwise(dout, kernel, strides, dilation, pads):
    """:func:`_polyphase_input_grad`'s correlation for a depthwise convolution."""
    kh, kw, c, m = kernel.shape
    sh, sw = strides
    ka, kb = _ceil_div(kh, sh), _ceil_div(kw, sw)
    phases = _phase_kernel(kernel, strides)                       # (KA, KB, C, SH, SW, M)
    phases = tf.reshape(tf.transpose(phases, [0, 1, 2, 5, 3, 4]), [ka, kb, c * m, sh * sw])
    y = _depthwise_forward(dout, phases, (1, 1), pads, dilation)  # channels (C, M, SH, SW)
    l1, l2 = y.shape[1], y.shape[2]
    if m > 1:                                                     # each x channel feeds M outputs
        y = tf.reduce_sum(tf.reshape(y, [-1, l1, l2, c, m, sh * sw]), axis=4)
    if sh * sw == 1:
        return tf.reshape(y, [-1, l1, l2, c])
    y = tf.transpose(tf.reshape(y, [-1, l1, l2, c, sh * sw]), [0, 1, 2, 4, 3])
    return tf.reshape(y, [-1, l1, l2, sh * sw * c])               # channels (SH, SW, C)


def _choose_filter_grad_method(xp_shape, dout_shape, kernel_hw):
    """Pick the faster way to compute dL/dF for one shape (see benchmarks/conv_gradient.py).

    Few input channels with many taps (LeNet conv1, AlexNet conv1) make each per-tap
    matmul too thin: there one batch-as-channel convolution wins. Maps under 8x8 (ResNet's
    4x4 stage at CIFAR size, 7x7 at ImageNet size) waste most of the shifted-rows im2col on
    the padding border (a 4x4 map padded to 6x6 computes 36 rows for 16 outputs): there the
    explicit patch matrix, one matmul, wins while it stays small. From 8x8 up (10x10 rows
    for 64 outputs) im2col over the whole batch is faster than copying the patches.
    """
    kh, kw = kernel_hw
    if xp_shape[3] < 8 and kh * kw > 9:
        return "batch_as_channel"
    n, ho, wo = dout_shape[0], dout_shape[1], dout_shape[2]
    if (kh * kw > 1 and None not in (n, ho, wo) and ho * wo < 64
            and n * ho * wo * kh * kw * xp_shape[3] * 4 <= _PATCH_BYTES):
        return "patches"
    return "im2col"


_PATCH_BYTES = 64 << 20     # largest explicit patch matrix (float32) for "patches"


def _filter_grad_patches(xp, dout, kernel_hw, strides, dilation):
    """dL/dF = Patches(Xp)^T @ dL/dO: the textbook im2col, one matmul.

    ``tf.image.extract_patches`` (a forward op) lays every receptive field of the padded
    input out as a row ``(KH*KW*C_in)``, in the same ``(a, b, c)`` order as the kernel.
    """
    kh, kw = kernel_hw
    c_in, c_out = xp.shape[3], dout.shape[3]
    patches = tf.image.extract_patches(xp, [1, kh, kw, 1], [1, *strides, 1],
                                       [1, *dilation, 1], "VALID")
    patches = tf.reshape(patches, [-1, kh * kw * c_in])
    dw = tf.matmul(patches, tf.reshape(dout, [-1, c_out]), transpose_a=True)
    return tf.reshape(dw, [kh, kw, c_in, c_out])


_CHUNK_BYTES = 1 << 20      # rows of X and dL/dO processed together (fits in cache)
_WHOLE_BATCH_BYTES = 32 << 20   # up to this size (X and dL/dO), no chunks: one matmul per tap


_STACKED_MAX = 64    # up to this many rows of dL/dF (KH*KW*C_in), stack the taps' rows


def _filter_grad_stacked(x_rows, g_rows, kernel_hw, wp, dilation):
    """Stride-1 im2col for few input channels (a 3-channel RGB stem): one matmul.

    Per-tap matmuls with ``C_in = 3`` rows are too thin; here the taps' shifted row slices
    of ``Xp`` are laid side by side, ``(rows, KH*KW*C_in)``, and multiplied once by
    ``dL/dO``'s rows. The last ``max shift`` rows of ``dL/dO`` (zero-padded to ``Xp``'s
    grid) are zero, so every tap can stop at the same row.
    """
    kh, kw = kernel_hw
    c_in, c_out = x_rows.shape[1], g_rows.shape[1]
    shifts = [a * dilation[0] * wp + b * dilation[1] for a in range(kh) for b in range(kw)]
    length = x_rows.shape[0] - shifts[-1]
    stacked = tf.concat([x_rows[shift:shift + length] for shift in shifts], axis=1)
    dw = tf.matmul(stacked, g_rows[:length], transpose_a=True)     # (KH*KW*C_in, C_out)
    return tf.reshape(dw, [kh, kw, c_in, c_out])


def _filter_grad_im2col(xp, dout, kernel_hw, strides, dilation):
    """dL/dF by im2col without copies, in cache-sized chunks of images (see _filter_grad_conv)."""
    kh, kw = kernel_hw
    sh, sw = strides
    dil_h, dil_w = dilation
    c_in, c_out = xp.shape[3], dout.shape[3]
    h_out, w_out = dout.shape[1], dout.shape[2]
    if sh == sw == 1:
        hp, wp = xp.shape[1], xp.shape[2]
    else:
        hp, wp = h_out + _ceil_div(kh, sh) - 1, w_out + _ceil_div(kw, sw) - 1
        xp = _fit_rows_cols(xp, hp * sh, wp * sw)
    g_all = _pad_nhwc(dout, ((0, hp - h_out), (0, wp - w_out)))

    def taps_of(x_phases, g, rows):
        """x_phases: list of (rows, C_in), g (rows, C_out) -> (KH*KW, C_in, C_out).

        2-D tensors only: a row slice ``x[shift:]`` of a 2-D tensor is a view, while an
        indexed slice ``x[phase, shift:]`` of a 3-D one is copied for every tap.
        """
        taps = []
        for a in range(kh):
            for b in range(kw):
                if sh == sw == 1:
                    phase, shift = 0, a * dil_h * wp + b * dil_w
                else:
                    phase, shift = (a % sh) * sw + b % sw, (a // sh) * wp + b // sw
                taps.append(tf.matmul(x_phases[phase][shift:], g[:rows - shift],
                                      transpose_a=True))
        return tf.stack(taps)

    if sh * sw > 1 and kh * kw == 1:
        # Strided 1x1 (ResNet's projection shortcuts): only phase (0, 0) is read. A reshape
        # and a plain slice pick it (a strided slice is several times slower on CPU).
        xp = _fit_rows_cols(xp, h_out * sh, w_out * sw)
        x_rows = tf.reshape(tf.reshape(xp, [-1, h_out, sh, w_out, sw * c_in])[:, :, 0, :, :c_in],
                            [-1, c_in])
        return tf.reshape(tf.matmul(x_rows, tf.reshape(dout, [-1, c_out]), transpose_a=True),
                          [1, 1, c_in, c_out])
    if sh * sw > 1:
        # Strided: one pass over the whole batch (the phase split already reorders Xp).
        ph = tf.reshape(xp, [-1, hp, sh, wp, sw, c_in])
        x_phases = tf.unstack(tf.reshape(tf.transpose(ph, [2, 4, 0, 1, 3, 5]),
                                         [sh * sw, -1, c_in]))
        rows = g_all.shape[0] * hp * wp if g_all.shape[0] is not None else tf.shape(x_phases[0])[0]
        dw_taps = taps_of(x_phases, tf.reshape(g_all, [-1, c_out]), rows)
        return tf.reshape(dw_taps, [kh, kw, c_in, c_out])
    if kh * kw == 1:                                               # 1x1: a single matmul
        return tf.reshape(tf.matmul(tf.reshape(xp, [-1, c_in]), tf.reshape(g_all, [-1, c_out]),
                                    transpose_a=True), [1, 1, c_in, c_out])
    n = xp.shape[0]
    per_image = hp * wp * (c_in + c_out) * xp.dtype.size
    if n is not None and n * per_image <= _WHOLE_BATCH_BYTES:
        # Stride 1, small maps (ResNet's CIFAR stages): one matmul per tap over the whole
        # batch; splitting it into chunks costs more (tf.map_fn, tiny matmuls) than it saves.
        rows = n * hp * wp
        if c_in * kh * kw <= _STACKED_MAX:
            return _filter_grad_stacked(tf.reshape(xp, [rows, c_in]),
                                        tf.reshape(g_all, [rows, c_out]), kernel_hw, wp, dilation)
        return tf.reshape(taps_of([tf.reshape(xp, [rows, c_in])],
                                  tf.reshape(g_all, [rows, c_out]), rows),
                          [kh, kw, c_in, c_out])
    # Stride 1, large maps: a few images at a time, so that all taps reuse the chunk while
    # in cache.
    chunk = max(1, _CHUNK_BYTES // per_image)
    if n is not None:
        chunk = min(chunk, n)
    if n is None or n % chunk:                                     # pad the batch to whole chunks
        extra = (-tf.shape(xp)[0]) % chunk
        xp = tf.pad(xp, [[0, extra], [0, 0], [0, 0], [0, 0]])
        g_all = tf.pad(g_all, [[0, extra], [0, 0], [0, 0], [0, 0]])
    rows = chunk * hp * wp
    x_chunks = tf.reshape(xp, [-1, rows, c_in])                   # (chunks, rows, C_in)
    g_chunks = tf.reshape(g_all, [-1, rows, c_out])
    per_chunk = tf.map_fn(lambda args: taps_of([args[0]], args[1], rows), (x_chunks, g_chunks),
                          fn_output_signature=xp.dtype, parallel_iterations=2)
    return tf.reshape(tf.reduce_sum(per_chunk, axis=0), [kh, kw, c_in, c_out])


def _filter_grad_shared_border(x, dout, pads, kernel_hw, dilation):
    """Stride-1 im2col (see :func:`_filter_grad_conv`) on a grid with a shared zero border.

    Flattened row by row, the right border of one image row and the left border of the
    next are adjacent, and so are the bottom rows of one image and the top rows of the next:
    ``max(left, right)`` zero columns and ``max(top, bottom)`` zero rows, appended at the
    end, serve as both (a tap reaching left of column 0 reads the previous row's zeros).
    Tap ``(a, b)`` then reads ``X`` shifted by ``(a*DH - top) * Wl + (b*DW - left)`` rows
    (negative: the first rows, which only meet padding, are dropped). On ResNet's 8x8 maps
    that is 9x9 rows per image instead of 10x10. Returns None where it does not apply.
    """
    (top, bottom), (left, right) = pads
    n, h, w, c_in = x.shape
    h_out, w_out, c_out = dout.shape[1], dout.shape[2], dout.shape[3]
    kh, kw = kernel_hw
    eh, ew = max(top, bottom), max(left, right)
    hl, wl = h + eh, w + ew
    if n is None or h_out > hl or w_out > wl:
        return None
    rows = n * hl * wl
    x_rows = tf.reshape(_pad_nhwc(x, ((0, eh), (0, ew))), [rows, c_in])
    g_rows = tf.reshape(_pad_nhwc(dout, ((0, hl - h_out), (0, wl - w_out))), [rows, c_out])
    taps = []
    for a in range(kh):
        for b in range(kw):
            shift = (a * dilation[0] - top) * wl + (b * dilation[1] - left)
            if shift >= 0:
                taps.append(tf.matmul(x_rows[shift:], g_rows[:rows - shift], transpose_a=True))
            else:
                taps.append(tf.matmul(x_rows[:rows + shift], g_rows[-shift:], transpose_a=True))
    return tf.reshape(tf.stack(taps), [kh, kw, c_in, c_out])


def _filter_grad_conv(x, dout, kernel_hw, strides, dilation, method=None, pads=((0, 0), (0, 0))):
    """dL/dF = Conv(Xp, dL/dO) for a full conv (``Xp``: ``x`` padded by ``pads``); returns
    (KH, KW, C_in, C_out).

    ``method``: ``"im2col"``, ``"batch_as_channel"``, ``"patches"`` or None (chosen per
    shape, see :func:`_choose_filter_grad_method`).

    im2col without the copies: with ``Xp`` (one stride phase of it) flattened to rows
    ``(N*Hp*Wp, C_in)`` and ``dL/dO`` zero-padded to ``(N, Hp, Wp, C_out)`` and flattened,
    kernel tap ``(a, b)`` reads the rows shifted by ``a*Wp + b``, so
    ``dw[a, b] = Xp_rows[shift:]^T @ dO_rows[:len - shift]``: one matmul per tap on
    contiguous slices (the padded rows of ``dL/dO`` are zero, so wrapped rows add nothing).
    Small maps (ResNet at CIFAR size) take the whole batch at once, on a grid with a shared
    zero border (:func:`_filter_grad_shared_border`); large ones (VGG at 56x56) go a few
    images at a time (``tf.map_fn``) so that all taps reuse the chunk while it is in cache;
    with stride, each tap reads its phase of ``Xp``.
    """
    kh, kw = kernel_hw
    sh, sw = strides
    dil_h, dil_w = dilation
    (top, bottom), (left, right) = pads
    c_in, c_out = x.shape[3], dout.shape[3]
    h_out, w_out = dout.shape[1], dout.shape[2]
    xp_shape = (x.shape[0], x.shape[1] + top + bottom, x.shape[2] + left + right, c_in)
    method = method or _choose_filter_grad_method(xp_shape, dout.shape, kernel_hw)
    if method not in ("im2col", "batch_as_channel", "patches"):
        raise ValueError('method must be "im2col", "batch_as_channel", "patches" or None. '
                         f"Received: method={method!r}")
    if (method == "im2col" and sh == sw == 1 and kh * kw > 1 and c_in * kh * kw > _STACKED_MAX
            and None not in xp_shape
            and xp_shape[0] * xp_shape[1] * xp_shape[2] * (c_in + c_out) * 4 <= _WHOLE_BATCH_BYTES):
        dw = _filter_grad_shared_border(x, dout, pads, kernel_hw, dilation)
        if dw is not None:
            return dw
    xp = _pad_nhwc(x, pads)
    ka, kb = _ceil_div(kh, sh), _ceil_div(kw, sw)
    if method == "patches":
        return _filter_grad_patches(xp, dout, kernel_hw, strides, dilation)
    if method == "im2col":
        return _filter_grad_im2col(xp, dout, kernel_hw, strides, dilation)
    if sh == sw == 1:
        hp, wp = xp.shape[1], xp.shape[2]
        phases = xp[None, None]                                   # (1, 1, N, Hp, Wp, C_in)
    else:                                                          # the S*S phases of Xp
        hp, wp = h_out + ka - 1, w_out + kb - 1
        ph = tf.reshape(_fit_rows_cols(xp, hp * sh, wp * sw), [-1, hp, sh, wp, sw, c_in])
        phases = tf.transpose(ph, [2, 4, 0, 1, 3, 5])             # (SH, SW, N, hp, wp, C_in)
    # batch-as-channel: the batch axis becomes the channel axis of one stride-1
    # convolution whose kernel is dL/dO (one per phase, stacked on the "batch" axis).
    kt = tf.transpose(dout, [1, 2, 0, 3])                         # (Ho, Wo, N, C_out)
    xt = tf.transpose(phases, [0, 1, 5, 3, 4, 2])                 # (SH, SW, C_in, hp, wp, N)
    xt = tf.reshape(xt, [sh * sw * c_in, hp, wp, -1])
    dwt = tf.nn.conv2d(xt, kt, [dil_h, dil_w], "VALID")                 # (SH*SW*C_in, >=KA, >=KB, C_out)
    dwt = tf.reshape(dwt[:, :ka, :kb], [sh, sw, c_in, ka, kb, c_out])
    dwt = tf.reshape(tf.transpose(dwt, [3, 0, 4, 1, 2, 5]), [ka * sh, kb * sw, c_in, c_out])
    return dwt[:kh, :kw]


def conv2d(x, kernel, bias=None, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1),
           filter_grad_method=None):
    """Cross-correlation with a hand-written gradient (grouped when ``C_in > kernel's``).

    Args:
        x: ``(N, H, W, C_in)`` float tensor (static H, W).
        kernel: ``(KH, KW, C_in / G, C_out)``: ``G = C_in / kernel.shape[2]`` groups, each
            mapping its ``C_in / G`` input channels to ``C_out / G`` output channels.
        bias: ``(C_out,)`` or None.
        strides, dilation: pairs of ints (not both > 1).
        pads: ``((top, bottom), (left, right))``.
        filter_grad_method: ``"im2col"``, ``"batch_as_channel"``, ``"patches"`` or None
            (per shape).

    Returns:
        ``(N, H_out, W_out, C_out)``, ``H_out = (H + top + bottom - DH(KH-1) - 1) // SH + 1``.
    """
    strides, dilation = tuple(strides), tuple(dilation)
    kh, kw, group_in, c_out = kernel.shape
    groups = x.shape[-1] // group_in

    def grad_one_group(x, kernel, dout):
        dx = _polyphase_input_grad(dout, kernel, strides, dilation, pads, x.shape[1:3],
                                   kernel.shape[2], _correlate_conv)
        dw = _filter_grad_conv(x, dout, (kh, kw), strides, dilation, filter_grad_method, pads)
        return dx, dw

    def forward(x, kernel, *bias):
        out = tf.nn.conv2d(x, kernel, strides, _explicit(pads), dilations=dilation)
        if bias:
            out = tf.nn.bias_add(out, bias[0])

        def grad(dout):
            if groups == 1:
                dx, dw = grad_one_group(x, kernel, dout)
            else:                                   # the same formulas, group by group
                per_group = [grad_one_group(xg, kg, dg) for xg, kg, dg in zip(
                    tf.split(x, groups, axis=-1), tf.split(kernel, groups, axis=-1),
                    tf.split(dout, groups, axis=-1))]
                dx = tf.concat([g[0] for g in per_group], axis=-1)
                dw = tf.concat([g[1] for g in per_group], axis=-1)
            return _with_bias_grad(dx, dw, dout, bias)

        return out, grad

    return _call_with_custom_gradient(forward, x, kernel, bias)


def _with_bias_grad(dx, dw, dout, bias):
    """The gradients a convolution's ``grad`` returns: ``dL/db = sum(dL/dO)`` when it has a bias."""
    if bias:
        return dx, dw, tf.reduce_sum(dout, axis=[0, 1, 2])
    return dx, dw


def _call_with_custom_gradient(forward, x, kernel, bias):
    """``tf.custom_gradient(forward)`` on ``(x, kernel[, bias])``."""
    args = (x, kernel) if bias is None else (x, kernel, bias)
    return tf.custom_gradient(forward)(*args)


def _filter_grad_depthwise(xp, dout, kernel_shape, strides, dilation):
    """dL/dF = Conv(Xp, dL/dO) channel by channel; returns (KH, KW, C, M).

    Batch-as-channel: ``(n, c)`` pairs become the channels of one depthwise convolution
    whose kernel is ``dL/dO`` (then summed over ``n``); with stride the ``S*S`` phases of
    ``Xp`` are stacked on the batch axis, as in :func:`_filter_grad_conv`.
    """
    kh, kw, c, m = kernel_shape
    sh, sw = strides
    dil_h, dil_w = dilation
    h_out, w_out = dout.shape[1], dout.shape[2]
    ka, kb = _ceil_div(kh, sh), _ceil_div(kw, sw)
    if sh == sw == 1:
        hp, wp = xp.shape[1], xp.shape[2]
        phases = xp[None]                                         # (1, N, Hp, Wp, C)
    else:
        hp, wp = h_out + ka - 1, w_out + kb - 1
        ph = tf.reshape(_fit_rows_cols(xp, hp * sh, wp * sw), [-1, hp, sh, wp, sw, c])
        phases = tf.reshape(tf.transpose(ph, [2, 4, 0, 1, 3, 5]), [sh * sw, -1, hp, wp, c])
    xt = tf.reshape(tf.transpose(phases, [0, 2, 3, 1, 4]), [sh * sw, hp, wp, -1])  # (P, hp, wp, N*C)
    kt = tf.transpose(tf.reshape(dout, [-1, h_out, w_out, c, m]), [1, 2, 0, 3, 4])
    kt = tf.reshape(kt, [h_out, w_out, -1, m])                    # (Ho, Wo, N*C, M)
    # The kernel's dilation is the *stride* of this correlation (tap a reads Xp[a * D]).
    # tf.nn.depthwise_conv2d only takes equal strides along H and W: with unequal
    # dilations, correlate at stride 1 and subsample.
    if dil_h == dil_w:
        y = tf.nn.depthwise_conv2d(xt, kt, [1, dil_h, dil_h, 1], "VALID")
    else:
        y = tf.nn.depthwise_conv2d(xt, kt, [1, 1, 1, 1], "VALID")[:, ::dil_h, ::dil_w]
    y = tf.reshape(y[:, :ka, :kb], [sh, sw, ka, kb, -1, c, m])
    y = tf.reduce_sum(y, axis=4)                                  # sum over the batch
    y = tf.reshape(tf.transpose(y, [2, 0, 3, 1, 4, 5]), [ka * sh, kb * sw, c, m])
    return y[:kh, :kw]


def depthwise_conv2d(x, kernel, bias=None, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1)):
    """Depthwise cross-correlation with a hand-written gradient.

    Args:
        x: ``(N, H, W, C)``; kernel: ``(KH, KW, C, M)``; bias: ``(C*M,)`` or None;
        strides, pads, dilation: as :func:`conv2d`.

    Returns:
        ``(N, H_out, W_out, C*M)``, channel ``c*M + m`` from filter ``kernel[..., c, m]``.
    """
    strides, dilation = tuple(strides), tuple(dilation)
    kh, kw, c, m = kernel.shape

    def forward(x, kernel, *bias):
        out = _depthwise_forward(x, kernel, strides, pads, dilation)
        if bias:
            out = tf.nn.bias_add(out, bias[0])

        def grad(dout):
            dx = _polyphase_input_grad(dout, kernel, strides, dilation, pads, x.shape[1:3], c,
                                       _correlate_depthwise)
            dw = _filter_grad_depthwise(_pad_nhwc(x, pads), dout, (kh, kw, c, m), strides,
                                        dilation)
            return _with_bias_grad(dx, dw, dout, bias)

        return out, grad

    return _call_with_custom_gradient(forward, x, kernel, bias)


def _window_taps(xp, pool, strides, out_hw):
    """The ``PH*PW`` strided slices of ``xp``: tap ``(a, b)`` is ``xp[:, a::SH, b::SW]`` cut to ``out_hw``."""
    (ph, pw), (sh, sw), (ho, wo) = pool, strides, out_hw
    return [[xp[:, a:a + sh * (ho - 1) + 1:sh, b:b + sw * (wo - 1) + 1:sw, :] for b in range(pw)]
            for a in range(ph)]


def _scatter_taps(taps, strides, padded_hw):
    """Inverse of :func:`_window_taps`: sum every tap ``(a, b)`` back at ``xp[:, a + SH*i, b + SW*j]``.

    Tap ``a = SH*u + r`` lands in row phase ``r`` shifted by ``u``: each phase is a sum of
    shifted taps, and the phases are interleaved (polyphase, no zero insertion).
    """
    (sh, sw) = strides
    ph, pw = len(taps), len(taps[0])
    ho, wo = taps[0][0].shape[1], taps[0][0].shape[2]
    ka, kb = _ceil_div(ph, sh), _ceil_div(pw, sw)
    phase_rows = []
    for r in range(sh):
        phase_cols = []
        for q in range(sw):
            acc = None
            for a in range(r, ph, sh):
                for b in range(q, pw, sw):
                    u, v = a // sh, b // sw
                    t = tf.pad(taps[a][b], [[0, 0], [u, ka - 1 - u], [v, kb - 1 - v], [0, 0]])
                    acc = t if acc is None else acc + t
            if acc is None:
                acc = tf.zeros_like(tf.pad(taps[0][0], [[0, 0], [0, ka - 1], [0, kb - 1], [0, 0]]))
            phase_cols.append(acc)
        phase_rows.append(tf.stack(phase_cols, axis=3))            # (N, L1, L2, SW, C)
    y = tf.stack(phase_rows, axis=2)                               # (N, L1, SH, L2, SW, C)
    l1, l2, c = ho + ka - 1, wo + kb - 1, y.shape[-1]
    y = tf.reshape(y, [-1, l1 * sh, l2 * sw, c])
    return _fit_rows_cols(y, *padded_hw)


def max_pool2d(x, pool=(2, 2), strides=(2, 2), pads=((0, 0), (0, 0))):
    """Max pooling with a hand-written gradient routed to the maximum.

    Tie rule: in each window the first maximum in row-major order gets the whole gradient
    (the others get 0); overlapping windows add their gradients.

    Args:
        x: ``(N, H, W, C)``; pool, strides: pairs; pads: explicit (padding never wins).

    Returns:
        ``(N, H_out, W_out, C)``.
    """
    pool, strides = tuple(pool), tuple(strides)

    @tf.custom_gradient
    def forward(x):
        xp = _pad_nhwc(x, pads, value=x.dtype.min)
        out = tf.nn.max_pool2d(xp, pool, strides, "VALID")

        def grad(dout):
            taps = _window_taps(xp, pool, strides, out.shape[1:3])
            taken = None
            routed = []
            for row in taps:
                routed_row = []
                for tap in row:
                    winner = tf.equal(tap, out)
                    if taken is None:
                        taken = winner
                    else:
                        winner = tf.logical_and(winner, tf.logical_not(taken))
                        taken = tf.logical_or(taken, winner)
                    routed_row.append(tf.where(winner, dout, tf.zeros_like(dout)))
                routed.append(routed_row)
            dxp = _scatter_taps(routed, strides, xp.shape[1:3])
            (top, _), (left, _) = pads
            return dxp[:, top:top + x.shape[1], left:left + x.shape[2], :]

        return out, grad

    return forward(x)


def avg_pool2d(x, pool=(2, 2), strides=(2, 2), pads=((0, 0), (0, 0))):
    """Average pooling (padding not counted) with a hand-written gradient.

    Each window's gradient ``dL/dO / count`` is copied to every real pixel it averaged.

    Args / Returns: as :func:`max_pool2d`.
    """
    pool, strides = tuple(pool), tuple(strides)

    @tf.custom_gradient
    def forward(x):
        xp = _pad_nhwc(x, pads)
        ones = _pad_nhwc(tf.ones([1, x.shape[1], x.shape[2], 1], x.dtype), pads)
        count = tf.nn.avg_pool2d(ones, pool, strides, "VALID") * (pool[0] * pool[1])
        out = tf.nn.avg_pool2d(xp, pool, strides, "VALID") * ((pool[0] * pool[1]) / count)

        def grad(dout):
            share = dout / count
            taps = [[share] * pool[1] for _ in range(pool[0])]
            dxp = _scatter_taps(taps, strides, xp.shape[1:3])
            (top, _), (left, _) = pads
            return dxp[:, top:top + x.shape[1], left:left + x.shape[2], :]

        return out, grad

    return forward(x)


def global_average_pool2d(x, keepdims=False):
    """Mean over H and W with a hand-written gradient (``dL/dO / (H*W)`` everywhere).

    Args:
        x: ``(N, H, W, C)``.

    Returns:
        ``(N, C)`` or ``(N, 1, 1, C)`` with ``keepdims``.
    """

    @tf.custom_gradient
    def forward(x):
        out = tf.reduce_mean(x, axis=[1, 2], keepdims=keepdims)

        def grad(dout):
            h, w = x.shape[1], x.shape[2]
            g = dout if keepdims else dout[:, None, None, :]
            return tf.broadcast_to(g / (h * w), tf.shape(x))

        return out, grad

    return forward(x)
