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

Everything is restored on exit, even when the block raises.

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
from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "ForbiddenCallError",
    "forbid",
    "assert_not_calling",
    "CONV_ALIASES",
    "DEFAULT_CONV_TARGETS",
]


class ForbiddenCallError(AssertionError):
    """A from-scratch exercise called a forbidden library function.

    An ``AssertionError`` subclass, so nbgrader marks the grade cell as failed.
    """


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

# What the convolution notebooks forbid in their from-scratch exercises.
DEFAULT_CONV_TARGETS: tuple[str, ...] = (
    "scipy.signal",
    "scipy.ndimage",
    "numpy.convolve",
    "numpy.correlate",
    "tensorflow.nn.conv2d",
    "cnnlib.reference",
)

def _expand(targets: Iterable[str]) -> tuple[list[str], set[str]]:
    """Validate target strings; return them plus the TensorFlow/Keras aliases they bring.

    The second item holds the explicit targets (an unknown one is an error; an alias
    missing from the installed version is not).
    """
    out: list[str] = []
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
        group = CONV_ALIASES if target in CONV_ALIASES else (target,)
        for name in group:
            if name not in out:
                out.append(name)
    return out, set(targets)


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
    """Public callables of a module that belong to its own top-level package."""
    root = module.__name__.split(".")[0]
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
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


def _make_guard(obj, name: str, alias: str | None = None):
    """A stand-in for ``obj`` that raises ``ForbiddenCallError`` naming ``name``."""
    short = name.rsplit(".", 1)[-1]
    shown = f"`{name}`"
    if alias is not None and alias != short:
        shown += f" (importada como `{alias}`)"
    message = (
        f"Chamada proibida: {shown}. Este exercício deve ser feito do zero, com NumPy "
        f"básico (laços, fatiamento, somas, produtos); não use `{short}` nem outra "
        "implementação pronta."
    )

    def guard(*args, **kwargs):
        raise ForbiddenCallError(message)

    try:  # look like the original (name, doc, signature); do not copy a class's __dict__
        functools.update_wrapper(guard, obj, updated=())
    except Exception:
        pass
    guard.__forbidden__ = name
    return guard


class forbid:
    """Context manager: calling any target inside the block raises ``ForbiddenCallError``.

    Args:
        *targets: dotted module names (every public callable of the module, and of the
            submodules of a package, is forbidden) or dotted callables. Any of ``CONV_ALIASES`` brings in all of them.
        namespaces: extra dicts (or functions, whose ``__globals__`` is used) to scan for
            aliases; the caller's globals are always scanned.

    Raises:
        TypeError/ValueError: a target that is not a dotted name, or that names an
            attribute which does not exist on an imported module.
        ForbiddenCallError: (inside the block) a forbidden function was called.

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
        self._targets, self._explicit = _expand(targets)
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
        self._packages: dict[str, str] = {}  # package __name__ -> target shown in messages
        self._patched_modules: set[str] = set()
        self._busy = False
        self._active = False

    # -- patching helpers --------------------------------------------------------------
    def _guard_for(self, obj, name: str):
        key = id(obj)
        if key not in self._guards:
            self._forbidden[key] = (obj, name)
            self._guards[key] = _make_guard(obj, name)
        return self._guards[key]

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

    def _setitem(self, mapping: dict, key: str, value) -> None:
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
            self._setattr(parent, attr, self._guard_for(obj, target))
        return True

    def _patch_module(self, module: types.ModuleType, shown: str) -> None:
        self._patched_modules.add(module.__name__)
        for name, member in _module_members(module).items():
            if not _is_guard(member):
                self._setattr(module, name, self._guard_for(member, f"{shown}.{name}"))

    def _patch_submodules(self) -> None:
        """Patch the loaded, fully initialized submodules of forbidden packages."""
        for name, module in list(sys.modules.items()):
            if name in self._patched_modules or not isinstance(module, types.ModuleType):
                continue
            for package, target in self._packages.items():
                if name.startswith(package + ".") and not _initializing(module):
                    self._patch_module(module, target + name[len(package):])
                    break

    def _scan(self) -> None:
        """Patch aliases of forbidden objects bound in the scanned namespaces."""
        for ns in self._namespaces:
            for key, value in list(ns.items()):
                if id(value) in self._forbidden and self._forbidden[id(value)][0] is value:
                    name = self._forbidden[id(value)][1]
                    self._setitem(ns, key, _make_guard(value, name, alias=key))
                elif isinstance(value, types.FunctionType) and value.__globals__ is ns:
                    self._scan_function(value)

    def _scan_function(self, fn: types.FunctionType) -> None:
        """Patch forbidden objects captured in defaults and closures of a user function."""
        for attr in ("__defaults__",):
            values = getattr(fn, attr)
            if values and any(id(v) in self._forbidden for v in values):
                new = tuple(
                    self._guards[id(v)] if id(v) in self._forbidden else v for v in values
                )
                self._setattr(fn, attr, new)
        kw = fn.__kwdefaults__
        if kw and any(id(v) in self._forbidden for v in kw.values()):
            new_kw = {k: self._guards[id(v)] if id(v) in self._forbidden else v
                      for k, v in kw.items()}
            self._setattr(fn, "__kwdefaults__", new_kw)
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # empty cell
                continue
            if id(value) in self._forbidden and self._forbidden[id(value)][0] is value:
                cell.cell_contents = self._guards[id(value)]

                def undo(cell=cell, value=value):
                    cell.cell_contents = value

                self._undo.append(undo)

    def _patch_pending(self) -> None:
        if self._busy or not (self._pending or self._packages):
            return
        self._busy = True
        try:
            if self._packages:
                self._patch_submodules()
            still = []
            for target in self._pending:
                try:
                    done = self._patch_target(target)
                except Exception:  # half-imported package: retry on the next import
                    done = False
                if not done:
                    still.append(target)
            self._pending = still
        finally:
            self._busy = False

    # -- context manager ---------------------------------------------------------------
    def __enter__(self) -> "forbid":
        if self._active:
            raise RuntimeError("forbid() blocks are not re-entrant; create a new one.")
        self._active = True
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
            self._watch_imports()
        except BaseException:
            self._restore()
            raise
        return self

    def _watch_imports(self) -> None:
        """Patch pending targets when an import statement run inside the block returns.

        Only the outermost import triggers it: patching while a package is still being
        imported could hand a guard to module-level code that keeps it after the block.
        """
        real_import = builtins.__import__
        real_import_module = importlib.import_module
        depth = [0]

        def watched(real):
            @functools.wraps(real)
            def wrapper(*args, **kwargs):
                depth[0] += 1
                try:
                    module = real(*args, **kwargs)
                finally:
                    depth[0] -= 1
                if depth[0] == 0:
                    self._patch_pending()
                return module

            return wrapper

        self._setattr(builtins, "__import__", watched(real_import))
        self._setattr(importlib, "import_module", watched(real_import_module))

    def _restore(self) -> None:
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
    stack = [target]
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
                stack.append(bound)
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


def _unwrap(fn):
    """Follow ``__wrapped__`` (functools.wraps) down to the original function."""
    seen = set()
    while hasattr(fn, "__wrapped__") and id(fn) not in seen:
        seen.add(id(fn))
        fn = fn.__wrapped__
    return fn
