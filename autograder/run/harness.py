"""The trusted runner inside the sandbox: execute one submission's notebook, cell by cell.

It replaces an IPython kernel for grading. The instructor's cells (locked cells and the
grade cells with their hidden tests) run as written; the student's solution cells run in
*definitions-only* mode by default: only ``import``, ``def``, ``class`` and simple
constant assignments are kept, so top-level student code (an IPython input transformer
that rewrites later cells, a patch of NumPy, an endless loop) never runs. Cells are not
run through IPython, so there is no input-transformer pipeline to hook.

What student code can still do at run time (inside the functions the tests call) is
watched, not trusted: after every cell the protected modules (NumPy, SciPy, builtins,
math, the checker...) are compared with a snapshot and restored, an audit hook records
escapes (ctypes, subprocess, sockets, frame/gc introspection, code swapping), and
classes the student defined with custom comparison methods are reported. Each finding
is a *flag*: the grader marks the submission for manual review.

Before the tests compare anything, the callables an answer cell defines are wrapped so
that what they return is coerced to plain data (``autograder.run.coerce``): an object
that always compares equal, or an ``ndarray`` subclass faking its comparisons, is
converted (or refused with a TypeError) instead of being trusted by the test.

Protocol: the job (a dict) comes from the grader; results go as JSON lines to ``out``
(a binary file object): ``{"event": "cell", "index": i}`` before a cell and
``{"event": "done", "index": i, "ok": bool, "error": {...}|None, "output": str,
"flags": [...]}`` after it, ``{"event": "end"}`` at the end.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import sys
import traceback
import types

from autograder.run.parse import parse

MAX_CELL_OUTPUT = 20_000  # characters of stdout/stderr kept per cell
MAX_TOTAL_OUTPUT = 200_000
PROTECTED_PREFIXES = ("numpy", "scipy", "math", "builtins", "operator", "functools", "inspect", "dis",
                      "types", "autograder", "cnnlib", "keras", "tensorflow", "importlib", "copy")
LAZY_PRIVATE = ("tensorflow", "keras", "tf_keras")
AUDIT_EVENTS = {
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.addressof", "ctypes.string_at", "ctypes.cdata",
    "ctypes.call_function", "socket.connect", "socket.bind", "socket.sendto", "subprocess.Popen",
    "os.system", "os.fork", "os.forkpty", "os.posix_spawn", "os.exec", "os.spawn", "os.kill",
    "os.killpg", "signal.pthread_kill", "sys.addaudithook", "gc.get_referrers", "gc.get_referents",
    "gc.get_objects", "sys._current_frames", "sys.setprofile", "sys.settrace", "code.__new__",
    "function.__new__", "os.setsid", "pty.spawn",
}
WATCHED_SETATTR = {"__code__", "__eq__", "__ne__", "__bool__", "__array__", "__array_ufunc__",
                   "__array_function__", "__float__", "__defaults__", "__kwdefaults__", "__closure__"}
COMPARISON_DUNDERS = ("__eq__", "__ne__", "__bool__", "__array__", "__array_ufunc__", "__array_function__",
                      "__float__", "__int__", "__index__", "__lt__", "__le__", "__gt__", "__ge__",
                      "__abs__", "__len__", "__getattr__", "__getattribute__")
SAFE_CALLS = {"tuple", "list", "dict", "set", "frozenset", "range", "int", "float", "str", "bool",
              "complex", "len", "sorted", "zip", "slice", "abs", "min", "max", "round", "sum",
              "enumerate", "reversed", "bytes"}


# --------------------------------------------------------------------------- definitions

def _safe_value(node: ast.AST, modules: set[str]) -> bool:
    """A constant-like expression: literals, names, containers, arithmetic and calls of
    module functions (``np.array([...])``) or a few builtins (``tuple(...)``)."""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom,
                            ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return False
        if isinstance(sub, ast.Attribute) and sub.attr.startswith("__"):
            return False
        if isinstance(sub, ast.Name) and sub.id.startswith("__"):
            return False
        if isinstance(sub, ast.Call):
            func = sub.func
            if isinstance(func, ast.Name):
                if func.id not in SAFE_CALLS:
                    return False
            else:
                root = func
                while isinstance(root, ast.Attribute):
                    root = root.value
                if not (isinstance(root, ast.Name) and root.id in modules):
                    return False
    return True


def _targets_ok(targets) -> bool:
    for target in targets:
        if isinstance(target, (ast.Tuple, ast.List)):
            if not _targets_ok(target.elts):
                return False
        elif not isinstance(target, ast.Name) or target.id.startswith("__"):
            return False
    return True


def definitions_only(source: str, modules: set[str] | None = None) -> tuple[str, list[tuple[int, str]]]:
    """Keep the definitions of a solution cell; return (new source, dropped statements).

    Kept at top level: imports, function and class definitions (with their decorators),
    and assignments of constant-like values to plain names. Dropped statements are
    returned as (line number, first line) so the grader can say what did not run.
    A cell that does not parse is returned as is (running it reports the SyntaxError).
    """
    try:
        tree = parse(source)
    except SyntaxError:
        return source, []
    modules = set(modules or ())
    for node in ast.walk(tree):  # names bound by imports anywhere in the cell
        if isinstance(node, ast.Import):
            modules.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.update(a.asname or a.name for a in node.names)
    kept, dropped = [], []
    lines = source.split("\n")
    for node in tree.body:
        ok = isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        if isinstance(node, ast.Assign):
            ok = _targets_ok(node.targets) and _safe_value(node.value, modules)
        elif isinstance(node, ast.AnnAssign):
            ok = _targets_ok([node.target]) and (node.value is None or _safe_value(node.value, modules))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            ok = True  # docstrings / bare strings
        elif isinstance(node, ast.Pass):
            ok = True
        if ok:
            kept.append(node)
        else:
            dropped.append((node.lineno, lines[node.lineno - 1].strip()[:120]))
    tree.body = kept
    return ast.unparse(tree) if dropped else source, dropped


# --------------------------------------------------------------------------- integrity

class Integrity:
    """Snapshot of protected modules' attributes; ``restore`` puts back what changed."""

    def __init__(self):
        self.snapshot: dict[str, tuple[types.ModuleType, dict]] = {}
        self.take()

    def take(self) -> None:
        modules = {}
        for name, mod in list(sys.modules.items()):
            if not isinstance(mod, types.ModuleType):
                continue
            top = name.split(".")[0]
            if top in LAZY_PRIVATE:
                if name == top:  # TensorFlow/Keras: the public namespaces only (tf, tf.nn, keras.ops...)
                    modules[name] = mod
                    for attr, value in list(vars(mod).items()):
                        if isinstance(value, types.ModuleType) and not attr.startswith("_"):
                            modules[f"{name}.{attr}"] = value
            elif top in PROTECTED_PREFIXES:
                modules[name] = mod
        self.snapshot = {name: (mod, dict(vars(mod))) for name, mod in modules.items()}

    def restore(self) -> list[str]:
        """Restore changed or deleted attributes; return 'module.attr' of each."""
        changed = []
        for name, (mod, saved) in self.snapshot.items():
            current = vars(mod)
            for key, value in saved.items():
                now = current.get(key, _MISSING)
                if now is value:
                    continue
                if isinstance(value, types.ModuleType) or isinstance(now, types.ModuleType):
                    continue  # lazy loaders replace placeholders by modules
                if key in ("__warningregistry__", "__loader__", "__spec__", "_cached"):
                    continue
                if name.split(".")[0] in LAZY_PRIVATE and not _student_made(now):
                    continue  # TensorFlow/Keras replace their own globals lazily (eager context, FLAGS)
                try:
                    setattr(mod, key, value)
                except (AttributeError, TypeError):
                    pass
                changed.append(f"{name}.{key}")
        return changed


