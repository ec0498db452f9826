"""Challenge packs of the five sector notebooks: made from the generators, scored with each notebook's metric."""
import json

import numpy as np
import pandas as pd
import pytest

from kit.cli import main
from kit.teach.challenges import CHALLENGES, make_pack, score_submissions


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    root = tmp_path_factory.mktemp("packs")
    return {name: make_pack(name, root / name, seed=3)
            for name in ("yield_prediction", "leak_detection", "logistics_vision", "radiology_triage")}


def _board(pack, subs):
    board = score_submissions(pack, subs)
    assert (pack / "leaderboard.csv").exists() and "Leaderboard" in (pack / "leaderboard.html").read_text()
    for reason in board["reason"]:
        assert "\n" not in reason
    return board.set_index("team")


def test_every_notebook_has_a_challenge():
    assert set(CHALLENGES) == {"irrigation_planning", "yield_prediction", "leak_detection", "logistics_vision",
                               "radiology_triage"}


def test_packs_hold_no_labels_in_public(packs):
    for name, pack in packs.items():
        public = {p.relative_to(pack / "public").as_posix() for p in (pack / "public").rglob("*")}
        assert {"README.md", "submission_template.csv"} <= public, name
        assert not any("answer" in p or "truth" in p for p in public), name
        assert json.loads((pack / "private" / "challenge.json").read_text())["challenge"] == name
        assert not (pack / "private" / "_generated").exists()
    assert "yield_t_ha" not in pd.read_csv(packs["yield_prediction"] / "public" / "fields_test.csv")
    test_json = json.loads((packs["logistics_vision"] / "public" / "test" / "images.json").read_text())
    assert test_json["images"] and test_json["annotations"] == []
    assert len(list((packs["radiology_triage"] / "public" / "test").glob("*.dcm"))) == 80


def test_same_seed_same_pack(packs, tmp_path):
    again = make_pack("radiology_triage", tmp_path / "again", seed=3)
    assert (again / "private" / "answers.csv").read_text() == \
        (packs["radiology_triage"] / "private" / "answers.csv").read_text()
    other = make_pack("radiology_triage", tmp_path / "other", seed=4)
    assert (other / "private" / "answers.csv").read_text() != (again / "private" / "answers.csv").read_text()


def test_yield_rmse(packs, tmp_path):
    pack = packs["yield_prediction"]
    answers = pd.read_csv(pack / "private" / "answers.csv")
    train = pd.read_csv(pack / "public" / "yields_train.csv")
    test = pd.read_csv(pack / "public" / "fields_test.csv")
    answers.to_csv(tmp_path / "perfect.csv", index=False)
    test[["field_id"]].assign(yield_t_ha=test["field_id"].map(train.groupby("field_id")["yield_t_ha"].mean())).to_csv(
        tmp_path / "field_mean.csv", index=False)
    answers.assign(yield_t_ha=-1.0).to_csv(tmp_path / "negative.csv", index=False)
    answers.rename(columns={"yield_t_ha": "yield"}).to_csv(tmp_path / "renamed.csv", index=False)
    b = _board(pack, [tmp_path / "field_mean.csv", pack / "public" / "submission_template.csv", tmp_path / "perfect.csv",
                      tmp_path / "negative.csv", tmp_path / "renamed.csv"])
    assert b.loc["perfect", "score"] == pytest.approx(0.0)
    truth = answers["yield_t_ha"].to_numpy()
    assert b.loc["submission_template", "score"] == pytest.approx(np.sqrt(np.mean(truth ** 2)))
    assert 0 < b.loc["field_mean", "score"] < b.loc["submission_template", "score"]
    assert list(b.index[:3]) == ["perfect", "field_mean", "submission_template"]
    assert "outside 0..50" in b.loc["negative", "reason"]
    assert "missing column 'yield_t_ha'" in b.loc["renamed", "reason"]


