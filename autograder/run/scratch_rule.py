"""The from-scratch rule re-checked on the answers' source (grader side, static).

At run time ``autograder.forbid`` makes a forbidden library function raise while the
tests call the student's function. This module reads the same rule from the notebook's
own test cells, statically, and looks in the source of the answers those tests call
for the routes that reach a forbidden target some other way:

- a reference to the target itself, by any alias (``import scipy.signal as sg`` then
  ``sg.correlate2d``; ``from numpy import pad``), including saved references (a default
  argument, a module-level or class-level name bound to the target);
- a name built at run time and used to look something up: ``getattr``,
  ``importlib.import_module``, ``__import__``, ``vars(...)[...]``, ``__dict__[...]``,
  with a string that is a constant or is built from constants (``"con" + "v2d"``,
  f-strings, ``"".join(...)``, ``reversed``, ``[::-1]``, ``.lower()``...);
- ``sys.modules``, NumPy's/SciPy's private modules (``numpy.lib._arraypad_impl``...),
  the checker itself (``forbid``, ``ForbiddenCallError``, ``__wrapped__``, ``__code__``:
  ``autograder.forbid.TAMPER_NAMES``) and other frameworks (``torch``, ``jax``, ``cv2``).

Legitimate NumPy stays legitimate: ``sliding_window_view``, ``einsum`` or
``as_strided`` are reported only when a test forbids them by name.

A finding flags the submission for manual review, naming the route; it never changes
the score by itself.
"""

from __future__ import annotations

import ast
import functools

from autograder.run.parse import parse

FORBID_MODULE = "autograder.forbid"
TARGET_TUPLES = ("DEFAULT_CONV_TARGETS", "POOL_TARGETS", "SOFTMAX_TARGETS", "CONV_ALIASES",
                 "POOL_ALIASES", "SOFTMAX_ALIASES")
OTHER_FRAMEWORKS = ("torch", "jax", "cv2", "tensorflow_addons", "skimage")
PRIVATE_ROOTS = ("numpy", "scipy")
LOOKUPS = {"getattr", "import_module", "__import__", "find_spec", "attrgetter", "methodcaller"}
MAX_STR = 200


# --------------------------------------------------------------------------- the rule

