"""Issue 15, refunds that cannot simply be undone (31_counter.sql, 40_referrals.sql): the stamps of a
card already redeemed, and the referrer's reward for a referee's refunded first purchase."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import Conflict
from tests.engine import at

pytestmark = pytest.mark.program(
    stamps_per_card=3,
    stamp_cooldown_minutes=0,
    max_purchases_per_day=50,
    referral_welcome_reward="Tervetuloa-kahvi",
    referral_referrer_reward="Kaverikahvi",
    referral_min_cents=500,
)


def _balances(db, member):
    with psycopg.connect(db.admin) as conn:
        return conn.execute(
            "select m.stamps, m.stamp_debt, coalesce(sum(l.stamps), 0)::int"
            " from kanta.members m left join kanta.ledger l on l.member_id = m.id where m.id = %s group by m.id",
            (member,),
        ).fetchone()


# ---- stamp debt ----------------------------------------------------------------------------------


def test_refunding_a_purchase_whose_card_was_redeemed_records_stamp_debt(db, cafe):
    phone, member = cafe.customer("a@example.com")
    bought = [cafe.buy(member, 450, when=at(f"2026-06-0{i + 1}")) for i in range(3)]
    [voucher] = bought[2]["vouchers_issued"]
    cafe.redeem(voucher["code"], when=at("2026-06-03", "12:10"))  # the free coffee is drunk
    refund = cafe.refund(bought[2]["purchase_id"], when=at("2026-06-03", "12:20"))
    # The card is empty and its coffee is gone: the stamp cannot come off, so it is owed.
    assert (refund["stamps_removed"], refund["stamp_debt_added"], refund["stamps"]) == (0, 1, 0)
    assert _balances(db, member) == (0, 1, 0)
    card = phone.rpc("my_card", {"p_member_id": member})
    assert card["stamp_debt"] == 1


def test_a_refund_takes_its_stamps_from_another_unused_card_before_recording_debt(db, cafe):
    _, member = cafe.customer("a@example.com")
    bought = [cafe.buy(member, 450, when=at(f"2026-06-0{i + 1}")) for i in range(6)]
    first, second = bought[2]["vouchers_issued"][0], bought[5]["vouchers_issued"][0]
    cafe.redeem(first["code"], when=at("2026-06-07"))
    # The first card's coffee is drunk; the second card's voucher is unused. Refunding the purchase
    # that completed the first card takes its stamp from the second card: its voucher is voided and
    # 3 - 1 = 2 stamps stay on the card.
    refund = cafe.refund(bought[2]["purchase_id"], when=at("2026-06-08"))
    assert (refund["vouchers_voided"], refund["stamps_removed"], refund["stamp_debt_added"]) == (
        [second["code"]],
        1,
        0,
    )
    assert refund["stamps"] == 2
    assert _balances(db, member) == (2, 0, 2)
    with pytest.raises(Conflict) as err:
        cafe.redeem(second["code"], when=at("2026-06-09"))
    assert err.value.code == "voucher_void"


def test_stamp_debt_is_paid_by_the_next_stamps_first(db, cafe):
    # The settlement helper the counter's earning path calls (kanta.pay_stamp_debt): the next
    # stamps pay the debt before any lands on the card.
    _, member = cafe.customer("a@example.com")
    bought = [cafe.buy(member, 450, when=at(f"2026-06-0{i + 1}")) for i in range(3)]
    cafe.redeem(bought[2]["vouchers_issued"][0]["code"], when=at("2026-06-03", "12:10"))
    cafe.refund(bought[2]["purchase_id"], when=at("2026-06-03", "12:20"))
    with psycopg.connect(db.admin) as conn:
        assert conn.execute("select kanta.pay_stamp_debt(%s, 2)", (member,)).fetchone()[0] == 1
        assert conn.execute("select stamp_debt from kanta.members where id = %s", (member,)).fetchone()[0] == 0
        assert conn.execute("select kanta.pay_stamp_debt(%s, 2)", (member,)).fetchone()[0] == 2


def test_a_purchase_pays_the_stamp_debt_before_its_stamps_reach_the_card(db, cafe):
    phone, member = cafe.customer("a@example.com")
    bought = [cafe.buy(member, 450, when=at(f"2026-06-0{i + 1}")) for i in range(3)]
    cafe.redeem(bought[2]["vouchers_issued"][0]["code"], when=at("2026-06-03", "12:10"))
    cafe.refund(bought[2]["purchase_id"], when=at("2026-06-03", "12:20"))
    assert _balances(db, member) == (0, 1, 0)
    paying = cafe.buy(member, 450, when=at("2026-06-04"))
    assert (paying["stamps_added"], paying["stamp_debt_paid"], paying["stamp_debt"], paying["stamps"]) == (1, 1, 0, 0)
    assert _balances(db, member) == (0, 0, 0)
    after = cafe.buy(member, 450, when=at("2026-06-05"))
    assert (after["stamp_debt_paid"], after["stamps"]) == (0, 1)
    assert phone.rpc("my_card", {"p_member_id": member})["stamp_debt"] == 0


# ---- the referrer's reward -----------------------------------------------------------------------


def _referred(cafe, users):
    aino, aino_member = cafe.customer("aino@example.com", "Aino")
    code = aino.rpc("my_card", {"p_member_id": aino_member})["referral"]["code"]
    ben = users("ben@example.com")
    joined = ben.rpc("join_business", {"p_slug": "cafe-aroma", "p_display_name": "Ben", "p_referral_code": code})
    return aino, aino_member, joined["member_id"]


def _referral(db, referee):
    with psycopg.connect(db.admin) as conn:
        return conn.execute(
            "select r.status, v.status, x.reward_used from kanta.referrals r"
            " left join kanta.vouchers v on v.id = r.voucher_id"
            " left join kanta.referral_reversals x on x.referral_id = r.id where r.referee_member_id = %s",
            (referee,),
        ).fetchone()


def test_refunding_the_referees_qualifying_purchase_voids_the_unused_reward(db, users, cafe):
    aino, aino_member, ben = _referred(cafe, users)
    first = cafe.buy(ben, 650, when=at("2026-06-02", "09:00"))
    code = first["referral_completed"]["voucher_code"]
    refund = cafe.refund(first["purchase_id"], when=at("2026-06-02", "09:30"))
    assert refund["referral_reversed"] == {"voucher_code": code, "voided": True}
    assert _referral(db, ben) == ("rewarded", "void", False)
    with pytest.raises(Conflict) as err:
        cafe.redeem(code, when=at("2026-06-02", "10:00"))
    assert err.value.code == "voucher_void"
    with cafe.clock(at("2026-06-02", "10:00"), aino):
        assert aino.rpc("my_card", {"p_member_id": aino_member})["vouchers"] == []
    # Reversed for good: Ben's next purchase does not reward Aino a second time.
    again = cafe.buy(ben, 900, when=at("2026-06-03", "09:00"))
    assert "referral_completed" not in again
    with psycopg.connect(db.admin) as conn:
        assert conn.execute("select count(*) from kanta.vouchers where kind = 'referral'").fetchone()[0] == 1


def test_a_used_referral_reward_is_recorded_not_taken_below_zero(db, users, cafe):
    _, _, ben = _referred(cafe, users)
    first = cafe.buy(ben, 650, when=at("2026-06-02", "09:00"))
    code = first["referral_completed"]["voucher_code"]
    cafe.redeem(code, when=at("2026-06-02", "09:10"))
    refund = cafe.refund(first["purchase_id"], when=at("2026-06-02", "09:30"))
    assert refund["referral_reversed"] == {"voucher_code": code, "voided": False}
    assert _referral(db, ben) == ("rewarded", "redeemed", True)
    log = cafe.owner.rpc("audit_log", {"p_business_id": cafe.id})["entries"]
    [entry] = [e for e in log if e["action"] == "referral_reversed"]
    assert entry["detail"]["reward_used"] is True


def test_refunding_another_purchase_of_the_referee_leaves_the_reward(db, users, cafe):
    _, _, ben = _referred(cafe, users)
    first = cafe.buy(ben, 650, when=at("2026-06-02", "09:00"))
    second = cafe.buy(ben, 700, when=at("2026-06-03", "09:00"))
    refund = cafe.refund(second["purchase_id"], when=at("2026-06-03", "09:30"))
    assert "referral_reversed" not in refund
    assert _referral(db, ben) == ("rewarded", "active", None)
    assert first["referral_completed"]["voucher_code"]


# ---- no stamp is lost or made up, whatever the order ---------------------------------------------

_operation = st.one_of(
    st.tuples(st.just("buy"), st.integers(0, 10)),
    st.tuples(st.just("redeem"), st.integers(0, 10)),
    st.tuples(st.just("refund"), st.integers(0, 10)),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(_operation, min_size=1, max_size=14))
def test_the_stamps_of_live_purchases_are_the_card_the_vouchers_less_the_debt(db, cafe, ops):
    """Every stamp a purchase still standing gave is on the card or in a card voucher not voided,
    less the stamp debt: refunds move stamps between the three and never make or lose one."""
    _, member = cafe.customer(f"{uuid.uuid4().hex}@example.com")
    now = at("2026-06-01", "08:00")
    purchases, vouchers = [], []
    for kind, n in ops:
        now += dt.timedelta(minutes=30)
        try:
            if kind == "buy":
                r = cafe.buy(member, 450, when=now)
                purchases.append(r["purchase_id"])
                vouchers += [v["code"] for v in r["vouchers_issued"]]
            elif kind == "redeem" and vouchers:
                cafe.redeem(vouchers[n % len(vouchers)], when=now)
            elif kind == "refund" and purchases:
                cafe.refund(purchases[n % len(purchases)], when=now)
        except Conflict as exc:
            assert exc.code in {"voucher_already_redeemed", "voucher_void", "already_refunded"}, exc.code
        with psycopg.connect(db.admin) as conn:
            live, card, in_vouchers, debt, ledger = conn.execute(
                "select (select coalesce(sum(stamps), 0) from kanta.purchases where member_id = m.id"
                "        and refunded_at is null),"
                " m.stamps,"
                " 3 * (select count(*) from kanta.vouchers v where v.member_id = m.id and v.kind = 'stamp_card'"
                "      and v.status <> 'void'),"
                " m.stamp_debt,"
                " (select coalesce(sum(stamps), 0) from kanta.ledger l where l.member_id = m.id)"
                " from kanta.members m where m.id = %s",
                (member,),
            ).fetchone()
        assert live == card + in_vouchers - debt
        assert card == ledger and 0 <= card < 3 and debt >= 0
