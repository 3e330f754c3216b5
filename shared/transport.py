"""The Transport port: one RPC per user action, sign-in, and live topics. Adapters sit behind it."""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import decimal
import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from shared.errors import InvalidInput, NotFound

Callback = Callable[[dict], None]

_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclasses.dataclass(frozen=True)
class User:
    id: str
    email: str
    role: str = "authenticated"


class Subscription(abc.ABC):
    @abc.abstractmethod
    def close(self) -> None: ...


class Transport(abc.ABC):
    """What every screen and the CLI talk to. It decides nothing: the SQL API does."""

    user: User | None = None

    @abc.abstractmethod
    def rpc(self, name: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call public.<name>(**params) as the signed-in user (or anon); one round trip, one transaction."""

    @abc.abstractmethod
    def sign_in(self, email: str, password: str) -> User: ...

    @abc.abstractmethod
    def sign_out(self) -> None: ...

    @abc.abstractmethod
    def subscribe(self, topic: str, callback: Callback) -> Subscription:
        """Call `callback(event)` for each event on `topic` (e.g. "business:<id>"), from another thread."""

    def close(self) -> None:  # noqa: B027 - optional for adapters
        pass


def check_call(name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Refuse names that cannot be an API function before they reach the wire."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise NotFound("unknown_function", str(name)[:64])
    params = dict(params or {})
    for key in params:
        if not isinstance(key, str) or not _NAME_RE.match(key):
            raise InvalidInput("invalid_input", "bad parameter name")
    return params


def as_text(value: Any) -> str | None:
    """A parameter as PostgREST passes it: text that Postgres casts to the argument's type."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)
