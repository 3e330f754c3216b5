"""The ledger's invariants under any interleaving of purchases, refunds and redemptions, with
retried calls and reused idempotency keys: a retry returns the first answer and writes nothing; a
key reused for a different request is refused as idempotency_key_reused and writes nothing."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import Conflict
from tests.engine import at, key

PROGRAM = {
    "stamps_per_card": 3,
    "points_per_euro": 2,
    "stamp_cooldown_minutes": 0,
    "max_purchases_per_day": 50,
    "rewards": [{"name": "Mug", "cost_points": 20}],
}
# Refusals a sequence may meet; each must leave no trace.
REFUSALS = {"voucher_already_redeemed", "voucher_void", "voucher_expired", "insufficient_points", "already_refunded"}

step = st.one_of(
    st.tuples(st.just("buy"), st.integers(1, 5000)),
    st.tuples(st.just("refund"), st.integers(0, 20)),
    st.tuples(st.just("redeem_voucher"), st.integers(0, 20)),
    st.tuples(st.just("redeem_reward"), st.just(0)),
    st.tuples(st.just("retry"), st.integers(0, 20)),  # the same call again, same key
    st.tuples(st.just("reuse"), st.integers(0, 20)),  # an earlier key on a different request
)


def _balances(db, member):
    with psycopg.connect(db.admin) as conn:
        return conn.execute(
            "select m.stamps, m.points, m.points_debt, coalesce(sum(l.stamps), 0), coalesce(sum(l.points), 0),"
            " (select count(*) from kanta.ledger l2 where l2.member_id = m.id)"
            " from kanta.members m left join kanta.ledger l on l.member_id = m.id where m.id = %s group by m.id",
            (member,),
        ).fetchone()


@pytest.mark.program(**PROGRAM)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=16))
def test_retries_and_reused_keys_never_change_the_ledger_twice(db, cafe, steps):
    phone, member = cafe.customer(f"{key()}@example.com")
    reward_id = phone.rpc("my_card", {"p_member_id": member})["rewards"][0]["id"]
    now = at("2026-03-02", "08:00")
    calls: list[tuple[str, dict, dict]] = []  # (function, params, first answer) of the calls that went through
    purchases: list[str] = []
    vouchers: list[str] = []

    def call(name: str, params: dict):
        with cafe.clock(now, cafe.staff):
            try:
                return cafe.staff.rpc(name, params)
            except Conflict as exc:
                return exc

    for kind, n in steps:
        now += dt.timedelta(minutes=7)
        before = _balances(db, member)
        if kind in ("retry", "reuse"):
            if not calls:
                continue
            name, params, first = calls[n % len(calls)]
            if kind == "retry":
                answer = call(name, params)
                if isinstance(first, Conflict):  # a refusal writes nothing and keeps no answer
                    assert isinstance(answer, Conflict)
                else:
                    assert answer == first
            else:
                other = {
                    "p_business_id": cafe.id,
                    "p_member_id": member,
                    "p_idempotency_key": params["p_idempotency_key"],
                }
                other["p_amount_cents"] = params.get("p_amount_cents", 100) + 1  # never the same request
                answer = call("record_purchase", other)
                if not isinstance(first, Conflict):
                    assert isinstance(answer, Conflict) and answer.code == "idempotency_key_reused", answer
            assert _balances(db, member) == before  # a retry or a reused key writes nothing
            continue

        params = {"p_business_id": cafe.id, "p_idempotency_key": key()}
        if kind == "buy":
            name = "record_purchase"
            params |= {"p_member_id": member, "p_amount_cents": n}
        elif kind == "refund" and purchases:
            name = "refund_purchase"
            params |= {"p_purchase_id": purchases[n % len(purchases)]}
        elif kind == "redeem_voucher" and vouchers:
            name = "redeem_voucher"
            params |= {"p_code": vouchers[n % len(vouchers)]}
        elif kind == "redeem_reward":
            name = "redeem_reward"
            params |= {"p_member_id": member, "p_reward_id": reward_id}
        else:
            continue
        answer = call(name, params)
        if isinstance(answer, Conflict):
            assert answer.code in REFUSALS, answer.code
            assert _balances(db, member) == before
        else:
            if name == "record_purchase":
                purchases.append(answer["purchase_id"])
                vouchers += [v["code"] for v in answer["vouchers_issued"]]
            calls.append((name, params, answer))

        stamps, points, debt, s_sum, p_sum, _rows = _balances(db, member)
        assert (stamps, points) == (s_sum, p_sum)
        assert 0 <= stamps < PROGRAM["stamps_per_card"] and points >= 0 and debt >= 0
