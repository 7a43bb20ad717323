"""autograder: build, check and grade the course notebooks (nbgrader 0.9.6 formats).

Command line (``autograder --help``)::

    autograder build [ASSIGNMENT]          # solutions/ -> notebooks/ + autograder/samples/
    autograder check [ASSIGNMENT]          # solution 100%, untouched 0, every mutant caught
    autograder grade ASSIGNMENT SUBMISSIONS_DIR [--jobs N] [--resume] [--shard I/N]
    autograder merge ASSIGNMENT SHARD_FILE...   # shards -> gradebook, grades.csv, feedback
    autograder report ASSIGNMENT           # class report + Canvas/Moodle CSVs from the records
    autograder demo                        # build all, grade the samples into course/

Layers, from the bottom:

- release: ``paths``, ``notebook`` (master -> nbgrader source, leaks), ``nbgrun`` (nbgrader
  subprocesses: generate_assignment, generate_feedback), ``build``, ``mutants``, ``check``;
- run (``autograder.run``): ``sandbox`` (namespaces, uid, limits), ``zygote`` (warm fork
  server), ``harness`` (runs one submission inside the sandbox), ``coerce`` (student results to
  plain data before tests compare them), ``engine`` (timeouts, crashes, parallel slots),
  ``cells`` (matching cells by grade_id), ``scan`` and ``scratch_rule`` (review flags);
- grades (``autograder.grades``): ``store`` (gradebook writer, autograded notebooks,
  records, grades.csv, nbgrader timestamps, all atomic), ``report`` (class report, LMS
  CSVs); ``feedback`` (offline feedback page: MathML, failures first, hidden tests
  redacted); ``diagnose`` (names a known mistake by what the code does on probe inputs);
- cli: ``cli``, ``grade`` (the stages of a grading run, shards, merge), ``demo``.

Python API: ``autograder.paths.Paths``, ``autograder.build.build_assignment`` /
``build_in``, ``autograder.check.check_assignment``, ``autograder.grade.grade_submissions``
/ ``merge`` / ``write_csv`` / ``format_table``, ``autograder.mutants.load_mutants`` /
``match_mistakes``. ``autograder.forbid`` holds helpers for hidden tests.
"""
