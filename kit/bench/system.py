"""The system description beside the results, in the spirit of MLPerf's system JSON."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

__all__ = ["describe_system"]


def _cpuinfo() -> dict:
    out = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            out.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return out


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 2)
    except OSError:
        pass
    return None


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha + (" (with uncommitted changes)" if dirty else "")) if sha else "unknown"


def describe_system(providers, energy_source: str) -> dict:
    """CPU model and flags, cores, memory, OS, library versions, execution providers, the kit's commit.

    Parameters
    ----------
    providers : list of str
        The ONNX Runtime execution providers measured.
    energy_source : str
        :func:`kit.bench.energy.describe`.
    """
    cpu = _cpuinfo()
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "cpu_model": cpu.get("model name") or platform.processor() or platform.machine(),
        "cpu_flags": sorted((cpu.get("flags") or cpu.get("Features") or "").split()),
        "logical_cpus": os.cpu_count(), "cpus_usable": affinity,
        "physical_cores_per_socket": int(cpu["cpu cores"]) if cpu.get("cpu cores", "").isdigit() else None,
        "memory_gib": _memory_gib(),
        "os": platform.platform(), "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": _version("torch"), "onnxruntime": _version("onnxruntime"),
        "mlperf_loadgen": _version("mlcommons-loadgen"), "numpy": _version("numpy"),
        "execution_providers": list(providers),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "energy_counters": energy_source,
        "kit_commit": _commit(),
    }
