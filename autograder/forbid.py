"""Reject built-in shortcuts in from-scratch exercises.

Hidden tests of a graded notebook use these helpers so that an answer which calls the
library function it is meant to re-create fails, with a message in Portuguese:

    from autograder.forbid import forbid, ForbiddenCallError
    with forbid("scipy.signal", "numpy.convolve", "tensorflow.nn.conv2d", "cnnlib.reference"):
        out = cross_correlation2d(x, k)          # raises ForbiddenCallError if it cheats

``forbid`` patches, for the duration of the block:

- every public callable of a target *module* (``"scipy.signal"``) and, for a package
  (``"cnnlib"``), of each of its loaded submodules, and every target *callable*
  (``"numpy.convolve"``), on the module object the student reaches it through;
- names the student bound before the block (``from scipy.signal import correlate2d``,
  ``conv = tf.nn.conv2d``) in the caller's namespace (the notebook's globals), in the
  default arguments and closures of the functions defined there;
- targets whose package is imported *inside* the block (``import tensorflow as tf`` in
  the function body): ``__import__`` and ``importlib.import_module`` are watched and the
  target is patched as soon as it can be reached.

Closing the routes around the patched names (every one restored on exit):

- *saved references* (a list, a dict, a class attribute, ``functools.partial``, a closure
  made anywhere): a forbidden Python function has its ``__code__`` swapped for one that
  raises, so the object itself fails however it is reached; NumPy's dispatchers
  (``np.pad``, ``np.convolve``) have their ``_implementation`` swapped, and the
  ``__wrapped__`` chain of a named target is swapped too;
- *guards cannot be unwrapped*: they carry no ``__wrapped__``;
- *internals*: naming a function brings its internal routes (``numpy.pad`` brings
  ``numpy.lib._arraypad_impl`` with its private helpers; ``numpy.convolve`` the C
  ``multiarray.correlate``; ``scipy.signal`` its C ``_sigtools``);
- *TensorFlow ops by name*: forbidding a convolution, pooling or softmax also refuses
  the TensorFlow ops behind it (``Conv2D``, ``MaxPool``, ``Softmax``...) however they are
  reached (``tf.raw_ops``, ``gen_nn_ops``, Keras, a name built at run time);
- *other frameworks*: forbidding a convolution, pooling or softmax refuses importing
  ``torch``/``jax``/``cv2`` inside the block and patches their versions when loaded;
- *the checker itself*: this module, ``forbid`` and ``ForbiddenCallError`` refuse to be
  rebound, and ``__enter__`` refuses to run when ``verify_intact()`` finds the module
  altered (``sys.modules`` entry, names, methods or code replaced).

Everything is restored on exit, even when the block raises; a module first imported
inside the block (a lazy import while resolving a target, or an import in the tested
code) that bound a guard at import time gets the original back. Whole frameworks
(``"tensorflow"``, ``"keras"``) are refused as targets with a clear error: name their
public modules or functions. The ``__wrapped__`` chain of a function in the scanned
namespaces (a grader's result-coercing wrapper) is scanned and read as well.

Swapping code raises the audit events ``code.__new__`` and ``object.__setattr__`` (with
``"__code__"``). A grader that flags those events in student code should call
``raised_by_checker(event, args)`` from its audit hook and ignore the events it answers
True for: the ones this module's own code raises while patching or restoring.

``TAMPER_NAMES`` and ``assert_no_tampering(fn)`` flag, in a function's code, the names a
submission uses to reach around the checker (``__code__``, ``gc``, ``sys._getframe``,
``raw_ops``...): an honest from-scratch answer never needs them.

``assert_not_calling(fn, names)`` is the static companion: it reads the names that
``fn``'s code (nested functions, lambdas, and helpers defined in the same namespace
included) looks up, and fails when one is forbidden.
"""

from __future__ import annotations

import builtins
import dis
import functools
import importlib
import importlib.util
import sys
import types
import warnings
from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "ForbiddenCallError",
    "forbid",
    "assert_not_calling",
    "assert_no_tampering",
    "verify_intact",
    "raised_by_checker",
    "CONV_ALIASES",
    "POOL_ALIASES",
    "SOFTMAX_ALIASES",
    "DEFAULT_CONV_TARGETS",
    "POOL_TARGETS",
    "SOFTMAX_TARGETS",
    "TAMPER_NAMES",
]


class _SealedType(type):
    """Metaclass of the checker's classes: their attributes cannot be rebound."""

    def __setattr__(cls, name, value):
        raise AttributeError(
            f"{cls.__name__}.{name} cannot be changed: the from-scratch checker is read-only."
        )

    def __delattr__(cls, name):
        raise AttributeError(
            f"{cls.__name__}.{name} cannot be deleted: the from-scratch checker is read-only."
        )


class ForbiddenCallError(AssertionError, metaclass=_SealedType):
    """A from-scratch exercise called a forbidden library function.

    An ``AssertionError`` subclass, so nbgrader marks the grade cell as failed.
    """


class _ForbiddenImportError(ForbiddenCallError, ImportError):
    """Importing another framework inside a forbid block (an ImportError too, so that a
    library probing ``try: import torch`` just sees it as missing)."""


# The usual ways to reach a built-in 2D convolution in TensorFlow / Keras. Naming any one
# of them as a target forbids all of them.
CONV_ALIASES: tuple[str, ...] = (
    "tensorflow.nn.conv2d",
    "tensorflow.nn.convolution",
    "tensorflow.nn.depthwise_conv2d",
    "tensorflow.nn.separable_conv2d",
    "tensorflow.nn.conv1d",
    "tensorflow.nn.atrous_conv2d",
    "tensorflow.raw_ops.Conv2D",
    "tensorflow.raw_ops.DepthwiseConv2dNative",
    "tensorflow.compat.v1.nn.conv2d",
    "tensorflow.keras.layers.Conv2D",
    "keras.ops.conv",
    "keras.ops.depthwise_conv",
    "keras.ops.separable_conv",
    "keras.layers.Conv2D",
    "keras.layers.DepthwiseConv2D",
    "keras.layers.SeparableConv2D",
)

