"""Exercise checks that talk to a student in plain words.

Each sector's ``exercises`` module builds its checks on :func:`check`, so
it sits below the sectors; :mod:`kit.teach` re-exports it for notebooks.
"""
from __future__ import annotations

from dataclasses import dataclass

from kit.i18n import N_, _

#: The verdicts' first words, in English; a check prints them in the report's language (``_(RIGHT_MARK)``).
RIGHT_MARK = N_("✔ Right")
WRONG_MARK = N_("✘ Not yet")


@dataclass(frozen=True)
class CheckResult:
    exercise: str
    passed: bool
    message: str

    def __str__(self):
        return _("{verdict} ({exercise}): {message}").format(
            verdict=_(RIGHT_MARK if self.passed else WRONG_MARK), exercise=self.exercise, message=self.message)

    def _ipython_display_(self):
        # check() has printed the verdict already; a notebook cell ending in a check shows it once.
        pass


def check(exercise: str, conditions) -> CheckResult:
    """Run an exercise's checks and print the verdict.

    Parameters
    ----------
    exercise : str
        Short name, e.g. ``"exercise 1: sorghum"``.
    conditions : iterable of (bool or callable, str, str)
        ``(ok, praise, hint)``: ``ok`` (and ``praise``) may be callables,
        called only if the previous conditions held, so a later check can
        assume an earlier one.
        The first failing condition's hint is shown.

    Returns
    -------
    CheckResult
        Also printed; a failing check never raises, so a student can go on.

    Examples
    --------
    >>> r = check("demo", [(1 + 1 == 2, "sums work", "1 + 1 should be 2")])
    ✔ Right (demo): sums work
    """
    praise = []
    for ok, right, hint in conditions:
        try:
            value = ok() if callable(ok) else ok
        except Exception as exc:  # a half-done answer: say so, don't crash the lesson
            result = CheckResult(exercise, False, _("{hint} (checking raised {error}: {detail})").format(
                hint=hint, error=type(exc).__name__, detail=exc))
            print(result)
            return result
        if not value:
            result = CheckResult(exercise, False, hint)
            print(result)
            return result
        praise.append(right() if callable(right) else right)
    # TRANSLATORS: between the praises of one check; French puts a narrow no-break space before the semicolon.
    result = CheckResult(exercise, True, _("; ").join(praise))
    print(result)
    return result
