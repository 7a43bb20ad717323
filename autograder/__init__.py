"""autograder: build, check and grade the course notebooks with nbgrader 0.9.6.

Command line (``autograder --help``)::

    autograder build [ASSIGNMENT]          # solutions/ -> notebooks/ + autograder/samples/
    autograder check [ASSIGNMENT]          # solution 100%, untouched 0, every mutant caught
    autograder grade ASSIGNMENT SUBMISSIONS_DIR [--course-dir course]
    autograder demo                        # build all, grade the samples into course/

Python API: ``autograder.paths.Paths``, ``autograder.build.build_assignment``,
``autograder.check.check_assignment``, ``autograder.grade.grade_submissions`` /
``write_csv`` / ``format_table``, ``autograder.mutants.load_mutants`` /
``match_mistakes``. ``autograder.forbid`` holds helpers for hidden tests.
"""
