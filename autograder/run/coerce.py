"""Results coerced to plain data before the tests compare them (runs inside the sandbox).

A test such as ``assert output_size(256, 3, 0, 1) == 254`` trusts the object the
student's function returns: an object whose ``__eq__`` always answers True, or an
``ndarray`` subclass that fakes comparisons, passes it. The harness therefore wraps
the callables the student's answer cells define (functions, and the methods of the
student's own plain classes) so that their results are converted to plain data first:

- plain values pass untouched and at (almost) no cost: ``int``, ``float``, ``bool``,
  ``complex``, ``str``, ``bytes``, ``None``, NumPy scalars, a numeric ``ndarray``; and
  objects of library types (Keras models, TensorFlow tensors...), which the student's
  code did not make;
- ``tuple``/``list``/``dict`` are coerced element by element (the same object comes back
  when nothing had to change), as are the elements of an ``object``-dtype array;
- a *suspect* value (an ``ndarray`` subclass; an object of a type the student made, or
  from a module outside the trusted libraries, that defines comparison, array, number
  or container dunders, or that subclasses a builtin data type) becomes an
  ``ndarray`` (its base ``ndarray`` view, ``__array__`` or buffer), an ``int``
  (``__index__``), a ``float`` (``__float__``) or a tuple/list, recursively; what cannot
  be converted raises ``TypeError`` with a message in Portuguese, so the test cell
  fails instead of comparing something that lies.
"""

from __future__ import annotations

import functools
import operator
import sys
import types

STUDENT_FILE = "<resposta"  # code compiled from a student's answer cell (see harness)

# Dunders a student-made type may define and still be returned as is (an object of a
# class the student wrote, e.g. a layer with ``__call__``): none of these can take part in
# a comparison, a conversion to an array or arithmetic.
ALLOWED_DUNDERS = frozenset({
    "__init__", "__call__", "__repr__", "__str__", "__doc__", "__module__", "__qualname__",
    "__dict__", "__weakref__", "__slots__", "__annotations__", "__firstlineno__",
    "__static_attributes__", "__classcell__", "__init_subclass__", "__orig_bases__",
    "__parameters__", "__type_params__", "__abstractmethods__", "_abc_impl", "__new__",
    "__del__", "__enter__", "__exit__", "__format__", "__match_args__", "__dataclass_fields__",
    "__dataclass_params__", "__post_init__", "__setattr__", "__getstate__", "__setstate__",
    "__reduce__", "__reduce_ex__", "__copy__", "__deepcopy__", "__sizeof__", "__dir__",
    "__getnewargs__", "__getnewargs_ex__", "__hash__",
})
# Modules whose types are trusted (the libraries the course uses); a type from any
# other module (unittest.mock's ANY, a .py file written into the scratch folder) is
# judged like a student's.
TRUSTED_MODULES = frozenset({
    "builtins", "numpy", "tensorflow", "keras", "tf_keras", "cnnlib", "scipy", "collections",
    "fractions", "decimal", "datetime", "pathlib", "functools", "itertools", "types", "typing",
    "abc", "enum", "re", "io", "h5py", "pandas", "PIL", "matplotlib", "ml_dtypes", "jax",
    "jaxlib", "sklearn", "IPython", "autograder", "absl", "google", "optree", "dataclasses",
    "numbers", "operator", "math", "statistics", "array", "weakref", "contextlib", "random",
    "json", "string", "copy", "threading", "queue", "warnings", "inspect", "tree", "namex",
})
PLAIN = frozenset({int, float, bool, complex, str, bytes, type(None)})
MAX_DEPTH = 16


def _message(value) -> str:
    return (f"sua função devolveu um objeto do tipo {type(value).__name__}; esperado um "
            "número/array (valores de tipos criados pela resposta são convertidos antes "
            "de serem comparados, e este não pôde ser convertido)")


def _student_code(obj) -> bool:
    """A function (or a descriptor around one) compiled from a student's answer."""
    for attr in ("__func__", "fget"):
        inner = getattr(obj, attr, None) if not isinstance(obj, types.FunctionType) else None
        if inner is not None:
            obj = inner
    code = getattr(obj, "__code__", None) if isinstance(obj, types.FunctionType) else None
    return code is not None and code.co_filename.startswith(STUDENT_FILE)


def _custom_dunders(cls: type) -> bool:
    """Whether ``cls`` itself defines a dunder outside ``ALLOWED_DUNDERS``."""
    return any(name.startswith("__") and name.endswith("__") and name not in ALLOWED_DUNDERS
               for name in list(vars(cls)))


_TYPE_MODULE = type.__dict__["__module__"]


