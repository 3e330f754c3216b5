"""The member's QR token (31_counter.sql, kanta.member_tokens in 30_ledger.sql): one live token per
member; a new one replaces the old, so the old is refused and rows do not pile up."""

import threading

import psycopg
import pytest

from backend.transport.postgres import PostgresBackend
from shared.errors import NotFound

LOGINS = 4
ROUNDS = 10


def run_together(calls):
    """Run the calls on threads released at once; (results, errors)."""
    start = threading.Barrier(len(calls))
    results, errors = [], []

    def run(call):
        start.wait()
        try:
            results.append(call())
        except Exception as exc:  # noqa: BLE001 - the assertion below shows what went wrong
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    return results, errors


def _rows(db, member):
    with psycopg.connect(db.admin) as conn:
        return conn.execute("select count(*) from kanta.member_tokens where member_id = %s", (member,)).fetchone()[0]


def test_a_new_token_replaces_the_old_one(db, cafe):
    phone, member = cafe.customer("aino@example.com", "Aino")
    old = phone.rpc("member_qr_token", {"p_member_id": member})["token"]
    new = phone.rpc("member_qr_token", {"p_member_id": member})["token"]
    with pytest.raises(NotFound) as err:
        cafe.staff.rpc("identify_member", {"p_business_id": cafe.id, "p_code": old})
    assert err.value.code == "token_unknown"
    assert cafe.staff.rpc("identify_member", {"p_business_id": cafe.id, "p_code": new})["member_id"] == member


def test_fifty_tokens_leave_one_row(db, cafe):
    phone, member = cafe.customer("aino@example.com", "Aino")
    for _ in range(50):
        phone.rpc("member_qr_token", {"p_member_id": member})
    assert _rows(db, member) == 1


@pytest.mark.slow
def test_tokens_asked_for_at_once_leave_one_live_token(db, cafe):
    phone, member = cafe.customer("aino@example.com", "Aino")
    wide = PostgresBackend(db.authenticator, db.admin, min_size=LOGINS, max_size=LOGINS, bcrypt_rounds=4)
    try:
        for _ in range(ROUNDS):
            phones = []
            for _n in range(LOGINS):
                t = wide.transport()
                t.user = phone.user
                phones.append(t)
            results, errors = run_together(
                [(lambda p=p: p.rpc("member_qr_token", {"p_member_id": member})) for p in phones]
            )
            assert errors == [] and len(results) == LOGINS
            with psycopg.connect(db.admin) as conn:
                assert conn.execute("select count(*) from kanta.member_tokens").fetchone()[0] == 1
    finally:
        wide.close()