def _forbid_aliases(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names bound to ``forbid`` and to module ``autograder.forbid`` by imports in a cell."""
    funcs, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == FORBID_MODULE:
            for a in node.names:
                if a.name == "forbid":
                    funcs.add(a.asname or a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name == FORBID_MODULE and a.asname:
                    modules.add(a.asname)
    return funcs, modules


def _constants(trees: list[ast.AST]) -> dict[str, tuple[str, ...]]:
    """Module-level names bound to tuples/lists of strings in the instructor's cells, plus
    the checker's own target tuples (imported under any alias)."""
    from autograder import forbid as checker

    out: dict[str, tuple[str, ...]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == FORBID_MODULE:
                for a in node.names:
                    if a.name in TARGET_TUPLES:
                        out[a.asname or a.name] = tuple(getattr(checker, a.name))
        for node in getattr(tree, "body", []):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                value = _string_tuple(node.value, out)
                if value is not None:
                    out[node.targets[0].id] = value
    return out


def _string_tuple(node, known: dict[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    if isinstance(node, (ast.Tuple, ast.List)):
        items: list[str] = []
        for elt in node.elts:
            if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                items.append(elt.value)
            elif isinstance(elt, ast.Starred) and isinstance(elt.value, ast.Name) and elt.value.id in known:
                items.extend(known[elt.value.id])
            else:
                return None
        return tuple(items)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _string_tuple(node.left, known), _string_tuple(node.right, known)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.Name) and node.id in known:
        return known[node.id]
    return None


def _forbid_targets(call: ast.Call, funcs: set[str], modules: set[str],
                    known: dict[str, tuple[str, ...]]) -> list[str] | None:
    """The targets of a ``forbid(...)`` call, or None when ``call`` is not one."""
    func = call.func
    is_forbid = (isinstance(func, ast.Name) and func.id in funcs) or (
        isinstance(func, ast.Attribute) and func.attr == "forbid" and isinstance(func.value, ast.Name)
        and func.value.id in modules)
    if not is_forbid:
        return None
    targets: list[str] = []
    for arg in call.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            targets.append(arg.value)
        elif isinstance(arg, ast.Starred):
            value = _string_tuple(arg.value, known)
            targets.extend(value or ())
    return targets


def forbidden_for(cells: list[dict]) -> dict[str, set[str]]:
    """answer function name -> forbidden targets, read from the instructor's test cells.

    A grade cell that opens ``forbid(...)`` blocks associates the targets of all of them
    with every answer function the cell names (a helper in the cell may run the blocks).
    """
    answer_defs: set[str] = set()
    for cell in cells:
        if cell.get("kind") == "solution":
            try:
                tree = parse(cell.get("source", ""))
            except (SyntaxError, ValueError):
                continue
            answer_defs |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    instructor = tuple((c.get("kind"), c.get("source", "")) for c in cells if c.get("kind") != "solution")
    rule: dict[str, set[str]] = {}
    for targets, named in _test_blocks(instructor):
        for name in named & answer_defs:
            rule.setdefault(name, set()).update(targets)
    return rule


@functools.lru_cache(maxsize=16)
def _test_blocks(instructor: tuple[tuple[str, str], ...]) -> tuple[tuple[frozenset, frozenset], ...]:
    """(targets, names the cell uses) of each grade cell with ``forbid`` blocks; the same
    for every submission of a notebook, so it is read once per run."""
    trees = []
    for kind, source in instructor:
        try:
            trees.append((kind, parse(source)))
        except (SyntaxError, ValueError):
            continue
    known = _constants([t for _, t in trees])
    out = []
    for kind, tree in trees:
        if kind != "grade":
            continue
        funcs, modules = _forbid_aliases(tree)
        funcs.add("forbid")
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                found = _forbid_targets(node, funcs, modules, known)
                if found:
                    targets.update(found)
        if targets:
            out.append((frozenset(targets), frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))))
    return tuple(out)


@functools.lru_cache(maxsize=16)
def _locked_aliases(sources: tuple[str, ...]) -> dict[str, str]:
    trees = []
    for source in sources:
        try:
            trees.append(parse(source))
        except (SyntaxError, ValueError):
            continue
    return _import_aliases(trees)


# --------------------------------------------------------------------------- the answers

def _static_str(node, strings: dict[str, str]) -> tuple[str | None, bool]:
    """(value, built) of a string expression made only of constants, else (None, False).
    ``built`` tells a string assembled at run time from a plain literal."""
    if isinstance(node, ast.Constant):
        return (node.value, False) if isinstance(node.value, str) else (None, False)
    if isinstance(node, ast.Name) and node.id in strings:
        return strings[node.id], True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        left, _ = _static_str(node.left, strings)
        right, _ = _static_str(node.right, strings)
        if left is not None and right is not None:
            return (left + right)[:MAX_STR], True
        return None, False
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                inner, _ = _static_str(value.value, strings)
                if inner is None:
                    return None, False
                parts.append(inner)
        return "".join(parts)[:MAX_STR], True
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        base, _ = _static_str(node.value, strings)
        s = node.slice
        if base is not None and s.lower is None and s.upper is None and isinstance(s.step, ast.UnaryOp) \
                and isinstance(s.step.operand, ast.Constant) and s.step.operand.value == 1:
            return base[::-1], True
        return None, False
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "join" and len(node.args) == 1:
            sep, _ = _static_str(func.value, strings)
            items = _static_items(node.args[0], strings)
            if sep is not None and items is not None:
                return sep.join(items)[:MAX_STR], True
        if isinstance(func, ast.Attribute) and func.attr in ("lower", "upper", "strip", "title",
                                                              "capitalize", "casefold") and not node.args:
            base, _ = _static_str(func.value, strings)
            if base is not None:
                return getattr(base, func.attr)(), True
        if isinstance(func, ast.Attribute) and func.attr == "replace" and len(node.args) == 2:
            base, _ = _static_str(func.value, strings)
            old, _ = _static_str(node.args[0], strings)
            new, _ = _static_str(node.args[1], strings)
            if None not in (base, old, new):
                return base.replace(old, new)[:MAX_STR], True
        if isinstance(func, ast.Name) and func.id == "str" and len(node.args) == 1:
            return _static_str(node.args[0], strings)
        if isinstance(func, ast.Name) and func.id == "chr" and len(node.args) == 1 \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, int):
            try:
                return chr(node.args[0].value), True
            except (ValueError, OverflowError):
                return None, False
    return None, False


