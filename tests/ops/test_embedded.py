"""The embedded cluster: starts, reports, never runs as root, and is reaped when its owner died."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from backend.embedded import EmbeddedPostgres, _pid_alive


@pytest.fixture
def pg():
    path = Path("/dev/shm" if Path("/dev/shm").is_dir() else "/tmp") / f"kanta-emb-{os.getpid()}"
    cluster = EmbeddedPostgres(path, fast=True)
    yield cluster
    cluster.stop()
    shutil.rmtree(path, ignore_errors=True)


def test_start_bootstraps_supabase_roles_and_auth(pg):
    assert pg.start() is True
    assert pg.start() is False  # already running
    with psycopg.connect(pg.conninfo()) as conn:
        roles = {
            r[0]: r[1:]
            for r in conn.execute(
                "select rolname, rolsuper, rolinherit, rolbypassrls, rolcanlogin from pg_roles"
                " where rolname in ('anon','authenticated','service_role','authenticator','postgres','supabase_admin')"
            ).fetchall()
        }
        assert roles["supabase_admin"][0] is True
        assert roles["postgres"][0] is False  # demoted, as on hosted Supabase
        assert roles["authenticator"] == (False, False, False, True)  # LOGIN NOINHERIT
        assert roles["service_role"][2] is True  # BYPASSRLS
        assert roles["anon"][3] is False and roles["authenticated"][3] is False
        assert conn.execute("select count(*) from pg_publication where pubname = 'supabase_realtime'").fetchone()[0]
        for fn in ("uid", "role", "jwt", "email"):
            assert conn.execute("select to_regproc(%s)", (f"auth.{fn}",)).fetchone()[0]
        assert conn.execute("show server_version_num").fetchone()[0].startswith("16")


def test_postgres_never_runs_as_root(pg):
    pg.start()
    owner = os.stat(f"/proc/{pg.postmaster_pid()}").st_uid
    assert owner != 0
    if os.geteuid() != 0:
        assert owner == os.geteuid()


def test_password_is_required_and_url_works(pg):
    pg.start()
    with psycopg.connect(pg.url(user="postgres")) as conn:
        assert conn.execute("select current_user").fetchone()[0] == "postgres"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"host=127.0.0.1 port={pg.state.port} user=postgres password=wrong dbname=postgres")


def test_a_cluster_whose_owner_died_is_reaped(pg):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    pg.start(owner_pid=dead.pid)
    orphan = pg.postmaster_pid()
    assert pg.reap_stale() is True
    assert not _pid_alive(orphan)
    assert pg.start(owner_pid=os.getpid()) is True


def test_a_cluster_started_by_db_start_is_left_alone_by_the_demo(pg):
    pg.start()  # `kanta db start`: no owner
    assert pg.start(owner_pid=os.getpid()) is False
    assert pg.reap_stale() is False
    assert pg.running()


def test_cli_status_url_stop(pg):
    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "backend.cli", "--data-dir", str(pg.data_dir), *a],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert run("db", "status").returncode == 3
    assert run("db", "start").returncode == 0
    status = run("db", "status")
    assert status.returncode == 0 and '"running": true' in status.stdout
    assert run("db", "url").stdout.startswith("postgresql://postgres:")
    migrate = run("db", "migrate")
    assert "applied" in migrate.stdout
    assert run("db", "migrate").stdout.strip() == "up to date"
    added = run(
        "user",
        "add",
        "--email",
        "owner@cafe.example",
        "--role",
        "owner",
        "--password",
        "long enough pw",
        "--business",
        "cafe-aalto",
        "--business-name",
        "Café Aalto",
    )
    assert added.returncode == 0, added.stderr
    dup = run("user", "add", "--email", "owner@cafe.example", "--password", "long enough pw")
    assert dup.returncode == 1 and "email_taken" in dup.stderr
    refused = run("db", "reset")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert pg.running()
    reset = run("db", "reset", "--yes")
    assert reset.returncode == 0, reset.stderr
    with psycopg.connect(pg.conninfo()) as conn:
        assert conn.execute("select count(*) from auth.users").fetchone()[0] == 0
        assert conn.execute("select count(*) from supabase_migrations.schema_migrations").fetchone()[0] >= 1
    assert run("db", "stop").returncode == 0
    assert not pg.running()