# Built-in pooling (notebook 03's max-pool exercise). Naming any one forbids all of them.
POOL_ALIASES: tuple[str, ...] = (
    "tensorflow.nn.max_pool2d",
    "tensorflow.nn.max_pool",
    "tensorflow.nn.avg_pool2d",
    "tensorflow.nn.avg_pool",
    "tensorflow.nn.pool",
    "tensorflow.nn.max_pool_with_argmax",
    "tensorflow.raw_ops.MaxPool",
    "tensorflow.raw_ops.AvgPool",
    "keras.ops.max_pool",
    "keras.ops.average_pool",
    "keras.layers.MaxPooling2D",
    "keras.layers.AveragePooling2D",
    "skimage.measure.block_reduce",
)

# Built-in softmax / cross-entropy (notebook 03). Naming any one forbids all of them.
SOFTMAX_ALIASES: tuple[str, ...] = (
    "tensorflow.nn.softmax",
    "tensorflow.nn.log_softmax",
    "tensorflow.math.softmax",
    "tensorflow.nn.softmax_cross_entropy_with_logits",
    "tensorflow.nn.sparse_softmax_cross_entropy_with_logits",
    "tensorflow.raw_ops.Softmax",
    "keras.ops.softmax",
    "keras.ops.log_softmax",
    "keras.activations.softmax",
    "keras.layers.Softmax",
    "scipy.special.softmax",
    "scipy.special.log_softmax",
)

# What the convolution notebooks forbid in their from-scratch exercises.
DEFAULT_CONV_TARGETS: tuple[str, ...] = (
    "scipy.signal",
    "scipy.ndimage",
    "numpy.convolve",
    "numpy.correlate",
    "tensorflow.nn.conv2d",
    "cnnlib.reference",
)

# What a from-scratch pooling / softmax exercise forbids (the notebook states it).
POOL_TARGETS: tuple[str, ...] = ("tensorflow.nn.max_pool2d", "cnnlib.reference", "cnnlib.layers")
SOFTMAX_TARGETS: tuple[str, ...] = ("tensorflow.nn.softmax", "cnnlib.reference", "cnnlib.layers")

# Internal routes a named target brings along (C kernels, private helpers, the other
# frameworks' versions). Missing ones (not installed, other version) are skipped.
_INTERNALS: dict[str, tuple[str, ...]] = {
    "numpy.pad": ("numpy.lib._arraypad_impl",),
    "numpy.convolve": (
        "numpy._core.multiarray.correlate",
        "numpy._core.multiarray.correlate2",
        "numpy._core._multiarray_umath.correlate",
        "numpy._core._multiarray_umath.correlate2",
        "numpy.polymul",
        "numpy.polynomial.polynomial.polymul",
    ),
    "scipy.signal": ("scipy.signal._sigtools", "scipy.signal._signaltools"),
    "scipy.ndimage": ("scipy.ndimage._nd_image", "scipy.ndimage._filters"),
    "tensorflow.GradientTape": ("tensorflow.autodiff.GradientTape",),
    "tensorflow.gradients": ("tensorflow.compat.v1.gradients",),
}
_INTERNALS["numpy.correlate"] = _INTERNALS["numpy.convolve"]

_CONV_OTHER_FRAMEWORKS: tuple[str, ...] = (
    "torch.nn.functional.conv1d",
    "torch.nn.functional.conv2d",
    "torch.nn.functional.conv3d",
    "torch.nn.functional.conv_transpose2d",
    "torch.conv1d",
    "torch.conv2d",
    "torch.convolution",
    "torch.nn.Conv2d",
    "jax.lax.conv",
    "jax.lax.conv_general_dilated",
    "jax.lax.conv_with_general_padding",
    "jax.numpy.convolve",
    "jax.scipy.signal.correlate2d",
    "cv2.filter2D",
    "PIL.ImageFilter.Kernel",
)
_POOL_OTHER_FRAMEWORKS: tuple[str, ...] = (
    "torch.nn.functional.max_pool2d",
    "torch.nn.functional.avg_pool2d",
    "torch.max_pool2d",
    "torch.nn.MaxPool2d",
    "jax.lax.reduce_window",
)
_SOFTMAX_OTHER_FRAMEWORKS: tuple[str, ...] = (
    "torch.nn.functional.softmax",
    "torch.nn.functional.log_softmax",
    "torch.nn.functional.cross_entropy",
    "torch.softmax",
    "torch.log_softmax",
    "jax.nn.softmax",
    "jax.nn.log_softmax",
)

# TensorFlow op names behind each group: refused however the op is reached.
_CONV_OPS = frozenset({
    "Conv", "Conv2D", "Conv3D", "DepthwiseConv2dNative", "FusedPadConv2D",
    "FusedResizeAndPadConv2D", "_FusedConv2D", "Conv2DBackpropInput", "Conv2DBackpropInputV2",
    "Conv2DBackpropFilter", "Conv2DBackpropFilterV2", "DepthwiseConv2dNativeBackpropInput",
    "DepthwiseConv2dNativeBackpropFilter", "Conv3DBackpropInputV2", "Conv3DBackpropFilterV2",
    "QuantizedConv2D", "QuantizedDepthwiseConv2D",
})
_POOL_OPS = frozenset({
    "MaxPool", "MaxPoolV2", "MaxPoolWithArgmax", "AvgPool", "MaxPool3D", "AvgPool3D",
    "FractionalMaxPool", "FractionalAvgPool", "MaxPoolGrad", "MaxPoolGradV2", "AvgPoolGrad",
    "MaxPoolGradWithArgmax", "QuantizedMaxPool", "QuantizedAvgPool",
})
_SOFTMAX_OPS = frozenset({
    "Softmax", "LogSoftmax", "SoftmaxCrossEntropyWithLogits",
    "SparseSoftmaxCrossEntropyWithLogits",
})
_GROUPS: tuple[tuple[tuple[str, ...], tuple[str, ...], frozenset], ...] = (
    (CONV_ALIASES, _CONV_OTHER_FRAMEWORKS, _CONV_OPS),
    (POOL_ALIASES, _POOL_OTHER_FRAMEWORKS, _POOL_OPS),
    (SOFTMAX_ALIASES, _SOFTMAX_OTHER_FRAMEWORKS, _SOFTMAX_OPS),
)
# Whole modules whose ops are the groups' ops (03 forbids "tensorflow.nn" wholesale).
_MODULE_OPS: dict[str, frozenset] = {
    "tensorflow.nn": _CONV_OPS | _POOL_OPS | _SOFTMAX_OPS,
    "tensorflow.raw_ops": _CONV_OPS | _POOL_OPS | _SOFTMAX_OPS,
    "keras.ops": _CONV_OPS | _POOL_OPS | _SOFTMAX_OPS,
    "keras.layers": _CONV_OPS | _POOL_OPS | _SOFTMAX_OPS,
}
# Frameworks that have no business inside a from-scratch convolution/pooling/softmax:
# importing one inside the block fails.
_OTHER_FRAMEWORKS: tuple[str, ...] = ("torch", "jax", "jaxlib", "cv2", "cupy", "cupyx")

# Names a function needs only to reach around the checker; an honest answer never does.
TAMPER_NAMES: tuple[str, ...] = (
    "__code__", "__wrapped__", "__closure__", "__globals__", "__builtins__", "__dict__",
    "__subclasses__", "_getframe", "f_back", "f_locals", "f_globals", "get_referrers",
    "get_referents", "get_objects", "raw_ops", "gen_nn_ops", "pywrap_tfe", "_implementation",
    "_sigtools", "_nd_image", "_multiarray_umath", "_arraypad_impl", "autograder",
    "ForbiddenCallError", "settrace", "setprofile", "ctypes", "unwrap", "verify_intact",
)


# Whole frameworks that cannot be a target (their internals would be patched too).
_WHOLE_FRAMEWORKS = frozenset({"tensorflow", "keras", "tf_keras"})


def _expand(targets: Iterable[str]) -> tuple[list[str], set[str], frozenset, bool]:
    """Validate target strings; return them plus what they bring along.

    Returns (targets, explicit targets, TensorFlow op names to refuse, whether other
    frameworks' imports are refused). An unknown explicit target is an error; a brought
    along one missing from the installed versions is not.
    """
    out: list[str] = []
    ops: set[str] = set()
    frameworks = False

    def add(name):
        if name not in out:
            out.append(name)

    for target in targets:
        if not isinstance(target, str):
            raise TypeError(
                "forbid() targets must be dotted names (str), e.g. 'scipy.signal' or "
                f"'numpy.convolve'. Received: {target!r} of type {type(target).__name__}"
            )
        parts = target.split(".")
        if not target or not all(p.isidentifier() for p in parts):
            raise ValueError(
                "forbid() targets must be dotted Python names like 'scipy.signal' or "
                f"'tensorflow.nn.conv2d'. Received: {target!r}"
            )
        if target in _WHOLE_FRAMEWORKS:
            raise ValueError(
                f"forbid() cannot take the whole {target!r} package: patching every callable "
                "of TensorFlow/Keras breaks the framework itself. Name its public modules or "
                "functions instead, e.g. 'tensorflow.nn', 'tensorflow.image', 'keras.ops', "
                f"'keras.layers', 'tensorflow.nn.conv2d'. Received: {target!r}"
            )
        add(target)
        for aliases, others, group_ops in _GROUPS:
            if target in aliases:
                for name in aliases + others:
                    add(name)
                ops |= group_ops
                frameworks = True
        if target in _MODULE_OPS:
            ops |= _MODULE_OPS[target]
            frameworks = True
            for _, others, _ in _GROUPS:
                for name in others:
                    add(name)
        for name in _INTERNALS.get(target, ()):
            add(name)
    return out, set(targets), frozenset(ops), frameworks


class _Unavailable(Exception):
    """The target's package is not loaded (yet): nothing can call it for now."""


def _resolve(target: str):
    """Return (parent, attr, obj) for a dotted target, or raise _Unavailable/ValueError.

    Walks from the top-level package, which must already be in ``sys.modules``: a package
    that was never imported cannot be called, and ``forbid`` then waits for its import.
    """
    parts = target.split(".")
    if parts[0] not in sys.modules:
        raise _Unavailable(target)
    obj = sys.modules[parts[0]]
    parent, attr = None, None
    for i, part in enumerate(parts[1:], start=1):
        prefix = ".".join(parts[: i + 1])
        try:
            nxt = getattr(obj, part)
        except (AttributeError, ImportError):
            nxt = None
            if isinstance(obj, types.ModuleType):
                if prefix in sys.modules:
                    nxt = sys.modules[prefix]
                else:
                    try:
                        spec = importlib.util.find_spec(prefix)
                    except (ImportError, ValueError):
                        spec = None
                    if spec is not None:
                        # A real submodule, not imported yet: patch it when it is.
                        raise _Unavailable(target) from None
            if nxt is None:
                raise ValueError(
                    f"forbid() target {target!r} does not exist: {'.'.join(parts[:i])!r} "
                    f"has no attribute {part!r}. Received: {target!r}"
                ) from None
        parent, attr, obj = obj, part, nxt
    if isinstance(obj, types.ModuleType) and _initializing(obj):
        raise _Unavailable(target)  # still running its body: patch after the import ends
    return parent, attr, obj


