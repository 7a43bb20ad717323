"""The repo's set-up files agree with each other."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normalize(requirement: str) -> str:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + spec.replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml must have exactly one pip: section"
    in_env = {_normalize(r) for r in pip_lists[0] if not r.startswith("-e")}
    in_pyproject = {_normalize(r) for r in project["dependencies"]}
    assert in_env == in_pyproject, (
        f"only in environment.yml: {sorted(in_env - in_pyproject)}; "
        f"only in pyproject.toml: {sorted(in_pyproject - in_env)}"
    )
    assert "python=3.11" in env["dependencies"], env["dependencies"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme, "README must give `make test` as the test command"
    assert re.search(r"^\s*make test\s*$", ci, re.M), ".ci/run must call `make test`"
