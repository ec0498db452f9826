"""Challenge packs from the embedded generators, and their scoring.

A pack is two folders: ``public/`` (training data, test inputs without labels,
a submission template, a README) for the students, and ``private/`` (the
hidden labels) for the instructor. Each challenge scores with the metric of
its notebook:

================================  ===========================================  ==============================
challenge                         submission                                   score
================================  ===========================================  ==============================
``irrigation_planning``           CSV ``field_id, irrigation_mm``              MAE, mm (lower is better)
``yield_prediction``              CSV ``field_id, yield_t_ha``                 RMSE, t/ha (lower is better)
``leak_detection``                CSV ``alarm_id, detected_at, candidates``    detection F1; ties: € saved
``logistics_vision``              COCO results JSON, or CSV ``image_id,        mAP@0.5 (pycocotools)
                                  category, x, y, w, h, score``
``radiology_triage``              CSV ``image_id, prob_urgent``                AUROC
================================  ===========================================  ==============================

A challenge reads a submission with :meth:`Challenge.score`, which raises
:class:`kit.errors.InputDataError` with one line naming the problem when the
file is malformed; :func:`score_submissions` turns that (and any other
failure) into a reason on the leaderboard, never a crash.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import InputDataError, KitError
from kit.io import atomic_path, write_json
from kit.submissions import first_line
from kit.teach.challenge import Challenge, TableChallenge
from kit.teach.sector_challenges import IrrigationNeed, LeakAlarms, UrgentRadiographs, YardDetection, YieldForecast

__all__ = ["CHALLENGES", "Challenge", "TableChallenge", "get_challenge", "make_pack", "score_submissions"]


CHALLENGES = {
    c.name: c
    for c in (
        IrrigationNeed(
            name="irrigation_planning", title="seasonal irrigation need", metric="MAE, mm", higher_is_better=False,
            id_column="field_id", target_column="irrigation_mm",
            task="Each test field has a crop, a soil, a planting date and an area, and all share one season of daily "
                 "weather (`weather.csv`). Predict the net irrigation (mm over the season, 1 Sept 2021 to 31 Aug 2022) "
                 "that FAO-56 scheduling at management-allowed depletion applies to it. `fields_train.csv` has the "
                 "answer for other fields.",
            submission="a CSV with columns `field_id, irrigation_mm`, one row per test field (start from "
                       "`submission_template.csv`).",
        ),
        YieldForecast(
            name="yield_prediction", title="cereal yield of a held-out season", metric="RMSE, t/ha",
            higher_is_better=False, id_column="field_id", target_column="yield_t_ha", value_range=(0.0, 50.0),
            task="A rainfed cereal region (wheat and barley, Chaouia-like; `kit.yieldpred.cereal_region`): `fields.csv` "
                 "(crop, soil, commune, area), daily station `weather.csv`, the per-field `index_series.csv` (NDVI, "
                 "NDMI of clear Sentinel-2-like acquisitions, every season including the last) and `yields_train.csv` "
                 "(yield of every field in the earlier seasons, with planting date and nitrogen). Predict each "
                 "field's yield (t/ha) in the last season, 2024 (`fields_test.csv`: its planting date and nitrogen).",
            submission="a CSV with columns `field_id, yield_t_ha`, one row per field of `fields_test.csv` "
                       "(start from `submission_template.csv`).",
        ),
        LeakAlarms(
            name="leak_detection", title="leak alarms on L-Town", metric="leak detection F1",
            higher_is_better=True,
            task="Two weeks of SCADA readings (`scada.csv`, 5-minute steps, Moroccan local time; `sensors.csv` "
                 "declares each column's kind, element and unit) from the L-Town network (`network.inp`, BattLeDIM "
                 "2020). The first week is leak-free; during the second, leaks start (and maybe a short hydrant-like "
                 "draw, which is not a leak). Raise an alarm for each leak and name the junctions where the crew "
                 "should search. An alarm raised while a leak runs detects it; an alarm while none runs is a false "
                 "alarm. The score is the F1 of detection (recall: leaks detected; precision: alarms raised during a "
                 "leak). The leaderboard also gives each team's delay, localization error (distance along pipes "
                 "from the first candidate to the leak) and the BattLeDIM 2020 economic score: an alarm while a "
                 "leak runs with its first candidate within 300 m earns the water saved until the end of the week "
                 "(0.80 €/m³) minus the search cost (500 € × distance / 300 m); any other alarm costs 500 €.",
            submission="a CSV with columns `alarm_id, detected_at, candidates`: `detected_at` an ISO 8601 time in the "
                       "second week (a time without an offset is Moroccan local time), `candidates` junction ids "
                       "separated by ';', best first. No alarm at all scores 0.",
        ),
        YardDetection(
            name="logistics_vision", title="containers, trucks, pallets and people", metric="mAP@0.5",
            higher_is_better=True,
            task="Synthetic yard and gate camera images (`kit.vision.synthetic`): `train/` is a COCO folder with boxes "
                 "(`annotations.json`), `test/images.json` lists the test images without their boxes. Detect every "
                 "container, truck, pallet and person in the test images.",
            submission="the COCO results format (a JSON list of `{image_id, category_id, bbox: [x, y, w, h], score}`, "
                       "as `kit.vision.evaluate.to_coco_results` writes), or a CSV with columns `image_id, category, "
                       "x, y, w, h, score` (category by name or id; box in pixels, top-left corner, width and height).",
        ),
        UrgentRadiographs(
            name="radiology_triage", title="urgent chest radiographs", metric="AUROC", higher_is_better=True,
            id_column="image_id", target_column="prob_urgent", value_range=(0.0, 1.0),
            task="Synthetic frontal chest radiographs as DICOM files (`kit.medical.synth_chest_xrays`, three sites, "
                 "six scanners): `train/` with `train_labels.csv` (`image_id, label`, 1 = urgent finding: large "
                 "opacity, pneumothorax or effusion), `test/` without labels. Score each test image's probability of "
                 "an urgent finding.",
            submission="a CSV with columns `image_id, prob_urgent` (0 to 1), one row per file of `test/` "
                       "(the file name without `.dcm`; start from `submission_template.csv`).",
        ),
    )
}


def get_challenge(name: str) -> Challenge:
    from kit.notebooks import short_name

    key = short_name(name)
    if key not in CHALLENGES:
        raise KitError(f"no challenge for {name!r}; challenges: {', '.join(CHALLENGES)}")
    return CHALLENGES[key]


def make_pack(name: str, out_dir, seed: int = 0) -> Path:
    """Write ``out_dir/public`` (for students) and ``out_dir/private`` (hidden labels).

    The same name and seed give the same pack.
    """
    challenge = get_challenge(name)
    out = Path(out_dir)
    if (out / "public").exists() or (out / "private").exists():
        raise KitError(f"{out} already holds a challenge pack; choose an empty folder")
    import tempfile

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        (tmp / "public").mkdir()
        (tmp / "private").mkdir()
        challenge.make(tmp / "public", tmp / "private", seed)
        (tmp / "public" / "README.md").write_text(challenge.readme(seed))
        write_json(tmp / "private" / "challenge.json", {"challenge": challenge.name, "seed": seed})
        out.mkdir(parents=True, exist_ok=True)
        for part in ("public", "private"):
            shutil.move(str(tmp / part), str(out / part))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def score_one(challenge: Challenge, private: Path, submission) -> dict:
    """``score, tiebreak, details, reason`` of one submission (score NaN and a one-line reason when
    it is rejected); never raises."""
    name = Path(submission).name
    try:
        value, details, tiebreak = challenge.evaluate(private, submission)
        value = float(value)
    except InputDataError as exc:
        return {"score": float("nan"), "tiebreak": float("nan"), "details": "", "reason": first_line(exc)}
    except Exception as exc:  # a leaderboard lists every team: an unexpected failure is a reason too
        return {"score": float("nan"), "tiebreak": float("nan"), "details": "",
                "reason": f"{name}: could not be scored ({type(exc).__name__}: {first_line(exc)})"}
    if not np.isfinite(value):
        return {"score": float("nan"), "tiebreak": float("nan"), "details": "",
                "reason": f"{name}: the score is undefined ({challenge.metric} is NaN)"}
    return {"score": value, "tiebreak": float(tiebreak), "details": details, "reason": ""}


def score_submissions(pack_dir, submissions) -> pd.DataFrame:
    """Score every submission; malformed ones get a reason instead of a score.

    Writes ``leaderboard.csv`` and ``leaderboard.html`` into ``pack_dir``.
    """
    pack = Path(pack_dir)
    try:
        meta = json.loads((pack / "private" / "challenge.json").read_text())
    except FileNotFoundError:
        raise KitError(f"{pack} has no private/challenge.json; give the folder `kit teach challenge` wrote") from None
    challenge = get_challenge(meta["challenge"])
    rows = []
    for sub in submissions:
        r = score_one(challenge, pack / "private", sub)
        rows.append({"team": Path(sub).stem, "score": r["score"], "status": "rejected" if r["reason"] else "scored",
                     "reason": r["reason"], "details": r["details"], "_tie": r["tiebreak"]})
    board = pd.DataFrame(rows, columns=["team", "score", "status", "reason", "details", "_tie"])
    board = board.sort_values(["score", "_tie"], ascending=[not challenge.higher_is_better, False],
                              na_position="last", kind="stable").reset_index(drop=True)
    # Equal score and tiebreak: equal rank.
    ranks, prev = [], None
    for i, (status, key) in enumerate(zip(board["status"], zip(board["score"], board["_tie"].fillna(-np.inf)))):
        if status != "scored":
            ranks.append(None)
            continue
        ranks.append(ranks[-1] if prev == key else i + 1)
        prev = key
    board = board.drop(columns="_tie")
    board.insert(0, "rank", pd.array(ranks, dtype="Int64"))
    with atomic_path(pack / "leaderboard.csv") as tmp:
        board.to_csv(tmp, index=False)
    html = board.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", escape=True)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Leaderboard: {challenge.title}</title>"
            "<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}"
            "td,th{padding:.4rem .7rem;border-bottom:1px solid #ddd;text-align:left}</style></head><body>"
            f"<h1>Leaderboard: {challenge.title}</h1><p>Metric: {challenge.metric} "
            f"({'higher' if challenge.higher_is_better else 'lower'} is better)</p>{html}</body></html>")
    with atomic_path(pack / "leaderboard.html") as tmp:
        tmp.write_text(page, encoding="utf-8")
    return board