def _initializing(module: types.ModuleType) -> bool:
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def _module_members(module: types.ModuleType) -> dict[str, object]:
    """Callables of a module that belong to its own top-level package.

    Public ones; for a private module (``numpy.lib._arraypad_impl``, ``scipy.signal._sigtools``)
    the private helpers too, since those are its internal routes.
    """
    root = module.__name__.split(".")[0]
    private = module.__name__.rsplit(".", 1)[-1].startswith("_")
    names = None if private else getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module)
                 if not n.startswith("__") and (private or not n.startswith("_"))]
    members = {}
    for name in names:
        try:
            obj = getattr(module, name)
        except Exception:  # lazy attributes that fail to load are not callable anyway
            continue
        if isinstance(obj, types.ModuleType) or not callable(obj):
            continue
        owner = getattr(obj, "__module__", None)
        if not isinstance(owner, str) or owner.split(".")[0] != root:
            continue  # e.g. numpy functions re-exported by scipy.signal stay allowed
        members[name] = obj
    return members


def _is_guard(obj) -> bool:
    return type(obj) is types.FunctionType and "__forbidden__" in obj.__dict__


def _message(name: str, alias: str | None = None) -> str:
    short = name.rsplit(".", 1)[-1]
    shown = f"`{name}`"
    if alias is not None and alias != short:
        shown += f" (importada como `{alias}`)"
    return (
        f"Chamada proibida: {shown}. Este exercício deve ser feito do zero, com NumPy "
        f"básico (laços, fatiamento, somas, produtos); não use `{short}` nem outra "
        "implementação pronta."
    )


def _make_guard(obj, name: str, alias: str | None = None):
    """A stand-in for ``obj`` that raises ``ForbiddenCallError`` naming ``name``.

    It looks like the original (name, doc, signature) but keeps no ``__wrapped__``: the
    original must not be reachable from the guard.
    """
    message = _message(name, alias)

    def guard(*args, **kwargs):
        raise ForbiddenCallError(message)

    try:  # do not copy a class's __dict__
        functools.update_wrapper(guard, obj, updated=())
    except Exception:
        pass
    guard.__dict__.pop("__wrapped__", None)
    guard.__forbidden__ = name
    return guard


_ERROR_SLOT = "__forbid_error_slot__"
_MESSAGE_SLOT = "__forbid_message_slot__"
_RAISER_TEMPLATES: dict[tuple[str, ...], types.CodeType] = {}


def _raiser_code(original: types.CodeType, message: str) -> types.CodeType | None:
    """A code object that raises ForbiddenCallError(message), with ``original``'s free
    variables (so it can replace the ``__code__`` of a closure), or None if impossible."""
    freevars = original.co_freevars
    template = _RAISER_TEMPLATES.get(freevars)
    if template is None:
        if not all(v.isidentifier() for v in freevars):
            return None
        lines = ["def _outer():"]
        lines += [f"    {v} = None" for v in freevars]
        lines.append("    def _guard(*args, **kwargs):")
        if freevars:  # referenced, never loaded (a cell may be empty)
            lines.append("        lambda: (" + ", ".join(freevars) + ",)")
        lines.append(f"        raise {_ERROR_SLOT!r}({_MESSAGE_SLOT!r})")
        lines.append("    return _guard")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "'str' object is not callable"
            outer = compile("\n".join(lines), "<forbid>", "exec").co_consts[0]
        template = next(c for c in outer.co_consts if isinstance(c, types.CodeType))
        if template.co_freevars != freevars:
            return None
        _RAISER_TEMPLATES[freevars] = template
    consts = tuple(
        ForbiddenCallError if (type(c) is str and c == _ERROR_SLOT)
        else message if (type(c) is str and c == _MESSAGE_SLOT) else c
        for c in template.co_consts
    )
    try:
        return template.replace(co_consts=consts, co_name=original.co_name,
                                co_qualname=getattr(original, "co_qualname", original.co_name))
    except (TypeError, ValueError):
        return None


def _python_functions(obj, follow_wrapped: bool) -> list[types.FunctionType]:
    """The Python functions whose code runs when ``obj`` is called.

    A function itself; a NumPy dispatcher's ``_implementation``; with ``follow_wrapped``
    the ``__wrapped__`` chain too (TensorFlow's decorators keep the real op there).
    """
    found: list[types.FunctionType] = []
    seen: set[int] = set()
    current = obj
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, types.MethodType):
            current = current.__func__
        if type(current) is types.FunctionType:
            if not _is_guard(current):
                found.append(current)
        else:
            impl = getattr(type(current), "__name__", "") == "_ArrayFunctionDispatcher"
            impl = getattr(current, "_implementation", None) if impl else None
            if type(impl) is types.FunctionType:
                found.append(impl)
        if not follow_wrapped:
            break
        try:
            current = current.__dict__.get("__wrapped__") if hasattr(current, "__dict__") else None
        except Exception:
            current = None
    return found


