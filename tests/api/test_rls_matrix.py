"""Role x function and role x table: who may execute and read what, read from the catalog."""

import re
from pathlib import Path

import psycopg

from shared.i18n import ERRORS

SCHEMAS = Path(__file__).parents[2] / "backend" / "supabase" / "schemas"
# The only functions an anonymous visitor may call (DESIGN.md section 3), plus the WooCommerce
# webhook, which the shop's server calls unsigned-in and which the body's HMAC signature authorises.
ANON_ALLOWED = {"referral_preview", "woocommerce_webhook"}


def _public_functions(conn):
    return conn.execute(
        "select p.oid::regprocedure::text, p.proname, p.prosecdef, p.proconfig"
        " from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'"
    ).fetchall()


def test_anon_may_execute_only_the_allowed_public_functions(db):
    with psycopg.connect(db.admin) as conn:
        funcs = _public_functions(conn)
        assert funcs, "the API has no functions"
        for signature, name, *_ in funcs:
            can = conn.execute("select has_function_privilege('anon', %s, 'execute')", (signature,)).fetchone()[0]
            assert can == (name in ANON_ALLOWED), f"anon execute on {signature}: {can}"


def test_every_api_function_is_security_definer_with_an_empty_search_path(db):
    with psycopg.connect(db.admin) as conn:
        for signature, _name, secdef, config in _public_functions(conn):
            assert secdef, f"{signature} is not SECURITY DEFINER"
            assert config and 'search_path=""' in config, f"{signature} has no empty search_path"


def test_internal_helpers_are_not_callable_by_api_roles(db):
    with psycopg.connect(db.admin) as conn:
        rows = conn.execute(
            "select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname = 'kanta' and p.proname not in ('is_staff', 'can_listen', 'can_see_member')"
        ).fetchall()
        for (signature,) in rows:
            for role in ("anon", "authenticated"):
                assert not conn.execute(
                    "select has_function_privilege(%s, %s, 'execute')", (role, signature)
                ).fetchone()[0], f"{role} may execute {signature}"


def test_tables_are_rls_protected_and_never_writable_by_api_roles(db):
    with psycopg.connect(db.admin) as conn:
        tables = conn.execute(
            "select c.oid::regclass::text, c.relrowsecurity from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'kanta' and c.relkind = 'r'"
        ).fetchall()
        assert tables
        for table, rls in tables:
            assert rls, f"{table} has no row-level security"
            for role in ("anon", "authenticated"):
                for priv in ("insert", "update", "delete", "truncate"):
                    assert not conn.execute("select has_table_privilege(%s, %s, %s)", (role, table, priv)).fetchone()[
                        0
                    ], f"{role} may {priv} {table}"
            assert not conn.execute("select has_table_privilege('anon', %s, 'select')", (table,)).fetchone()[0]
        # Nothing of ours sits in public as a table (tables are not the API).
        assert conn.execute("select count(*) from pg_tables where schemaname = 'public'").fetchone()[0] == 0


def test_every_error_code_the_sql_raises_is_translated():
    codes = set()
    for path in SCHEMAS.glob("*.sql"):
        codes |= set(re.findall(r"kanta\.fail\('([a-z_]+)'", path.read_text()))
    assert codes, "no error codes found in the schema files"
    missing = sorted(c for c in codes if c not in ERRORS or set(ERRORS[c]) != {"fi", "en"})
    assert not missing, f"untranslated error codes: {missing}"
