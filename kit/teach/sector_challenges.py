"""The challenges of the five sector notebooks: each makes its pack from its sector's generator and scores with its metric.

A challenge imports its sector only when it makes a pack or scores, so
listing the challenges stays light; the readers of the submission files
live in their sectors (:mod:`kit.water.alarm_file`,
:mod:`kit.vision.coco_results`).
"""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from kit.io import write_json
from kit.teach.challenge import Challenge, TableChallenge

__all__ = ["IrrigationNeed", "LEAK_TZ", "LeakAlarms", "UrgentRadiographs", "YardDetection", "YieldForecast"]


class IrrigationNeed(TableChallenge):
    """Predict each field's seasonal net irrigation need under MAD scheduling."""

    def make(self, public: Path, private: Path, seed: int) -> None:
        from kit.agro import schedule, synthetic

        rng = np.random.default_rng(seed)
        site = list(synthetic.SITES)[int(rng.integers(len(synthetic.SITES)))]
        weather = synthetic.weather(site, seasons=1, seed=seed, start_year=2021)
        fields = synthetic.fields(site, n=240, seed=seed, start_year=2021)
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


class LeakAlarms(Challenge):
    """Raise leak alarms with candidate junctions over a held-out fortnight of an L-Town record."""

    train_days = 7
    test_days = 7
    start = "2024-03-04"  # a Monday, local time

    def make(self, public: Path, private: Path, seed: int) -> None:
        from kit.water import LeakSpec, generate_scenario, load_network, ltown_path
        from kit.water.alarm_file import ALARM_FILE_COLUMNS
        from kit.water.synthetic import nominal_pressure_m

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
        pd.DataFrame(columns=list(ALARM_FILE_COLUMNS)).to_csv(public / "submission_template.csv", index=False)

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
        from kit.water.alarm_file import read_alarm_file

        period = json.loads((private / "period.json").read_text())
        return read_alarm_file(submission, junctions=set(load_network().junctions),
                               period_start=pd.Timestamp(period["test_start"]),
                               period_end=pd.Timestamp(period["test_end"]), tz=LEAK_TZ)

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
class YardDetection(Challenge):
    """Detect containers, trucks, pallets and people in held-out yard and gate images."""

    n_images = 100
    image_size = 256

    def make(self, public: Path, private: Path, seed: int) -> None:
        from kit.vision.coco_results import DETECTION_CSV_COLUMNS
        from kit.vision.synthetic import generate

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
        from kit.vision.coco_results import ground_truth_index

        return ground_truth_index(json.loads((private / "test_annotations.json").read_text()), private, "test")

    def read_detections(self, private: Path, submission) -> list:
        """COCO results from a JSON list or a CSV, every entry checked."""
        from kit.vision.coco_results import read_coco_results

        return read_coco_results(submission, json.loads((private / "test_annotations.json").read_text()))

    def score(self, private: Path, submission) -> float:
        from kit.vision.evaluate import coco_evaluate

        results = self.read_detections(private, submission)
        return float(coco_evaluate(results, self.ground_truth(private)).map50)
