"""Container codes read by PP-OCRv4 (the networks inside ``rapidocr-onnxruntime``), decoded under ISO 6346.

- :mod:`~kit.vision.ppocr.reading`: one text line (a code crop) through the
  recogniser, its frames folded onto the code alphabet and decoded with the
  check digit (:func:`read_lines`).
- :mod:`~kit.vision.ppocr.finding`: codes in full door and gate images: text
  boxes from the detector, grouped into one-line, two-line and stacked
  (vertical) layouts, read, and the size-type code on its own line
  (:func:`find_codes`).
"""
from kit.vision.ppocr.finding import FoundCode, find_codes, text_boxes
from kit.vision.ppocr.reading import code_frames, line_text, read_lines

__all__ = ["FoundCode", "code_frames", "find_codes", "line_text", "read_lines", "text_boxes"]
