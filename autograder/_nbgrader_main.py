"""``python -m autograder._nbgrader_main ARGS``: nbgrader's own CLI, started faster.

jsonschema imports the optional ``rfc3987_syntax`` (IRI format checks, unused by
nbformat's schema), which builds a Lark grammar on import: ~5 s per process on 2 busy
cores. Blocking it makes every nbgrader subprocess start that much sooner.
"""

import sys


def block_slow_optional_imports() -> None:
    """Make ``import rfc3987_syntax`` raise ImportError (jsonschema then skips it)."""
    sys.modules.setdefault("rfc3987_syntax", None)


if __name__ == "__main__":
    block_slow_optional_imports()
    from nbgrader.apps.nbgraderapp import main

    sys.argv[0] = "nbgrader"
    sys.exit(main())
