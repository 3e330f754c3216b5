"""PostgresTransport: talks to Postgres directly and does per call exactly what PostgREST does per request."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import psycopg
import psycopg_pool
from psycopg import sql

from backend.auth_local import LocalAuth
from shared.errors import InvalidInput, KantaError, PermissionDenied, Unavailable, from_sqlstate
from shared.transport import Callback, Subscription, Transport, User, as_text, check_call

log = logging.getLogger(__name__)

# What PostgREST runs at the start of every request, inside the request's transaction; `true`
# makes each setting local to it, so nothing survives into the next call on the connection.
REQUEST_PREAMBLE = (
    "select set_config('role', %(role)s, true),"
    " set_config('request.jwt.claims', %(claims)s, true),"
    " set_config('statement_timeout', %(timeout)s, true),"
    " set_config('kanta.clock', %(clock)s, true)"
)


def function_call(name: str, params: Mapping[str, Any]) -> tuple[sql.Composed, list[str | None]]:
    """`public.<name>(arg := %s, ...)` and its values as text, exactly as PostgREST passes JSON to a function."""
    args = sql.SQL(", ").join(sql.SQL("{} := %s").format(sql.Identifier(key)) for key in params)
    call = sql.SQL("{}.{}({})").format(sql.Identifier("public"), sql.Identifier(name), args)
    return call, [as_text(v) for v in params.values()]


def claims_for(user: User | None) -> dict[str, Any]:
    if user is None:
        return {"role": "anon"}
    return {"sub": user.id, "role": user.role, "email": user.email, "aud": "authenticated"}


def begin_request(
    conn: psycopg.Connection, claims: Mapping[str, Any], timeout: str = "8s", clock: dt.datetime | None = None
) -> None:
    """Switch an open transaction to the caller's role and claims (PostgREST's per-request step).

    `clock` pins kanta.now() for this call. Only server-side code sets it (tests, imports, the
    seed generator); nothing a client sends can reach it.
    """
    role = claims.get("role", "anon")
    if role not in ("anon", "authenticated", "service_role"):
        role = "anon"
    conn.execute(
        REQUEST_PREAMBLE,
        {
            "role": role,
            "claims": json.dumps(dict(claims)),
            "timeout": timeout,
            "clock": clock.isoformat() if clock else "",
        },
    )


def translate(exc: Exception) -> KantaError:
    if isinstance(exc, KantaError):
        return exc
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return Unavailable(None, "pool timeout")
    if isinstance(exc, psycopg.Error):
        diag = exc.diag
        if exc.sqlstate is None:
            if isinstance(exc, psycopg.DataError):  # refused before sending, e.g. a NUL byte in text
                return InvalidInput(None, type(exc).__name__)
            return Unavailable(None, type(exc).__name__)
        return from_sqlstate(exc.sqlstate, diag.message_primary, diag.message_detail)
    return KantaError(None, type(exc).__name__)


class PostgresBackend:
    """Shared by all sessions of one process: the connection pool, local auth and the live feed."""

    def __init__(
        self, conninfo: str, admin_conninfo: str, *, min_size: int = 1, max_size: int = 8, bcrypt_rounds: int = 10
    ):
        # Like PostgREST, log in as `authenticator` and switch role per request.
        self.conninfo = conninfo
        self.pool = psycopg_pool.ConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            # A counter must learn quickly that the database is gone (it then queues the purchase).
            timeout=3,
            # No health check on checkout: it costs a round trip per call (my_card p95 5.7 -> 3.3 ms
            # measured here). A connection that died shows up as Unavailable, which callers retry
            # with the same idempotency key, and the pool drops it.
            kwargs={"autocommit": False},
            open=True,
            name="kanta",
        )
        self.auth = LocalAuth(admin_conninfo, bcrypt_rounds=bcrypt_rounds)
        self._listener: _Listener | None = None
        self._lock = threading.Lock()

    def transport(self) -> PostgresTransport:
        return PostgresTransport(self)

    def listener(self) -> _Listener:
        with self._lock:
            if self._listener is None:
                self._listener = _Listener(self.conninfo)
            return self._listener

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
        self.pool.close()


class PostgresTransport(Transport):
    """One user's session over the shared pool."""

    def __init__(self, backend: PostgresBackend, user: User | None = None):
        self.backend = backend
        self.user = user
        self.clock: dt.datetime | None = None  # server-side only: see begin_request

    def rpc(self, name: str, params: Mapping[str, Any] | None = None) -> Any:
        params = check_call(name, params)
        call, values = function_call(name, params)
        query = sql.SQL("select {}").format(call)
        try:
            with self.backend.pool.connection() as conn:
                begin_request(conn, claims_for(self.user), clock=self.clock)
                row = conn.execute(query, values).fetchone()
            return row[0] if row else None
        except Exception as exc:  # every failure leaves as a typed error, never a stack trace
            raise translate(exc) from exc

    def sign_in(self, email: str, password: str) -> User:
        try:
            self.user = self.backend.auth.verify(email, password)
        except psycopg.Error as exc:
            raise translate(exc) from exc
        return self.user

    def sign_up(self, email: str, password: str) -> User:
        try:
            self.user = self.backend.auth.create_user(email, password)
        except psycopg.Error as exc:
            raise translate(exc) from exc
        return self.user

    def sign_out(self) -> None:
        self.user = None

    def subscribe(self, topic: str, callback: Callback) -> Subscription:
        # The same rule Supabase Realtime applies to private channels: kanta.can_listen.
        try:
            with self.backend.pool.connection() as conn:
                begin_request(conn, claims_for(self.user))
                allowed = conn.execute("select kanta.can_listen(%s)", (topic,)).fetchone()[0]
        except Exception as exc:
            raise translate(exc) from exc
        if not allowed:
            raise PermissionDenied("not_allowed_to_listen")
        return self.backend.listener().add(topic, callback)


class _LocalSubscription(Subscription):
    def __init__(self, listener: _Listener, topic: str, callback: Callback):
        self.listener, self.topic, self.callback = listener, topic, callback

    def close(self) -> None:
        self.listener.remove(self)


class _Listener:
    """One LISTEN connection per process; routes NOTIFY payloads on channel `kanta` by topic."""

    def __init__(self, conninfo: str):
        self.conninfo = conninfo
        self.subs: dict[str, list[_LocalSubscription]] = defaultdict(list)
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.conn: psycopg.Connection | None = None
        self.thread = threading.Thread(target=self._run, name="kanta-listen", daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def add(self, topic: str, callback: Callback) -> _LocalSubscription:
        sub = _LocalSubscription(self, topic, callback)
        with self.lock:
            self.subs[topic].append(sub)
        return sub

    def remove(self, sub: _LocalSubscription) -> None:
        with self.lock:
            if sub in self.subs.get(sub.topic, []):
                self.subs[sub.topic].remove(sub)

    def _run(self) -> None:
        backoff = 0.2
        while not self.stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    self.conn = conn
                    conn.execute("listen kanta")
                    self.ready.set()
                    backoff = 0.2
                    while not self.stopping.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._dispatch(note.payload)
            except psycopg.Error as exc:
                if self.stopping.is_set():
                    return
                log.warning("live feed lost (%s); reconnecting", exc)
                self.ready.set()
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _dispatch(self, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            return
        with self.lock:
            targets = list(self.subs.get(event.get("topic"), []))
        for sub in targets:
            try:
                sub.callback(event)
            except Exception:  # a broken screen must not stop the feed for the others
                log.exception("subscriber for %s failed", sub.topic)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=3)
