"""The one place that chooses hosted Supabase or the embedded database and builds the transport factory."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

from backend.config import Settings
from backend.embedded import EmbeddedPostgres
from backend.migrate import migrate
from shared.transport import Transport


@dataclasses.dataclass
class Wiring:
    """What an entry point needs: a fresh, signed-out transport per session, and what to close after."""

    new_transport: Callable[[], Transport]
    settings: Settings
    pg: EmbeddedPostgres | None = None
    backend: object | None = None  # the PostgresBackend (pool and local auth) in embedded mode
    started_here: bool = False
    startup_seconds: float = 0.0

    @property
    def hosted(self) -> bool:
        return self.pg is None

    def describe(self) -> dict:
        return {"backend": "supabase" if self.hosted else "embedded", "pid": os.getpid()}

    def close(self) -> bool:
        """Close the pool; stop the database if this process started it. True when it was stopped."""
        if self.backend is not None:
            self.backend.close()
            self.backend = None
        if self.pg is not None and self.started_here:
            self.pg.stop()
            self.started_here = False
            return True
        return False


def embedded_backend(pg: EmbeddedPostgres):
    """A PostgresBackend on an embedded cluster: requests as `authenticator`, local auth as the admin."""
    from backend.transport.postgres import PostgresBackend

    return PostgresBackend(pg.conninfo(user="authenticator"), pg.conninfo())


def wire(settings: Settings | None = None, *, data_dir: Path | None = None, owner_pid: int | None = None) -> Wiring:
    """Supabase when SUPABASE_URL and SUPABASE_ANON_KEY are set; else the embedded database, started
    (tied to `owner_pid`, so it stops when that process dies) and migrated."""
    settings = settings or Settings.from_env()
    if settings.hosted:
        from backend.transport.supabase import SupabaseTransport

        url, key = settings.supabase_url, settings.supabase_anon_key
        return Wiring(lambda: SupabaseTransport(url, key), settings)
    pg = EmbeddedPostgres(data_dir or settings.data_dir)
    t0 = time.perf_counter()
    started = pg.start(owner_pid=owner_pid)
    migrate(pg.conninfo(user="postgres"))
    backend = embedded_backend(pg)
    return Wiring(backend.transport, settings, pg, backend, started, time.perf_counter() - t0)


def service_transport(backend) -> Transport:
    """A transport acting as the trusted service role: for the CLI and the scheduler on the server, never a client."""
    from shared.transport import User

    t = backend.transport()
    t.user = User(id="00000000-0000-0000-0000-000000000000", email="", role="service_role")
    return t
