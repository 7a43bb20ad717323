"""``autograder`` command line: build, check, grade, merge, report, demo.

Each subcommand is one function returning an exit code; ``main`` turns known errors
(AutograderError) into a one-line message and exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.errors import AutograderError
from autograder.nbconfig import CELL_TIMEOUT


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer (seconds). Received: {value!r}")
    return number


def _count(value: str) -> int:
    if not value.isdigit() or int(value) <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer (processes). Received: {value!r}")
    return int(value)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="repository root (default: this checkout or $AUTOGRADER_ROOT)")
    parser.add_argument("--course-dir", help="nbgrader course root (default: <root>/course)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="regenerate notebooks/ and the sample submissions from solutions/")
    p.add_argument("assignment", nargs="?", help="e.g. 01-convolucao (default: all)")
    p = sub.add_parser("check", help="solution full marks, untouched 0, every mutant loses its cells")
    p.add_argument("assignment", nargs="?", help="default: all")
    p = sub.add_parser("grade", help="autograde SUBMISSIONS_DIR/<student>/<notebook>.ipynb")
    p.add_argument("assignment")
    p.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR")
    p.add_argument("--jobs", type=_count, default=None, help="submissions graded at once (default: cores)")
    p.add_argument("--resume", action="store_true",
                   help="skip students whose submission is unchanged since their recorded grade")
    p.add_argument("--shard", metavar="I/N", help="grade only slice I of N (sorted ids) into a shard file")
    p.add_argument("--shard-file", type=Path, help="where --shard writes (default <course>/shards/A/shard-I-of-N.json)")
    p = sub.add_parser("merge", help="merge shard files into the gradebook, grades.csv and feedback")
    p.add_argument("assignment")
    p.add_argument("shards", type=Path, nargs="+", metavar="SHARD_FILE")
    p = sub.add_parser("report", help="class report (HTML) and LMS grade imports (Canvas, Moodle) from the "
                                      "recorded grades, into <course>/reports/")
    p.add_argument("assignment")
    sub.add_parser("demo", help="build everything and grade the bundled samples into the course root")
    for sp in sub.choices.values():  # also accepted after the subcommand
        sp.add_argument("--course-dir", default=argparse.SUPPRESS, help="nbgrader course root")
        sp.add_argument("--root", default=argparse.SUPPRESS, help="repository root")
    for name in ("check", "grade", "demo"):
        sp = sub.choices[name]
        sp.add_argument("--cell-timeout", type=_positive, default=CELL_TIMEOUT,
                        help=f"seconds per cell before interrupting (default {CELL_TIMEOUT})")
        sp.add_argument("--timeout", type=_positive, default=600,
                        help="wall seconds per submission before killing it (default 600)")
    return parser


def run(args: argparse.Namespace) -> int:
    from autograder._nbgrader_main import block_slow_optional_imports

    block_slow_optional_imports()
    from autograder.paths import Paths

    paths = Paths.from_root(args.root, course=args.course_dir)
    if args.command == "build":
        from autograder.build import build

        return build(args.assignment, paths)
    if args.command == "check":
        from autograder.check import check

        return check(args.assignment, paths, cell_timeout=args.cell_timeout, wall_timeout=args.timeout)
    if args.command == "grade":
        from autograder.grade import grade

        return grade(args.assignment, args.submissions, paths, cell_timeout=args.cell_timeout,
                     wall_timeout=args.timeout, jobs=args.jobs, resume=args.resume, shard=args.shard,
                     shard_file=args.shard_file)
    if args.command == "merge":
        from autograder.grade import merge_cli

        return merge_cli(args.assignment, args.shards, paths)
    if args.command == "report":
        from autograder.grades.report import report_cli

        return report_cli(args.assignment, paths.course)
    from autograder.demo import demo

    return demo(paths, cell_timeout=args.cell_timeout, wall_timeout=args.timeout)


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return run(args)
    except AutograderError as exc:
        print(f"autograder: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("autograder: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