class Coercer:
    """Converts results; knows which ``__main__`` classes belong to the instructor."""

    def __init__(self):
        import numpy as np

        self.np = np
        self.ndarray = np.ndarray
        self.scalars = frozenset(np.sctypeDict.values())
        self.instructor_classes: set[int] = set()
        self.student_classes: set[int] = set()
        self.trusted_types: dict[type, bool] = {}  # library type -> not suspect (cached)
        self.data_bases = (int, float, complex, str, bytes, tuple, list, dict, set, frozenset,
                           np.ndarray, np.generic)

    # -- verdicts --------------------------------------------------------------------
    def _foreign(self, cls: type) -> bool:
        """A class the student made (or from a module outside the trusted libraries)."""
        if id(cls) in self.student_classes:
            return True
        module = cls.__dict__.get("__module__", None)
        if not isinstance(module, str):  # a builtin type (its dict may hold a descriptor)
            try:
                module = _TYPE_MODULE.__get__(cls, type)
            except (AttributeError, TypeError):
                module = None
        if not isinstance(module, str):
            return True
        if module == "__main__":
            return id(cls) not in self.instructor_classes
        if module.split(".")[0] not in TRUSTED_MODULES:
            return True
        return any(_student_code(v) for v in list(vars(cls).values()))

    def suspect(self, kind: type) -> bool:
        """Whether values of type ``kind`` must be converted before a comparison."""
        cached = self.trusted_types.get(kind)
        if cached is not None:
            return not cached
        if issubclass(kind, self.ndarray):
            return kind is not self.ndarray
        mro = [c for c in kind.__mro__ if c is not object and c not in self.data_bases]
        foreign = [c for c in mro if self._foreign(c)]
        if foreign:  # a subclass of int, float, tuple... made by the student is always converted
            return issubclass(kind, self.data_bases) or any(_custom_dunders(c) for c in foreign)
        if not any(c.__dict__.get("__module__") == "__main__" for c in mro):
            self.trusted_types[kind] = True  # a library type: its verdict never changes
        return False

    # -- conversion ------------------------------------------------------------------
    def __call__(self, value, depth: int = 0):
        kind = type(value)
        if kind in PLAIN:
            return value
        if kind is self.ndarray:
            return self._array(value, depth) if value.dtype.hasobject else value
        if kind is tuple or kind is list:
            items = [self(v, depth + 1) for v in value] if depth < MAX_DEPTH else self._deep(value)
            if all(a is b for a, b in zip(items, value)):
                return value
            return kind(items)
        if kind is dict:
            new = {k: self(v, depth + 1) for k, v in value.items()} if depth < MAX_DEPTH else self._deep(value)
            return value if all(new[k] is v for k, v in value.items()) else new
        if kind is types.FunctionType:  # a function made by the answer (a closure): its results too
            if _student_code(value) and value.__code__ is not _CODE:
                return wrap(value, self)
            return value
        if kind in self.scalars or not self.suspect(kind):
            return value
        if depth >= MAX_DEPTH:
            self._deep(value)
        return self._convert(value, depth)

    def _deep(self, value):
        raise TypeError(_message(value) + "; estrutura aninhada demais")

    def _array(self, arr, depth: int):
        """An object-dtype array: its elements coerced (and the array rebuilt if needed)."""
        np = self.np
        flat = list(arr.flat)
        items = [self(v, depth + 1) for v in flat]
        if all(a is b for a, b in zip(items, flat)):
            return arr
        out = np.empty(arr.shape, dtype=object)
        for i, v in enumerate(items):
            out.flat[i] = v
        try:
            return np.array(out.tolist()) if out.ndim else out
        except (ValueError, TypeError):
            return out

    def _convert(self, value, depth: int):
        np = self.np
        kind = type(value)
        if isinstance(value, self.ndarray):
            return self(self.ndarray.view(value, self.ndarray), depth + 1)
        array = getattr(kind, "__array__", None)
        if array is not None:
            try:
                out = array(value)
            except Exception:  # noqa: BLE001 - try the other conversions
                out = None
            if type(out) is self.ndarray:
                return self(out, depth + 1)
        try:
            view = memoryview(value)
        except TypeError:
            view = None
        if view is not None:
            return np.array(view)
        if isinstance(value, (int, np.integer)) or hasattr(kind, "__index__"):
            try:
                return operator.index(value)
            except TypeError:
                pass
        if isinstance(value, (float, np.floating)) or hasattr(kind, "__float__"):
            try:
                return float(value)
            except (TypeError, ValueError):
                pass
        if isinstance(value, (tuple, list)):
            base = tuple if isinstance(value, tuple) else list
            items = [self(v, depth + 1) for v in base.__iter__(value)]
            return base(items)
        raise TypeError(_message(value))


