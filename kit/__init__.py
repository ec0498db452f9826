"""sector-kit: building blocks for the sector notebooks.

Submodules are imported lazily so that ``import kit`` stays cheap (the CLI and
the notebook runner import it before any kernel starts).
"""
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("sector-kit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+src"

_SUBMODULES = {
    "backend", "errors", "i18n", "params", "report", "raster", "io", "plotting", "labeled",
    "agro", "water", "vision", "medical", "pipeline",
}


def __getattr__(name):
    if name in _SUBMODULES:
        return import_module(f"kit.{name}")
    raise AttributeError(f"module 'kit' has no attribute {name!r}")


__all__ = sorted(_SUBMODULES) + ["__version__"]
