"""Test harness: one embedded cluster per pytest worker, migrations applied once to a template, a fresh database per test."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from backend.embedded import EmbeddedPostgres
from backend.migrate import migrate
from backend.transport.postgres import PostgresBackend

TEMPLATE = "kanta_template"
SCRATCH_PREFIXES = ("kanta-test-", "kanta-emb-", "kanta-demo-", "kanta-web-", "kanta-bench-")


def pytest_sessionstart(session):
    """Reap clusters that a killed test run left behind (postgres outlives a kill -9)."""
    for base in (Path("/dev/shm"), Path("/tmp")):
        if not base.is_dir():
            continue
        for path in base.iterdir():
            if not path.name.startswith(SCRATCH_PREFIXES):
                continue
            pid = path.name.rsplit("-", 1)[-1]
            if pid.isdigit() and _alive(int(pid)):
                continue
            for data_dir in (path, path / "db"):
                if (data_dir / "pgdata").exists():
                    pg = EmbeddedPostgres(data_dir)
                    if pid.isdigit() or pg.reap_stale() or not (pg.state and pg.state.owner_pid):
                        pg.stop()
            if (
                not (path / "db" / "pgdata" / "postmaster.pid").exists()
                and not (path / "pgdata" / "postmaster.pid").exists()
            ):
                shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    from backend.embedded import _pid_alive

    return _pid_alive(pid)


def _scratch_root() -> Path:
    # /dev/shm keeps the cluster in memory; the path stays short for the 108-byte socket limit.
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path("/tmp")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return base / f"kanta-test-{worker}-{os.getpid()}"


@pytest.fixture(scope="session")
def cluster():
    root = _scratch_root()
    pg = EmbeddedPostgres(root, fast=True)
    pg.start()
    pg.create_database(TEMPLATE)
    pg.bootstrap(TEMPLATE)
    migrate(pg.conninfo(user="postgres", dbname=TEMPLATE))
    yield pg
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


class TestDatabase:
    """One fresh database cloned from the migrated template."""

    def __init__(self, cluster: EmbeddedPostgres, name: str):
        self.cluster, self.name = cluster, name

    def conninfo(self, user: str = "supabase_admin") -> str:
        return self.cluster.conninfo(user=user, dbname=self.name)

    @property
    def admin(self) -> str:
        return self.conninfo()

    @property
    def authenticator(self) -> str:
        return self.conninfo("authenticator")


@pytest.fixture
def db(cluster):
    name = f"t_{uuid.uuid4().hex[:12]}"
    cluster.create_database(name, template=TEMPLATE)
    yield TestDatabase(cluster, name)
    cluster.drop_database(name)


@pytest.fixture
def backend(db):
    b = PostgresBackend(db.authenticator, db.admin, min_size=1, max_size=4, bcrypt_rounds=4)
    yield b
    b.close()


@pytest.fixture
def users(backend):
    """Make signed-in PostgresTransport sessions: users("alice@example.com")."""
    made = []

    def make(email: str, password: str = "correct horse battery"):
        backend.auth.create_user(email, password)
        t = backend.transport()
        t.sign_in(email, password)
        made.append(t)
        return t

    yield make


class PostgresSide:
    name = "postgres"

    def __init__(self, backend):
        self.backend = backend

    def anon(self):
        return self.backend.transport()

    def user(self, email: str, password: str = "correct horse battery"):
        self.backend.auth.create_user(email, password)
        t = self.backend.transport()
        t.sign_in(email, password)
        return t


class SupabaseSide:
    """supabase-py against the PostgREST/GoTrue TEST DOUBLE (tests/doubles/supabase_double.py)."""

    name = "supabase"

    def __init__(self, double):
        from backend.transport.supabase import SupabaseTransport

        self.double, self._cls, self._made = double, SupabaseTransport, []

    def anon(self):
        t = self._cls(self.double.url, self.double.anon_key)
        self._made.append(t)
        return t

    def user(self, email: str, password: str = "correct horse battery"):
        self.double.auth.create_user(email, password)
        t = self.anon()
        t.sign_in(email, password)
        return t

    def close(self):
        for t in self._made:
            t.close()


@pytest.fixture(params=["postgres", "supabase"])
def api(request, db, backend):
    """The same API contract through either transport."""
    if request.param == "postgres":
        yield PostgresSide(backend)
        return
    from tests.doubles.supabase_double import running_double

    with running_double(db.authenticator, db.admin) as double:
        side = SupabaseSide(double)
        yield side
        side.close()


@pytest.fixture
def screens(backend, tmp_path):
    """Open the app in fake flet sessions: screens(route="/", width=400, height=800); all closed after.
    Each session's `.shell` and `.app` are the app's own objects (tests/ui/session.py)."""
    from tests.ui.session import open_app

    made = []

    def open_(route: str = "/", *, width: float = 400, height: float = 800):
        session = open_app(
            backend.transport,
            route=route,
            width=width,
            height=height,
            public_url="https://kanta.example.fi",
            queue_dir=tmp_path / "queue",
        )
        made.append(session)
        return session

    yield open_
    for session in made:
        session.close()


@pytest.fixture
def cafe(request, users):
    """The one café builder: an owner, a barista and the program a test asks for with
    `@pytest.mark.program(stamps_per_card=3, ...)` on the test, its class or its module."""
    from tests.engine import Cafe

    settings: dict = {}
    for marker in reversed(list(request.node.iter_markers("program"))):
        settings.update(marker.kwargs)
    return Cafe(users, settings=settings or None)


@pytest.fixture
def own_cluster():
    """A cluster of this test's own, since it is restarted under load. The name ends in this
    process's id, so another test run's reaper (pytest_sessionstart) sees its owner alive."""
    path = Path("/dev/shm" if Path("/dev/shm").is_dir() else "/tmp") / f"kanta-emb-{uuid.uuid4().hex[:6]}-{os.getpid()}"
    pg = EmbeddedPostgres(path, fast=True)
    pg.start()
    migrate(pg.conninfo(user="postgres"))
    yield pg
    pg.stop()
    shutil.rmtree(path, ignore_errors=True)
