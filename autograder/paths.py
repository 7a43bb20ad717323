"""Where everything lives: one place, overridable (tests point it at tmp dirs).

Environment overrides: ``AUTOGRADER_ROOT`` (repo root), ``AUTOGRADER_COURSE_DIR``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from autograder.errors import AutograderError

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Paths:
    """Folders the autograder reads and writes.

    Attributes:
        solutions: masters, ``solutions/NN-topic/NN-topic.py``.
        notebooks: student release, ``notebooks/NN-topic/NN-topic.ipynb``.
        course: nbgrader course root (gradebook.db, submitted/, autograded/, feedback/).
        mutants: ``mutants/NN-topic/mutants.toml``.
        samples: ``samples/NN-topic/<student>/NN-topic.ipynb``.
    """

    solutions: Path
    notebooks: Path
    course: Path
    mutants: Path
    samples: Path

    @classmethod
    def from_root(cls, root: str | os.PathLike | None = None, **overrides) -> "Paths":
        """Paths under a repository root (default: this checkout or $AUTOGRADER_ROOT)."""
        root = Path(root or os.environ.get("AUTOGRADER_ROOT") or REPO_ROOT).resolve()
        course = os.environ.get("AUTOGRADER_COURSE_DIR") or root / "course"
        values = dict(
            solutions=root / "solutions",
            notebooks=root / "notebooks",
            course=Path(course),
            mutants=root / "autograder" / "mutants",
            samples=root / "autograder" / "samples",
        )
        unknown = set(overrides) - set(values)
        if unknown:
            raise TypeError(
                f"Paths overrides must be among {sorted(values)}. Received: {sorted(unknown)}"
            )
        values.update({k: Path(v) for k, v in overrides.items() if v is not None})
        return cls(**{k: Path(v).resolve() for k, v in values.items()})

    def assignments(self) -> list[str]:
        """Sorted assignment names: folders of solutions/ holding ``<name>/<name>.py``."""
        if not self.solutions.is_dir():
            return []
        return sorted(
            d.name for d in self.solutions.iterdir() if d.is_dir() and (d / f"{d.name}.py").is_file()
        )

    def master(self, assignment: str) -> Path:
        """The master ``solutions/<a>/<a>.py``; AutograderError if it does not exist."""
        if not isinstance(assignment, str) or not assignment or "/" in assignment:
            raise AutograderError(
                f"assignment must be a folder name like '01-convolucao'. Received: {assignment!r}"
            )
        path = self.solutions / assignment / f"{assignment}.py"
        if not path.is_file():
            raise AutograderError(
                f"no master notebook for assignment {assignment!r}: expected {path}. "
                f"Known assignments: {self.assignments()}"
            )
        return path

    def release(self, assignment: str) -> Path:
        return self.notebooks / assignment / f"{assignment}.ipynb"

    def mutants_file(self, assignment: str) -> Path:
        return self.mutants / assignment / "mutants.toml"
