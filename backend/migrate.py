"""Applies backend/supabase/migrations/*.sql in name order and remembers what it applied, like `supabase db push`."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "supabase" / "migrations"

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
    """A migration failed to apply, or an applied one was edited."""


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
        for migration in discover(directory):
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
