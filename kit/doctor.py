"""``kit doctor``: what this machine offers the kit, and why a device is chosen."""
from __future__ import annotations

import os

from kit.backend import cuda_status, device_report
from kit.provenance import host, package_versions


def _free_memory_gb() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            info = dict(line.split(":", 1) for line in fh)
        return int(info["MemAvailable"].split()[0]) / 2**20
    except (OSError, KeyError, ValueError):
        return None


def report_lines() -> list[str]:
    h = host()
    lines = [f"python            {h['python']} ({h['platform']}, {h['cpu_count']} cores)"]
    mem = _free_memory_gb()
    lines.append(f"memory            {mem:.1f} GiB available" if mem is not None else "memory            unknown")
    for name, ver in package_versions().items():
        lines.append(f"{name:<17} {ver or 'not installed'}")
    for name, (ok, msg) in cuda_status().items():
        lines.append(f"{name + ' gpu':<17} {'yes' if ok else 'no'}: {msg}")
    env = os.environ.get("KIT_DEVICE")
    lines.append(f"KIT_DEVICE        {env or '(unset)'}")
    lines += device_report()
    try:
        from kit.backend import cpu_training_path, train_precision

        precision, kernels = cpu_training_path()
        lines.append(f"KIT_PRECISION     {os.environ.get('KIT_PRECISION') or '(unset)'}")
        lines.append(f"cpu training      {precision} on {kernels} kernels: {train_precision('cpu')[1]}")
    except ImportError:
        lines.append("cpu training      Torch is not installed")
    return lines
