"""Static review of a student's solution cells: constructs an honest answer to these
exercises does not need, and that reach around the tests (introspection of the caller,
the IPython machinery, patching modules, processes, sockets, files, custom equality).

A finding never changes a score by itself: it flags the submission for manual review in
the gradebook, grades.csv and the report.
"""

from __future__ import annotations

import ast

from autograder.run.parse import parse

SUSPICIOUS_NAMES = {
    "get_ipython": "acesso ao IPython", "input_transformers_post": "transformador de entrada do IPython",
    "input_transformers_cleanup": "transformador de entrada do IPython", "_getframe": "inspeção de frames",
    "f_back": "inspeção de frames", "f_locals": "inspeção de frames", "f_globals": "inspeção de frames",
    "gc": "módulo gc", "inspect": "módulo inspect", "ctypes": "ctypes", "builtins": "builtins",
    "__builtins__": "builtins", "importlib": "importlib", "__import__": "__import__", "exec": "exec",
    "eval": "eval", "compile": "compile", "globals": "globals()", "setattr": "setattr", "delattr": "delattr",
    "__code__": "troca de código", "__wrapped__": "desembrulhar o verificador", "__closure__": "closure",
    "__defaults__": "defaults", "threading": "threads", "multiprocessing": "processos", "subprocess": "processos",
    "socket": "rede", "signal": "sinais", "atexit": "atexit", "settrace": "sys.settrace",
    "setprofile": "sys.setprofile", "modules": "sys.modules", "open": "arquivos", "system": "os.system",
    "fork": "os.fork", "kill": "os.kill", "_exit": "os._exit", "setsid": "os.setsid", "write": None,
    "ForbiddenCallError": "captura do erro do verificador", "forbid": "o verificador forbid",
    "_forbid": "o verificador forbid", "__subclasses__": "__subclasses__", "__class__": "__class__",
}
COMPARISON_DUNDERS = {"__eq__", "__ne__", "__bool__", "__array__", "__array_ufunc__", "__array_function__",
                      "__float__", "__lt__", "__le__", "__gt__", "__ge__", "__getattr__", "__getattribute__"}


def scan(source: str) -> list[str]:
    """Findings (pt-BR, de-duplicated) for one solution cell's source."""
    try:
        tree = parse(source)
    except (SyntaxError, ValueError):
        return []
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.update(a.asname or a.name for a in node.names)
    found: list[str] = []

    def add(text):
        if text not in found:
            found.append(text)

    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Attribute):
            name = node.attr
            if name == "write" and isinstance(node.value, ast.Name) and node.value.id == "os":
                add("uso de os.write")
        elif isinstance(node, ast.alias):
            name = node.name.split(".")[0]
        if name in SUSPICIOUS_NAMES and SUSPICIOUS_NAMES[name]:
            add(f"uso de {name} ({SUSPICIOUS_NAMES[name]})")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in COMPARISON_DUNDERS:
            add(f"define {node.name} (objeto que pode fingir igualdade)")
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                root = target
                while isinstance(root, (ast.Attribute, ast.Subscript)):
                    root = root.value
                if target is not root and isinstance(root, ast.Name) and root.id in modules:
                    add(f"altera um módulo importado ({ast.unparse(target)[:60]})")
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
            if names & {"AssertionError", "BaseException", "ForbiddenCallError"}:
                add("captura AssertionError/BaseException")
    return found


def scratch_flags(cells: list[dict]) -> list[str]:
    """The from-scratch rule re-checked on the source of the answers the tests run under
    ``forbid`` (see ``autograder.run.scratch_rule``); never raises."""
    from autograder.run import scratch_rule

    try:
        return scratch_rule.review(cells)
    except Exception as exc:  # noqa: BLE001 - a review aid must never stop grading
        return [f"regra do zero: revisão estática falhou ({type(exc).__name__}: {exc})"[:300]]
