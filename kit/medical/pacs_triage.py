"""The triage notebook's PACS steps: fetch what to triage, report each scored study back, remember the studies done.

What leaves the PACS, for the data-protection record: the chest series the
query selects, held identified in a private temporary folder for the run
and deleted at its end (:func:`finish`); what the run keeps is what a
``dicom_dir`` run keeps (de-identified copies in ``deid/``, the worklist on
de-identified ids). What goes back is one Structured Report per scored
study, into its own study. The manifest's ``inputs.pacs`` entry counts the
studies and instances read.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kit import report
from kit.i18n import _
from kit.medical import pacs
from kit.medical.sr import TriageModel, triage_report


def fetch_for_run(p) -> pacs.Fetched:
    """Fetch the studies ``p.pacs_query`` selects that no earlier run triaged; note the source for the manifest."""
    query = pacs.parse_query(p.pacs_query)
    fetched = pacs.fetch(p.pacs, query, pacs.state_path(p.output_dir))
    report.input_source({**fetched.describe(query),
                         "held_in": "a private temporary folder, deleted at the end of the run"}, "pacs")
    return fetched


def summary(fetched: pacs.Fetched) -> str:
    """One line: what the query matched and what was fetched."""
    c = fetched.counts
    return _("PACS: {matched} studies match the query, {triaged} triaged by an earlier run, {other} series of another "
             "body part left; fetched {fetched} studies, {instances} instances").format(
        matched=c["studies_matched"], triaged=c["already_triaged"], other=c["series_other_body_part"],
        fetched=len(fetched.study_uids), instances=fetched.n_instances)


def _sha256(path) -> str:
    from kit.io import sha256

    return sha256(path) if Path(path).exists() else "not written"


def triage_model(clf, output_dir) -> TriageModel:
    """What the reports name as their source: the network, kit version, checkpoint and model card by checksum."""
    from importlib.metadata import PackageNotFoundError, version

    from pydicom.uid import generate_uid

    try:
        kit_version = version("sector-kit")
    except PackageNotFoundError:
        kit_version = "unknown"
    model_sha = _sha256(Path(output_dir) / "model.pt")
    return TriageModel(
        name=f"sector-kit radiology_triage {clf.arch}",
        version=f"sector-kit {kit_version}, model.pt sha256 {model_sha[:16]}",
        threshold=float(clf.threshold_),
        card=f"model_card.md sha256 {_sha256(Path(output_dir) / 'model_card.md')[:16]}, beside model.pt in the run folder",
        # The same checkpoint is the same device in every report.
        device_uid=generate_uid(entropy_srcs=[model_sha]),
    )


def study_reports(fetched: pacs.Fetched, table: pd.DataFrame, studies: pd.DataFrame, logit_threshold: float,
                  model: TriageModel) -> list:
    """One SR per row of ``studies`` (``study_uid, logit, p_urgent``), referencing the study's scored images in ``table``."""
    import pydicom

    files = table.groupby(table["study_uid"].astype(str))["file"].apply(list)
    out = []
    for row in studies.itertuples(index=False):
        headers = [pydicom.dcmread(fetched.root / f, stop_before_pixels=True) for f in files[str(row.study_uid)]]
        out.append(triage_report(headers, float(row.p_urgent), bool(np.float64(row.logit) >= logit_threshold), model))
    return out


def finish(p, fetched: pacs.Fetched, reports) -> int:
    """Store the reports (unless ``push_results`` is off), remember the fetched studies, delete the fetched files.

    Every fetched study counts as triaged, also one whose images were all set
    aside: fetching it again would set them aside again.
    """
    try:
        stored = pacs.store(fetched.url, reports) if p.push_results else 0
        pacs.save_state(pacs.state_path(p.output_dir), fetched.url, fetched.run_date, fetched.study_uids)
    finally:
        fetched.cleanup()
    return stored
