"""Grading throughput: stock ``nbgrader autograde`` vs ``autograder grade``, side by side.

The same N copies of an assignment's perfect sample are graded twice in one run, each
grader in its own course root made from the same release: first with stock nbgrader 0.9.6
(one process, one fresh kernel per notebook, one at a time), then with ``autograder
grade`` (sandboxed workers forked from a warm server, ``--jobs`` at a time). Both must
give every copy full marks. Prints seconds, seconds per notebook and the ratio.

    .venv/bin/python benchmarks/grading_throughput.py                       # 02, 12 copies
    .venv/bin/python benchmarks/grading_throughput.py --assignment 01-convolucao --copies 6
    .venv/bin/python benchmarks/grading_throughput.py --feedback            # ours also writes feedback

Nothing here is a test; no test asserts a time. Figures are only comparable within one
run (and on a machine nobody else is loading).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from autograder import nbgrun
    from autograder import notebook as nbtools
    from autograder.build import make_release, samples
    from autograder.grade import default_jobs, grade_submissions
    from autograder.paths import Paths

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="02-camada-convolucional")
    parser.add_argument("--copies", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--feedback", action="store_true", help="ours also generates the feedback pages")
    args = parser.parse_args()
    a = args.assignment
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        tmp = Path(tmp)
        stock = Paths.from_root(ROOT, course=tmp / "stock")
        ours = Paths.from_root(ROOT, course=tmp / "ours")
        make_release(stock.course, stock, a)
        prepared = make_release(ours.course, ours, a)
        perfect = samples(prepared[0], prepared[1], [])["perfect"]
        subs = tmp / "submissions"
        students = [f"s{i:03d}" for i in range(args.copies)]
        for s in students:
            nbtools.write(perfect, subs / s / f"{a}.ipynb")
            shutil.copytree(subs / s, stock.course / "submitted" / s / a)

        nbgrader = [str(Path(sys.executable).parent / "nbgrader"), "autograde", a, "--force",
                    f"--CourseDirectory.root={stock.course}"]
        env = dict(os.environ, PATH=nbgrun._bin_path(os.environ.get("PATH")))
        start = time.perf_counter()
        proc = subprocess.run(nbgrader, cwd=stock.course, env=env, capture_output=True, text=True)
        t_stock = time.perf_counter() - start
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            return 1
        stock_scores = {s: sum(v[0] for v in nbgrun.read_scores(stock.course, a, s, a).values()) for s in students}

        start = time.perf_counter()
        results = grade_submissions(a, subs, ours, prepared=prepared, jobs=args.jobs, feedback=args.feedback,
                                    out=lambda *x: None)
        t_ours = time.perf_counter() - start
        our_scores = {r.student: r.score for r in results}
        full = sum(nbtools.grade_cells(prepared[0])[g]["points"] for g in nbtools.grade_cells(prepared[0]))
        ok = all(v == full for v in stock_scores.values()) and all(v == full for v in our_scores.values())
        n = args.copies
        print(f"{a}: {n} perfect copies, {os.cpu_count()} cores, --jobs {args.jobs}"
              f"{', feedback included' if args.feedback else ''}")
        print(f"{'grader':32s} {'seconds':>8s} {'s/notebook':>11s}")
        print(f"{'stock nbgrader autograde':32s} {t_stock:8.1f} {t_stock / n:11.2f}")
        print(f"{'autograder grade (sandboxed)':32s} {t_ours:8.1f} {t_ours / n:11.2f}")
        print(f"throughput ratio (stock time / ours): {t_stock / t_ours:.2f}x")
        print("all copies full marks in both: " + ("yes" if ok else f"NO: stock {stock_scores}, ours {our_scores}"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
