"""Synthetic chest radiographs written as real DICOM files, with urgent-finding labels.

Each study is one PA chest radiograph of a fake patient at one of several
simulated Moroccan sites, each site with its own scanners (CR or DX,
MONOCHROME1 or MONOCHROME2, 10–15 bits, different transfer syntaxes, window
or no window, contrast and noise). A chosen fraction of studies carries one
urgent finding: an opacity, a pneumothorax-like lucency with a pleural
line, or an effusion, each from subtle to obvious (``severity``), among
normal look-alikes (age-related lung changes, breast shadows, and on bedside
AP films scapulae, ECG leads, lines and skin folds), with per-film exposure
and a declared rate of reference-label errors, so a small CNN scores about
what small CNNs score on real chest-film tasks. The files carry the
kind of identifying data real exports do (names, IDs, dates, institution,
device serials, operators, comments, a private block, overlays) so the
de-identification can be tested on them. See ``datasets/radiology/README.md``.

- :mod:`~kit.medical.synthetic.anatomy`: one radiograph and its finding's mask.
- :mod:`~kit.medical.synthetic.confounders`: the normal look-alikes drawn over it.
- :mod:`~kit.medical.synthetic.dicom`: the data set a scanner style would export.
- :mod:`~kit.medical.synthetic.identities`: fake people, sites and UIDs.
- :mod:`~kit.medical.synthetic.broken`: broken files for the quarantine.
- :mod:`~kit.medical.synthetic.generator`: a whole export, its labels and broken files.
"""
from kit.medical.synthetic.anatomy import FINDINGS, render_chest
from kit.medical.synthetic.broken import BROKEN_KINDS
from kit.medical.synthetic.dicom import SCANNERS, make_dataset
from kit.medical.synthetic.generator import synth_chest_xrays
from kit.medical.synthetic.identities import SITES

__all__ = ["BROKEN_KINDS", "FINDINGS", "SCANNERS", "SITES", "make_dataset", "render_chest", "synth_chest_xrays"]
