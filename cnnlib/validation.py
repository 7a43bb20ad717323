"""One set of rules for cnnlib's arguments (as Keras' ``utils/argument_validation.py``).

Every public function, layer, block and model of cnnlib checks its arguments here, so the
rules are the same everywhere:

- an *integer* is any integral number (``int``, ``np.int64``, ...), never a ``bool``:
  ``lenet5(num_classes=y.max() + 1)`` works as in Keras;
- a *number* is any real number (``float``, ``np.float32``, integers), never a ``bool``;
- a wrong value raises ``ValueError``; a wrong type raises :class:`ArgumentTypeError`,
  which is both a ``TypeError`` (Python's convention) and a ``ValueError`` (what Keras
  raises for these), so code written against either keeps working; the message names the
  argument, states the rule and ends with what came (``Received: name=value``).

Sizes of layers (``kernel_size``, ``strides``, ...) use :func:`standardize_tuple`, whose
messages are Keras' own, word for word, so code that expects Keras' errors keeps working.

The module has no dependencies (``numbers`` recognises NumPy's scalar types).
"""

import numbers

__all__ = [
    "ArgumentTypeError", "is_integer", "is_number", "check_integer", "check_number",
    "check_one_of", "check_bool", "standardize_tuple", "check_int_sequence",
    "check_positive_integer",
]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (catchable as ``TypeError`` and as ``ValueError``)."""


def _rule_for_integer(minimum, maximum):
    if minimum == 1 and maximum is None:
        return "a positive integer"
    if minimum == 0 and maximum is None:
        return "a non-negative integer"
    if minimum is None and maximum is None:
        return "an integer"
    return f"an integer {_range_rule(minimum, maximum, False, False)}"


def is_integer(value):
    """True for ``int`` and NumPy integers, False for ``bool`` and everything else.

    Example:
        >>> import numpy as np
        >>> is_integer(np.int64(3)), is_integer(True), is_integer(np.bool_(True)), is_integer(3.0)
        (True, False, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) \
        and type(value).__name__ != "bool_"


