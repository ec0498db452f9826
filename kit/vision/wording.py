"""What the ``logistics_vision`` notebook prints and shows as tables and figure words, in the report's language.

English keeps the stored outputs' wording exactly; French gets its sentences
from the catalog (the words of a port's safety officer and terminal
operations: parc à conteneurs, boîte englobante, mAP@0,5, zone interdite),
numbers in French style (decimal comma, narrow no-break space before units
and ``%``). Output files (``codes.csv``, ``dwell.csv``, ``alerts.csv``,
``benchmark.csv``, ``metrics.json``, ``model_card.md``) keep their English
columns and values: these helpers only change what is shown.
"""
from __future__ import annotations

import pandas as pd

from kit.i18n import DEFAULT_LANG, N_, _, display_table, format_percent, get_lang, ngettext, text_share
from kit.i18n import text_number as number, text_quantity as quantity  # noqa: F401 (notebook.py and preview.py's)

#: The embedded data's class names (a data set's own classes stay as it names them).
CLASS_NAMES = {"container": N_("container"), "truck": N_("truck"), "pallet": N_("pallet"), "person": N_("person")}
#: The default zones' and counting line's names (``zones``/``lines`` parameters; names a user gives stay theirs).
ZONE_NAMES = {"truck lane": N_("truck lane"), "stacks": N_("stacks"), "road": N_("road"), "all": N_("all zones")}
#: Splits of the data set as a sentence names them.
SPLIT_NAMES = {"train": N_("train"), "val": N_("val"), "test": N_("test")}
#: Shown values of the scores table's status column (the kit's own codes).
STATUS_NAMES = {"unavailable": N_("unavailable"), "scored": N_("scored")}
# Column headers shown translated (msgids are the tables' and files' column names).
_HEADERS = (N_("class"), N_("ap50"), N_("ap50_95"), N_("status"), N_("file_name"), N_("code"), N_("valid"),
            N_("confidence"), N_("raw"), N_("raw_valid"), N_("true_code"), N_("zone"), N_("category"),
            N_("stays"), N_("mean_s"), N_("max_s"))


def _french() -> bool:
    return get_lang() == "fr"


def class_label(name) -> str:
    """A class's name for the reader: the embedded classes translated, a data set's own as they are."""
    return _(CLASS_NAMES[name]) if name in CLASS_NAMES else str(name)


def zone_label(name) -> str:
    """A zone's or line's name for the reader: the default ones translated, the user's as given (English: as given)."""
    return _(ZONE_NAMES[name]) if name in ZONE_NAMES and get_lang() != DEFAULT_LANG else str(name)


def image_size_error(image_size) -> str:
    return _("parameter 'image_size' must be a multiple of 16 px, got {value}").format(value=image_size)


def video_line(info: dict) -> str:
    """The probed video: size, codec, frame rate."""
    return _("video: {width}x{height} px, {codec}, {fps} frames/s").format(
        width=info["width"], height=info["height"], codec=info["codec"], fps=number(info["fps"] or 0, 1))


def setup_line(backend, zones, lines) -> str:
    """Device, zones (restricted ones marked) and counting lines."""
    names = ", ".join(zone_label(z.name) + (_(" (restricted)") if z.restricted else "") for z in zones)
    return _("device: {device}; zones: {zones}; lines: {lines}").format(
        device=backend.device, zones=names, lines=", ".join(zone_label(ln.name) for ln in lines))


def split_line(split: str, dataset) -> str:
    """One split of the data set: images, boxes and what was set aside."""
    n_boxes = sum(len(b) for b in dataset.index.boxes)
    dropped = dataset.report.dropped
    if not _french():
        return f"{split}: {len(dataset)} images, {n_boxes} boxes, {dropped} items set aside"
    return _("{split}: {images}, {boxes}, {dropped}").format(
        split=_(SPLIT_NAMES.get(split, split)),
        images=ngettext("{n} image", "{n} images", len(dataset)).format(n=number(len(dataset))),
        boxes=ngettext("{n} bounding box", "{n} bounding boxes", n_boxes).format(n=number(n_boxes)),
        dropped=ngettext("{n} item set aside", "{n} items set aside", dropped).format(n=number(dropped)))


