"""Inference benchmarks of the models notebook runs deployed, through MLPerf LoadGen (``kit bench``).

One job per module: :mod:`~kit.bench.models` (a run folder's models, samples
and metric, the only module that knows the sectors), :mod:`~kit.bench.runtimes`
(Torch eager, ONNX Runtime per provider), :mod:`kit.loadgen` (the
LoadGen SUT and QSL), :mod:`~kit.bench.scenarios` (settings, figures,
MLPerf validity, the Server search), :mod:`~kit.bench.energy`,
:mod:`~kit.bench.system`, :mod:`~kit.bench.tables`, :mod:`~kit.bench.run`
(the loop and the outputs), :mod:`~kit.bench.report` and
:mod:`~kit.bench.compare`.
"""
from kit.bench.compare import compare
from kit.bench.run import BenchOptions, run_bench

__all__ = ["BenchOptions", "compare", "run_bench"]