# --------------------------------------------------------------------------- wrapping

def _factory(fn, coerce):
    def wrapper(*args, **kwargs):
        return coerce(fn(*args, **kwargs))

    return wrapper


def wrap(fn, coerce: Coercer, globals_: dict | None = None):
    """A function calling ``fn`` and coercing its result.

    With ``globals_`` (the notebook's namespace) the wrapper is rebuilt on those globals,
    so tools that look for the user's functions there (``forbid``'s alias scan) still find
    it; without (a closure returned at run time) it is a plain closure, so no
    ``function.__new__`` audit event is raised while student code is on the stack.
    ``__wrapped__`` leads to ``fn`` (signature, source and the checker's static reads
    follow it).
    """
    inner = _factory(fn, coerce)
    if globals_ is None:
        wrapper = inner
    else:
        wrapper = types.FunctionType(inner.__code__, globals_, getattr(fn, "__name__", "f"), None,
                                     inner.__closure__)
    functools.update_wrapper(wrapper, fn)
    wrapper.__wrapped__ = fn
    wrapper.__coerced__ = True
    return wrapper


def _inner_student(obj) -> bool:
    """A callable made from student code: a function, or a partial/cache/vectorize of one."""
    seen = 0
    while obj is not None and seen < 8:
        if _student_code(obj):
            return True
        wrapped = getattr(obj, "__dict__", {}).get("__wrapped__") if hasattr(obj, "__dict__") else None
        if isinstance(obj, types.FunctionType):
            obj = wrapped
        else:
            obj = wrapped or getattr(obj, "func", None) or getattr(obj, "pyfunc", None)
        seen += 1
    return False


def wrap_new(ns: dict, before: dict[str, int], coerce: Coercer) -> list[str]:
    """Wrap what a solution cell bound or rebound in ``ns``; return the wrapped names."""
    wrapped = []
    for name, value in list(ns.items()):
        if before.get(name) == id(value) or name.startswith("__"):
            continue
        if isinstance(value, type):
            if id(value) not in coerce.instructor_classes and _made_here(value):
                coerce.student_classes.add(id(value))
                wrapped += [f"{name}.{m}" for m in _wrap_methods(value, coerce, ns)]
            continue
        if isinstance(value, types.ModuleType) or not callable(value):
            continue
        if isinstance(value, types.FunctionType) and value.__code__ is _CODE:
            continue  # already wrapped (an alias of a wrapped function)
        if _inner_student(value):
            ns[name] = wrap(value, coerce, ns)
            wrapped.append(name)
    return wrapped


def _made_here(cls: type) -> bool:
    """A class an answer cell created (not one it imported from a library)."""
    module = cls.__dict__.get("__module__")
    if module == "__main__" or any(_student_code(v) for v in list(vars(cls).values())):
        return True
    owner = sys.modules.get(module) if isinstance(module, str) else None
    found = owner
    for part in str(cls.__dict__.get("__qualname__", cls.__name__)).split("."):
        found = getattr(found, part, None) if found is not None else None
    return found is not cls


def _wrap_methods(cls: type, coerce: Coercer, ns: dict) -> list[str]:
    """Wrap the methods of a plain student class (object or student bases only)."""
    if any(base is not object and not coerce._foreign(base) for base in cls.__mro__[1:]):
        return []  # a subclass of a library class (a Keras layer): its results are library objects
    done = []
    for name, member in list(vars(cls).items()):
        if name.startswith("__") and name != "__call__":
            continue
        try:
            if isinstance(member, staticmethod) and _student_code(member.__func__):
                setattr(cls, name, staticmethod(wrap(member.__func__, coerce, ns)))
            elif isinstance(member, classmethod) and _student_code(member.__func__):
                setattr(cls, name, classmethod(wrap(member.__func__, coerce, ns)))
            elif isinstance(member, types.FunctionType) and _student_code(member):
                setattr(cls, name, wrap(member, coerce, ns))
            else:
                continue
        except (AttributeError, TypeError):  # a class that refuses new attributes
            continue
        done.append(name)
    return done


_CODE = _factory(None, None).__code__


def note_instructor_classes(ns: dict, before: dict[str, int], coerce: Coercer) -> None:
    """Classes an instructor's cell bound in ``ns`` are not the student's."""
    for name, value in list(ns.items()):
        if isinstance(value, type) and before.get(name) != id(value) and id(value) not in coerce.student_classes:
            coerce.instructor_classes.add(id(value))