def classes_line(label_names: dict) -> str:
    return _("classes: {names}").format(names=", ".join(class_label(n) for n in label_names.values()))


def training_line(result, label_names: dict) -> str:
    """Best epoch, precision and the counting thresholds per class."""
    thresholds = {label_names[k]: round(v, 2) for k, v in result.class_thresholds.items()}
    if not _french():
        return (f"best epoch {result.best_epoch} of {len(result.history)} ({result.precision} autocast); "
                f"counting thresholds {thresholds}")
    return _("best epoch {best} of {epochs} ({precision} autocast); counting thresholds {thresholds}").format(
        best=result.best_epoch, epochs=len(result.history), precision=result.precision,
        thresholds=", ".join(f"{class_label(k)} {number(v, 2)}" for k, v in thresholds.items()))


def test_scores_lines(scores, visible) -> str:
    """mAP@0.5 and mAP@0.50:0.95 on the test split, and mAP@0.5 with the mostly hidden objects ignored."""
    return "\n".join([
        _("test mAP@0.5 {map50}, mAP@0.50:0.95 {map50_95} on {images} images, {objects} objects").format(
            map50=number(scores.map50, 3), map50_95=number(scores.map50_95, 3), images=number(scores.n_images),
            objects=number(scores.n_gt)),
        _("mAP@0.5 {map50} with the {ignored} objects under {share} visible ignored").format(
            map50=number(visible.map50, 3), ignored=number(visible.n_ignored),
            share=format_percent(65, 0) if _french() else "65 %")])


def _values(frame: pd.DataFrame, column: str, label) -> pd.DataFrame:
    if column in frame.columns:
        frame[column] = frame[column].map(lambda v: label(v) if isinstance(v, str) else v)
    return frame


def shown_scores(table: pd.DataFrame) -> pd.DataFrame:
    """The per-class AP table as shown (three decimals; classes and headers translated in French)."""
    out = table.round(3)
    if not _french():
        return out
    out = _values(_values(out.copy(), "class", class_label), "status", lambda s: _(STATUS_NAMES.get(s, s)))
    return display_table(out, {"ap50": 3, "ap50_95": 3})


def tracked_line(clip, label_names: dict) -> str:
    """Frames processed and distinct objects tracked per class."""
    per_class = ", ".join(f"{class_label(label_names[k])} {v}" for k, v in clip.distinct.items())
    return _("{frames} frames; distinct objects tracked: {per_class}").format(
        frames=clip.metrics["frames_processed"], per_class=per_class)


def truth_line(truth: dict) -> str:
    return _("moving objects in the clip (ground truth): {per_class}").format(
        per_class=", ".join(f"{class_label(k)} {v}" for k, v in truth.items()))


def crossing_lines(crossed: dict) -> str:
    """Per counting line, crossings in and out per class."""
    return "\n".join(_("crossings of {line}: {per_class}").format(
        line=zone_label(name), per_class="; ".join(
            _("{cls} in {n_in}, out {n_out}").format(cls=class_label(k), n_in=c["in"], n_out=c["out"])
            for k, c in by_class.items())) for name, by_class in crossed.items())


def alerts_line(alerts: pd.DataFrame, restricted_alert: str = "person in restricted zone") -> str:
    """People in restricted zones (person-frames, people) and trucks held over ``max_dwell_s`` at a gate."""
    restricted = alerts[alerts["alert"] == restricted_alert]
    frames, people = len(restricted), int(restricted["track_id"].nunique())
    trucks = int((alerts["alert"] != restricted_alert).sum())
    return _("alerts: {frames}, {people}; {trucks}").format(
        frames=ngettext("{n} person-frame in restricted zones", "{n} person-frames in restricted zones",
                        frames).format(n=frames),
        people=ngettext("{n} person", "{n} people", people).format(n=people),
        trucks=ngettext("{n} truck held over max_dwell_s at a gate", "{n} trucks held over max_dwell_s at a gate",
                        trucks).format(n=trucks))


