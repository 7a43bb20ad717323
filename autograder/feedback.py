"""Feedback helpers: hide hidden tests from nbgrader's feedback HTML, and write a
feedback page for submissions nbgrader could not grade."""

from __future__ import annotations

import html
import re
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader import utils as nbutils

HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
HIDDEN_END = "END HIDDEN TESTS"
REDACTED_SOURCE = "# (testes ocultos omitidos)"
REDACTED_TRACEBACK = "(detalhes omitidos: esta célula contém testes ocultos)"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_hidden(source: str) -> tuple[str, bool]:
    """Replace each ``### BEGIN/END HIDDEN TESTS`` region by one comment line.

    Returns:
        (new source, whether a region was found).
    """
    out, inside, found = [], False, False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            inside, found = True, True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + REDACTED_SOURCE)
        elif HIDDEN_END in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out), found


class RedactHiddenTests(NbGraderPreprocessor):
    """nbgrader 0.9.6 puts the hidden tests back into the autograded notebook and its
    feedback shows them (source and the traceback's code context). This removes the
    hidden regions and reduces error tracebacks in those cells to ``Error: message``."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not nbutils.is_grade(cell):
            return cell, resources
        cell.source, found = strip_hidden(cell.source)
        if found:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    message = f"{output.get('ename', 'Error')}: {_ANSI.sub('', str(output.get('evalue', '')))}"
                    output["traceback"] = [message, REDACTED_TRACEBACK]
        return cell, resources


def write_failure_feedback(path: Path, student: str, assignment: str, notebook: str,
                           max_score: float, reason: str) -> None:
    """A minimal pt-BR feedback page for a submission scored 0 because it could not run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = f"""<!DOCTYPE html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>{html.escape(notebook)}</title></head>
<body>
<h1>{html.escape(assignment)} / {html.escape(notebook)}: {html.escape(student)}</h1>
<p><strong>Nota: 0 / {max_score:g}</strong></p>
<p>O notebook não pôde ser corrigido automaticamente. Motivo:</p>
<pre>{html.escape(reason)}</pre>
<p>Corrija o problema (rode "Kernel &gt; Restart &amp; Run All" antes de enviar) e envie de novo,
ou procure a equipe da disciplina.</p>
</body></html>
"""
    path.write_text(body, encoding="utf-8")