_MISSING = object()


class AuditFlags:
    """An audit hook (cannot be removed once added) recording escapes while ``armed``."""

    def __init__(self):
        self.armed = False
        self.events: list[str] = []

    def __call__(self, event, args):
        if not self.armed:
            return
        if event in AUDIT_EVENTS:
            text = event
        elif event == "object.__setattr__" and len(args) >= 2 and args[1] in WATCHED_SETATTR:
            text = f"{event}({args[1]})"
        else:
            return
        if _student_on_stack():
            self._add(text)

    def _add(self, text):
        if text not in self.events and len(self.events) < 50:
            self.events.append(text)

    def take(self) -> list[str]:
        out, self.events = self.events, []
        return out


STUDENT_FILE = "<resposta"  # code compiled from a student's answer cell


def _student_on_stack() -> bool:
    """Whether code compiled from a student's answer is among the calling frames (so
    libraries and the instructor's tests doing the same thing are not flagged)."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith(STUDENT_FILE):
            return True
        frame = frame.f_back
    return False


def _student_made(value) -> bool:
    code = getattr(value, "__code__", None) or getattr(getattr(value, "__func__", None), "__code__", None)
    if code is not None and code.co_filename.startswith(STUDENT_FILE):
        return True
    return getattr(type(value), "__module__", None) == "__main__"


def custom_comparison_classes(ns: dict, before: set[int]) -> list[str]:
    """Classes defined by student code (new in ``ns``) overriding comparison/array dunders."""
    found = []
    for name, obj in list(ns.items()):
        if isinstance(obj, type) and id(obj) not in before and obj.__module__ == "__main__":
            dunders = [d for d in COMPARISON_DUNDERS if d in vars(obj)]
            if dunders:
                found.append(f"{name} ({', '.join(dunders)})")
    return found


# --------------------------------------------------------------------------- capture

class CappedText(io.TextIOBase):
    """A text stream that keeps at most ``limit`` characters and counts the rest."""

    def __init__(self, limit: int):
        self.limit, self.parts, self.size, self.dropped = limit, [], 0, 0

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self) -> str:
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n[saída truncada: {self.dropped} caracteres omitidos]\n"
        return text


def _error(exc: BaseException, filename_prefix: str) -> dict:
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    # Keep the frames of the notebook cells and student code, not the harness's own.
    tb = [line for line in tb if "autograder/run/harness.py" not in line]
    return {"ename": type(exc).__name__, "evalue": str(exc)[:2000], "traceback": [line[:2000] for line in tb[-30:]]}


# --------------------------------------------------------------------------- run

def run(job: dict, out) -> None:
    """Execute ``job['cells']`` in order, writing one JSON line per event to ``out``."""
    exec_, compile_ = builtins.exec, builtins.compile

    def emit(obj):
        out.write((json.dumps(obj) + "\n").encode("utf-8", "replace"))
        out.flush()

    import warnings

    warnings.filterwarnings("ignore")
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is a dependency
        display = print
    ns: dict = {"__name__": "__main__", "__builtins__": builtins, "display": display}
    main = types.ModuleType("__main__")
    main.__dict__.update(ns)
    ns = main.__dict__
    sys.modules["__main__"] = main
    try:
        from autograder.run import coerce as coerce_mod

        coercer = coerce_mod.Coercer()
    except ImportError:  # pragma: no cover - NumPy is a dependency of every course notebook
        coerce_mod = coercer = None
    integrity = Integrity()
    audit = AuditFlags()
    sys.addaudithook(audit)
    modules = set(job.get("modules", ()))
    skip = set(job.get("skip", ()))  # cell indices not to run (graded before a crash)
    mode = job.get("mode", "definitions")
    total = 0
    emit({"event": "start"})
    for index, cell in enumerate(job["cells"]):
        gid = cell.get("grade_id")
        if index in skip:
            continue
        kind = cell["kind"]
        source = cell["source"]
        flags, dropped = [], []
        if kind == "solution" and mode == "definitions":
            source, dropped = definitions_only(source, modules)
        emit({"event": "cell", "index": index})
        classes_before = {id(v) for v in ns.values() if isinstance(v, type)}
        bound_before = {k: id(v) for k, v in ns.items()}
        buffer = CappedText(min(MAX_CELL_OUTPUT, max(MAX_TOTAL_OUTPUT - total, 0)))
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = buffer
        error = None
        audit.armed = kind != "locked"
        try:
            name = f"{STUDENT_FILE} {gid}>" if kind == "solution" else f"<célula {gid or index}>"
            code = compile_(source, name, "exec")
            exec_(code, ns)
        except BaseException as exc:  # noqa: BLE001 - a cell's failure is its grade
            error = _error(exc, "<célula")
        finally:
            audit.armed = False
            sys.stdout, sys.stderr = old_out, old_err
        if coercer is not None:
            try:  # results of the answer's callables are coerced before any test compares them
                if kind == "solution":
                    coerce_mod.wrap_new(ns, bound_before, coercer)
                else:
                    coerce_mod.note_instructor_classes(ns, bound_before, coercer)
            except Exception as exc:  # noqa: BLE001 - never lose a grade to the wrapping itself
                flags.append(f"não foi possível proteger os resultados da resposta: {type(exc).__name__}")
        if kind == "locked":
            integrity.take()  # the instructor's own changes are the new baseline
        else:
            changed = integrity.restore()
            if changed:
                flags.append("alterou módulos protegidos (restaurados): " + ", ".join(changed[:8]))
            events = audit.take()
            if events:
                flags.append("operações suspeitas em tempo de execução: " + ", ".join(events))
            classes = custom_comparison_classes(ns, classes_before)
            if classes:
                flags.append("classe com comparação personalizada: " + ", ".join(classes))
            if sys.stdout is not old_out or sys.modules.get("__main__") is not main:
                flags.append("alterou sys.stdout ou __main__")
                sys.stdout, sys.stderr = old_out, old_err
        text = buffer.getvalue()
        total += len(text)
        emit({"event": "done", "index": index, "ok": error is None, "error": error, "output": text,
              "flags": flags, "dropped": dropped})
    emit({"event": "end"})
