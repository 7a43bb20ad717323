"""The bad-submission suite: hostile and clumsy students against the fixture assignment
(tests/fixtures/autograder, 5 points), graded together in one run with short timeouts.

Every case has its expected score, whether it must be flagged for manual review and what
its feedback or notes say; the control students (perfect answers, one under a folder name
with spaces and accents) must keep 5/5 whatever the others did. Cases that need root
(sandbox: other users' files, network, processes) are skipped where the grader is not root.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import socket
import threading
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder import nbgrun
from autograder import notebook as nbtools
from autograder.build import build_assignment
from autograder.grade import grade_submissions, write_csv
from autograder.paths import Paths
from autograder.run import sandbox
from autograder.run.sandbox import Limits

pytestmark = pytest.mark.slow
ROOT = sandbox.is_root()
needs_root = pytest.mark.skipif(not ROOT, reason="the sandbox needs root")

FIXTURE = Path(__file__).parent / "fixtures" / "autograder"
A = "00-fixture"
RELU = "def relu(x):\n    return np.maximum(np.asarray(x, dtype=float), 0.0)\n"
OUTPUT_SIZE = "def output_size(w_in, k, p, s):\n    return (w_in - k + 2 * p) // s + 1\n"
CONV_PARAMS = "def conv_params(k, c_in, filters):\n    return filters * (k * k * c_in + 1)\n"
MARK = "agmark" + hashlib.sha1(str(os.getpid()).encode()).hexdigest()[:8]


def _set(nb, **sources):
    return nbtools.with_cells(nb, sources)


def _cases(perfect, release, course: Path, subs: Path, port: int) -> dict[str, object]:
    """student folder -> notebook (or raw text) for every case."""
    victim = subs / "perfect"
    cases = {
        "perfect": perfect,
        "Maria da Silva Ñúñez": perfect,  # an LMS export folder name
        "untouched": release,
        # reads the hidden tests, the solutions, another student's notebook; prints them
        "reads-secrets": _set(perfect, relu=RELU.replace("    return", f"""    for p in [
              {str(course / 'source' / A / (A + '.ipynb'))!r},
              {str(FIXTURE / 'solutions' / A / (A + '.py'))!r}, {str(victim / (A + '.ipynb'))!r},
              {str(course / 'gradebook.db')!r}, '/root/.bash_history']:
        try:
            print(open(p).read()[:300])
        except Exception as e:
            print('bloqueado', type(e).__name__)
    return""")),
        # tries to zero another student, forge grades.csv, rewrite the submissions folder
        "vandal": _set(perfect, relu=RELU.replace("    return", f"""    import sqlite3
    for p in [{str(course / 'gradebook.db')!r}, {str(course / 'grades.csv')!r},
              {str(victim / (A + '.ipynb'))!r}, {str(course / 'source' / A / (A + '.ipynb'))!r}]:
        try:
            open(p, 'w').write('x')
        except Exception as e:
            print('bloqueado', type(e).__name__)
    return""")),
        # rewrites every later cell to `pass` (an IPython input transformer) on an untouched notebook
        "transformer": _set(release, output_size="get_ipython().input_transformers_post.append("
                                                 "lambda lines: ['pass\\n'])\n"),
        # objects that always compare equal
        "always-equal": _set(perfect, output_size="class Any:\n    def __eq__(self, other):\n        return True\n"
                                                  "def output_size(w_in, k, p, s):\n    return Any()\n",
                             conv_params="def conv_params(k, c_in, filters):\n    return Any()\n"),
        # a wrong relu returning an ndarray subclass that fakes equality and NumPy's functions
        "fake-ndarray": _set(perfect, relu="class Fake(np.ndarray):\n    def __eq__(self, other):\n"
                                           "        return np.ones(np.shape(other), dtype=bool)\n"
                                           "    def __array_function__(self, func, types, args, kwargs):\n"
                                           "        return True\n"
                                           "def relu(x):\n    return np.zeros(np.shape(x)).view(Fake)\n"),
        # unittest.mock's ANY (equal to everything) returned by a library-looking route
        "mock-any": _set(perfect, conv_params="def conv_params(k, c_in, filters):\n"
                                              "    from unittest.mock import ANY\n    return ANY\n"),
        # a wrong relu that patches NumPy's comparison from inside the function
        "numpy-patch": _set(perfect, relu="import numpy.testing._private.utils as _u\n"
                                          "def relu(x):\n    _u.assert_array_compare = lambda *a, **k: None\n"
                                          "    return x\n"),
        # a background process (new session) that would rewrite a grade later
        "background": _set(perfect, relu=RELU.replace("    return", f"""    import subprocess
    subprocess.Popen(['sh', '-c', 'sleep 20; echo {MARK} > /tmp/{MARK}'], start_new_session=True)
    return""")),
        # 6 GiB allocated and touched inside the function: only its test cell fails
        "memory-hog": _set(perfect, relu=RELU.replace("    return", "    big = np.ones(6 * 2**30 // 8)\n    return")),
        # a TCP connection to a loopback port
        "network": _set(perfect, relu=RELU.replace("    return", f"""    try:
        socket_ = __import__('socket').create_connection(('127.0.0.1', {port}), timeout=2)
        socket_.sendall(b'{MARK}')
    except OSError as e:
        print('rede bloqueada', type(e).__name__)
    return""")),
        # kernel death in one cell: the points of the other cells are kept
        "kernel-death": _set(perfect, relu="def relu(x):\n    import os\n    os._exit(1)\n"),
        # a loop that ignores Ctrl+C in conv_params: its 2 cells are lost, the rest kept
        "ignores-ctrl-c": _set(perfect, conv_params="def conv_params(k, c_in, filters):\n    import time\n"
                                                    "    while True:\n        try:\n            time.sleep(1)\n"
                                                    "        except KeyboardInterrupt:\n            pass\n"),
        # 200 MB printed
        "huge-print": _set(perfect, relu=RELU.replace("    return", "    print('x' * (200 * 2**20))\n    return")),
        # a correct answer that needs a top-level statement (a dict comprehension)
        "needs-top-level": _set(perfect, conv_params="TABLE = {k: k * k for k in range(10)}\n"
                                                     "def conv_params(k, c_in, filters):\n"
                                                     "    return filters * (TABLE[k] * c_in + 1)\n"),
    }
    # a duplicated solution cell (first copy untouched) and a renamed test id
    dup = copy.deepcopy(perfect)
    index = next(i for i, c in enumerate(dup.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "relu")
    stub = next(c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "relu")
    dup.cells.insert(index, copy.deepcopy(stub))
    for cell in dup.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_relu_values":
            cell.metadata["nbgrader"]["grade_id"] = "meu_teste"
    cases["duplicated-renamed"] = dup
    # solutions pasted into a fresh notebook, without metadata, in another order
    fresh = nbformat.v4.new_notebook()
    fresh.cells = [nbformat.v4.new_code_cell(CONV_PARAMS), nbformat.v4.new_code_cell("import numpy as np\n" + RELU),
                   nbformat.v4.new_markdown_cell("<script>alert('xss')</script> minhas notas"),
                   nbformat.v4.new_code_cell(OUTPUT_SIZE)]
    cases["pasted-fresh"] = fresh
    # damaged metadata: a grade id written as a list, nbgrader metadata that is a string
    bad = copy.deepcopy(perfect)
    for cell in bad.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "output_size":
            meta["grade_id"] = ["output_size"]
        elif meta.get("grade_id") == "test_relu_values":
            cell.metadata["nbgrader"] = "estraguei"
    cases["bad-metadata"] = bad
    cases["broken-json"] = '{"cells": [ oops'
    return cases


STAMP = "2026-11-30 09:15:42.123456 UTC"
EXPECTED = {  # student -> (score, review flag expected, text expected in reason/flags)
    "perfect": (5, False, ""),
    "Maria da Silva Ñúñez": (5, False, ""),
    "untouched": (0, False, ""),
    "reads-secrets": (5, True, "open"),
    "vandal": (5, True, "open"),
    "transformer": (0, True, "get_ipython"),
    "always-equal": (1, True, "__eq__"),
    "fake-ndarray": (4, True, "Fake (__eq__, __array_function__)"),
    "mock-any": (3, True, ""),  # importing unittest.mock in the answer is flagged by the audit hook
    "numpy-patch": (5, True, "assert_array_compare"),
    "background": (5, True, "subprocess"),
    "memory-hog": (4, False, ""),
    "network": (5, True, "socket"),
    "kernel-death": (4, True, "terminou no meio da célula"),
    "ignores-ctrl-c": (3, False, "não parou ao ser interrompida"),
    "huge-print": (5, False, "timestamp.txt inválido"),
    "needs-top-level": (5, True, "nível superior"),
    "duplicated-renamed": (5, False, "aparece 2 vezes"),
    "pasted-fresh": (5, False, "sem metadados"),
    "bad-metadata": (5, False, "grade_id escrito como lista"),
    "broken-json": (0, False, "JSON"),
    "symlinker": (0, False, "link simbólico"),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    paths = Paths(solutions=FIXTURE / "solutions", mutants=FIXTURE / "mutants", notebooks=root / "notebooks",
                  samples=root / "samples", course=root / "course")
    build_assignment(A, paths)
    perfect = nbformat.read(paths.samples / A / "perfect" / f"{A}.ipynb", as_version=4)
    release = nbformat.read(paths.release(A), as_version=4)
    subs = root / "submissions"
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    received = []

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                received.append(conn.recv(100))
                conn.close()
            except OSError:
                pass

    stop = threading.Event()
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    for student, nb in _cases(perfect, release, paths.course, subs, server.getsockname()[1]).items():
        (subs / student).mkdir(parents=True)
        path = subs / student / f"{A}.ipynb"
        if isinstance(nb, str):
            path.write_text(nb, encoding="utf-8")
        else:
            nbformat.write(nb, path)
    (subs / "symlinker").mkdir()  # the notebook a link to another student's; a link to /dev/zero
    (subs / "symlinker" / f"{A}.ipynb").symlink_to(subs / "perfect" / f"{A}.ipynb")
    (subs / "symlinker" / "dados.bin").symlink_to("/dev/zero")
    (subs / "perfect" / "timestamp.txt").write_text(STAMP, encoding="utf-8")  # as nbgrader collect leaves it
    (subs / "perfect" / "submission_secret.txt").write_text("segredo-perfect", encoding="utf-8")
    (subs / "huge-print" / "timestamp.txt").write_text("ontem à tarde", encoding="utf-8")  # unparsable
    before = {str(p): p.read_bytes() for p in subs.rglob("*") if p.is_file()}
    lines = []
    results = grade_submissions(A, subs, paths, cell_timeout=4, wall_timeout=120, jobs=2,
                                limits=Limits(memory_bytes=1536 * 2**20), out=lines.append)
    write_csv(results, paths.course / "grades.csv")
    stop.set()
    thread.join()
    server.close()
    return paths, {r.folder: r for r in results}, subs, before, received, lines


def test_every_case_gets_its_expected_grade(hostile):
    _, res, _, _, _, lines = hostile
    table, wrong = [], []
    for student, (score, review, text) in EXPECTED.items():
        r = res[student]
        if not ROOT and student in ("reads-secrets", "vandal", "network", "memory-hog", "background"):
            continue
        table.append(f"{student:22s} {r.score:g}/5 {'revisão' if r.review else '-':8s} "
                     f"{(r.reason or ' | '.join(r.flags))[:110]}")
        if (r.score, r.review) != (score, review) or text not in r.reason + " ".join(r.flags):
            wrong.append(f"{student}: esperado ({score}, revisão={review}, {text!r}), "
                         f"obtido ({r.score:g}, revisão={r.review}, {r.reason!r}, {r.flags!r})")
    print("\n" + "\n".join(table))
    assert wrong == [], "\n".join(wrong)


def test_controls_untouched_by_the_others(hostile):
    paths, res, _, _, _, _ = hostile
    for student in ("perfect", "Maria da Silva Ñúñez"):
        r = res[student]
        assert (r.score, r.status, r.flags, r.reason) == (5, "graded", [], ""), r
        assert nbgrun.read_scores(paths.course, A, r.student, A) == {g: (1.0, 1.0) for g in r.cells}
    with (paths.course / "grades.csv").open(newline="", encoding="utf-8") as fh:
        rows = {r["folder"]: r for r in csv.DictReader(fh)}
    assert sorted(rows) == sorted(EXPECTED), sorted(rows)
    assert rows["perfect"]["score"] == "5" and rows["perfect"]["review"] == "", rows["perfect"]
    assert rows["always-equal"]["review"] == "sim", rows["always-equal"]
    assert res["Maria da Silva Ñúñez"].student.startswith("Maria-da-Silva-Nunez-"), res["Maria da Silva Ñúñez"].student


def test_submissions_folder_never_written(hostile):
    _, _, subs, before, _, _ = hostile
    after = {str(p): p.read_bytes() for p in subs.rglob("*") if p.is_file()}
    assert after == before, "grading changed the submissions folder"


def _printed(notebook_text: str) -> list[str]:
    """Lines printed by the relu test cell (2 calls of relu) of an autograded notebook."""
    nb = json.loads(notebook_text)
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_relu_values")
    return "".join(o.get("text", "") if isinstance(o.get("text"), str) else "".join(o.get("text", []))
                   for o in cell["outputs"] if o.get("output_type") == "stream").splitlines()


@needs_root
def test_sandbox_hid_secrets_and_blocked_the_network(hostile):
    paths, res, _, _, received, _ = hostile
    autograded = (paths.course / "autograded" / res["reads-secrets"].student / A / f"{A}.ipynb").read_text()
    printed = _printed(autograded)
    assert set(printed) == {"bloqueado FileNotFoundError"} and len(printed) == 10, printed
    vandal = (paths.course / "autograded" / res["vandal"].student / A / f"{A}.ipynb").read_text()
    printed = _printed(vandal)
    assert len(printed) == 8 and all(p.startswith("bloqueado ") for p in printed), printed
    assert received == [], f"a submission reached a loopback port: {received}"
    hog = (paths.course / "autograded" / res["memory-hog"].student / A / f"{A}.ipynb").read_text()
    assert "MemoryError" in hog, hog[-3000:]
    assert "rede bloqueada" in (paths.course / "autograded" / res["network"].student / A / f"{A}.ipynb").read_text()


@needs_root
def test_no_process_survives_grading(hostile):
    left = [p.info for p in psutil.process_iter(["pid", "cmdline"])
            if MARK in " ".join(p.info.get("cmdline") or [])]
    assert left == [], f"background processes survived: {left}"
    assert not Path(f"/tmp/{MARK}").exists()


def test_feedback_is_bounded_sanitized_and_hides_hidden_tests(hostile):
    paths, res, _, _, _, _ = hostile
    for folder, r in res.items():
        page = paths.course / "feedback" / r.student / A / f"{A}.html"
        assert page.is_file(), f"no feedback for {folder}"
        text = page.read_text(encoding="utf-8")
        assert len(text) < 2 * 2**20, f"feedback of {folder} has {len(text)} bytes"
        assert "<script>alert" not in text, f"feedback of {folder} carries student script"
        assert "segredo_oculto_12832" not in text and "conv_params(5, 16, 32)" not in text, folder
    huge = (paths.course / "feedback" / res["huge-print"].student / A / f"{A}.html").read_text(encoding="utf-8")
    assert "saída truncada" in huge


def test_resume_skips_unchanged_and_regrades_changed(hostile, tmp_path):
    paths, res, subs, _, _, _ = hostile
    import shutil

    few = tmp_path / "few"
    for folder in ("perfect", "untouched"):
        shutil.copytree(subs / folder, few / folder)
    nb = nbformat.read(few / "untouched" / f"{A}.ipynb", as_version=4)
    nbformat.write(_set(nb, relu="import numpy as np\n" + RELU), few / "untouched" / f"{A}.ipynb")
    lines = []
    again = grade_submissions(A, few, paths, cell_timeout=4, wall_timeout=60, jobs=1, resume=True,
                              out=lines.append)
    got = {r.folder: r.score for r in again}
    assert got == {"perfect": 5, "untouched": 1}, got
    assert any("perfect: unchanged since last run" in line for line in lines), lines
    assert not any("untouched: unchanged" in line for line in lines), lines


def test_coerced_results_fail_with_a_clear_message(hostile):
    paths, res, _, _, _, _ = hostile
    text = (paths.course / "autograded" / res["always-equal"].student / A / f"{A}.ipynb").read_text()
    assert "sua função devolveu um objeto do tipo Any" in text, text[-2000:]
    text = (paths.course / "autograded" / res["mock-any"].student / A / f"{A}.ipynb").read_text()
    assert "sua função devolveu um objeto do tipo _ANY" in text, text[-2000:]


def test_nbgrader_timestamps_recorded_and_copied_never_invented(hostile):
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    paths, res, _, _, _, _ = hostile
    with Gradebook(f"sqlite:///{paths.course / 'gradebook.db'}") as gb:
        got = {s.student.id: s.timestamp for s in gb.find_assignment(A).submissions}
    perfect = res["perfect"].student
    assert got[perfect] == parse_utc(STAMP), f"esperado {STAMP}, obtido {got[perfect]}"
    assert all(t is None for s, t in got.items() if s != perfect), f"timestamp inventado: {got}"
    for stage in ("autograded", "feedback"):
        folder = paths.course / stage / perfect / A
        assert (folder / "timestamp.txt").read_text() == STAMP, folder
        assert (folder / "submission_secret.txt").read_text() == "segredo-perfect", folder
        other = paths.course / stage / res["huge-print"].student / A
        assert not (other / "timestamp.txt").exists(), f"{other}: timestamp inválido copiado"