def _static_items(node, strings) -> list[str] | None:
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_static_str(e, strings)[0] for e in node.elts]
        return None if None in items else items  # type: ignore[return-value]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("reversed", "list",
                                                                                            "tuple") \
            and len(node.args) == 1:
        inner = _static_items(node.args[0], strings)
        if inner is None:
            value, _ = _static_str(node.args[0], strings)
            inner = list(value) if value is not None else None
        if inner is not None and node.func.id == "reversed":
            inner = inner[::-1]
        return inner
    value, _ = _static_str(node, strings)
    return list(value) if value is not None else None


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _import_aliases(trees) -> dict[str, str]:
    """local name -> dotted module/object path, from the imports of the given cells."""
    out: dict[str, str] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        out[a.asname] = a.name
                    else:
                        out[a.name.split(".")[0]] = a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _resolve(dotted: str, aliases: dict[str, str]) -> str:
    head, _, rest = dotted.partition(".")
    base = aliases.get(head, head)
    return f"{base}.{rest}" if rest else base


_SHORT = {"tf": "tensorflow", "np": "numpy", "sp": "scipy"}


def _normalise(path: str) -> str:
    head, _, rest = path.partition(".")
    head = _SHORT.get(head, head)
    path = f"{head}.{rest}" if rest else head
    return path.replace("tensorflow.keras.", "keras.").replace(".src.", ".")


class _Rule:
    """The forbidden names of one answer function, expanded like ``forbid`` does."""

    def __init__(self, targets: set[str]):
        from autograder import forbid as checker

        try:
            expanded, _, _, frameworks = checker._expand(sorted(targets))
        except (TypeError, ValueError):
            expanded, frameworks = sorted(targets), False
        self.targets = {_normalise(t) for t in expanded}
        self.callables = {t.rsplit(".", 1)[-1] for t in self.targets if "." in t}
        self.modules = {t for t in self.targets}
        self.frameworks = frameworks
        self.tamper = set(checker.TAMPER_NAMES)

    def reference(self, path: str) -> str | None:
        path = _normalise(path)
        for target in self.targets:
            if path == target or path.startswith(target + "."):
                return target
        return None

    def word(self, text: str) -> str | None:
        """A forbidden name inside a string (a name built at run time)."""
        lowered = text.lower()
        pieces = {p for p in lowered.replace("/", ".").split(".") if p}
        for target in self.targets:
            if target.lower() in lowered:
                return target
        exact = {q for q in text.replace("/", ".").split(".") if q}
        for test in (lambda n: n in exact, lambda n: n.lower() in pieces,
                     lambda n: len(n) > 4 and n.lower() in lowered):
            hits = sorted((n for n in self.callables if test(n)), key=len, reverse=True)
            if hits:
                return hits[0]
        for name in self.tamper:
            if name.lower() in pieces:
                return name
        if self.frameworks:
            for name in OTHER_FRAMEWORKS:
                if name in pieces:
                    return name
        return None


def _answer_trees(cells) -> tuple[dict[str, tuple[str, ast.AST]], list[ast.AST]]:
    """(function/class name -> (grade id, answer tree), answer trees). The imports of the
    instructor's locked cells are the student's too (``_locked_aliases``); the test
    cells' imports are not."""
    defs, answers = {}, []
    for cell in cells:
        if cell.get("kind") != "solution":
            continue
        try:
            tree = parse(cell.get("source", ""))
        except (SyntaxError, ValueError):
            continue
        answers.append(tree)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defs[node.name] = (cell.get("grade_id") or "?", tree)
    return defs, answers


def _reached(start: str, defs: dict[str, tuple[str, ast.AST]]) -> list[str]:
    """``start`` and the answer functions it names, transitively (its own helpers)."""
    seen, stack = [], [start]
    while stack:
        name = stack.pop()
        if name in seen or name not in defs:
            continue
        seen.append(name)
        tree = defs[name][1]
        node = next((n for n in tree.body if getattr(n, "name", None) == name), None)
        if node is None:
            continue
        stack.extend(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in defs)
    return seen