class forbid(metaclass=_SealedType):
    """Context manager: calling any target inside the block raises ``ForbiddenCallError``.

    Args:
        *targets: dotted module names (every public callable of the module, and of the
            submodules of a package, is forbidden) or dotted callables. Any of
            ``CONV_ALIASES``, ``POOL_ALIASES`` or ``SOFTMAX_ALIASES`` brings in its whole
            group, the TensorFlow ops behind it and the other frameworks' versions.
        namespaces: extra dicts (or functions, whose ``__globals__`` is used) to scan for
            aliases; the caller's globals are always scanned.

    Raises:
        TypeError/ValueError: a target that is not a dotted name, or that names an
            attribute which does not exist on an imported module.
        ForbiddenCallError: (inside the block) a forbidden function was called; (on
            entering) the checker itself was altered (see ``verify_intact``).

    Example:
        >>> import numpy as np
        >>> with forbid("numpy.convolve"):
        ...     np.convolve([1, 2], [1, 1])
        Traceback (most recent call last):
        ...
        autograder.forbid.ForbiddenCallError: Chamada proibida: `numpy.convolve`. ...
    """

    def __init__(self, *targets: str, namespaces: Iterable[object] = ()):
        if not targets:
            raise ValueError("forbid() needs at least one target. Received: no targets")
        self._targets, self._explicit, self._ops, self._frameworks = _expand(targets)
        self._namespaces: list[dict] = []
        for ns in namespaces:
            if isinstance(ns, Mapping):
                self._namespaces.append(ns)  # type: ignore[arg-type]
            elif hasattr(ns, "__globals__"):
                self._namespaces.append(ns.__globals__)
            else:
                raise TypeError(
                    "forbid(namespaces=...) takes dicts or functions. "
                    f"Received: {ns!r} of type {type(ns).__name__}"
                )
        caller = sys._getframe(1).f_globals
        self._namespaces.insert(0, caller)
        self._undo: list[Callable[[], None]] = []
        self._pending: list[str] = []
        self._forbidden: dict[int, tuple[object, str]] = {}  # id(original) -> (obj, name)
        self._guards: dict[int, object] = {}  # id(original) -> guard
        self._swapped: set[int] = set()  # ids of functions whose __code__ raises now
        self._packages: dict[str, str] = {}  # package __name__ -> target shown in messages
        self._patched_modules: set[str] = set()
        self._ops_hooked = False
        self._busy = False
        self._active = False
        self._modules_before: set[str] = set()

    # -- patching helpers --------------------------------------------------------------
    def _guard_for(self, obj, name: str, deep: bool = False, follow_wrapped: bool = False):
        key = id(obj)
        if key not in self._guards:
            self._forbidden[key] = (obj, name)
            self._guards[key] = _make_guard(obj, name)
        if deep:
            self._swap_code(obj, name, follow_wrapped)
        return self._guards[key]

    def _swap_code(self, obj, name: str, follow_wrapped: bool) -> None:
        """Make the object itself raise, so saved references to it fail too."""
        for fn in _python_functions(obj, follow_wrapped):
            if id(fn) in self._swapped:
                continue
            original = fn.__code__
            code = _raiser_code(original, _message(name))
            if code is None:
                continue
            entry = _ORIGINAL_CODES.setdefault(id(original), [original, 0])
            entry[1] += 1  # functions may share one code object (decorator wrappers)
            try:
                fn.__code__ = code
            except (TypeError, ValueError):
                entry[1] -= 1
                continue
            self._swapped.add(id(fn))

            def undo(fn=fn, original=original):
                fn.__code__ = original
                held = _ORIGINAL_CODES.get(id(original))
                if held is not None:
                    held[1] -= 1
                    if held[1] <= 0:
                        del _ORIGINAL_CODES[id(original)]

            self._undo.append(undo)

    def _setattr(self, owner, attr: str, value) -> None:
        had = isinstance(owner, types.ModuleType) and attr in vars(owner)
        old = getattr(owner, attr)
        setattr(owner, attr, value)

        def undo(owner=owner, attr=attr, old=old, had=had):
            if isinstance(owner, types.ModuleType) and not had:
                owner.__dict__.pop(attr, None)
            else:
                setattr(owner, attr, old)

        self._undo.append(undo)

    def _setitem(self, mapping, key, value) -> None:
        old = mapping[key]
        mapping[key] = value

        def undo(mapping=mapping, key=key, old=old):
            mapping[key] = old

        self._undo.append(undo)

    def _patch_target(self, target: str) -> bool:
        """Patch one target now; False when its package is not loaded yet."""
        try:
            parent, attr, obj = _resolve(target)
        except _Unavailable:
            return False
        if isinstance(obj, types.ModuleType):
            self._patch_module(obj, target)
            if hasattr(obj, "__path__"):  # a package: its submodules are forbidden too
                self._packages[obj.__name__] = target
                self._patch_submodules()
        elif _is_guard(obj):
            pass  # already patched (an alias of a target handled before)
        elif parent is None or not callable(obj):
            raise ValueError(
                "forbid() targets must name a module or a callable. "
                f"Received: {target!r} (a {type(obj).__name__})"
            )
        else:
            guard = self._guard_for(obj, target, deep=True, follow_wrapped=True)
            self._setattr(parent, attr, guard)
        return True

    def _patch_module(self, module: types.ModuleType, shown: str) -> None:
        self._patched_modules.add(module.__name__)
        prefix = module.__name__
        for name, member in _module_members(module).items():
            if _is_guard(member):
                continue
            owner = getattr(member, "__module__", "") or ""
            # Functions defined in the forbidden module itself fail however they are
            # reached; re-exports (tf.nn's ops live in tensorflow.python) only here.
            deep = owner == prefix or owner.startswith(prefix + ".")
            self._setattr(module, name, self._guard_for(member, f"{shown}.{name}", deep=deep))

    def _patch_submodules(self) -> None:
        """Patch the loaded, fully initialized submodules of forbidden packages."""
        for name, module in list(sys.modules.items()):
            if name in self._patched_modules or not isinstance(module, types.ModuleType):
                continue
            for package, target in self._packages.items():
                if name.startswith(package + ".") and not _initializing(module):
                    self._patch_module(module, target + name[len(package):])
                    break

    def _forbidden_value(self, value) -> str | None:
        """The forbidden name ``value`` stands for, or None."""
        entry = self._forbidden.get(id(value))
        if entry is not None and entry[0] is value:
            return entry[1]
        return None

    def _replacement(self, value, alias: str | None):
        """A guard for a forbidden value (or a partial of one), else None."""
        name = self._forbidden_value(value)
        if name is not None:
            return _make_guard(value, name, alias=alias)
        if isinstance(value, functools.partial):
            inner = value.func
            while isinstance(inner, functools.partial):
                inner = inner.func
            name = self._forbidden_value(inner)
            if name is not None:
                return _make_guard(inner, name, alias=alias)
        return None

    def _scan(self) -> None:
        """Patch aliases of forbidden objects bound in the scanned namespaces: names,
        ``functools.partial`` objects, lists and dicts holding them."""
        for ns in self._namespaces:
            for key, value in list(ns.items()):
                guard = self._replacement(value, key)
                if guard is not None:
                    self._setitem(ns, key, guard)
                elif isinstance(value, types.FunctionType) and value.__globals__ is ns:
                    for fn in _wrapped_chain(value):  # a grader's wrapper, then the answer
                        if fn.__globals__ is ns:
                            self._scan_function(fn)
                elif isinstance(value, list):
                    for i, item in enumerate(value):
                        guard = self._replacement(item, None)
                        if guard is not None:
                            self._setitem(value, i, guard)
                elif isinstance(value, dict) and value is not ns:
                    for k, item in list(value.items()):
                        guard = self._replacement(item, None)
                        if guard is not None:
                            self._setitem(value, k, guard)

    def _scan_function(self, fn: types.FunctionType) -> None:
        """Patch forbidden objects captured in defaults and closures of a user function."""
        values = fn.__defaults__
        if values and any(self._replacement(v, None) is not None for v in values):
            new = tuple(self._replacement(v, None) or v for v in values)
            self._setattr(fn, "__defaults__", new)
        kw = fn.__kwdefaults__
        if kw and any(self._replacement(v, None) is not None for v in kw.values()):
            new_kw = {k: self._replacement(v, None) or v for k, v in kw.items()}
            self._setattr(fn, "__kwdefaults__", new_kw)
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # empty cell
                continue
            guard = self._replacement(value, None)
            if guard is not None:
                cell.cell_contents = guard

                def undo(cell=cell, value=value):
                    cell.cell_contents = value

                self._undo.append(undo)

    # -- TensorFlow ops by name ----------------------------------------------------------
    def _hook_ops(self) -> None:
        """Refuse the forbidden TensorFlow ops at the three doors every op goes through."""
        if self._ops_hooked or not self._ops:
            return
        pywrap = sys.modules.get("tensorflow.python.pywrap_tfe")
        execute = sys.modules.get("tensorflow.python.eager.execute")
        op_def = sys.modules.get("tensorflow.python.framework.op_def_library")
        if pywrap is None or execute is None or op_def is None:
            return  # TensorFlow not loaded (yet): nothing can run an op
        forbidden_ops = self._ops

        def check(op) -> None:
            if isinstance(op, bytes):
                op = op.decode("ascii", "replace")
            if isinstance(op, str) and op in forbidden_ops:
                raise ForbiddenCallError(_message(f"tensorflow op {op}"))

        def hook(real, position, keyword):
            def wrapper(*args, **kwargs):
                check(args[position] if len(args) > position else kwargs.get(keyword))
                return real(*args, **kwargs)

            wrapper.__forbidden__ = "tensorflow ops"
            return wrapper

        doors = [(pywrap, "TFE_Py_FastPathExecute", 1, None),
                 (execute, "execute", 0, "op_name"),
                 (execute, "quick_execute", 0, "op_name"),
                 (op_def, "_apply_op_helper", 0, "op_type_name")]
        for module, attr, position, keyword in doors:
            real = getattr(module, attr, None)
            if real is not None and not _is_guard(real):
                self._setattr(module, attr, hook(real, position, keyword))
        self._ops_hooked = True

    def _patch_pending(self) -> None:
        if self._busy or not (self._pending or self._packages or
                              (self._ops and not self._ops_hooked)):
            return
        self._busy = True
        try:
            if self._packages:
                self._patch_submodules()
            still = []
            for target in self._pending:
                try:
                    done = self._patch_target(target)
                except Exception:  # half-imported package, or a missing alias
                    done = target not in self._explicit
                if not done:
                    still.append(target)
            self._pending = still
            self._hook_ops()
        finally:
            self._busy = False

    # -- context manager ---------------------------------------------------------------
    def __enter__(self) -> "forbid":
        if self._active:
            raise RuntimeError("forbid() blocks are not re-entrant; create a new one.")
        problems = verify_intact()
        if problems:
            raise ForbiddenCallError(
                "O verificador de chamadas proibidas foi alterado pelo código avaliado: "
                + "; ".join(problems)
            )
        self._active = True
        self._modules_before = set(sys.modules)
        try:
            for target in self._targets:
                try:
                    done = self._patch_target(target)
                except ValueError:
                    if target in self._explicit:
                        raise
                    continue  # an alias this TensorFlow/Keras version does not have
                if not done:
                    self._pending.append(target)
            self._scan()
            self._hook_ops()
            self._watch_imports()
        except BaseException:
            self._restore()
            raise
        return self

    def _watch_imports(self) -> None:
        """Patch pending targets when an import statement run inside the block returns.

        Only the outermost import triggers it: patching while a package is still being
        imported could hand a guard to module-level code that keeps it after the block.
        Importing another framework (torch, jax, cv2) for the first time inside a block
        that forbids a convolution, pooling or softmax fails.
        """
        real_import = builtins.__import__
        real_import_module = importlib.import_module
        depth = [0]
        frameworks = self._frameworks

        def refuse(args, kwargs):
            name = args[0] if args else kwargs.get("name")
            if not frameworks or not isinstance(name, str) or name.startswith("."):
                return
            root = name.split(".")[0]
            if root in _OTHER_FRAMEWORKS and root not in sys.modules:
                error = _ForbiddenImportError(
                    f"Importação proibida: `{name}`. Este exercício deve ser feito do zero, "
                    "com NumPy básico; não use outra biblioteca de redes neurais ou de "
                    "processamento de imagens.")
                error.name = name
                raise error

        def watched(real):
            @functools.wraps(real)
            def wrapper(*args, **kwargs):
                refuse(args, kwargs)
                depth[0] += 1
                try:
                    module = real(*args, **kwargs)
                finally:
                    depth[0] -= 1
                if depth[0] == 0:
                    self._patch_pending()
                return module

            wrapper.__dict__.pop("__wrapped__", None)
            return wrapper

        self._setattr(builtins, "__import__", watched(real_import))
        self._setattr(importlib, "import_module", watched(real_import_module))

    def _unbind_new_modules(self) -> None:
        """Modules first imported inside the block (a lazy ``getattr`` while resolving a
        target, or an import in the tested code) may have bound a guard at import time
        (``from cnnlib.blocks import X``): give them the originals back, or the guard would
        outlive the block."""
        originals = {}
        for key, guard in self._guards.items():
            entry = self._forbidden.get(key)
            if entry is not None:
                originals[id(guard)] = entry[0]
        if not originals:
            return
        for name in set(sys.modules) - self._modules_before:
            module = sys.modules.get(name)
            if not isinstance(module, types.ModuleType):
                continue
            namespace = vars(module)
            for key, value in list(namespace.items()):
                if id(value) in originals and _is_guard(value):
                    namespace[key] = originals[id(value)]

    def _restore(self) -> None:
        try:
            self._unbind_new_modules()
        except Exception:  # never keep the rest from being restored
            pass
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception:  # keep restoring the rest
                pass
        self._pending = []
        self._packages.clear()
        self._patched_modules.clear()
        self._forbidden.clear()
        self._guards.clear()
        self._swapped.clear()
        self._ops_hooked = False
        self._active = False

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._restore()
        return False


