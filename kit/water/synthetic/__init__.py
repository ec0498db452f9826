"""Leak scenarios on a network: SCADA files and the truth behind them.

The simulated network is deliberately not the nominal model a detector
sees: every junction's demand is scaled by a random factor, pipes'
roughness is perturbed, and demand follows the model's own weekly patterns
times day-to-day and AR(1) noise shared by spatial groups of junctions. On
top come leaks (abrupt or incipient, orifice law), optional short non-leak
bursts (hydrant-like draws), sensor noise, mixed declared units, gaps, stuck
sensors and duplicated timestamps. All draws come from one seed.

Files written by :meth:`Scenario.write`:

``scada.csv``
    ``timestamp`` (ISO 8601 with the UTC offset of ``tz``) and one column per
    sensor, in the sensor's declared unit.
``sensors.csv``
    ``sensor_id, kind, element, unit`` (pressure in m, bar, kPa or psi; flow
    in L/s or m3/h; level in m).
``truth.csv``
    ``event_id, node, type (abrupt|incipient|burst), is_leak, start, peak,
    end, peak_flow_lps, mean_flow_lps, area_m2``; bursts are not leaks
    (``is_leak`` False) and must not be scored as such.
``injected_faults.csv``
    ``sensor_id, start, end, fault (gap|stuck|duplicate)``: what the
    ingestion should flag.

- :mod:`~kit.water.synthetic.scenario`: leak specs and the scenario's records and files.
- :mod:`~kit.water.synthetic.demand`: demand patterns with grouped noise.
- :mod:`~kit.water.synthetic.sensors`: declared units, sensor noise and data faults.
- :mod:`~kit.water.synthetic.generator`: :func:`generate_scenario`, :func:`ltown_demo`.
"""
from kit.water.synthetic.generator import generate_scenario, ltown_demo, nominal_pressure_m
from kit.water.synthetic.scenario import TRUTH_COLUMNS, LeakSpec, Scenario

__all__ = ["LeakSpec", "Scenario", "TRUTH_COLUMNS", "generate_scenario", "ltown_demo", "nominal_pressure_m"]