def is_number(value):
    """True for real numbers (``float``, NumPy floats, integers), False for ``bool``.

    Example:
        >>> import numpy as np
        >>> is_number(np.float32(0.5)), is_number(2), is_number(False), is_number("1")
        (True, True, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and type(value).__name__ != "bool_"


def _range_rule(minimum, maximum, low_open, high_open):
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if low_open else '>='} {minimum}")
    if maximum is not None:
        parts.append(f"{'<' if high_open else '<='} {maximum}")
    return " and ".join(parts)


def check_integer(value, name, minimum=None, maximum=None, allow_none=False):
    """``value`` as a Python ``int`` in ``[minimum, maximum]``.

    Raises:
        TypeError: not an integer (``bool`` included).
        ValueError: out of range.

    Example:
        >>> import numpy as np
        >>> check_integer(np.int64(10), "num_classes", minimum=1)
        10
    """
    if value is None and allow_none:
        return None
    rule = _rule_for_integer(minimum, maximum)
    rule = f"None or {rule}" if allow_none else rule
    if not is_integer(value):
        raise ArgumentTypeError(f"{name} must be {rule}. "
                                f"Received: {name}={value!r} (type {type(value).__name__})")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {rule}. Received: {name}={value!r}")
    return value


def check_index(value, name, size):
    """``value`` as a Python ``int`` in ``[0, size)`` (a channel, a class, an axis position).

    Raises:
        ArgumentTypeError: not an integer (``bool`` included).
        ValueError: outside ``[0, size)``.

    Example:
        >>> import numpy as np
        >>> check_index(np.int64(2), "channel", 3)
        2
        >>> check_index(3, "channel", 3)
        Traceback (most recent call last):
            ...
        ValueError: channel must be an integer in [0, 3). Received: channel=3
    """
    rule = f"an integer in [0, {size})"
    if not is_integer(value):
        raise ArgumentTypeError(f"{name} must be {rule}. "
                                f"Received: {name}={value!r} (type {type(value).__name__})")
    if not 0 <= value < size:
        raise ValueError(f"{name} must be {rule}. Received: {name}={value!r}")
    return int(value)


def check_positive_integer(value, name, allow_none=False):
    """Shorthand for ``check_integer(value, name, minimum=1)``.

    Example:
        >>> check_positive_integer(0, "filters")
        Traceback (most recent call last):
            ...
        ValueError: filters must be a positive integer. Received: filters=0
    """
    return check_integer(value, name, minimum=1, allow_none=allow_none)


def _rule_for_number(minimum, maximum, low_open, high_open):
    if minimum == 0 and maximum is None:
        return "a positive number" if low_open else "a non-negative number"
    if minimum is not None and maximum is not None:
        return (f"a number in {'(' if low_open else '['}{minimum}, {maximum}"
                f"{')' if high_open else ']'}")
    if minimum is None and maximum is None:
        return "a number"
    return f"a number {_range_rule(minimum, maximum, low_open, high_open)}"


def check_number(value, name, minimum=None, maximum=None, low_open=False, high_open=False,
                 allow_none=False):
    """``value`` as a Python ``float`` in the given (half-)open or closed range.

    Raises:
        ArgumentTypeError: not a real number (``bool`` included).
        ValueError: NaN or out of range.

    Example:
        >>> check_number(0.5, "rate", 0, 1, high_open=True)
        0.5
    """
    if value is None and allow_none:
        return None
    rule = _rule_for_number(minimum, maximum, low_open, high_open)
    rule = f"None or {rule}" if allow_none else rule
    if not is_number(value):
        raise ArgumentTypeError(f"{name} must be {rule}. "
                                f"Received: {name}={value!r} (type {type(value).__name__})")
    received, value = value, float(value)
    too_low = minimum is not None and (value <= minimum if low_open else value < minimum)
    too_high = maximum is not None and (value >= maximum if high_open else value > maximum)
    if value != value or too_low or too_high:
        raise ValueError(f"{name} must be {rule}. Received: {name}={received!r}")
    return value


def check_bool(value, name):
    """``value`` must be a ``bool`` (NumPy's included).

    Example:
        >>> check_bool(1, "use_bias")
        Traceback (most recent call last):
            ...
        cnnlib.validation.ArgumentTypeError: use_bias must be True or False. Received: use_bias=1
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise ArgumentTypeError(f"{name} must be True or False. Received: {name}={value!r}")


def check_one_of(value, allowed, name, lower=False):
    """``value`` must be one of ``allowed`` (strings compared lower-cased with ``lower``).

    Example:
        >>> check_one_of("MAX", ("max", "avg"), "pooling", lower=True)
        'max'
    """
    key = value.lower() if lower and isinstance(value, str) else value
    try:
        ok = key in allowed
    except TypeError:                                           # unhashable value
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {tuple(allowed)}. Received: {name}={value!r}")
    return key


def standardize_tuple(value, n, name, allow_zero=False):
    """An integer or ``n`` integers -> a tuple of ``n`` Python ints, positive (or >= 0).

    The messages are Keras' (``keras.src.utils.argument_validation.standardize_tuple``);
    a non-integral element raises :class:`ArgumentTypeError` (also a ``ValueError``).

    Example:
        >>> standardize_tuple(3, 2, "kernel_size")
        (3, 3)
    """
    error_msg = (f"The `{name}` argument must be a tuple of {n} integers. "
                 f"Received {name}={value}")
    if is_integer(value):
        value_tuple = (int(value),) * n
    else:
        if isinstance(value, str):
            raise ArgumentTypeError(error_msg)
        try:
            value_tuple = tuple(value)
        except TypeError:
            raise ArgumentTypeError(error_msg) from None
        if len(value_tuple) != n:
            raise ValueError(error_msg)
        for single_value in value_tuple:
            if not is_integer(single_value):
                raise ArgumentTypeError(f"{error_msg}, including element {single_value!r} of type "
                                f"{type(single_value).__name__}")
        value_tuple = tuple(int(v) for v in value_tuple)
    if allow_zero:
        unqualified, req = {v for v in value_tuple if v < 0}, ">= 0"
    else:
        unqualified, req = {v for v in value_tuple if v <= 0}, "> 0"
    if unqualified:
        raise ValueError(f"{error_msg}, including values {unqualified} that do not satisfy "
                         f"`value {req}`")
    return value_tuple


def check_int_sequence(value, name, length=None, minimum=1, allow_empty=False):
    """A list/tuple of integers (each ``>= minimum``) -> a tuple of Python ints.

    Example:
        >>> check_int_sequence([2, 2, 2, 2], "depths")
        (2, 2, 2, 2)
    """
    count = "" if length is None else f"{length} "
    rule = f"a tuple/list of {count}integers >= {minimum}"
    received = value
    if hasattr(value, "tolist") and getattr(value, "ndim", None) == 1:   # a 1-D NumPy array
        value = value.tolist()
    if not isinstance(value, (tuple, list)) or (length is not None and len(value) != length) \
            or (not allow_empty and len(value) == 0):
        raise ValueError(f"{name} must be {rule}. Received: {name}={received!r}")
    if not all(is_integer(v) for v in value):
        raise ArgumentTypeError(f"{name} must be {rule}. Received: {name}={received!r}")
    if any(v < minimum for v in value):
        raise ValueError(f"{name} must be {rule}. Received: {name}={received!r}")
    return tuple(int(v) for v in value)