_GLOBAL_OPS = {"LOAD_GLOBAL", "LOAD_NAME"}
_ATTR_OPS = {"LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM", "IMPORT_NAME", "LOAD_SUPER_ATTR"}


def _code_refs(code: types.CodeType) -> tuple[set[str], set[str]]:
    """(global names, attribute/import names) a code object and its nested code look up."""
    glob: set[str] = set()
    attrs: set[str] = set()
    for ins in dis.get_instructions(code):
        if ins.opname in _GLOBAL_OPS and isinstance(ins.argval, str):
            glob.add(ins.argval)
        elif ins.opname in _ATTR_OPS and isinstance(ins.argval, str):
            attrs.update(ins.argval.split("."))  # "import scipy.signal" -> both parts
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            g, a = _code_refs(const)
            glob |= g
            attrs |= a
    return glob, attrs


def assert_not_calling(fn: Callable, names: str | Iterable[str]) -> None:
    """Fail if ``fn``'s code looks up any of ``names`` (a static check on the bytecode).

    Reads the global, attribute and import names in the bytecode of ``fn``, of its
    nested functions and lambdas, and of the helpers it reaches by name in its own
    module namespace.
    A dotted name counts by its last part (``"scipy.signal.correlate2d"`` ->
    ``"correlate2d"``). A student's own helper that happens to share a forbidden name is
    not flagged itself; its body is checked instead.

    Args:
        fn: a Python function.
        names: a name or an iterable of names.

    Raises:
        TypeError: ``fn`` is not a Python function or ``names`` holds a non-string.
        ForbiddenCallError: a forbidden name is used.
    """
    if isinstance(names, str):
        names = [names]
    wanted = set()
    for name in names:
        if not isinstance(name, str) or not name:
            raise TypeError(
                "assert_not_calling(names=...) takes non-empty strings. "
                f"Received: {name!r}"
            )
        wanted.add(name.rsplit(".", 1)[-1])
    target = _unwrap(fn)
    if not isinstance(target, types.FunctionType):
        raise TypeError(
            "assert_not_calling(fn=...) needs a Python function (def or lambda). "
            f"Received: {fn!r} of type {type(fn).__name__}"
        )
    found: dict[str, str] = {}
    seen: set[int] = set()
    # Every function down the __wrapped__ chain is read: a wrapper (the grader's result
    # coercion, a student's own functools.wraps) can neither hide the body nor stand in for it.
    stack = _wrapped_chain(fn) or [target]
    while stack:
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        glb = f.__globals__
        global_names, attr_names = _code_refs(f.__code__)
        for name in global_names:
            bound = glb.get(name)
            own = isinstance(bound, types.FunctionType) and bound.__globals__ is glb
            if own:
                stack.extend(_wrapped_chain(bound))
            elif name in wanted:
                found.setdefault(name, f.__name__)
        for name in attr_names & wanted:
            found.setdefault(name, f.__name__)
    if found:
        listed = ", ".join(f"`{n}` (em `{where}`)" for n, where in sorted(found.items()))
        raise ForbiddenCallError(
            f"O código usa {listed}. Este exercício deve ser feito do zero, com NumPy "
            "básico; não use implementações prontas."
        )


