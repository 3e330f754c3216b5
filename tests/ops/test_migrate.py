"""`kanta db migrate`: in name order, once, and an edited applied migration is refused by name."""

import shutil

import psycopg
import pytest

from backend.migrate import MIGRATIONS_DIR, MigrationError, discover, migrate


@pytest.fixture
def empty_db(cluster):
    import uuid

    name = f"m_{uuid.uuid4().hex[:10]}"
    cluster.create_database(name)
    cluster.bootstrap(name)
    yield cluster.conninfo(user="postgres", dbname=name)
    cluster.drop_database(name)


def test_migrate_applies_all_then_nothing(empty_db):
    first = migrate(empty_db)
    assert [m.version for m in first] == [m.version for m in discover()]
    assert migrate(empty_db) == []
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select count(*) from supabase_migrations.schema_migrations").fetchone()[0] == len(first)


def test_edited_applied_migration_is_refused_by_name(empty_db, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    migrate(empty_db, folder)
    victim = sorted(folder.glob("*.sql"))[0]
    victim.write_text(victim.read_text() + "\n-- sneaky edit\n")
    with pytest.raises(MigrationError) as err:
        migrate(empty_db, folder)
    assert victim.name in str(err.value)
    assert "edited" in str(err.value)


def test_a_failing_migration_applies_nothing_of_itself(empty_db, tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    (folder / "99990101000000_broken.sql").write_text(
        "create table kanta.half_done (id int);\nselect no_such_function();\n"
    )
    with pytest.raises(MigrationError) as err:
        migrate(empty_db, folder)
    assert "99990101000000_broken.sql" in str(err.value)
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select to_regclass('kanta.half_done')").fetchone()[0] is None
        assert (
            conn.execute(
                "select count(*) from supabase_migrations.schema_migrations where version = '99990101000000'"
            ).fetchone()[0]
            == 0
        )


def test_migrations_run_as_the_non_superuser_postgres_role(empty_db):
    # As on hosted Supabase: a migration that needs a superuser must fail here too.
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0] is False


def test_a_database_from_the_pre_release_migrations_is_refused_untouched(empty_db):
    # Such a database records versions (e.g. 20261123000100_core) that the baseline replaced.
    migrate(empty_db)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute(
            "insert into supabase_migrations.schema_migrations (version, name, sha256)"
            " values ('20261123000100', 'core', 'x')"
        )
    baseline = [m.version for m in discover()]
    with pytest.raises(MigrationError) as err:
        migrate(empty_db)
    assert "pre-release schema" in str(err.value)
    assert "kanta db reset --yes" in str(err.value)
    with psycopg.connect(empty_db) as conn:
        recorded = [v for (v,) in conn.execute("select version from supabase_migrations.schema_migrations order by 1")]
    assert recorded == sorted(["20261123000100", *baseline])  # nothing applied, nothing removed


def test_a_pre_release_database_is_refused_before_anything_is_applied(empty_db, tmp_path):
    # Only the old history, as a demo database made before the baseline: the baseline is not tried.
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute(
            "create schema supabase_migrations;"
            "create table supabase_migrations.schema_migrations (version text primary key, statements text[], name text);"
            "insert into supabase_migrations.schema_migrations (version, name) values ('20261123001800', 'refund')"
        )
    with pytest.raises(MigrationError, match="pre-release schema"):
        migrate(empty_db)
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select to_regnamespace('kanta')").fetchone()[0] is None
