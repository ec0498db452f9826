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
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import InputDataError, KitError
from kit.io import atomic_path, write_json

__all__ = ["CHALLENGES", "Challenge", "TableChallenge", "get_challenge", "make_pack", "score_submissions"]


# -- reading submissions ----------------------------------------------------------------------------
def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_csv_submission(path) -> pd.DataFrame:
    """A submission CSV, or InputDataError with the reason (missing, empty, not CSV)."""
    path = Path(path)
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise InputDataError(f"{path.name}: file not found") from None
    except IsADirectoryError:
        raise InputDataError(f"{path.name}: is a folder, not a CSV file") from None
    except pd.errors.EmptyDataError:
        raise InputDataError(f"{path.name}: empty file; start from submission_template.csv") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputDataError(f"{path.name}: not a readable CSV ({_first_line(exc)})") from None


def _require_columns(sub: pd.DataFrame, name: str, columns) -> None:
    missing = [c for c in columns if c not in sub.columns]
    if missing:
        raise InputDataError(f"{name}: missing column {missing[0]!r}; columns must be {', '.join(columns)}")


def _numbers(values: pd.Series, name: str, column: str) -> np.ndarray:
    """Finite floats, or the first bad row (CSV row numbers count the header as row 1)."""
    num = pd.to_numeric(values, errors="coerce").astype(float)
    bad = ~np.isfinite(num.to_numpy())
    if bad.any():
        row = int(np.argmax(bad)) + 2
        raise InputDataError(f"{name}: row {row}: {column} is not a number ({values.iloc[row - 2]!r})")
    return num.to_numpy()


# -- challenges ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Challenge:
    """One challenge: how its pack is made and how a submission is scored.

    Subclasses implement :meth:`make` (write ``public/`` and ``private/``)
    and :meth:`score` (one submission file to one number, or InputDataError).
    """

    name: str
    title: str
    metric: str
    higher_is_better: bool
    task: str
    submission: str  # what a submission is, one sentence for the README

    def make(self, public: Path, private: Path, seed: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, private: Path, submission) -> float:  # pragma: no cover - abstract
        """Score one submission; raises InputDataError with the reason when it is malformed."""
        raise NotImplementedError

    def evaluate(self, private: Path, submission) -> tuple[float, str, float]:
        """``(score, details, tiebreak)``: the score, a short line of other figures for the leaderboard, and a
        second figure (higher is better, NaN for none) that orders equal scores."""
        return float(self.score(private, submission)), "", float("nan")

    def readme(self, seed: int) -> str:
        better = "higher" if self.higher_is_better else "lower"
        return (
            f"# Challenge: {self.title}\n\n{self.task}\n\n"
            f"**Submission**: {self.submission} Score: {self.metric} ({better} is better).\n\n"
            f"The instructor scores submissions with `kit teach score PACK team1.csv team2.csv ...`; a malformed "
            f"file is listed with the reason instead of a score.\n\n"
            f"Generated by `kit teach challenge {self.name} --seed {seed}`.\n"
        )


