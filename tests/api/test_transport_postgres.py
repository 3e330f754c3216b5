"""PostgresTransport does per call what PostgREST does per request, and nothing carries over."""

import json
import threading

import psycopg
import pytest

from backend.transport.postgres import PostgresBackend, begin_request, claims_for
from shared.errors import PermissionDenied, Unavailable


def _member_rows_seen_by(db, transport):
    """Read kanta.members exactly as the transport's request step sets a session up."""
    with psycopg.connect(db.authenticator) as conn:
        begin_request(conn, claims_for(transport.user))
        return conn.execute("select user_id::text from kanta.members order by user_id").fetchall()


def test_customer_a_cannot_read_customer_b_row(db, users):
    owner = users("owner@cafe.example")
    owner.rpc("create_business", {"p_name": "Café Aalto", "p_slug": "cafe-aalto"})
    a, b = users("a@example.com"), users("b@example.com")
    a.rpc("join_business", {"p_slug": "cafe-aalto"})
    b.rpc("join_business", {"p_slug": "cafe-aalto"})

    assert _member_rows_seen_by(db, a) == [(a.user.id,)]
    assert _member_rows_seen_by(db, b) == [(b.user.id,)]
    # Staff of the business see both; the anon role may not even look.
    assert len(_member_rows_seen_by(db, owner)) == 2
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _member_rows_seen_by(db, type(a)(a.backend))


def test_anon_cannot_execute_a_staff_only_function(backend):
    anon = backend.transport()
    with pytest.raises(PermissionDenied) as err:
        anon.rpc("add_staff", {"p_business_id": "00000000-0000-0000-0000-000000000000", "p_email": "x@y.fi"})
    assert err.value.detail == "42501"  # refused by the grant, before the function body ran


def test_role_and_claims_do_not_leak_into_the_next_call(db):
    # One pooled connection, so every call reuses it.
    backend = PostgresBackend(db.authenticator, db.admin, min_size=1, max_size=1, bcrypt_rounds=4)
    try:
        backend.auth.create_user("a@example.com", "correct horse battery")
        a = backend.transport()
        a.sign_in("a@example.com", "correct horse battery")
        a.rpc("my_wallet")
        with pytest.raises(PermissionDenied):  # the failing path must not leak either
            a.rpc("add_staff", {"p_business_id": "00000000-0000-0000-0000-000000000000", "p_email": "x@y.fi"})
        with backend.pool.connection() as conn:
            user, claims, role = conn.execute(
                "select current_user, current_setting('request.jwt.claims', true), current_setting('role')"
            ).fetchone()
        assert user == "authenticator"
        assert not claims and role == "none"
        with pytest.raises(PermissionDenied):
            backend.transport().rpc("my_wallet")  # anon on the same connection right after A
    finally:
        backend.close()


def test_the_role_claim_cannot_escalate(db):
    with psycopg.connect(db.authenticator) as conn:
        begin_request(conn, {"sub": "00000000-0000-0000-0000-000000000001", "role": "postgres"})
        assert conn.execute("select current_user").fetchone()[0] == "anon"


def test_sign_in_stores_only_a_bcrypt_hash(db, backend):
    backend.auth.create_user("a@example.com", "correct horse battery")
    with psycopg.connect(db.admin) as conn:
        stored = conn.execute("select encrypted_password from auth.users").fetchone()[0]
    assert stored.startswith("$2b$") and "correct horse" not in stored


def test_subscribe_delivers_live_events_for_the_topic(users):
    owner = users("owner@cafe.example")
    biz = owner.rpc("create_business", {"p_name": "Café Aalto", "p_slug": "cafe-aalto"})
    got, arrived = [], threading.Event()

    def on_event(event):
        got.append(event)
        arrived.set()

    sub = owner.subscribe(f"business:{biz['id']}", on_event)
    other_biz = owner.rpc("create_business", {"p_name": "Leipomo Kuu", "p_slug": "leipomo-kuu"})
    other = owner.subscribe(f"business:{other_biz['id']}", lambda e: got.append(("wrong", e)))
    card = users("a@example.com").rpc("join_business", {"p_slug": "cafe-aalto"})
    assert arrived.wait(5), "no live event within 5 s"
    assert got == [
        {"topic": f"business:{biz['id']}", "event": "member_joined", "payload": {"member_id": card["member_id"]}}
    ]
    sub.close()
    other.close()


def test_an_unreachable_database_is_unavailable_and_retryable(db):
    backend = PostgresBackend(
        db.authenticator.replace(f"port={db.cluster.state.port}", "port=1"), db.admin, min_size=0, max_size=1
    )
    backend.pool.timeout = 0.5
    try:
        with pytest.raises(Unavailable) as err:
            backend.transport().rpc("my_wallet")
        assert err.value.retryable
    finally:
        backend.close()


def test_claims_are_json_for_auth_helpers(db, users):
    a = users("a@example.com")
    with psycopg.connect(db.authenticator) as conn:
        begin_request(conn, claims_for(a.user))
        uid, email, jwt = conn.execute("select auth.uid()::text, auth.email(), auth.jwt()").fetchone()
    assert uid == a.user.id and email == "a@example.com" and jwt["role"] == "authenticated"
    assert json.loads(json.dumps(jwt))["sub"] == a.user.id
