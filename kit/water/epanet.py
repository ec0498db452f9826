"""The EPANET 2.2 toolkit WNTR bundles, called through ctypes: a project in L/s and m.

:class:`EpanetProject` opens an ``.inp`` file, switches its flow units to
LPS (so every value read or written is in L/s and m) and wraps the few
toolkit calls the kit's simulations need, raising :class:`InputDataError`
with EPANET's own message on failure. The ``EN_*`` constants are the
toolkit's codes (``epanet2_enums.h``).
"""
from __future__ import annotations

import ctypes
import os

import numpy as np

from kit.errors import InputDataError

__all__ = ["EpanetProject", "EN_DEMAND", "EN_DURATION", "EN_EMITTER", "EN_FLOW", "EN_HYDSTEP", "EN_JUNCTION",
           "EN_NODECOUNT", "EN_PATTERNSTART", "EN_PATTERNSTEP", "EN_PRESSURE", "EN_REPORTSTEP", "EN_ROUGHNESS"]

# EPANET 2.2 toolkit codes (epanet2_enums.h).
EN_ELEVATION, EN_BASEDEMAND, EN_EMITTER, EN_DEMAND, EN_PRESSURE, EN_HEAD = 0, 1, 3, 9, 11, 10
EN_ROUGHNESS, EN_FLOW = 2, 8
EN_DURATION, EN_HYDSTEP, EN_PATTERNSTEP, EN_PATTERNSTART, EN_REPORTSTEP = 0, 1, 3, 4, 5
EN_NODECOUNT, EN_LINKCOUNT = 0, 2
EN_JUNCTION, EN_PIPE = 0, 1
EN_LPS = 5
EN_ACCURACY = 1