@dataclass(frozen=True)
class TableChallenge(Challenge):
    """A challenge whose answer is one number per test row: CSV ``id_column, target_column``."""

    id_column: str = "id"
    target_column: str = "target"
    value_range: tuple = (-np.inf, np.inf)

    def metric_value(self, truth: np.ndarray, pred: np.ndarray) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def read_submission(self, private: Path, submission) -> tuple[np.ndarray, np.ndarray]:
        """(truth, prediction) aligned on the test ids; InputDataError names the first problem."""
        answers = pd.read_csv(private / "answers.csv")
        name = Path(submission).name
        sub = read_csv_submission(submission)
        _require_columns(sub, name, (self.id_column, self.target_column))
        ids = sub[self.id_column].astype(str)
        if ids.duplicated().any():
            raise InputDataError(f"{name}: {self.id_column} {ids[ids.duplicated()].iloc[0]!r} appears twice")
        expected = set(answers[self.id_column].astype(str))
        unknown = sorted(set(ids) - expected)
        if unknown:
            raise InputDataError(f"{name}: unknown {self.id_column} {unknown[0]!r} (not in the test inputs)")
        absent = sorted(expected - set(ids))
        if absent:
            raise InputDataError(f"{name}: {len(absent)} test rows have no prediction (e.g. {absent[0]!r})")
        values = _numbers(sub[self.target_column], name, self.target_column)
        lo, hi = self.value_range
        out = (values < lo) | (values > hi)
        if out.any():
            row = int(np.argmax(out)) + 2
            raise InputDataError(f"{name}: row {row}: {self.target_column} {values[row - 2]} is outside {lo:g}..{hi:g}")
        pred = pd.Series(values, index=ids.to_numpy())
        truth = answers[self.target_column].to_numpy(float)
        return truth, pred.loc[answers[self.id_column].astype(str)].to_numpy(float)

    def score(self, private: Path, submission) -> float:
        truth, pred = self.read_submission(private, submission)
        return float(self.metric_value(truth, pred))


class IrrigationNeed(TableChallenge):
    """Predict each field's seasonal net irrigation need under MAD scheduling."""

    def make(self, public: Path, private: Path, seed: int) -> None:
        from kit.agro import datasets, schedule

        rng = np.random.default_rng(seed)
        site = list(datasets.SITES)[int(rng.integers(len(datasets.SITES)))]
        weather = datasets.weather(site, seasons=1, seed=seed, start_year=2021)
        fields = datasets.fields(site, n=240, seed=seed, start_year=2021)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            plan = schedule(fields, weather, "mad", start="2021-09-01", end="2022-08-31")
        net = plan.balance["irrigation_mm"].fillna(0).sum("time").to_series()
        fields = fields.assign(irrigation_mm=fields["field_id"].map(net).round(1))
        order = rng.permutation(len(fields))
        train, test = fields.iloc[order[:180]], fields.iloc[order[180:]]
        weather.to_csv(public / "weather.csv", index=False)
        train.to_csv(public / "fields_train.csv", index=False)
        test.drop(columns=[self.target_column]).to_csv(public / "fields_test.csv", index=False)
        test[[self.id_column]].assign(**{self.target_column: 0.0}).to_csv(public / "submission_template.csv", index=False)
        test[[self.id_column, self.target_column]].to_csv(private / "answers.csv", index=False)

    def metric_value(self, truth, pred):
        return float(np.mean(np.abs(truth - pred)))


class YieldForecast(TableChallenge):
    """Predict every field's yield of a held-out season from earlier seasons, imagery and weather."""

    seasons = 5
    scale = 0.5

    def make(self, public: Path, private: Path, seed: int) -> None:
        from kit.yieldpred import cereal_region, index_series_from_stack

        region = cereal_region(seasons=self.seasons, target_year=2024, scale=self.scale, seed=seed)
        target = max(region.years)
        y = region.yields
        region.fields.to_csv(public / "fields.csv", index=False)
        region.weather.to_csv(public / "weather.csv", index=False)
        y[y["year"] < target].to_csv(public / "yields_train.csv", index=False)
        test = y[y["year"] == target]
        test.drop(columns=[self.target_column]).to_csv(public / "fields_test.csv", index=False)
        series = index_series_from_stack(region.stack, region.polygons)
        series.to_csv(public / "index_series.csv", index=False, float_format="%.4f")
        test[[self.id_column]].assign(**{self.target_column: 0.0}).to_csv(public / "submission_template.csv", index=False)
        test[[self.id_column, self.target_column]].to_csv(private / "answers.csv", index=False)

    def metric_value(self, truth, pred):
        return float(np.sqrt(np.mean((truth - pred) ** 2)))


