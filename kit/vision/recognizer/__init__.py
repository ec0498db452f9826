"""Container-code reader: a small convolutional CTC reader, decoded under the ISO 6346 check digit.

One module per job:

- :mod:`~kit.vision.recognizer.model`: the network (:class:`CodeReader`, :func:`code_reader`).
- :mod:`~kit.vision.recognizer.crops`: labelled code crops of a data set (:func:`load_code_crops`).
- :mod:`~kit.vision.recognizer.decoding`: CTC frames to codes, put right by the check digit
  (:func:`decode_codes`, :class:`Reading`).
- :mod:`~kit.vision.recognizer.reading`: reading crops with a trained reader (:func:`read_codes`,
  :func:`code_accuracy`).
- :mod:`~kit.vision.recognizer.training`: training it (:func:`train_reader`).
- :mod:`~kit.vision.recognizer.deploy`: its ONNX fp32 and int8 files and the sample ``kit bench`` measures
  (:func:`~kit.vision.recognizer.deploy.deploy_reader`).

On the notebook's data (scale 1, 10 epochs, one thread, about 50
CPU-seconds) the whole-code test accuracy is 0.91 to 0.96, depending on
the seed.
"""
from kit.vision.recognizer.crops import load_code_crops
from kit.vision.recognizer.decoding import Reading, decode_codes, decode_frames
from kit.vision.recognizer.model import CodeReader, code_reader
from kit.vision.recognizer.reading import code_accuracy, read_codes
from kit.vision.recognizer.training import train_reader

__all__ = ["CodeReader", "Reading", "code_accuracy", "code_reader", "decode_codes", "decode_frames", "load_code_crops", "read_codes",
           "train_reader"]