def test_leak_detection_f1_and_economic_tiebreak(packs, tmp_path):
    from kit.water import load_network

    pack = packs["leak_detection"]
    truth = pd.read_csv(pack / "private" / "truth.csv")
    leaks = truth[truth["is_leak"].astype(str).str.lower() == "true"]
    assert len(leaks) == 2 and (truth["type"] == "burst").sum() == 1
    start = pd.to_datetime(leaks["start"], utc=True)
    dist = load_network().distances_m()
    far = dist.loc[list(leaks["node"])].min().idxmax()  # the junction farthest from both leaks
    assert dist.loc[list(leaks["node"]), far].min() > 1000

    def alarms(name, times, candidates):
        pd.DataFrame({"detected_at": [t.isoformat() for t in times], "candidates": candidates}).to_csv(
            tmp_path / f"{name}.csv", index=False)
        return tmp_path / f"{name}.csv"

    subs = [
        alarms("early", pd.to_datetime(["2024-03-11T01:00:00+01:00", "2024-03-11T02:00:00+01:00"]), ["n1", ""]),
        pack / "public" / "submission_template.csv",
        alarms("half", [start.iloc[0] + pd.Timedelta("1h"), pd.Timestamp("2024-03-11T03:00:00+01:00")],
               [leaks["node"].iloc[0], far]),
        alarms("wrong_place", start + pd.Timedelta("5min"), [far, far]),
        alarms("late", start + pd.Timedelta("20h"), list(leaks["node"])),
        alarms("perfect", start + pd.Timedelta("5min"), list(leaks["node"] + ";n1")),
        alarms("bad_time", [pd.Timestamp("2024-03-12")], ["n1"]),
        alarms("bad_node", [pd.Timestamp("2024-03-12T01:00:00+01:00")], ["n1;pipe9"]),
        alarms("in_training", [pd.Timestamp("2024-03-05T01:00:00+01:00")], ["n1"]),
    ]
    pd.read_csv(subs[6]).assign(detected_at="yesterday").to_csv(subs[6], index=False)
    b = _board(pack, subs)
    assert list(b.index[:6]) == ["perfect", "late", "wrong_place", "half", "submission_template", "early"]
    assert list(b["score"].iloc[:6]) == [1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    assert list(b["rank"].iloc[:6]) == [1, 2, 3, 4, 5, 6]  # equal F1 ordered by the economic score
    assert "2/2 leaks detected, 0 false alarms, median delay 0.1 h, median localization 0 m" in b.loc["perfect", "details"]
    assert "economic score -1000 €" in b.loc["wrong_place", "details"]
    assert "row 2: detected_at 'yesterday' is not a date-time" in b.loc["bad_time", "reason"]
    assert "candidate 'pipe9' is not a junction" in b.loc["bad_node", "reason"]
    assert "outside the test period" in b.loc["in_training", "reason"]


def test_equal_scores_share_a_rank(packs, tmp_path):
    pack = packs["radiology_triage"]
    template = pack / "public" / "submission_template.csv"
    (tmp_path / "copy.csv").write_text(template.read_text())
    b = score_submissions(pack, [template, tmp_path / "copy.csv"])
    assert list(b["rank"]) == [1, 1] and list(b["score"]) == [0.5, 0.5]


def test_vision_map50(packs, tmp_path):
    pack = packs["logistics_vision"]
    gt = json.loads((pack / "private" / "test_annotations.json").read_text())
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
               for a in gt["annotations"]]
    (tmp_path / "perfect.json").write_text(json.dumps(perfect))
    names = {c["id"]: c["name"] for c in gt["categories"]}
    # Boxes shifted by their own width: no IoU left for most; some kept right.
    shifted = [dict(r, bbox=[r["bbox"][0] + (r["bbox"][2] if k % 2 else 0)] + r["bbox"][1:]) for k, r in enumerate(perfect)]
    pd.DataFrame({"image_id": [r["image_id"] for r in shifted], "category": [names[r["category_id"]] for r in shifted],
                  "x": [r["bbox"][0] for r in shifted], "y": [r["bbox"][1] for r in shifted],
                  "w": [r["bbox"][2] for r in shifted], "h": [r["bbox"][3] for r in shifted],
                  "score": 0.5}).to_csv(tmp_path / "half.csv", index=False)
    (tmp_path / "not_a_list.json").write_text(json.dumps({"annotations": perfect}))
    (tmp_path / "broken.json").write_text("[{")
    (tmp_path / "unknown_image.json").write_text(json.dumps([dict(perfect[0], image_id=99999)]))
    (tmp_path / "flat_box.json").write_text(json.dumps([dict(perfect[0], bbox=[1, 2, 0, 5])]))
    pd.DataFrame({"image_id": [perfect[0]["image_id"]], "category": ["forklift"], "x": [1], "y": [1], "w": [5], "h": [5],
                  "score": [1]}).to_csv(tmp_path / "forklift.csv", index=False)
    b = _board(pack, [tmp_path / "half.csv", pack / "public" / "submission_template.csv", tmp_path / "perfect.json",
                      tmp_path / "not_a_list.json", tmp_path / "broken.json", tmp_path / "unknown_image.json",
                      tmp_path / "flat_box.json", tmp_path / "forklift.csv"])
    assert b.loc["perfect", "score"] == pytest.approx(1.0)
    assert 0.2 < b.loc["half", "score"] < 0.8
    assert b.loc["submission_template", "score"] == 0.0
    assert "JSON list" in b.loc["not_a_list", "reason"] and "not valid JSON" in b.loc["broken", "reason"]
    assert "image_id 99999 is not a test image" in b.loc["unknown_image", "reason"]
    assert "width and height must be > 0" in b.loc["flat_box", "reason"]
    assert "category 'forklift' is not one of container, truck, pallet, person" in b.loc["forklift", "reason"]


