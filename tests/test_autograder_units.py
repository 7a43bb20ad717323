"""Fast autograder tests (no nbgrader subprocess): master conversion, leak detection,
mutants.toml validation, mistake matching, feedback redaction, config, CLI errors."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder import notebook as nbtools
from autograder.cli import main
from autograder.errors import AutograderError
from autograder.feedback import RedactHiddenTests, strip_hidden
from autograder.mutants import Mutant, load_mutants, match_mistakes, sample_mutants
from autograder.paths import Paths

FIXTURE = Path(__file__).parent / "fixtures" / "autograder"
MASTER = FIXTURE / "solutions" / "00-fixture" / "00-fixture.py"
MUTANTS = FIXTURE / "mutants" / "00-fixture" / "mutants.toml"


@pytest.fixture(scope="module")
def source_nb():
    return nbtools.master_to_source(MASTER)


def _cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def test_master_to_source_fills_nbgrader_defaults(source_nb):
    sol = _cell(source_nb, "output_size").metadata["nbgrader"]
    assert sol == {"grade": False, "grade_id": "output_size", "locked": False, "schema_version": 3,
                   "solution": True, "task": False}, f"got {sol}"
    test = _cell(source_nb, "test_output_size_valid").metadata["nbgrader"]
    assert test == {"grade": True, "grade_id": "test_output_size_valid", "locked": True, "points": 1,
                    "schema_version": 3, "solution": False, "task": False}, f"got {test}"
    assert source_nb.metadata == {"kernelspec": nbtools.KERNELSPEC, "language_info": {"name": "python"}}, \
        f"jupytext metadata must be dropped; got {source_nb.metadata}"
    assert all(set(c.metadata) <= {"nbgrader", "tags"} for c in source_nb.cells)
    nbformat.validate(source_nb)


def test_master_to_source_is_deterministic(source_nb):
    again = nbtools.master_to_source(MASTER)
    assert nbtools.dumps(again) == nbtools.dumps(source_nb), "two conversions differ (random cell ids?)"
    ids = [c.id for c in source_nb.cells]
    assert len(set(ids)) == len(ids), f"cell ids not unique: {ids}"


@pytest.mark.parametrize("header, message", [
    ('# %% nbgrader={"grade": true, "grade_id": "t"}', "needs non-negative numeric points"),
    ('# %% nbgrader={"solution": true}', "non-empty string grade_id"),
    ('# %% nbgrader={"grade_id": "x", "solutoin": true}', "unknown nbgrader metadata keys"),
])
def test_master_metadata_errors(tmp_path, header, message):
    master = tmp_path / "m.py"
    master.write_text(f"{header}\nx = 1\n")
    with pytest.raises(AutograderError, match=message):
        nbtools.master_to_source(master)


def test_master_rejects_duplicate_ids_and_unmarked_regions(tmp_path):
    dup = tmp_path / "dup.py"
    dup.write_text('# %% nbgrader={"grade_id": "a", "solution": true}\nx = 1\n\n'
                   '# %% nbgrader={"grade_id": "a", "solution": true}\ny = 2\n')
    with pytest.raises(AutograderError, match="grade_id must be unique. Received duplicate: 'a'"):
        nbtools.master_to_source(dup)
    bare = tmp_path / "bare.py"
    bare.write_text("# %%\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n")
    with pytest.raises(AutograderError, match="must carry nbgrader metadata"):
        nbtools.master_to_source(bare)


def test_find_leaks_reports_surviving_solution_and_hidden_lines(source_nb):
    clean = nbtools.with_cells(source_nb, {
        "output_size": 'def output_size(w_in, k, p, s):\n    """Spatial size."""\n    raise NotImplementedError()',
        "relu": "def relu(x):\n    raise NotImplementedError()",
        "conv_params": "def conv_params(k, c_in, filters):\n    raise NotImplementedError()",
        "test_output_size_valid": "assert output_size(256, 3, 0, 1) == 254",
        "test_output_size_stride": "assert output_size(8, 3, 1, 2) == 4",
        "test_relu_values": "np.testing.assert_allclose(relu([-1.0, 0.0, 2.0]), [0.0, 0.0, 2.0])",
        "test_conv_params_hidden": "assert conv_params(1, 1, 1) == 2",
    })
    assert nbtools.find_leaks(source_nb, clean) == []
    leaky = nbtools.with_cells(clean, {"relu": "def relu(x):\n    return np.maximum(np.asarray(x, dtype=float), 0.0)"})
    leaks = nbtools.find_leaks(source_nb, leaky)
    assert leaks == ["cell 'relu': secret line survived: 'return np.maximum(np.asarray(x, dtype=float), 0.0)'"], leaks
    elsewhere = nbtools.with_cells(clean, {"test_relu_values": 'assert conv_params(5, 16, 32) == 12832, "segredo_oculto_12832"'})  # noqa: E501
    leaks = nbtools.find_leaks(source_nb, elsewhere)
    assert len(leaks) == 1 and "appears elsewhere" in leaks[0] and "12832" in leaks[0], leaks
    marker = nbtools.with_cells(clean, {"relu": "### BEGIN SOLUTION"})
    assert any("marker 'BEGIN SOLUTION' survived" in x for x in nbtools.find_leaks(source_nb, marker))


def test_solution_cells_drop_markers_only(source_nb):
    sol = nbtools.solution_cells(source_nb)
    assert sol["conv_params"] == ('def conv_params(k, c_in, filters):\n    """Trainable parameters of a k x k conv '
                                  'layer with bias."""\n    weights_per_filter = k * k * c_in\n'
                                  '    return filters * (weights_per_filter + 1)'), sol["conv_params"]