def _wrapped_chain(fn) -> list[types.FunctionType]:
    """``fn`` and the Python functions down its ``__wrapped__`` chain (read from the
    instance dict, so a ``__getattr__`` trick cannot fake it)."""
    chain, seen = [], set()
    while fn is not None and id(fn) not in seen:
        seen.add(id(fn))
        if isinstance(fn, types.FunctionType):
            chain.append(fn)
        fn = getattr(fn, "__dict__", {}).get("__wrapped__") if hasattr(fn, "__dict__") else None
    return chain


def _unwrap(fn):
    """Follow ``__wrapped__`` (functools.wraps) down to the original function."""
    seen = set()
    while hasattr(fn, "__wrapped__") and id(fn) not in seen:
        seen.add(id(fn))
        fn = fn.__wrapped__
    return fn


def assert_no_tampering(fn: Callable) -> None:
    """Fail if ``fn``'s code uses a name only needed to reach around the checker.

    ``assert_not_calling(fn, TAMPER_NAMES)``: ``__code__``, ``__wrapped__``, frames, the
    garbage collector, ``tf.raw_ops``, NumPy's and SciPy's private modules, this module.
    Hidden tests of from-scratch exercises (and a grader's source re-check) call it next
    to ``forbid``; an honest answer never uses these names.

    Raises:
        TypeError: ``fn`` is not a Python function.
        ForbiddenCallError: a tampering name is used.
    """
    assert_not_calling(fn, TAMPER_NAMES)
    # The same names written as strings (getattr(f, "__wrapped__")).
    target = _unwrap(fn)
    found = set()
    stack, seen = [f.__code__ for f in _wrapped_chain(fn)] or [target.__code__], set()
    while stack:
        code = stack.pop()
        if id(code) in seen:
            continue
        seen.add(id(code))
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                stack.append(const)
            elif isinstance(const, str) and const in TAMPER_NAMES:
                found.add(const)
    if found:
        listed = ", ".join(f"`{n}`" for n in sorted(found))
        raise ForbiddenCallError(
            f"O código usa {listed} (como texto). Este exercício deve ser feito do zero, "
            "com NumPy básico; não use implementações prontas."
        )


