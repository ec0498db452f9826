"""Spec of the toy notebook used by the pipeline tests."""
from kit.params import Param, Spec

PARAMETERS = Spec((
    Param("x", "int", 1, "a number"),
    Param("fail", "bool", False, "raise"),
    Param("sleep_s", "float", 0.0, "seconds"),
    Param("kill_worker", "bool", False, "kill the worker once"),
    Param("marker", "str", "", "marker file"),
    Param("output_dir", "output_dir", "out", "folder"),
    Param("data", "path", None, "an input file"),
))

WITH_DEVICE = Spec((*PARAMETERS.params, Param("device", "device", "auto", "auto, cpu or cuda", choices=("auto", "cpu", "cuda"))))
