"""Water distribution: networks, fast leak simulation, scenarios, SCADA ingestion.

Heavy imports (WNTR, SciPy, matplotlib) happen inside the functions that
need them.
"""
from kit.water.hydraulics import Leak, SimulationResult, emitter_coefficient, simulate
from kit.water.network import WaterNetwork, load_network, ltown_path, pipe_distances_m, plot_network, sensors_from_comments

__all__ = [
    "Leak",
    "SimulationResult",
    "WaterNetwork",
    "emitter_coefficient",
    "load_network",
    "ltown_path",
    "pipe_distances_m",
    "plot_network",
    "sensors_from_comments",
    "simulate",
]