class UrgentRadiographs(TableChallenge):
    """Score held-out chest radiographs for an urgent finding."""

    n_studies = 240
    n_train = 160
    image_size = 64

    def make(self, public: Path, private: Path, seed: int) -> None:
        from kit.medical import synth_chest_xrays

        gen = private / "_generated"
        labels = synth_chest_xrays(gen, n_studies=self.n_studies, image_size=self.image_size, prevalence=0.4,
                                   n_sites=3, seed=seed)
        rng = np.random.default_rng([seed, 9])
        order = rng.permutation(len(labels))
        # Ids say nothing of the site, the scanner or the label: a random number per image.
        ids = [f"CXR-{k:05d}" for k in rng.choice(90_000, size=len(labels), replace=False) + 10_000]
        labels = labels.assign(image_id=ids)
        for part, rows in (("train", order[: self.n_train]), ("test", order[self.n_train:])):
            (public / part).mkdir()
            for r in rows:
                shutil.copyfile(gen / labels["file"].iloc[r], public / part / f"{labels['image_id'].iloc[r]}.dcm")
        shutil.rmtree(gen)
        train, test = labels.iloc[np.sort(order[: self.n_train])], labels.iloc[np.sort(order[self.n_train:])]
        train[["image_id", "label"]].to_csv(public / "train_labels.csv", index=False)
        test[["image_id"]].assign(prob_urgent=0.5).to_csv(public / "submission_template.csv", index=False)
        test[["image_id"]].assign(prob_urgent=test["label"].to_numpy()).to_csv(private / "answers.csv", index=False)

    def metric_value(self, truth, pred):
        from kit.medical.evaluate import auroc

        return auroc(truth.astype(int), pred)


# -- leak detection -------------------------------------------------------------------------------------
LEAK_TZ = "Africa/Casablanca"
ALARM_COLUMNS = ("alarm_id", "detected_at", "candidates")


