"""Provenance for manifests: git state, package versions, host."""
from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version

KEY_PACKAGES = (
    "sector-kit", "numpy", "pandas", "xarray", "dask", "scikit-learn", "lightgbm", "torch", "torchvision",
    "rasterio", "array-api-compat", "papermill", "nbconvert", "matplotlib",
)


def package_versions(names=KEY_PACKAGES) -> dict:
    """Installed versions of ``names`` (``None`` where not installed)."""
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_state(folder) -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` of the repository holding ``folder``."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=20, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def host() -> dict:
    import os

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }

