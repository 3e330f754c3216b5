"""The ledger (30_ledger.sql): retries are idempotent, the ledger is append-only, balances move only through
it, and any sequence of purchases, redemptions and refunds keeps its invariants."""

import datetime as dt

import psycopg
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import Conflict
from tests.engine import at, key, ledger_rows

TIERS = [
    {"name": "Bronze", "min_points": 0, "multiplier": 1.0},
    {"name": "Silver", "min_points": 100, "multiplier": 1.25},
    {"name": "Gold", "min_points": 300, "multiplier": 1.5},
]
SETTINGS = {
    "stamps_per_card": 4,
    "stamps_per_purchase": 3,
    "points_per_euro": 2,
    "tiers": TIERS,
    "tier_window_months": 2,
    "stamp_cooldown_minutes": 0,
    "max_purchases_per_day": 50,
    "confirm_above_cents": 30000,
    "rewards": [{"name": "Mug", "cost_points": 40}],
}

# The program of the retry and guard tests below (the counter's).
COUNTER = pytest.mark.program(stamps_per_card=5, rewards=[{"name": "Cookie", "cost_points": 10}])

operation = st.one_of(
    st.tuples(st.just("buy"), st.integers(1, 30000), st.integers(0, 20 * 24 * 60)),
    st.tuples(st.just("redeem_voucher"), st.integers(0, 10), st.integers(0, 600)),
    st.tuples(st.just("redeem_reward"), st.just(0), st.integers(0, 600)),
    st.tuples(st.just("refund"), st.integers(0, 10), st.integers(0, 600)),
    # The last purchase sent again with its key: as it was (a retry), or changed (a reused key).
    st.tuples(st.just("retry"), st.just(0), st.integers(0, 5)),
    st.tuples(st.just("reuse"), st.integers(1, 30000), st.integers(0, 5)),
)


def _expected_tier(purchases, now):
    """Test oracle: the tier from the non-refunded purchase points inside (now - 2 months, now]."""
    start = now - relativedelta(months=2)
    points = sum(p["points"] for p in purchases if not p["refunded"] and start < p["at"] <= now)
    return [t["name"] for t in TIERS if t["min_points"] <= points][-1]


@pytest.mark.program(**SETTINGS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=14))
def test_invariants_hold_for_any_sequence(db, cafe, ops):
    phone, member = cafe.customer(f"{key()}@example.com")
    reward_id = phone.rpc("my_card", {"p_member_id": member})["rewards"][0]["id"]
    now = at("2026-01-01", "08:00")
    purchases, vouchers = [], []
    last = None  # (key, cents, answer) of the last purchase
    for kind, n, minutes in ops:
        now += dt.timedelta(minutes=minutes)
        try:
            if kind in ("retry", "reuse") and last:
                rows = ledger_rows(db)
                cents = last[1] if kind == "retry" else n + (n == last[1])
                try:
                    again = cafe.buy(member, cents, when=now, idempotency_key=last[0])
                    assert kind == "retry" and again == last[2]
                except Conflict as exc:
                    assert kind == "reuse" and exc.code == "idempotency_key_reused", exc.code
                assert ledger_rows(db) == rows
            elif kind == "buy":
                k = key()
                r = cafe.buy(member, n, when=now, idempotency_key=k)
                last = (k, n, r)
                purchases.append({"id": r["purchase_id"], "points": r["points_added"], "at": now, "refunded": False})
                vouchers += [v["code"] for v in r["vouchers_issued"]]
            elif kind == "redeem_voucher" and vouchers:
                cafe.redeem(vouchers[n % len(vouchers)], when=now)
            elif kind == "redeem_reward":
                with cafe.clock(now, cafe.staff):
                    cafe.staff.rpc(
                        "redeem_reward",
                        {
                            "p_business_id": cafe.id,
                            "p_member_id": member,
                            "p_reward_id": reward_id,
                            "p_idempotency_key": key(),
                        },
                    )
            elif kind == "refund" and purchases:
                p = purchases[n % len(purchases)]
                cafe.refund(p["id"], when=now)
                p["refunded"] = True
        except Conflict as exc:  # refusals are fine; they must simply leave no trace
            assert exc.code in {
                "voucher_already_redeemed",
                "voucher_void",
                "voucher_expired",
                "insufficient_points",
                "already_refunded",
            }, exc.code

        with psycopg.connect(db.admin) as conn:
            stamps, points, debt, s_sum, p_sum = conn.execute(
                "select m.stamps, m.points, m.points_debt, coalesce(sum(l.stamps), 0), coalesce(sum(l.points), 0)"
                " from kanta.members m left join kanta.ledger l on l.member_id = m.id"
                " where m.id = %s group by m.id",
                (member,),
            ).fetchone()
        assert (stamps, points) == (s_sum, p_sum)
        assert 0 <= stamps < SETTINGS["stamps_per_card"] and points >= 0 and debt >= 0
        assert debt == 0 or points == 0, "debt is paid from the next earnings first"
        with cafe.clock(now, phone):
            card = phone.rpc("my_card", {"p_member_id": member})
        assert card["tier"]["current"]["name"] == _expected_tier(purchases, now)
        assert (card["stamps"], card["points"]) == (stamps, points)