def _fingerprint() -> tuple:
    """What verify_intact compares: this module's names, the checker classes' attributes
    and the code of every function defined here (immutable tuples)."""
    module = sys.modules.get(__name__)
    names = tuple(sorted(
        (k, id(v)) for k, v in _MODULE_DICT.items()
        if k != "_INITIAL" and not (k.startswith("__") and k.endswith("__"))
    ))
    classes = tuple((cls.__name__, tuple(sorted((k, id(v)) for k, v in vars(cls).items())))
                    for cls in _CLASSES)
    codes = tuple((fn.__qualname__, id(fn.__code__)) for fn in _FUNCTIONS)
    return (id(module), type(module).__name__, names, classes, codes)


def verify_intact() -> list[str]:
    """What has been altered in the checker since it was imported (empty when intact).

    Looks at this module's entry in ``sys.modules``, its names, the attributes of
    ``forbid``/``ForbiddenCallError`` and the code of its functions. ``forbid`` calls it on
    entering a block; a grader can call it after running a submission and flag a
    non-empty answer for manual review.
    """
    problems = []
    now = _fingerprint()
    if sys.modules.get(__name__) is not _MODULE:
        problems.append(f"sys.modules[{__name__!r}] foi substituído")
    if now[1] != "_SealedModule":
        problems.append("a classe do módulo foi trocada")
    if now[2] != _INITIAL[2]:
        changed = sorted({k for k, _ in set(now[2]) ^ set(_INITIAL[2])})
        problems.append(f"nomes do módulo alterados: {changed}")
    if now[3] != _INITIAL[3]:
        problems.append("atributos de `forbid`/`ForbiddenCallError` alterados")
    if now[4] != _INITIAL[4]:
        changed = sorted({k for k, _ in set(now[4]) ^ set(_INITIAL[4])})
        problems.append(f"código de funções do verificador alterado: {changed}")
    return problems


_ORIGINAL_CODES: dict[int, list] = {}  # id -> [original code swapped out now, functions]


def _own_codes(codes) -> frozenset:
    found: set = set()
    stack = list(codes)
    while stack:
        code = stack.pop()
        if code in found:
            continue
        found.add(code)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return frozenset(found)


def raised_by_checker(event: str, args: tuple = (), depth: int = 2) -> bool:
    """Whether the audit event being handled comes from this module's own patching.

    Call it from an audit hook (``sys.addaudithook``), directly, for the events the hook
    would flag: it looks at the Python frame that raised the event (``depth`` frames up:
    0 is this function, 1 the hook) and answers True only when that frame runs this
    module's code *and* the operation is one the checker does: creating a code object
    (``code.__new__``) or setting a function's ``__code__`` to one of its raisers or back
    to the original it saved. Student code cannot make it answer True for its own
    ``__code__`` writes: those frames are not this module's.

    Args:
        event: the audit event name.
        args: the event's arguments.
        depth: frames between this call and the frame that raised the event.

    Returns:
        bool.
    """
    if event not in ("code.__new__", "object.__setattr__"):
        return False  # never calls sys._getframe for its own audit event
    try:
        frame = sys._getframe(depth)
    except ValueError:
        return False
    if frame is None or frame.f_code not in _CHECKER_CODES:
        return False
    if event == "code.__new__":
        return True
    if len(args) < 3 or args[1] != "__code__" or not isinstance(args[2], types.CodeType):
        return args[1:2] in (("__defaults__",), ("__kwdefaults__",)) if len(args) >= 2 else False
    value = args[2]
    if value.co_filename == "<forbid>":
        return True  # a raiser
    held = _ORIGINAL_CODES.get(id(value))
    return held is not None and held[0] is value  # restoring


class _SealedModule(types.ModuleType):
    """This module's class: its names cannot be rebound or deleted from outside."""

    def __setattr__(self, name, value):
        if name.startswith("__") and name.endswith("__"):  # import machinery (reload)
            return super().__setattr__(name, value)
        raise AttributeError(
            f"autograder.forbid.{name} cannot be changed: the from-scratch checker is read-only."
        )

    def __delattr__(self, name):
        raise AttributeError(
            f"autograder.forbid.{name} cannot be deleted: the from-scratch checker is read-only."
        )


_MODULE = sys.modules[__name__]
_MODULE_DICT = _MODULE.__dict__
_CLASSES = (forbid, ForbiddenCallError, _ForbiddenImportError, _SealedType)
_FUNCTIONS = tuple(
    v for v in list(globals().values()) + [m for c in _CLASSES for m in vars(c).values()]
    if type(v) is types.FunctionType and v.__module__ == __name__
)
_CHECKER_CODES = _own_codes(fn.__code__ for fn in _FUNCTIONS)
_MODULE.__class__ = _SealedModule
_INITIAL = _fingerprint()
