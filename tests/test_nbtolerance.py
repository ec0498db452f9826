"""Trained numbers compared within tolerances, everything else exactly (kit.nbtolerance)."""
import copy
from pathlib import Path

import nbformat
import pytest

from kit import nbtolerance
from kit.nbtolerance import CellRule, compare_outputs, compare_texts, load_rules

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "notebooks" / "trained_outputs.yaml"

MAP_RULE = CellRule.from_dict({
    "why": "test mAP of a trained detector",
    "numbers": [{"name": "map50", "pattern": r"test mAP@0\.5 NUM", "abs": 0.04, "min": 0.75}],
    "rest": {"abs": 0.05},
})


def stream(text):
    return nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": text})


def test_number_pattern_leaves_words_labels_and_file_names_alone():
    found = [m.group(0) for m in nbtolerance._NUMBER_RE.finditer(
        "mAP@0.5 0.808 on 82 images; B04 ap50 crops/000011.png 1.000-1.000 -0.3 points 3.6e-05, 95%")]
    assert found == ["0.808", "82", "1.000", "1.000", "-0.3", "3.6e-05", "95"]


def test_within_tolerance_passes_and_masks_the_numbers():
    result = compare_texts({"stdout": "test mAP@0.5 0.808, mAP@0.50:0.95 0.424"},
                           {"stdout": "test mAP@0.5 0.781, mAP@0.50:0.95 0.401"}, MAP_RULE)
    assert result.problems == []
    assert result.stored == result.new == {"stdout": "test mAP@0.5 ‹map50›, mAP@0.50:‹n› ‹n›"}


def test_a_regression_beyond_tolerance_fails_and_says_by_how_much():
    result = compare_texts({"stdout": "test mAP@0.5 0.81"}, {"stdout": "test mAP@0.5 0.60"}, MAP_RULE)
    assert result.problems == ["map50: stored 0.81, new 0.6 (allowed 0.81 ± 0.04; below its floor 0.75)"]


def test_the_floor_holds_even_within_tolerance():
    low = CellRule.from_dict({"why": "x", "numbers": [{"name": "auc", "pattern": "AUROC NUM", "abs": 0.1, "min": 0.85}]})
    assert compare_texts({"o": "AUROC 0.90"}, {"o": "AUROC 0.84"}, low).problems == [
        "auc: stored 0.9, new 0.84 (below its floor 0.85)"]


def test_numbers_no_rule_names_are_exact_by_default():
    rule = CellRule.from_dict({"why": "x", "numbers": [{"name": "t", "pattern": "temperature NUM", "abs": 0.2}]})
    assert compare_texts({"o": "temperature 0.57 on 601 images"}, {"o": "temperature 0.63 on 601 images"}, rule).problems == []
    result = compare_texts({"o": "temperature 0.57 on 601 images"}, {"o": "temperature 0.63 on 600 images"}, rule)
    assert result.problems == [] and result.stored != result.new  # 601 vs 600 is left to the exact comparison


def test_text_around_numbers_and_their_count_still_count():
    problems, ref, new = compare_outputs([stream("test mAP@0.5 0.808 on 82 images\n")],
                                         [stream("test mAP@0.5 0.808 on 82 pictures\n")], MAP_RULE)
    assert problems == [] and ref[0]["text"] != new[0]["text"]
    problems, _, _ = compare_outputs([stream("test mAP@0.5 0.808\n")], [stream("test mAP@0.5 0.808 0.808\n")], MAP_RULE)
    assert problems == ["other numbers: 0 number(s) in the stored stdout, 1 in the new one"]


def test_ignored_output_types_are_dropped_from_both():
    rule = CellRule.from_dict({"why": "readings of a trained reader", "ignore": ["text/html", "text/plain"]})
    table = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"text/plain": "ZQ3U772U575", "text/html": "<td>ZQ3U772U575</td>"}}
    other = copy.deepcopy(table)
    other["data"] = {"text/plain": "YHWU5301554", "text/html": "<td>YHWU5301554</td>"}
    problems, ref, new = compare_outputs([nbformat.from_dict(table)], [nbformat.from_dict(other)], rule)
    assert problems == [] and ref == new


