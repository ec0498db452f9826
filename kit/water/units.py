"""Units of SCADA sensors and their conversion to the kit's (m, L/s).

Pressure is in metres of water head (as EPANET reports it), flow in L/s and
tank level in m. Factors use standard gravity (9.80665 m/s²) and water at
1000 kg/m³: 1 bar = 10.1972 m, 1 kPa = 0.10197 m, 1 psi = 0.70307 m.
"""
from __future__ import annotations

from kit.errors import InputDataError

__all__ = ["UNITS", "to_si_factor", "canonical_unit"]

_M_PER_PA = 1.0 / (1000.0 * 9.80665)

# kind -> canonical unit -> factor to the kit's unit
UNITS = {
    "pressure": {"m": 1.0, "bar": 1e5 * _M_PER_PA, "kPa": 1e3 * _M_PER_PA, "psi": 6894.757293168 * _M_PER_PA},
    "flow": {"L/s": 1.0, "m3/h": 1000.0 / 3600.0, "m3/s": 1000.0},
    "level": {"m": 1.0},
}

_ALIASES = {
    "m": "m", "mh2o": "m", "mwc": "m", "metre": "m", "meter": "m", "meters": "m", "metres": "m",
    "bar": "bar", "kpa": "kPa", "psi": "psi",
    "l/s": "L/s", "lps": "L/s", "l/sec": "L/s",
    "m3/h": "m3/h", "m³/h": "m3/h", "m^3/h": "m3/h", "cmh": "m3/h", "m3/hr": "m3/h",
    "m3/s": "m3/s", "m³/s": "m3/s", "m^3/s": "m3/s", "cms": "m3/s",
}


def canonical_unit(kind: str, unit, where: str = "") -> str:
    """Canonical spelling of ``unit`` for a sensor ``kind``, or a one-line error.

    Examples
    --------
    >>> canonical_unit("flow", "m³/h")
    'm3/h'
    """
    if kind not in UNITS:
        raise InputDataError(f"{where}kind {kind!r} is unknown; use pressure, flow or level")
    name = _ALIASES.get(str(unit).strip().lower().replace(" ", ""))
    if name not in UNITS[kind]:
        raise InputDataError(
            f"{where}unit {unit!r} is unknown for a {kind} sensor; use one of {', '.join(UNITS[kind])}"
        )
    return name


def to_si_factor(kind: str, unit: str) -> float:
    """Multiplier from ``unit`` to the kit's unit (m for pressure and level, L/s for flow).

    Examples
    --------
    >>> round(to_si_factor("pressure", "bar"), 4)
    10.1972
    >>> to_si_factor("flow", "m3/h") * 36
    10.0
    """
    return UNITS[kind][canonical_unit(kind, unit)]
