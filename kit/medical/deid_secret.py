"""The de-identification secret, read from the environment (never written anywhere)."""
from __future__ import annotations

import os
from pathlib import Path

from kit.errors import InputDataError, ParameterError
from kit.i18n import N_

__all__ = ["MIN_SECRET_BYTES", "SECRET_ENV", "SECRET_FILE_ENV", "SINGLE_USE_NOTICE", "secret_from_env"]

SECRET_ENV, SECRET_FILE_ENV = "KIT_DEID_SECRET", "KIT_DEID_SECRET_FILE"
MIN_SECRET_BYTES = 16
# Literal (not built from SECRET_ENV) so the catalog extracts it; the names are those two constants.
SINGLE_USE_NOTICE = N_("no KIT_DEID_SECRET or KIT_DEID_SECRET_FILE set: a random secret was drawn for this run, so its "
                       "pseudonyms, UIDs and date shifts are single-use (the same patient gets new ones next run)")


def secret_from_env(environ=None):
    """The de-identification secret named by the environment, or ``None``.

    ``KIT_DEID_SECRET`` holds the secret itself; ``KIT_DEID_SECRET_FILE``
    names a file holding it (surrounding white space, such as a final
    newline, is not part of it). Setting both is refused. The secret must be
    at least 16 bytes: pseudonyms of short patient IDs could otherwise be
    recomputed by trying secrets.

    Returns
    -------
    bytes or None
    """
    env = os.environ if environ is None else environ
    value, path = env.get(SECRET_ENV), env.get(SECRET_FILE_ENV)
    if value and path:
        raise ParameterError(f"both {SECRET_ENV} and {SECRET_FILE_ENV} are set; keep one")
    if path:
        try:
            secret = Path(path).read_bytes().strip()
        except OSError as exc:
            raise InputDataError(f"{SECRET_FILE_ENV} names {path}, which cannot be read ({exc.strerror}); "
                                 "give a readable key file") from None
        where = f"the key file {SECRET_FILE_ENV} names"
    elif value:
        secret, where = value.strip().encode("utf-8"), SECRET_ENV
    else:
        return None
    if len(secret) < MIN_SECRET_BYTES:
        raise ParameterError(f"the secret in {where} is {len(secret)} bytes; use at least {MIN_SECRET_BYTES}, e.g. "
                             "the output of: python -c 'import secrets; print(secrets.token_hex(32))'")
    return secret
