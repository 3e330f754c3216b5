"""Eight tablets redeem the same voucher at the same moment: exactly one wins, every round."""

import threading

import psycopg
import pytest

from backend.transport.postgres import PostgresBackend
from shared.errors import Conflict
from tests.engine import Cafe, key

TABLETS = 8
ROUNDS = 50


def _redeem(tablet, business_id, code, start, outcomes):
    start.wait()
    try:
        tablet.rpc("redeem_voucher", {"p_business_id": business_id, "p_code": code, "p_idempotency_key": key()})
        outcomes.append("ok")
    except Conflict as exc:
        outcomes.append(exc.code)


@pytest.mark.slow
def test_eight_connections_redeem_one_voucher_exactly_once_in_each_of_50_rounds(db, users):
    cafe = Cafe(
        users,
        settings={
            "stamps_per_card": 3,
            "stamp_cooldown_minutes": 0,
            "max_purchases_per_day": 100,
            "stamps_per_purchase": 3,
        },
    )
    _, member = cafe.customer("a@example.com")
    # A pool wide enough that all eight calls are really in flight together.
    wide = PostgresBackend(db.authenticator, db.admin, min_size=TABLETS, max_size=TABLETS, bcrypt_rounds=4)
    try:
        tablets = []
        for _ in range(TABLETS):
            t = wide.transport()
            t.user = cafe.staff.user
            tablets.append(t)
        for round_no in range(ROUNDS):
            code = cafe.buy(member, 450)["vouchers_issued"][0]["code"]
            start = threading.Barrier(TABLETS)
            outcomes = []

            threads = [threading.Thread(target=_redeem, args=(t, cafe.id, code, start, outcomes)) for t in tablets]
            for th in threads:
                th.start()
            for th in threads:
                th.join(30)
            assert sorted(outcomes) == ["ok"] + ["voucher_already_redeemed"] * (TABLETS - 1), round_no
        with psycopg.connect(db.admin) as conn:
            redeemed = conn.execute("select count(*) from kanta.ledger where kind = 'voucher_redeemed'").fetchone()[0]
        assert redeemed == ROUNDS
    finally:
        wide.close()