def test_fixture_mutants_load(source_nb):
    mutants = load_mutants(MUTANTS, set(nbtools.solution_cells(source_nb)), set(nbtools.grade_cells(source_nb)))
    assert [m.name for m in mutants] == ["off-by-one-size", "padding-one-side", "forgets-bias"]
    assert [m.name for m in sample_mutants(mutants)] == ["off-by-one-size", "forgets-bias"]
    assert mutants[0].code.startswith("def output_size"), mutants[0].code


GOOD = '''
[[mutant]]
name = "m1"
cell = "relu"
misconception = "x"
hint = "dica"
fails = ["test_relu_values"]
code = "def relu(x):\\n    return x"
'''


@pytest.mark.parametrize("text, message", [
    (GOOD.replace('cell = "relu"', 'cell = "nope"'), r"'cell' must be the grade_id of a solution cell .* Received: 'nope'"),  # noqa: E501
    (GOOD.replace('"test_relu_values"', '"test_typo"'), r"'fails' names unknown grade cells \['test_typo'\]"),
    (GOOD + GOOD, "mutant names must be unique. Received duplicate: 'm1'"),
    (GOOD.replace('hint = "dica"\n', ""), "missing required field 'hint'"),
    (GOOD.replace('hint = "dica"', 'hint = "  "'), "field 'hint' must be a non-empty str"),
    (GOOD.replace('fails = ["test_relu_values"]', "fails = []"), "'fails' must be a non-empty list"),
    (GOOD.replace('name = "m1"', 'name = "Bad Name"'), "name must be a lowercase slug"),
    (GOOD + "colour = 1\n", r"unknown fields \['colour'\]"),
    ("[[mutant]\n", "invalid TOML"),
])
def test_mutants_validation_errors(tmp_path, source_nb, text, message):
    path = tmp_path / "mutants.toml"
    path.write_text(text)
    with pytest.raises(AutograderError, match=message):
        load_mutants(path, set(nbtools.solution_cells(source_nb)), set(nbtools.grade_cells(source_nb)))


def _m(name, cell, fails):
    return Mutant(name=name, cell=cell, misconception="", hint="h", code="", fails=tuple(fails))