class LeakAlarms(Challenge):
    """Raise leak alarms with candidate junctions over a held-out fortnight of an L-Town record."""

    train_days = 7
    test_days = 7
    start = "2024-03-04"  # a Monday, local time

    def make(self, public: Path, private: Path, seed: int) -> None:
        from kit.water import LeakSpec, generate_scenario, load_network, ltown_path
        from kit.water.scenarios import nominal_pressure_m

        network = load_network()
        rng = np.random.default_rng(seed)
        pressure = nominal_pressure_m(network)
        nodes = [j for j in network.junctions if pressure.get(j, 0) > 15.0]
        t_test = pd.Timestamp(self.start) + pd.Timedelta(days=self.train_days)
        specs = []
        for i, kind in enumerate(rng.permutation(["abrupt", rng.choice(["abrupt", "incipient"])])):
            lo, hi = (0.5, 3.0) if i == 0 else (3.5, 6.0)
            t0 = (t_test + pd.Timedelta(days=float(rng.uniform(lo, hi)))).floor("5min")
            peak = t0 + pd.Timedelta(days=float(rng.uniform(1, 3))) if kind == "incipient" else None
            specs.append(LeakSpec(str(rng.choice(nodes)), t0, float(rng.uniform(3.0, 8.0)), str(kind), peak=peak))
        t0 = (t_test + pd.Timedelta(hours=float(rng.uniform(12, self.test_days * 24 - 12)))).floor("5min")
        specs.append(LeakSpec(str(rng.choice(nodes)), t0, float(rng.uniform(2.0, 6.0)), "burst",
                              end=t0 + pd.Timedelta(hours=float(rng.uniform(1, 3)))))
        sc = generate_scenario(network, start=self.start, days=self.train_days + self.test_days, leaks=specs,
                               n_gaps=1, n_stuck=1, n_duplicates=2, tz=LEAK_TZ, seed=seed)
        paths = sc.write(private / "_generated")
        shutil.move(str(paths["scada"]), str(public / "scada.csv"))
        shutil.move(str(paths["sensors"]), str(public / "sensors.csv"))
        shutil.move(str(paths["truth"]), str(private / "truth.csv"))
        shutil.rmtree(private / "_generated")
        shutil.copyfile(ltown_path(), public / "network.inp")
        t_end = pd.Timestamp(self.start) + pd.Timedelta(days=self.train_days + self.test_days)
        write_json(private / "period.json", {"test_start": t_test.tz_localize(LEAK_TZ).isoformat(),
                                             "test_end": t_end.tz_localize(LEAK_TZ).isoformat()})
        pd.DataFrame(columns=list(ALARM_COLUMNS)).to_csv(public / "submission_template.csv", index=False)

    def readme(self, seed: int) -> str:
        t0 = pd.Timestamp(self.start)
        t1, t2 = t0 + pd.Timedelta(days=self.train_days), t0 + pd.Timedelta(days=self.train_days + self.test_days)
        return super().readme(seed) + (
            f"\nLeak-free training week: {t0:%Y-%m-%d %H:%M} to {t1:%Y-%m-%d %H:%M}; test week (alarms are scored "
            f"only here): {t1:%Y-%m-%d %H:%M} to {t2:%Y-%m-%d %H:%M}, Moroccan local time. With the kit: "
            "`kit.water.read_scada('scada.csv', 'sensors.csv', kit.water.load_network('network.inp'), "
            "tz='Africa/Casablanca')` and `kit.water.LeakDetector` (notebook 03).\n")

    def read_alarms(self, private: Path, submission) -> pd.DataFrame:
        """The submitted alarms (``alarm_id, detected_at`` UTC, ``candidates``), checked row by row."""
        from kit.water import load_network

        name = Path(submission).name
        sub = read_csv_submission(submission)
        _require_columns(sub, name, ("detected_at", "candidates"))
        period = json.loads((private / "period.json").read_text())
        t0, t1 = pd.Timestamp(period["test_start"]), pd.Timestamp(period["test_end"])
        junctions = set(load_network().junctions)
        times, cands = [], []
        for k, (when, cand) in enumerate(zip(sub["detected_at"], sub["candidates"])):
            row = k + 2
            try:
                t = pd.Timestamp(str(when))
            except (ValueError, TypeError):
                raise InputDataError(f"{name}: row {row}: detected_at {when!r} is not a date-time "
                                     "(write ISO 8601, e.g. 2024-03-12T04:00:00+01:00)") from None
            if pd.isna(t):
                raise InputDataError(f"{name}: row {row}: detected_at is empty")
            t = t.tz_localize(LEAK_TZ) if t.tzinfo is None else t
            if not t0 <= t <= t1:
                raise InputDataError(f"{name}: row {row}: detected_at {when} is outside the test period "
                                     f"({t0.isoformat()} to {t1.isoformat()})")
            nodes = [] if pd.isna(cand) else [c.strip() for c in str(cand).split(";") if c.strip()]
            unknown = [c for c in nodes if c not in junctions]
            if unknown:
                raise InputDataError(f"{name}: row {row}: candidate {unknown[0]!r} is not a junction of the network")
            times.append(t.tz_convert("UTC"))
            cands.append(";".join(nodes))
        ids = sub["alarm_id"].astype(str) if "alarm_id" in sub else pd.Series([f"A{k + 1}" for k in range(len(sub))])
        return pd.DataFrame({"alarm_id": ids.to_numpy(), "detected_at": pd.DatetimeIndex(times, tz="UTC"),
                             "candidates": cands})

    def evaluate(self, private: Path, submission) -> tuple[float, str, float]:
        """Detection F1 from :func:`kit.water.score_alarms`; equal F1 are ordered by the BattLeDIM economic score.

        An alarm raised while a leak runs detects it (wherever the candidates
        are); an alarm while no leak runs (the burst included) is a false
        alarm. Recall: leaks detected / leaks; precision: alarms during a
        leak / alarms; no alarm at all scores 0.
        """
        from kit.water import load_network, score_alarms
        from kit.water.notebook import read_truth

        alarms = self.read_alarms(private, submission)
        period = json.loads((private / "period.json").read_text())
        _, _, s = score_alarms(alarms, read_truth(private / "truth.csv"), load_network(),
                               period_start=pd.Timestamp(period["test_start"]),
                               period_end=pd.Timestamp(period["test_end"]))
        recall = s["leaks_detected"] / s["n_leaks"] if s["n_leaks"] else 0.0
        precision = (s["n_alarms"] - s["false_alarms"]) / s["n_alarms"] if s["n_alarms"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        delay = s["median_delay_h"]
        details = (f"{s['leaks_detected']}/{s['n_leaks']} leaks detected, {s['false_alarms']} false alarms"
                   + (f", median delay {delay:.1f} h" if np.isfinite(delay) else "")
                   + (f", median localization {s['median_localization_m']:.0f} m"
                      if np.isfinite(s["median_localization_m"]) else "")
                   + f", BattLeDIM economic score {s['economic_score_eur']:.0f} €")
        return float(f1), details, float(s["economic_score_eur"])

    def score(self, private: Path, submission) -> float:
        return self.evaluate(private, submission)[0]


# -- logistics vision -------------------------------------------------------------------------------------
DETECTION_CSV_COLUMNS = ("image_id", "category", "x", "y", "w", "h", "score")


class YardDetection(Challenge):
    """Detect containers, trucks, pallets and people in held-out yard and gate images."""

    n_images = 100
    image_size = 256

    def make(self, public: Path, private: Path, seed: int) -> None:
        from kit.vision.synth import generate

        gen = generate(private / "_generated", n_images=self.n_images, image_size=self.image_size, seed=seed,
                       split_fractions=(0.7, 0.0, 0.3), n_code_crops=0, sequence_frames=0)
        coco = json.loads((gen / "annotations.json").read_text())
        info = {**coco["info"], "description": f"kit teach challenge {self.name}"}
        for part in ("train", "test"):
            (public / part / "images").mkdir(parents=True)
            images = [im for im in coco["images"] if im["split"] == part]
            keep = {im["id"] for im in images}
            for im in images:
                shutil.copyfile(gen / im["file_name"], public / part / im["file_name"])
            anns = [a for a in coco["annotations"] if a["image_id"] in keep]
            full = {"info": info, "images": images, "annotations": anns, "categories": coco["categories"]}
            if part == "train":
                write_json(public / "train" / "annotations.json", full)
            else:
                write_json(public / "test" / "images.json", {"info": info, "images": images, "annotations": [],
                                                             "categories": coco["categories"]})
                write_json(private / "test_annotations.json", full)
        shutil.rmtree(gen)
        pd.DataFrame(columns=list(DETECTION_CSV_COLUMNS)).to_csv(public / "submission_template.csv", index=False)

    def ground_truth(self, private: Path):
        """The test split's boxes as a :class:`kit.vision.data.CocoIndex` (no image files needed)."""
        from kit.vision.data import CocoIndex, SkipReport

        coco = json.loads((private / "test_annotations.json").read_text())
        cats = sorted(coco["categories"], key=lambda c: c["id"])
        label_of = {c["id"]: i + 1 for i, c in enumerate(cats)}
        per = {im["id"]: ([], []) for im in coco["images"]}
        for a in coco["annotations"]:
            x, y, w, h = a["bbox"]
            per[a["image_id"]][0].append((x, y, x + w, y + h))
            per[a["image_id"]][1].append(label_of[a["category_id"]])
        images = [dict(im, path=None) for im in coco["images"]]
        boxes = [np.asarray(per[im["id"]][0], dtype=np.float32).reshape(-1, 4) for im in images]
        labels = [np.asarray(per[im["id"]][1], dtype=np.int64) for im in images]
        return CocoIndex(private, "test", images, boxes, labels, [np.zeros(len(b), np.int64) for b in boxes], cats,
                         SkipReport())

    def read_detections(self, private: Path, submission) -> list:
        """COCO results from a JSON list or a CSV, every entry checked."""
        path = Path(submission)
        name = path.name
        coco = json.loads((private / "test_annotations.json").read_text())
        image_ids = {im["id"] for im in coco["images"]}
        cat_ids = {c["id"] for c in coco["categories"]}
        by_name = {c["name"]: c["id"] for c in coco["categories"]}
        if path.suffix.lower() == ".json":
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise InputDataError(f"{name}: file not found") from None
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise InputDataError(f"{name}: not valid JSON ({_first_line(exc)})") from None
            if not isinstance(raw, list):
                raise InputDataError(f"{name}: a COCO results file is a JSON list of "
                                     "{image_id, category_id, bbox, score}; got a JSON " + type(raw).__name__)
            where = [f"entry {k}" for k in range(len(raw))]
            entries = raw
        else:
            sub = read_csv_submission(path)
            _require_columns(sub, name, DETECTION_CSV_COLUMNS)
            where = [f"row {k + 2}" for k in range(len(sub))]
            entries = []
            for r in sub.itertuples(index=False):
                cat = r.category
                cat = by_name.get(str(cat).strip(), cat)
                entries.append({"image_id": r.image_id, "category_id": cat, "bbox": [r.x, r.y, r.w, r.h],
                                "score": r.score})
        out = []
        for loc, e in zip(where, entries):
            if not isinstance(e, dict) or not {"image_id", "category_id", "bbox", "score"} <= set(e):
                raise InputDataError(f"{name}: {loc}: needs image_id, category_id, bbox [x, y, w, h] and score")
            try:
                iid = int(e["image_id"])
                if iid != float(e["image_id"]):
                    raise ValueError
            except (TypeError, ValueError):
                raise InputDataError(f"{name}: {loc}: image_id {e['image_id']!r} is not an integer") from None
            if iid not in image_ids:
                raise InputDataError(f"{name}: {loc}: image_id {iid} is not a test image (see test/images.json)")
            cat = e["category_id"]
            try:
                cat = int(cat)
            except (TypeError, ValueError):
                raise InputDataError(f"{name}: {loc}: category {cat!r} is not one of "
                                     f"{', '.join(by_name)} (or their ids)") from None
            if cat not in cat_ids:
                raise InputDataError(f"{name}: {loc}: category id {cat} is not one of {sorted(cat_ids)}")
            box = e["bbox"]
            try:
                box = [float(v) for v in box]
                score = float(e["score"])
            except (TypeError, ValueError):
                raise InputDataError(f"{name}: {loc}: bbox and score must be numbers") from None
            if len(box) != 4 or not all(np.isfinite(box)) or not np.isfinite(score):
                raise InputDataError(f"{name}: {loc}: bbox must be 4 finite numbers [x, y, w, h] and score finite")
            if box[2] <= 0 or box[3] <= 0:
                raise InputDataError(f"{name}: {loc}: bbox width and height must be > 0 (COCO boxes are x, y, w, h)")
            out.append({"image_id": iid, "category_id": cat, "bbox": box, "score": score})
        return out

    def score(self, private: Path, submission) -> float:
        from kit.vision.evaluate import coco_evaluate

        results = self.read_detections(private, submission)
        return float(coco_evaluate(results, self.ground_truth(private)).map50)


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
            task="Synthetic yard and gate camera images (`kit.vision.synth`): `train/` is a COCO folder with boxes "
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
        return {"score": float("nan"), "tiebreak": float("nan"), "details": "", "reason": _first_line(exc)}
    except Exception as exc:  # a leaderboard lists every team: an unexpected failure is a reason too
        return {"score": float("nan"), "tiebreak": float("nan"), "details": "",
                "reason": f"{name}: could not be scored ({type(exc).__name__}: {_first_line(exc)})"}
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
