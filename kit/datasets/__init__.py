"""Embedded data sets, generated deterministically from a seed.

Each generator has a card in ``datasets/<name>/README.md`` describing what it
models, its units and its limits.
"""
from kit.datasets.scene import demo_scene

__all__ = ["demo_scene"]