def _routes(tree: ast.AST, names: list[str], rule: _Rule, aliases: dict[str, str]) -> list[str]:
    """The routes the definitions ``names`` of one answer cell (and the cell's own
    module-level statements: saved references) take to a forbidden target (pt-BR)."""
    found: list[str] = []

    def add(text):
        if text not in found and len(found) < 8:
            found.append(text)

    strings: dict[str, str] = {}
    for node in ast.walk(tree):  # names bound to constant strings anywhere in the cell
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value, _ = _static_str(node.value, strings)
            if value is not None:
                strings[node.targets[0].id] = value
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    roots = [n for n in tree.body if getattr(n, "name", None) in names
             or not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    for node in (sub for root in roots for sub in ast.walk(root)):
        if isinstance(node, (ast.Attribute, ast.Name)) and not isinstance(parents.get(id(node)), ast.Attribute):
            dotted = _dotted(node)
            if dotted:
                path = _resolve(dotted, aliases)
                target = rule.reference(path)
                if target:
                    add(f"referência a {target} ({dotted})")
                parts = path.split(".")
                if path.startswith("sys.modules") or dotted.startswith("sys.modules"):
                    add("uso de sys.modules")
                elif parts[0] in PRIVATE_ROOTS and any(p.startswith("_") and not p.startswith("__") for p in parts[1:]):
                    add(f"módulo interno de {parts[0]} ({dotted})")
                tamper = [p for p in parts if p in rule.tamper]
                if tamper:
                    add(f"alcança o verificador ou desembrulha funções ({', '.join(tamper)})")
                if rule.frameworks and parts[0] in OTHER_FRAMEWORKS:
                    add(f"outra biblioteca ({parts[0]})")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [f"{node.module}.{a.name}" for a in node.names if node.module]
            for name in names:
                target = rule.reference(name)
                if target:
                    add(f"importa {name} ({target})")
                if rule.frameworks and name.split(".")[0] in OTHER_FRAMEWORKS:
                    add(f"outra biblioteca ({name.split('.')[0]})")
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            position = 1 if name == "getattr" else 0
            if name in LOOKUPS and len(node.args) > position:
                value, _ = _static_str(node.args[position], strings)
                if value is None:
                    add(f"{name} com nome calculado em tempo de execução")
                else:
                    word = rule.word(value)
                    if word:
                        add(f"{name}({value!r}) alcança {word}")
        if isinstance(node, ast.Subscript):
            value, _ = _static_str(node.slice, strings)
            base = _dotted(node.value) or ""
            if value is not None and (base.endswith("__dict__") or isinstance(node.value, ast.Call)
                                      or base.endswith("modules")):
                word = rule.word(value)
                if word:
                    add(f"busca por nome [{value!r}] alcança {word}")
        if isinstance(node, (ast.BinOp, ast.JoinedStr, ast.Call, ast.Subscript)):
            value, built = _static_str(node, strings)
            if value is not None and built and not isinstance(parents.get(id(node)), (ast.BinOp, ast.JoinedStr)):
                word = rule.word(value)
                if word:
                    add(f"nome montado em tempo de execução {value!r} ({word})")
    return found


def review(cells: list[dict]) -> list[str]:
    """Flags (pt-BR) for answers the tests run under ``forbid`` whose source reaches a
    forbidden target by another route. Empty for an honest notebook."""
    rule_of = forbidden_for(cells)
    if not rule_of:
        return []
    defs, answers = _answer_trees(cells)
    aliases = dict(_locked_aliases(tuple(c.get("source", "") for c in cells if c.get("kind") == "locked")))
    aliases.update(_import_aliases(answers))
    flags: list[str] = []
    done: set[tuple[str, frozenset]] = set()
    for name in sorted(rule_of):
        rule = _Rule(rule_of[name])
        for reached in _reached(name, defs):
            gid, tree = defs[reached]
            key = (reached, frozenset(rule.targets))
            if key in done:
                continue
            done.add(key)
            routes = _routes(tree, [reached], rule, aliases)
            if routes:
                flags.append(f"regra do zero ({gid}, testada sem {', '.join(sorted(rule_of[name]))[:120]}): "
                             + "; ".join(routes))
    return flags
