"""Water distribution: networks, fast leak simulation, scenarios, SCADA ingestion, leak signatures.

WNTR is imported when a network is first loaded, not with this package.
"""
from kit.water.detect import Detection, LeakDetector
from kit.water.hydraulics import Leak, SimulationResult, emitter_coefficient, simulate
from kit.water.network import (WaterNetwork, load_network, ltown_path, pipe_distances_m, plot_network,
                               sensors_from_comments)
from kit.water.scada import ScadaData, read_scada, read_sensors, scada_from_table
from kit.water.localize import SignatureLocalizer, candidate_area, coverage_order
from kit.water.nightflow import minimum_night_flow, net_consumption_lps
from kit.water.residuals import PressureResiduals
from kit.water.score import score_alarms
from kit.water.signatures import LeakSignatures, leak_signatures
from kit.water.synthetic import LeakSpec, Scenario, generate_scenario, ltown_demo

__all__ = [
    "Detection",
    "LeakDetector",
    "PressureResiduals",
    "SignatureLocalizer",
    "candidate_area",
    "coverage_order",
    "minimum_night_flow",
    "net_consumption_lps",
    "score_alarms",
    "Leak",
    "LeakSignatures",
    "LeakSpec",
    "ScadaData",
    "Scenario",
    "SimulationResult",
    "WaterNetwork",
    "emitter_coefficient",
    "generate_scenario",
    "leak_signatures",
    "load_network",
    "ltown_demo",
    "ltown_path",
    "pipe_distances_m",
    "plot_network",
    "read_scada",
    "read_sensors",
    "scada_from_table",
    "sensors_from_comments",
    "simulate",
]