class EpanetProject:
    """An EPANET 2.2 project opened on an ``.inp`` file, with fast ctypes calls.

    Uses the EPANET library WNTR bundles (``wntr.epanet.toolkit``); the flow
    units are switched to LPS so every value read or written is in L/s and m.
    Use as a context manager.
    """

    def __init__(self, inp_path, accuracy: float | None = None):
        from wntr.epanet.toolkit import ENepanet

        self._en = ENepanet()
        try:
            # The report goes to the null device: L-Town asks for a full status report per step.
            self._en.ENopen(str(inp_path), os.devnull, "")
        except Exception as exc:
            raise InputDataError(f"EPANET could not open {inp_path} ({exc}); check the file in EPANET") from None
        self._lib = self._en.ENlib
        self._ph = self._en._project
        self._value = ctypes.c_double()
        self._int = ctypes.c_int()
        self._long = ctypes.c_long()
        self._check(self._lib.EN_setflowunits(self._ph, EN_LPS), "setflowunits")
        self._lib.EN_setstatusreport(self._ph, 0)
        if accuracy is not None:
            self._check(self._lib.EN_setoption(self._ph, EN_ACCURACY, ctypes.c_double(accuracy)), "setoption")
        self.hydraulics_open = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._en is not None:
            if self.hydraulics_open:
                self._lib.EN_closeH(self._ph)
            self._en.ENclose()
            self._en = None

    def _check(self, code, what):
        if code >= 100:  # codes below 100 are warnings (e.g. negative pressures), not failures
            from wntr.epanet.exceptions import EN_ERROR_CODES

            raise InputDataError(f"EPANET error {code} in {what}: {EN_ERROR_CODES.get(code, 'unknown error')}")
        return code

    # -- indices --------------------------------------------------------
    def node_index(self, node_id: str) -> int:
        code = self._lib.EN_getnodeindex(self._ph, node_id.encode("latin-1"), ctypes.byref(self._int))
        if code:
            raise InputDataError(f"node {node_id!r} is not in the EPANET model; use a node id of the .inp file")
        return self._int.value

    def link_index(self, link_id: str) -> int:
        code = self._lib.EN_getlinkindex(self._ph, link_id.encode("latin-1"), ctypes.byref(self._int))
        if code:
            raise InputDataError(f"link {link_id!r} is not in the EPANET model; use a link id of the .inp file")
        return self._int.value

    def count(self, what: int) -> int:
        self._check(self._lib.EN_getcount(self._ph, what, ctypes.byref(self._int)), "getcount")
        return self._int.value

    def node_type(self, index: int) -> int:
        self._lib.EN_getnodetype(self._ph, index, ctypes.byref(self._int))
        return self._int.value

    def link_type(self, index: int) -> int:
        self._lib.EN_getlinktype(self._ph, index, ctypes.byref(self._int))
        return self._int.value

    # -- values ---------------------------------------------------------
    def node_value(self, index: int, code: int) -> float:
        self._lib.EN_getnodevalue(self._ph, index, code, ctypes.byref(self._value))
        return self._value.value

    def link_value(self, index: int, code: int) -> float:
        self._lib.EN_getlinkvalue(self._ph, index, code, ctypes.byref(self._value))
        return self._value.value

    def set_node_value(self, index: int, code: int, value: float) -> None:
        self._check(self._lib.EN_setnodevalue(self._ph, index, code, ctypes.c_double(value)), "setnodevalue")

    def set_link_value(self, index: int, code: int, value: float) -> None:
        self._check(self._lib.EN_setlinkvalue(self._ph, index, code, ctypes.c_double(value)), "setlinkvalue")

    def time_param(self, code: int) -> int:
        self._lib.EN_gettimeparam(self._ph, code, ctypes.byref(self._long))
        return self._long.value

    def set_time_param(self, code: int, value: int) -> None:
        self._check(self._lib.EN_settimeparam(self._ph, code, ctypes.c_long(int(value))), "settimeparam")

    # -- demands --------------------------------------------------------
    def num_demands(self, node: int) -> int:
        self._lib.EN_getnumdemands(self._ph, node, ctypes.byref(self._int))
        return self._int.value

    def base_demand(self, node: int, k: int) -> float:
        self._lib.EN_getbasedemand(self._ph, node, k, ctypes.byref(self._value))
        return self._value.value

    def set_base_demand(self, node: int, k: int, value: float) -> None:
        self._check(self._lib.EN_setbasedemand(self._ph, node, k, ctypes.c_double(value)), "setbasedemand")

    def set_demand_pattern(self, node: int, k: int, pattern: int) -> None:
        self._check(self._lib.EN_setdemandpattern(self._ph, node, k, pattern), "setdemandpattern")

    def pattern_index(self, pattern_id: str, create: bool = False) -> int:
        code = self._lib.EN_getpatternindex(self._ph, pattern_id.encode("latin-1"), ctypes.byref(self._int))
        if code and create:
            self._check(self._lib.EN_addpattern(self._ph, pattern_id.encode("latin-1")), "addpattern")
            code = self._lib.EN_getpatternindex(self._ph, pattern_id.encode("latin-1"), ctypes.byref(self._int))
        if code:
            raise InputDataError(f"demand pattern {pattern_id!r} is not in the EPANET model")
        return self._int.value

    def set_pattern(self, index: int, multipliers) -> None:
        values = np.ascontiguousarray(multipliers, dtype=np.float64)
        ptr = values.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._check(self._lib.EN_setpattern(self._ph, index, ptr, len(values)), "setpattern")

    def raw_value_calls(self):
        """``(get_node, get_link, handle, ref, value)``: the toolkit's value calls, for hot loops.

        ``get_node(handle, index, code, ref)`` (or ``get_link``) leaves the value in
        ``value.value``; calling them directly skips a method call and a ``byref`` per value.
        """
        return self._lib.EN_getnodevalue, self._lib.EN_getlinkvalue, self._ph, ctypes.byref(self._value), self._value

    # -- hydraulics -----------------------------------------------------
    def open_hydraulics(self) -> None:
        self._check(self._lib.EN_openH(self._ph), "openH")
        self.hydraulics_open = True

    def init_hydraulics(self, flag: int = 0) -> None:
        self._check(self._lib.EN_initH(self._ph, flag), "initH")

    def run(self) -> int:
        self._check(self._lib.EN_runH(self._ph, ctypes.byref(self._long)), "runH")
        return self._long.value

    def next(self) -> int:
        self._check(self._lib.EN_nextH(self._ph, ctypes.byref(self._long)), "nextH")
        return self._long.value
