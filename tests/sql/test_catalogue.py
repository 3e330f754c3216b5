"""migrations/ and schemas/ build the same catalogue: the baseline plus every later migration equals the schema."""

from __future__ import annotations

import difflib
import uuid

import psycopg
import pytest

from backend.migrate import SCHEMAS_DIR, migrate
from tests.sql.catalogue import dump_schema, normalised


@pytest.fixture
def fresh(cluster):
    made = []

    def make() -> str:
        name = f"c_{uuid.uuid4().hex[:10]}"
        cluster.create_database(name)
        cluster.bootstrap(name)
        made.append(name)
        return name

    yield make
    for name in made:
        cluster.drop_database(name)


def apply_schemas(conninfo: str) -> None:
    """What `supabase db reset` does with schema_paths: every schema file, in name order."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for path in sorted(SCHEMAS_DIR.glob("*.sql")):
            with conn.transaction():
                conn.execute(path.read_text(encoding="utf-8"))


def test_migrations_build_the_same_catalogue_as_the_schema(cluster, fresh):
    by_migrations, by_schemas = fresh(), fresh()
    migrate(cluster.conninfo(user="postgres", dbname=by_migrations))
    apply_schemas(cluster.conninfo(user="postgres", dbname=by_schemas))
    a = normalised(dump_schema(cluster, by_migrations))
    b = normalised(dump_schema(cluster, by_schemas))
    if a != b:
        diff = "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "migrations/", "schemas/", n=2))
        pytest.fail(
            "applying migrations/ and applying schemas/ give different catalogues. Edit the schema file"
            " and add a migration that makes the same change:\n" + diff,
            pytrace=False,
        )