# ---- retries and the ledger's own guards ---------------------------------------------------------


@COUNTER
def test_the_same_key_twice_gives_one_effect_and_the_identical_answer(db, cafe):
    _, member = cafe.customer("a@example.com")
    k = key()
    first = cafe.buy(member, 450, idempotency_key=k)
    rows = ledger_rows(db)
    again = cafe.buy(member, 450, idempotency_key=k)
    assert again == first
    assert ledger_rows(db) == rows
    with psycopg.connect(db.admin) as conn:
        assert conn.execute("select visits, points from kanta.members where id = %s", (member,)).fetchone() == (1, 4)


@COUNTER
def test_a_key_used_for_another_action_is_a_conflict(cafe):
    _, member = cafe.customer("a@example.com")
    k = key()
    bought = cafe.buy(member, 450, idempotency_key=k)
    with pytest.raises(Conflict) as err:
        cafe.staff.rpc(
            "refund_purchase",
            {"p_business_id": cafe.id, "p_purchase_id": bought["purchase_id"], "p_idempotency_key": k},
        )
    assert err.value.code == "idempotency_key_reused"


@COUNTER
def test_the_ledger_is_append_only_even_for_its_owner(db, cafe):
    _, member = cafe.customer("a@example.com")
    cafe.buy(member, 450)
    with psycopg.connect(db.conninfo("postgres")) as conn:
        with pytest.raises(psycopg.Error, match="ledger_is_append_only"):
            conn.execute("update kanta.ledger set points = 1000")
    with psycopg.connect(db.conninfo("postgres")) as conn:
        with pytest.raises(psycopg.Error, match="ledger_is_append_only"):
            conn.execute("delete from kanta.ledger")


@COUNTER
def test_balances_move_only_through_the_ledger(db, cafe):
    _, member = cafe.customer("a@example.com")
    cafe.buy(member, 450)
    with psycopg.connect(db.conninfo("postgres")) as conn:
        with pytest.raises(psycopg.Error, match="ledger_mismatch"):
            conn.execute("update kanta.members set points = points + 100 where id = %s", (member,))
    with psycopg.connect(db.conninfo("postgres")) as conn:
        with pytest.raises(psycopg.Error, match="ledger_mismatch"):
            conn.execute(
                "insert into kanta.members (business_id, member_number, points) values (%s, '12345674', 50)", (cafe.id,)
            )
    with psycopg.connect(db.conninfo("postgres")) as conn:  # other columns stay writable for the API
        conn.execute("update kanta.members set visits = visits where id = %s", (member,))
