"""Teaching: exercise checks, student versions of notebooks, challenge packs and scoring.

Exercise cells are tagged ``solution``; between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` lies the answer, and ``### STUB:`` lines give what the
student starts from. A check cell after each calls :func:`check`, which says
in plain words whether the answer is right.
"""
from kit.exercise_checks import CheckResult, check

__all__ = ["CheckResult", "check"]