def test_radiology_auroc(packs, tmp_path):
    pack = packs["radiology_triage"]
    answers = pd.read_csv(pack / "private" / "answers.csv")
    answers.to_csv(tmp_path / "perfect.csv", index=False)
    rng = np.random.default_rng(0)
    y = answers["prob_urgent"].to_numpy()
    answers.assign(prob_urgent=np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.3, len(y)), 0, 1)).to_csv(
        tmp_path / "noisy.csv", index=False)
    answers.assign(prob_urgent=1 - y).to_csv(tmp_path / "inverted.csv", index=False)
    answers.assign(prob_urgent=y * 100).to_csv(tmp_path / "percent.csv", index=False)
    answers.iloc[:-1].to_csv(tmp_path / "short.csv", index=False)
    (tmp_path / "garbage.csv").write_bytes(b"\xff\xfe\x00garbage\x00\n\x00")
    b = _board(pack, [tmp_path / "inverted.csv", tmp_path / "noisy.csv", tmp_path / "perfect.csv",
                      pack / "public" / "submission_template.csv", tmp_path / "percent.csv", tmp_path / "short.csv",
                      tmp_path / "garbage.csv", tmp_path / "absent.csv"])
    assert list(b.index[:4]) == ["perfect", "noisy", "submission_template", "inverted"]
    assert b.loc["perfect", "score"] == 1.0 and b.loc["inverted", "score"] == 0.0
    assert b.loc["submission_template", "score"] == 0.5
    assert "prob_urgent 100.0 is outside 0..1" in b.loc["percent", "reason"]
    assert "1 test rows have no prediction" in b.loc["short", "reason"]
    assert b.loc["garbage", "status"] == "rejected" and "file not found" in b.loc["absent", "reason"]


def test_cli_writes_and_scores_a_pack(tmp_path, capsys):
    assert main(["teach", "challenge", "radiology", "--out", str(tmp_path / "p"), "--seed", "1"]) == 2
    assert "challenges: irrigation_planning, yield_prediction, leak_detection" in capsys.readouterr().err
    assert main(["teach", "challenge", "radiology_triage", "--out", str(tmp_path / "p"), "--seed", "1"]) == 0
    assert main(["teach", "score", str(tmp_path / "p"), str(tmp_path / "p" / "public" / "submission_template.csv")]) == 0
    assert "submission_template" in capsys.readouterr().out
