"""The one error type the CLI turns into a one-line message and exit code 1."""


class AutograderError(Exception):
    """A known failure of build/check/grade: bad input, a leak, a failed nbgrader run."""
