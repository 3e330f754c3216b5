"""One person, several logins (name+1@, name+2@, ...), all joining with a friend's code at the same
moment: the keyed trace lets exactly one count as new, every round."""

import psycopg
import pytest

from backend.transport.postgres import PostgresBackend
from tests.engine import Cafe
from tests.sql.test_31_counter_qr_tokens import LOGINS, ROUNDS, run_together


@pytest.mark.slow
def test_aliases_joining_at_once_make_one_referral_in_each_round(db, backend, users):
    cafe = Cafe(users, settings={"referral_monthly_cap": 100})
    aino, member = cafe.customer("aino@example.com", "Aino")
    code = aino.rpc("my_card", {"p_member_id": member})["referral"]["code"]
    wide = PostgresBackend(db.authenticator, db.admin, min_size=LOGINS, max_size=LOGINS, bcrypt_rounds=4)
    try:
        for round_no in range(ROUNDS):
            phones = []
            for n in range(LOGINS):
                email = f"person{round_no}+{n}@example.com"
                backend.auth.create_user(email, "correct horse battery")
                t = wide.transport()
                t.sign_in(email, "correct horse battery")
                phones.append(t)
            calls = [
                (lambda p=p: p.rpc("join_business", {"p_slug": cafe.business["slug"], "p_referral_code": code}))
                for p in phones
            ]
            results, errors = run_together(calls)
            assert errors == [], round_no
            assert sorted(r["referral_refused"] or "referred" for r in results) == ["not_new"] * (LOGINS - 1) + [
                "referred"
            ], round_no
        with psycopg.connect(db.admin) as conn:
            assert conn.execute("select count(*) from kanta.referrals").fetchone()[0] == ROUNDS
    finally:
        wide.close()
