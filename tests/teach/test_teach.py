"""Student versions, exercise checks, challenge packs and scoring."""
import nbformat
import pandas as pd
import pytest

from kit.cli import main
from kit.errors import KitError
from kit.teach import check
from kit.teach.challenges import make_pack, score_submissions
from kit.teach.student import make_student, student_source


def test_stub_replaces_solution():
    src = "# task: set x\n### BEGIN SOLUTION\nx = 42\n### END SOLUTION\n### STUB: x = None  # your answer\ncheck(x)"
    assert student_source(src) == "# task: set x\nx = None  # your answer\ncheck(x)"


@pytest.mark.parametrize(
    "src,message",
    [
        ("x = 1", "no ### BEGIN SOLUTION"),
        ("### BEGIN SOLUTION\nx = 1", "not closed"),
        ("### END SOLUTION", "END SOLUTION without BEGIN"),
    ],
)
def test_malformed_solution_cells(src, message):
    with pytest.raises(KitError, match=message):
        student_source(src)


def test_check_reports_first_failure_in_plain_words(capsys):
    result = check("ex", [(True, "a is right", "fix a"), (lambda: 1 / 0, "b", "fix b"), (True, "c", "fix c")])
    assert not result.passed and result.message.startswith("fix b (checking raised ZeroDivisionError")
    assert capsys.readouterr().out.startswith("✘ Not yet (ex): fix b")
    ok = check("ex", [(True, "a is right", "fix a"), (lambda: True, lambda: "b computed", "fix b")])
    assert ok.passed and ok.message == "a is right; b computed"


def _toy_notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", outputs=[nbformat.v4.new_output("stream", text="1\n")], execution_count=1),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 6 * 7\n### END SOLUTION\n### STUB: answer = None",
                                  metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("from kit.teach import check\ncheck('ex', [(answer == 42, 'right', 'answer is 6 x 7')])"),
    ]
    nbformat.write(nb, path)
    return path


def test_student_version_fails_then_passes_with_solutions(tmp_path):
    from nbclient import NotebookClient

    from kit.teach.student import paste_solutions

    src = _toy_notebook(tmp_path / "toy.ipynb")
    before = src.read_text()
    out = make_student(src, tmp_path / "students")
    assert src.read_text() == before  # the instructor's notebook is untouched
    student = nbformat.read(out, as_version=4)
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    assert "42" not in student.cells[1].source
    NotebookClient(student, kernel_name="python3").execute()
    assert "✘ Not yet" in student.cells[2].outputs[0]["text"]
    fixed = paste_solutions(nbformat.read(out, as_version=4), nbformat.read(src, as_version=4))
    NotebookClient(fixed, kernel_name="python3").execute()
    assert "✔ Right" in fixed.cells[2].outputs[0]["text"]


def test_notebook_without_exercises_is_refused(tmp_path):
    nb = nbformat.v4.new_notebook()
    nbformat.write(nb, tmp_path / "plain.ipynb")
    with pytest.raises(KitError, match="no cell tagged 'solution'"):
        make_student(tmp_path / "plain.ipynb", tmp_path / "out")


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    return make_pack("irrigation_planning", tmp_path_factory.mktemp("challenge") / "pack", seed=5)


def test_pack_hides_labels(pack):
    public = pack / "public"
    assert sorted(p.name for p in public.iterdir()) == [
        "README.md", "fields_test.csv", "fields_train.csv", "submission_template.csv", "weather.csv"
    ]
    train, test = pd.read_csv(public / "fields_train.csv"), pd.read_csv(public / "fields_test.csv")
    assert "irrigation_mm" in train and "irrigation_mm" not in test
    answers = pd.read_csv(pack / "private" / "answers.csv")
    assert set(answers["field_id"]) == set(test["field_id"]) and answers["irrigation_mm"].gt(0).any()
    assert not set(train["field_id"]) & set(test["field_id"])


def test_same_seed_same_pack(pack, tmp_path):
    again = make_pack("irrigation_planning", tmp_path / "again", seed=5)
    assert (again / "private" / "answers.csv").read_text() == (pack / "private" / "answers.csv").read_text()


def test_scoring_ranks_and_rejects_with_reasons(pack, tmp_path):
    public = pack / "public"
    train, test = pd.read_csv(public / "fields_train.csv"), pd.read_csv(public / "fields_test.csv")
    answers = pd.read_csv(pack / "private" / "answers.csv")
    perfect = tmp_path / "perfect.csv"
    answers.to_csv(perfect, index=False)
    crop_mean = tmp_path / "crop_mean.csv"
    test.assign(irrigation_mm=test["crop"].map(train.groupby("crop")["irrigation_mm"].mean()).fillna(0))[
        ["field_id", "irrigation_mm"]].to_csv(crop_mean, index=False)
    zeros = public / "submission_template.csv"
    missing_col = tmp_path / "wrong_column.csv"
    test[["field_id"]].assign(water=1).to_csv(missing_col, index=False)
    short = tmp_path / "short.csv"
    answers.iloc[1:].to_csv(short, index=False)
    board = score_submissions(pack, [zeros, crop_mean, perfect, missing_col, short, tmp_path / "absent.csv"])
    scored = board[board["status"] == "scored"]
    assert list(scored["team"]) == ["perfect", "crop_mean", "submission_template"]
    assert scored.iloc[0]["score"] == pytest.approx(0.0)
    expected_zero_mae = answers["irrigation_mm"].abs().mean()
    assert scored.iloc[2]["score"] == pytest.approx(expected_zero_mae)
    reasons = dict(zip(board["team"], board["reason"]))
    assert "missing column 'irrigation_mm'" in reasons["wrong_column"]
    assert "test rows have no prediction" in reasons["short"]
    assert "file not found" in reasons["absent"]
    assert (pack / "leaderboard.csv").exists() and "Leaderboard" in (pack / "leaderboard.html").read_text()


def test_cli_challenge_errors(tmp_path, capsys):
    assert main(["teach", "challenge", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "no challenge for 'nope'" in capsys.readouterr().err