def shown_dwell(dwell: pd.DataFrame) -> pd.DataFrame:
    """Stays per zone and class (count, mean and max in s); ``dwell.csv`` keeps every stay, English columns."""
    table = dwell.groupby(["zone", "category"])["dwell_s"].agg(["count", "mean", "max"]).round(1)
    if not _french():
        return table
    out = table.reset_index().rename(columns={"count": "stays", "mean": "mean_s", "max": "max_s"})
    out = _values(_values(out, "zone", zone_label), "category", class_label)
    return display_table(out, {"mean_s": 1, "max_s": 1})


def preview_speed(metrics: dict) -> str:
    """Processing speed under the preview (HTML): frames, wall time, frames/s, times real time."""
    rtf = metrics.get("real_time_factor")
    if not rtf:
        return ""
    return _("{frames} frames in {wall}: {fps} frames/s, {rtf}&times; real time (detector {detector})").format(
        frames=metrics["frames_processed"], wall=quantity(metrics["wall_s"], "s", 1),
        fps=number(metrics["processed_fps"], 1), rtf=number(rtf, 2), detector=quantity(metrics["detector_s"], "s", 1))


def codes_line(reader: str, codes: pd.DataFrame, code_accuracy: float, raw_accuracy: float) -> str:
    """Whole-code accuracy after and before the check-digit correction, and reading speed."""
    return _("{reader}: {n} test crops: whole-code accuracy {after} after check-digit correction "
             "({before} before), {speed} codes/s").format(
        reader=reader, n=len(codes), after=text_share(code_accuracy, 1), before=text_share(raw_accuracy, 1),
        speed=number(len(codes) / codes.attrs["read_s"]))


def no_codes_line() -> str:
    return _("no code_crops.json in the data set: code reading skipped")


def doors_line(doors: pd.DataFrame, door_accuracy: float) -> str:
    """Codes read in whole door images, overall and by code layout."""
    by_layout = (doors["code"] == doors["true_code"]).groupby(doors["layout"]).mean()
    return _("{n} whole door images: code read in {share}; by layout: {layouts}").format(
        n=len(doors), share=text_share(door_accuracy, 1), layouts=", ".join(f"{k} {text_share(v, 0)}" for k, v in by_layout.items()))


def shown_codes(codes: pd.DataFrame) -> pd.DataFrame:
    """The first codes read as shown (``codes.csv`` keeps its English columns)."""
    return display_table(codes, {"confidence": 3})


def onnx_split_line(model: str) -> str:
    return _("{model}: model.onnx holds the backbone; resize, heads, anchors and NMS run in Torch").format(model=model)


def onnx_lines(diff: float, scores, int8_scores) -> str:
    """ONNX Runtime against Torch, and the test mAP@0.5 of fp32 and int8."""
    if not _french():
        match = str(diff < 1e-3)
    else:
        match = _("yes") if diff < 1e-3 else _("no")
    change = 100 * (int8_scores.map50 - scores.map50)
    return "\n".join([
        _("ONNX Runtime matches Torch within 1e-3: {match}").format(match=match),
        _("test mAP@0.5: fp32 {fp32}, int8 {int8} ({change} points)").format(
            fp32=number(scores.map50, 3), int8=number(int8_scores.map50, 3),
            change=("+" if change >= 0 else "") + number(change, 1) if _french() else f"{change:+.1f}")])


def benchmark_line(n_engines: int, threads: int) -> str:
    return _("benchmark of {n} engines written to benchmark.csv, {threads} thread(s)").format(n=n_engines, threads=threads)


def card_lines(text: str) -> str:
    """The model card's title and length (``model_card.md`` itself stays English, as the other output files)."""
    n = len(text.splitlines())
    if not _french():
        return "\n".join(text.splitlines()[:2] + ["..."]) + f"\nmodel_card.md: {n} lines"
    return _("model card written to model_card.md (in English, as the other output files): {n} lines").format(n=n)