def test_match_mistakes_exact_then_combination():
    a = _m("a", "f", ["t1", "t2"])
    b = _m("b", "f", ["t2"])
    c = _m("c", "g", ["t3"])
    assert match_mistakes({"t2"}, [a, b, c]) == [b]
    assert match_mistakes({"t1", "t2", "t3"}, [a, b, c]) == [a, c]
    assert match_mistakes({"t2", "t3"}, [a, b, c]) == [b, c]
    assert match_mistakes({"t1"}, [a, b, c]) == [], "no mutant explains t1 alone"
    d = _m("d", "h", ["t3", "t4"])
    assert match_mistakes({"t2", "t3", "t4"}, [b, c, d]) == [b, d], "overlapping fails still combine"
    same = _m("same", "f", ["t1", "t2"])
    assert match_mistakes({"t1", "t2"}, [a, same, c]) == [a, same], "every exact match is reported"
    assert match_mistakes(set(), [a, b, c]) == []


def test_strip_hidden_and_redact_preprocessor():
    src = "assert f(1) == 1\n    ### BEGIN HIDDEN TESTS\n    assert f(2) == 3\n    ### END HIDDEN TESTS\nprint('ok')"
    out, found = strip_hidden(src)
    assert found and out == "assert f(1) == 1\n    # (testes ocultos omitidos)\nprint('ok')", out
    cell = nbformat.v4.new_code_cell(src, metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 1,
                                                                 "solution": False, "locked": True,
                                                                 "schema_version": 3, "task": False}})
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="esperado 3",
                                           traceback=["\x1b[0;31m----> 3\x1b[0m assert f(2) == 3"])]
    cell, _ = RedactHiddenTests().preprocess_cell(cell, {}, 0)
    text = str(cell)
    assert "f(2)" not in text, f"hidden test still visible: {text}"
    assert cell.outputs[0]["traceback"][0] == "AssertionError: esperado 3", cell.outputs[0]["traceback"]


def test_course_config_file_applies_course_settings():
    from traitlets.config.loader import PyFileConfigLoader

    config_path = Path(__file__).parent.parent / "course" / "nbgrader_config.py"
    c = PyFileConfigLoader(config_path.name, path=str(config_path.parent)).load_config()
    assert c.CourseDirectory.course_id == "redes-convolucionais"
    assert c.Execute.timeout == 60 and c.ExecutePreprocessor.timeout == 60, (c.Execute, c.ExecutePreprocessor)
    assert c.OverwriteCells.add_missing_cells is True
    names = [p.__name__ for p in c.GenerateFeedback.preprocessors]
    assert names == ["GetGrades", "RedactHiddenTests", "CSSHTMLHeaderPreprocessor"], names


def test_paths_errors(tmp_path):
    paths = Paths.from_root(tmp_path)
    assert paths.assignments() == []
    with pytest.raises(AutograderError, match=r"no master notebook for assignment '07-x'"):
        paths.master("07-x")
    with pytest.raises(AutograderError, match="assignment must be a folder name"):
        paths.master("a/b")
    with pytest.raises(TypeError, match=r"Paths overrides must be among .* Received: \['bogus'\]"):
        Paths.from_root(tmp_path, bogus=tmp_path)


def test_cli_known_errors_are_one_line_exit_1(tmp_path, capsys):
    rc = main(["--root", str(tmp_path), "build"])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("autograder: error: no assignments found"), (rc, err)
    assert err.count("\n") == 1, f"expected one line, got {err!r}"
    rc = main(["--root", str(tmp_path), "grade", "00-fixture", str(tmp_path / "nowhere")])
    assert rc == 1
    with pytest.raises(SystemExit) as exc:
        main(["check", "--cell-timeout", "0"])
    assert exc.value.code == 2
    assert "must be a positive integer (seconds). Received: '0'" in capsys.readouterr().err
