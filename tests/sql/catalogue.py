"""Dump a database's catalogue with the wheel's pg_dump, normalised so that two dumps of the same schema compare equal."""

from __future__ import annotations

import re
import subprocess

from backend.embedded import EmbeddedPostgres

# pg_dump's own chatter, not the schema: headers, session settings and the owner of each object.
_NOISE = re.compile(r"^(--.*|SET .*|SELECT pg_catalog\.set_config.*|\\(un)?restrict .*|ALTER .* OWNER TO .*;)$")


def dump_schema(cluster: EmbeddedPostgres, dbname: str, *schemas: str) -> str:
    """`pg_dump --schema-only` of the given schemas (default: kanta and public)."""
    args = [cluster.bin("pg_dump"), "--schema-only", "--no-owner", "--dbname", cluster.conninfo(dbname=dbname)]
    for schema in schemas or ("kanta", "public"):
        args += ["--schema", schema]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def statements(dump: str) -> list[str]:
    """The dump's statements, noise dropped, in a stable order (pg_dump orders by dependencies and name)."""
    kept = [line.rstrip() for line in dump.splitlines() if not _NOISE.match(line)]
    blocks = re.split(r"\n\s*\n", "\n".join(kept))
    return sorted(b.strip() for b in blocks if b.strip())


def normalised(dump: str) -> str:
    return "\n\n".join(statements(dump)) + "\n"