def test_rules_file_is_well_formed_and_names_real_cells():
    rules = load_rules(RULES)
    assert rules, "the rules file lists the trained cells"
    for stem, cells in rules.items():
        nb = nbformat.read(REPO / "notebooks" / f"{stem}.ipynb", as_version=4)
        ids = {c.get("id") for c in nb.cells if c.cell_type == "code"}
        for cell_id, rule in cells.items():
            assert cell_id in ids, f"{stem} has no code cell {cell_id}"
            assert len(rule.why) > 15


def test_bad_rules_are_refused_with_the_place_named():
    with pytest.raises(ValueError, match="nb:c.numbers\\[0\\]: pattern must contain NUM"):
        CellRule.from_dict({"why": "x", "numbers": [{"pattern": "AUROC"}]}, "nb:c")
    with pytest.raises(ValueError, match="say why"):
        CellRule.from_dict({"numbers": []}, "nb:c")


NOTEBOOK_RULES = """
10_trained:
  '{cell_id}':
    why: a number standing in for a trained detector's mAP
    numbers:
      - {{name: map50, pattern: 'test mAP@0\\.5 NUM', abs: 0.04, min: 0.75}}
"""


@pytest.mark.timeout(300)
@pytest.mark.parametrize("stored, outcome", [("0.81", "passed"), ("0.79", "passed"), ("0.60", "failed")])
def test_nbval_with_the_plugin_fails_a_stored_number_changed_beyond_tolerance(pytester, stored, outcome):
    """The mechanism end to end: nbval runs a notebook whose cell prints mAP 0.808; its stored output says ``stored``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell("print('test mAP@0.5 0.808 on 82 images')")
    cell.execution_count = 1
    cell.outputs = [stream(f"test mAP@0.5 {stored} on 82 images\n")]
    exact = nbformat.v4.new_code_cell("print('82 images')")
    exact.execution_count = 2
    exact.outputs = [stream("82 images\n")]
    nb.cells = [cell, exact]
    nbformat.write(nb, pytester.path / "10_trained.ipynb")
    (pytester.path / "rules.yaml").write_text(NOTEBOOK_RULES.format(cell_id=cell.id))
    result = pytester.runpytest_subprocess("-p", "kit.nbtolerance", "--nbval", "--nbval-current-env",
                                           "--nbval-tolerances", "rules.yaml", "10_trained.ipynb")
    result.assert_outcomes(**({"passed": 2} if outcome == "passed" else {"failed": 1, "passed": 1}))
    if outcome == "failed":
        result.stdout.fnmatch_lines(["*map50: stored 0.6, new 0.808 (allowed 0.6 ± 0.04)*"])


@pytest.mark.timeout(300)
def test_a_rule_for_a_cell_that_is_gone_stops_the_run(pytester):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1")
    nb.cells = [cell]
    nbformat.write(nb, pytester.path / "10_trained.ipynb")
    (pytester.path / "rules.yaml").write_text(NOTEBOOK_RULES.format(cell_id="no-such-cell"))
    result = pytester.runpytest_subprocess("-p", "kit.nbtolerance", "--nbval", "--nbval-current-env",
                                           "--nbval-tolerances", "rules.yaml", "10_trained.ipynb")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*10_trained has no cell 'no-such-cell'*"])


def test_a_cell_id_yaml_reads_as_a_number_is_named(tmp_path):
    """nbformat's random ids can be all digits (``04644412`` is octal to YAML): unquoted, the id would be lost."""
    path = tmp_path / "rules.yaml"
    path.write_text("10_trained:\n  04644412:\n    why: x\n    numbers: []\n")
    with pytest.raises(ValueError, match="read as a number; quote it"):
        load_rules(path)
