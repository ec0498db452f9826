"""Energy counters: Linux RAPL through ``/sys/class/powercap``, NVIDIA GPUs through NVML.

RAPL's ``energy_uj`` counters (package domains ``intel-rapl:N``, also
written by the ``amd_energy``/``rapl`` drivers on AMD) are cumulative
microjoules that wrap at ``max_energy_range_uj``; since Linux 5.10 they are
readable by root only. NVML gives a GPU's total energy in millijoules
(Volta and later). Without either, energy is "not measurable here".
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["EnergyMeter", "describe"]

POWERCAP = Path("/sys/class/powercap")


def _rapl_domains(root=POWERCAP) -> list:
    """Readable top-level package domains (``intel-rapl:0``, not their ``:0:0`` sub-domains)."""
    out = []
    for d in sorted(Path(root).glob("*rapl:*")):
        if d.name.count(":") != 1:
            continue
        try:
            int((d / "energy_uj").read_text())
            out.append(d)
        except (OSError, ValueError):
            continue
    return out


def _nvml():
    try:
        import pynvml
    except ImportError:
        return None, []
    try:
        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        for h in handles:
            pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
        return pynvml, handles
    except Exception:  # noqa: BLE001 - no driver, no GPU or a GPU without the counter: not measurable
        return None, []


class EnergyMeter:
    """Reads every available counter; :meth:`joules_since` gives the energy since a :meth:`read`."""

    def __init__(self, root=POWERCAP):
        self.domains = _rapl_domains(root)
        self.nvml, self.gpus = _nvml()

    @property
    def available(self) -> bool:
        return bool(self.domains or self.gpus)

    def source(self) -> str:
        parts = [f"RAPL {d.name}" for d in self.domains] + [f"NVML GPU {i}" for i in range(len(self.gpus))]
        return ", ".join(parts) or "not measurable here (no readable RAPL counter under /sys/class/powercap, no NVML)"

    def read(self) -> list:
        """Counter values: RAPL microjoules, then NVML millijoules."""
        values = [int((d / "energy_uj").read_text()) for d in self.domains]
        return values + [int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self.gpus]

    def joules_since(self, start: list) -> float:
        """Energy since ``start`` (from :meth:`read`), J, RAPL wrap-around handled."""
        now, total = self.read(), 0.0
        for i, d in enumerate(self.domains):
            delta = now[i] - start[i]
            if delta < 0:
                delta += int((d / "max_energy_range_uj").read_text())
            total += delta / 1e6
        return total + sum((b - a) / 1e3 for a, b in zip(start[len(self.domains):], now[len(self.domains):]))


def describe(meter=None) -> str:
    """What the energy figures come from, or "not measurable here ..."."""
    return (meter or EnergyMeter()).source()
