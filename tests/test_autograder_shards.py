"""Sharded grading (issue 14: a Kubernetes Indexed Job grades one slice per pod) and an
interrupted run: n shards + merge give exactly the grades of one run; SIGTERM leaves
consistent files and no process behind; --resume continues where the run stopped."""

from __future__ import annotations

import copy
import csv
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder import nbgrun
from autograder.build import build_assignment
from autograder.cli import main
from autograder.errors import AutograderError
from autograder.grade import parse_shard, shard_slice
from autograder.paths import Paths

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "fixtures" / "autograder"
A = "00-fixture"


def test_shard_slices_are_a_partition():
    students = [f"s{i:02d}" for i in range(11)] + ["Zé Ninguém"]
    slices = [shard_slice(students, (i, 3)) for i in (1, 2, 3)]
    assert sorted(s for part in slices for s in part) == sorted(students)
    assert [len(p) for p in slices] == [4, 4, 4], slices
    assert shard_slice(students, (2, 3)) == slices[1], "a shard must be deterministic"
    for bad in ("0/2", "3/2", "a/b", "2"):
        with pytest.raises(AutograderError, match="--shard must be i/n"):
            parse_shard(bad)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A repository root holding the fixture assignment and 5 submissions."""
    root = tmp_path_factory.mktemp("shards")
    shutil.copytree(FIXTURE / "solutions", root / "solutions")
    shutil.copytree(FIXTURE / "mutants", root / "autograder" / "mutants")
    paths = Paths.from_root(root)
    build_assignment(A, paths)
    subs = root / "submissions"
    for student, sample in [("perfect", "perfect"), ("buggy", "buggy"), ("untouched", "untouched"),
                            ("Ana Lúcia", "perfect"), ("李雷", "buggy")]:
        (subs / student).mkdir(parents=True)
        shutil.copyfile(paths.samples / A / sample / f"{A}.ipynb", subs / student / f"{A}.ipynb")
    (subs / "broken").mkdir()
    (subs / "broken" / f"{A}.ipynb").write_text("{ nope", encoding="utf-8")
    # what nbgrader collect leaves in a collected submission
    (subs / "Ana Lúcia" / "timestamp.txt").write_text(STAMP, encoding="utf-8")
    (subs / "Ana Lúcia" / "submission_secret.txt").write_text("segredo-ana", encoding="utf-8")
    return root


STAMP = "2026-11-30 09:15:42.123456 UTC"


def _csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_shards_plus_merge_equal_one_run(root, tmp_path):
    subs = root / "submissions"
    one = tmp_path / "one"
    args = ["--root", str(root), "--cell-timeout", "20"]
    assert main(["--course-dir", str(one), "grade", A, str(subs), "--jobs", "2", *args]) == 0
    shard_files = []
    for i in (1, 2):
        pod = tmp_path / f"pod{i}"  # each pod has its own scratch course root
        out = tmp_path / "shards" / f"shard-{i}.json"
        assert main(["--course-dir", str(pod), "grade", A, str(subs), "--shard", f"{i}/2",
                     "--shard-file", str(out), *args]) == 0
        assert not (pod / "grades.csv").exists(), "a shard must not write grades.csv"
        shard_files.append(str(out))
    merged = tmp_path / "merged"
    assert main(["--course-dir", str(merged), "--root", str(root), "merge", A, *shard_files]) == 0
    rows_one, rows_merged = _csv(one / "grades.csv"), _csv(merged / "grades.csv")
    assert len(rows_one) == 6, rows_one
    assert rows_merged == rows_one, f"merge differs from one run:\n{rows_merged}\n!=\n{rows_one}"
    for row in rows_one:
        a = nbgrun.read_scores(one, A, row["student"], A)
        b = nbgrun.read_scores(merged, A, row["student"], A)
        assert a == b, (row["student"], a, b)
        assert (merged / "feedback" / row["student"] / A / f"{A}.html").is_file(), row["student"]
    # nbgrader's timestamp goes through the shard file into the merged gradebook and folders
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    ana = next(r["student"] for r in rows_one if r["folder"] == "Ana Lúcia")
    for course in (one, merged):
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            got = {s.student.id: s.timestamp for s in gb.find_assignment(A).submissions}
        assert got[ana] == parse_utc(STAMP), f"{course.name}: esperado {STAMP}, obtido {got[ana]}"
        assert all(t is None for s, t in got.items() if s != ana), f"{course.name}: timestamp inventado: {got}"
        for stage in ("autograded", "feedback"):
            folder = course / stage / ana / A
            assert (folder / "timestamp.txt").read_text() == STAMP, folder
            assert (folder / "submission_secret.txt").read_text() == "segredo-ana", folder
    with pytest.raises(SystemExit):
        main(["--course-dir", str(merged), "--root", str(root), "merge", A])  # no shard file: usage error


def _hang(root: Path, subs: Path) -> None:
    nb = nbformat.read(subs / "perfect" / f"{A}.ipynb", as_version=4)
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "relu":
            cell.source = "def relu(x):\n    import time\n    time.sleep(600)\n"
    (subs / "zz-hang").mkdir()
    nbformat.write(nb, subs / "zz-hang" / f"{A}.ipynb")


def test_sigterm_leaves_consistent_files_and_no_process_then_resume(root, tmp_path):
    subs = tmp_path / "subs"
    shutil.copytree(root / "submissions", subs)
    shutil.rmtree(subs / "李雷")  # sorts after zz-hang: with --jobs 1 it would wait behind it
    _hang(root, subs)
    course = tmp_path / "course"
    cmd = [sys.executable, "-m", "autograder.cli", "--root", str(root), "--course-dir", str(course),
           "grade", A, str(subs), "--jobs", "1", "--cell-timeout", "300"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    records = course / "autograded"
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and len(list(records.glob(f"*/{A}/.autograder-record.json"))) < 5:
        time.sleep(0.5)  # every student but zz-hang is recorded; zz-hang is sleeping
    time.sleep(2)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children, "the grader should have its fork server and a worker running"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, f"exit {proc.returncode}\n{out[-2000:]}"
    gone, alive = psutil.wait_procs(children, timeout=20)
    assert alive == [], f"processes left after SIGTERM: {alive}"
    rows = _csv(course / "grades.csv")
    assert len(rows) == 5 and "zz-hang" not in {r["student"] for r in rows}, rows
    assert not list(course.rglob("*.tmp")), "half-written files left behind"
    # resume: only zz-hang is graded again (its relu cell now times out quickly)
    lines = []
    assert main(["--root", str(root), "--course-dir", str(course), "grade", A, str(subs), "--resume",
                 "--cell-timeout", "3"], ) == 0
    rows = {r["student"]: r for r in _csv(course / "grades.csv")}
    assert len(rows) == 6 and rows["zz-hang"]["score"] == "4", rows.get("zz-hang")
    assert rows["perfect"]["score"] == "5", rows["perfect"]
    del lines
