"""The not-fitted error the water estimators raise: scikit-learn's ``NotFittedError`` and the kit's ``ParameterError``."""
from __future__ import annotations

from sklearn.exceptions import NotFittedError

from kit.errors import ParameterError

__all__ = ["NotFitted", "check_fitted"]


class NotFitted(ParameterError, NotFittedError):
    """A method that needs a fitted estimator was called before ``fit``.

    Caught by ``except ParameterError`` (the kit's CLI prints its one-line
    message) and by ``except NotFittedError`` (scikit-learn's convention).
    """


def check_fitted(estimator, attribute: str, how: str) -> None:
    """Raise :class:`NotFitted` with ``"<class> is not fitted; <how>"`` when ``attribute`` is not set.

    Examples
    --------
    >>> class Model:
    ...     pass
    >>> try:
    ...     check_fitted(Model(), "coef_", "call fit first")
    ... except NotFitted as exc:
    ...     print(exc)
    Model is not fitted; call fit first
    """
    if not hasattr(estimator, attribute):
        raise NotFitted(f"{type(estimator).__name__} is not fitted; {how}")
