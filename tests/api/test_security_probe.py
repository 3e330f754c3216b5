"""A customer's session probes everything it should not reach: every staff and owner function over
the REST path (supabase-py against the PostgREST TEST DOUBLE, backed by the real database), and
every table of the kanta and auth schemas with the customer's role and claims, as PostgREST would
run a table request if those schemas were exposed. Every attempt is denied."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from backend.transport.postgres import begin_request, claims_for
from backend.transport.supabase import SupabaseTransport
from shared.errors import NotFound, PermissionDenied
from tests.api.test_access_matrix import CALLS, World
from tests.doubles.supabase_double import running_double

STAFF_OR_OWNER = sorted(name for name, (expected, _) in CALLS.items() if expected["customer"] == "deny")


@pytest.fixture
def probe(users, backend, db):
    world = World(users, backend)
    with running_double(db.authenticator, db.admin) as double:
        customer = SupabaseTransport(double.url, double.anon_key)
        customer.sign_in("customer@example.com", "correct horse battery")
        yield world, customer, double
        customer.close()


@pytest.mark.slow
def test_a_customer_is_refused_every_staff_and_owner_function_over_rest(probe):
    world, customer, _ = probe
    assert len(STAFF_OR_OWNER) >= 25
    let_through = []
    for name in STAFF_OR_OWNER:
        _, params = CALLS[name]
        try:
            customer.rpc(name, params(world))
            let_through.append(name)
        except (PermissionDenied, NotFound):
            pass
    assert let_through == []


def _tables(admin: str) -> list[str]:
    with psycopg.connect(admin) as conn:
        return [
            f"{s}.{t}"
            for s, t in conn.execute(
                "select schemaname, tablename from pg_tables where schemaname in ('kanta', 'auth', 'public')"
            )
        ]


@pytest.mark.slow
def test_every_table_is_out_of_reach_over_rest(probe):
    world, customer, double = probe
    token = customer.client.auth.get_session().access_token
    headers = {"apikey": double.anon_key, "Authorization": f"Bearer {token}"}
    for table in _tables(double.admin_conninfo):
        schema, name = table.split(".")
        for method in ("GET", "POST", "PATCH", "DELETE"):
            response = httpx.request(
                method,
                f"{double.url}/rest/v1/{name}",
                headers={**headers, "Accept-Profile": schema, "Content-Profile": schema},
                json={} if method in ("POST", "PATCH") else None,
            )
            assert response.status_code in (401, 403, 404), (table, method, response.status_code)


@pytest.mark.slow
def test_the_customers_role_reads_only_its_own_rows_and_writes_nothing(probe, db):
    """What a table request would run: the customer's claims, then SQL on each table."""
    world, _, _ = probe
    for table in _tables(db.admin):
        for statement in (
            f"select count(*) from {table}",
            f"insert into {table} default values",
            f"delete from {table}",
        ):
            conn = psycopg.connect(db.authenticator)
            try:
                begin_request(conn, claims_for(world.customer.user))
                try:
                    cursor = conn.execute(statement)
                except psycopg.errors.InsufficientPrivilege:
                    continue
                rows = cursor.fetchone() if statement.startswith("select") else None
                assert statement.startswith("select"), f"{statement} was allowed"
                # Readable tables are the ones row-level security narrows to the customer's own rows.
                assert table.startswith("kanta."), f"{table} is readable"
                with psycopg.connect(db.admin) as admin:
                    rls = admin.execute(
                        "select relrowsecurity from pg_class where oid = %s::regclass", (table,)
                    ).fetchone()[0]
                assert rls, f"{table} is readable without row-level security"
                assert rows is not None
            finally:
                conn.close()
