"""Typed API errors, each with a stable code, built from a SQLSTATE or a PostgREST error code."""

from __future__ import annotations

import re


class KantaError(Exception):
    """Base of every error the API gives. `code` is stable and translated by shared.i18n."""

    default_code = "unexpected_error"
    retryable = False

    def __init__(self, code: str | None = None, detail: str = ""):
        self.code = code or self.default_code
        self.detail = detail
        super().__init__(self.code if not detail else f"{self.code}: {detail}")


class PermissionDenied(KantaError):
    default_code = "permission_denied"


class InvalidInput(KantaError):
    default_code = "invalid_input"


class NotFound(KantaError):
    default_code = "not_found"


class Conflict(KantaError):
    default_code = "conflict"


class Unavailable(KantaError):
    """The backend could not be reached or went away mid-call. Retry with the same idempotency key."""

    default_code = "unavailable"
    retryable = True


# Our own SQLSTATE class (see the core migration's "Errors" section).
_KANTA_STATES: dict[str, type[KantaError]] = {
    "KA403": PermissionDenied,
    "KA404": NotFound,
    "KA409": Conflict,
    "KA422": InvalidInput,
}

# SQLSTATE prefixes Postgres itself raises on bad input or a lost connection.
_STATE_PREFIXES: list[tuple[str, type[KantaError]]] = [
    ("42501", PermissionDenied),  # insufficient_privilege
    ("42883", NotFound),  # undefined_function: no such API call with these arguments
    ("23505", Conflict),  # unique_violation
    ("40001", Unavailable),  # serialization_failure: safe to retry
    ("40P01", Unavailable),  # deadlock_detected: safe to retry
    ("55P03", Conflict),  # lock_not_available
    ("22", InvalidInput),  # data exceptions: bad number, text too long, bad uuid ...
    ("23", InvalidInput),  # other integrity violations: check, not null, foreign key
    ("42", InvalidInput),  # unknown argument names, bad casts
    ("08", Unavailable),  # connection exceptions
    ("53", Unavailable),  # insufficient resources
    ("57", Unavailable),  # operator intervention: shutdown, cancel
    ("58", Unavailable),  # system error
]

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


def from_sqlstate(sqlstate: str | None, message: str | None = None, detail: str | None = None) -> KantaError:
    """The typed error for a database error. Only our KA class passes its message on as the code."""
    state = (sqlstate or "").upper()
    if state in _KANTA_STATES:
        code = message if message and _CODE_RE.match(message) else None
        return _KANTA_STATES[state](code, detail or "")
    for prefix, cls in _STATE_PREFIXES:
        if state.startswith(prefix):
            # Postgres's own messages can quote the input back; they are never shown to users.
            return cls(None, state)
    return KantaError(None, state)


# PostgREST's own codes (PGRST...), used when the error did not come from Postgres.
_PGRST: dict[str, type[KantaError]] = {
    "PGRST301": PermissionDenied,  # JWT invalid
    "PGRST302": PermissionDenied,  # anonymous access disabled
    "PGRST303": PermissionDenied,  # JWT claims invalid
    "PGRST202": NotFound,  # function not found
    "PGRST203": InvalidInput,  # overloaded function ambiguous
    "PGRST106": NotFound,  # schema not exposed
    "PGRST205": NotFound,  # table not found (tables are not the API)
    "PGRST100": InvalidInput,  # bad query
    "PGRST102": InvalidInput,  # bad request body
    "PGRST000": Unavailable,  # could not connect to the database
    "PGRST001": Unavailable,
    "PGRST002": Unavailable,
}


def from_postgrest(code: str | None, message: str | None = None, detail: str | None = None) -> KantaError:
    if code and code.upper() in _PGRST:
        return _PGRST[code.upper()](None, code)
    return from_sqlstate(code, message, detail)
