"""Numeric gradients by central differences and the relative error, as students use them.

CS231n style: ``numeric_gradient(f, x, dout)`` perturbs every entry of ``x`` by ``±h`` and
returns ``sum(dout * (f(x + h) - f(x - h)) / 2h)``; :func:`rel_error` compares it with an
analytic gradient. Work in float64 (``h = 1e-5``): float32 round-off would swamp the
differences. Typical relative errors: < 1e-7 correct, > 1e-2 wrong.

Example:
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> g = numeric_gradient(lambda v: (v ** 2).sum(), x)
    >>> rel_error(g, 2 * x) < 1e-8
    True
"""

import numpy as np

__all__ = ["numeric_gradient", "rel_error", "check_gradients", "check_layer_gradients"]


def _as_float64(x, name):
    array = np.asarray(x)
    if array.dtype != np.float64:
        if not np.issubdtype(array.dtype, np.number):
            raise TypeError(f"{name} must be numeric. Received: {name}.dtype={array.dtype}")
        array = array.astype(np.float64)
    return array


def numeric_gradient(f, x, dout=None, h=1e-5):
    """Central-difference gradient of ``sum(dout * f(x))`` with respect to ``x``.

    Args:
        f: function of one array returning a scalar or an array (NumPy or TensorFlow).
        x: the point, any shape; modified in place during the evaluation and restored.
        dout: upstream gradient with ``f(x)``'s shape; None means ones (so a scalar
            ``f`` gives its plain gradient).
        h: the step (positive).

    Returns:
        float64 array with ``x``'s shape: ``dL/dx[i] ≈ sum(dout * (f(x+h e_i) - f(x-h e_i))) / 2h``.

    Raises:
        ValueError: ``h`` not positive or ``dout`` of the wrong shape.
    """
    if not h > 0:
        raise ValueError(f"h must be positive. Received: h={h!r}")
    x = _as_float64(x, "x") if not (isinstance(x, np.ndarray) and x.dtype == np.float64) else x
    y0 = np.asarray(f(x), dtype=np.float64)
    dout = np.ones_like(y0) if dout is None else _as_float64(dout, "dout")
    if dout.shape != y0.shape:
        raise ValueError(f"dout must have f(x)'s shape {y0.shape}. Received: dout.shape={dout.shape}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = np.asarray(f(x), dtype=np.float64)
        x[i] = old - h
        minus = np.asarray(f(x), dtype=np.float64)
        x[i] = old
        grad[i] = np.sum(dout * (plus - minus)) / (2 * h)
        it.iternext()
    return grad


def rel_error(a, b, eps=1e-8):
    """Max relative error ``max |a - b| / max(eps, |a| + |b|)`` (elementwise, CS231n).

    Args:
        a, b: arrays of the same shape.

    Returns:
        float.
    """
    a, b = _as_float64(a, "a"), _as_float64(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape. Received: a.shape={a.shape}, b.shape={b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(eps, np.abs(a) + np.abs(b))))


def check_gradients(f, inputs, dout=None, h=1e-5, seed=0):
    """Compare TensorFlow's gradients of ``f`` (autodiff through any custom gradients) with
    numeric ones, in float64.

    Args:
        f: function of ``len(inputs)`` tensors returning one tensor.
        inputs: list of arrays (cast to float64).
        dout: upstream gradient for ``f``'s output; None draws one from a seeded normal.
        h: the finite-difference step.
        seed: seed for ``dout``.

    Returns:
        list of relative errors, one per input.
    """
    import tensorflow as tf

    arrays = [_as_float64(v, f"inputs[{k}]").copy() for k, v in enumerate(inputs)]
    tensors = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        y = f(*tensors)
    if dout is None:
        dout = np.random.default_rng(seed).normal(size=tuple(y.shape))
    dout_t = tf.constant(_as_float64(dout, "dout"))
    analytic = tape.gradient(y, tensors, output_gradients=dout_t)
    errors = []
    for k, a in enumerate(arrays):
        def f_k(v, k=k):
            args = [tf.constant(v) if j == k else tensors[j] for j in range(len(arrays))]
            return f(*args).numpy()
        numeric = numeric_gradient(f_k, a, dout, h)
        got = np.zeros_like(a) if analytic[k] is None else np.asarray(analytic[k])
        errors.append(rel_error(got, numeric))
    return errors


def check_layer_gradients(layer, x, h=1e-5, seed=0):
    """Gradient check of a Keras layer in float64: the input and every trainable weight.

    The layer must compute in float64 (create it with ``dtype="float64"``).

    Args:
        layer: a Keras layer (built on first call).
        x: input array.
        h: the finite-difference step.
        seed: seed for the upstream gradient.

    Returns:
        dict ``{"inputs": err, "<weight name>": err, ...}`` of relative errors.

    Raises:
        TypeError: if the layer does not compute in float64.
    """
    import tensorflow as tf

    if getattr(layer, "compute_dtype", "float64") != "float64":
        raise TypeError("check_layer_gradients needs a float64 layer (dtype='float64'). "
                        f"Received: layer.compute_dtype={layer.compute_dtype}")
    x = _as_float64(x, "x").copy()
    y = layer(tf.constant(x))
    dout = np.random.default_rng(seed).normal(size=tuple(y.shape))
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
    grads = tape.gradient(y, [xt] + list(layer.trainable_weights),
                          output_gradients=tf.constant(dout))
    errors = {"inputs": rel_error(grads[0], numeric_gradient(
        lambda v: layer(tf.constant(v)).numpy(), x, dout, h))}
    for weight, analytic in zip(layer.trainable_weights, grads[1:]):
        value = np.array(weight.numpy(), dtype=np.float64)

        def f_w(v, weight=weight):
            weight.assign(v)
            return layer(tf.constant(x)).numpy()

        numeric = numeric_gradient(f_w, value, dout, h)
        weight.assign(value)
        errors[weight.path if hasattr(weight, "path") else weight.name] = rel_error(analytic, numeric)
    return errors
