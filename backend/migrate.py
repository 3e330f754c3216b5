"""Applies backend/supabase/migrations/*.sql in name order and remembers what it applied, like `supabase db push`."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "supabase" / "migrations"
# The schema itself, one file per capability (Supabase's declarative schemas); migrations/ starts
# with a baseline equal to it, and a test keeps the two building the same catalogue.
SCHEMAS_DIR = Path(__file__).parent / "supabase" / "schemas"

# The Supabase CLI records pushes in supabase_migrations.schema_migrations; we keep the same
# table (plus a checksum) so a project can move between the two without surprises.
_LEDGER_DDL = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text primary key,
  statements text[],
  name text
);
alter table supabase_migrations.schema_migrations add column if not exists sha256 text;
"""


class MigrationError(RuntimeError):
    """A migration failed to apply, an applied one was edited, or the database has history we do not."""


@dataclasses.dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @classmethod
    def from_path(cls, path: Path) -> Migration:
        version, _, name = path.stem.partition("_")
        if not version.isdigit():
            raise MigrationError(f"{path.name}: a migration's name must start with digits and '_'")
        return cls(version, name, path)


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    return [Migration.from_path(p) for p in sorted(directory.glob("*.sql"))]


def migrate(conninfo: str, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply the pending migrations, each in its own transaction. Returns those applied."""
    applied_now: list[Migration] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(_LEDGER_DDL)
        recorded = dict(conn.execute("select version, sha256 from supabase_migrations.schema_migrations").fetchall())
        migrations = discover(directory)
        unknown = sorted(set(recorded) - {m.version for m in migrations})
        if unknown:
            # Kanta's pre-release migrations were folded into one baseline: such a database cannot
            # be brought forward, and applying the baseline on top of it would half-fail.
            raise MigrationError(
                f"this database was created by a pre-release schema (it records migration {unknown[0]}, "
                "which no longer exists): run `kanta db reset --yes` to start afresh (this deletes its data)"
            )
        for migration in migrations:
            if migration.version in recorded:
                if recorded[migration.version] not in (None, migration.sha256):
                    raise MigrationError(
                        f"{migration.path.name} was edited after it was applied. "
                        "Applied migrations are history: add a new migration instead."
                    )
                continue
            try:
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        "insert into supabase_migrations.schema_migrations (version, name, statements, sha256)"
                        " values (%s, %s, array[%s], %s)",
                        (migration.version, migration.name, migration.sql, migration.sha256),
                    )
            except psycopg.Error as exc:
                raise MigrationError(f"{migration.path.name} failed: {exc}") from exc
            applied_now.append(migration)
    return applied_now
