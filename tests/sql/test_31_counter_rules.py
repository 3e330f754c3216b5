"""Issue 15 at the counter (31_counter.sql, 30_ledger.sql): a key binds one request, the cooldown withholds the
stamp (not the purchase), large amounts are confirmed, debt is paid from the next earnings, no own card."""

import psycopg
import pytest

from shared.errors import Conflict, InvalidInput, PermissionDenied
from shared.i18n import t
from tests.engine import at, key, ledger_rows

pytestmark = pytest.mark.program(stamps_per_card=5, rewards=[{"name": "Cookie", "cost_points": 10}])


def _buy(cafe, member, cents, k, *, by=None, **extra):
    by = by or cafe.staff
    params = {"p_business_id": cafe.id, "p_member_id": member, "p_amount_cents": cents, "p_idempotency_key": k}
    return by.rpc("record_purchase", params | extra)


def _audit(cafe, action):
    return [e for e in cafe.owner.rpc("audit_log", {"p_business_id": cafe.id})["entries"] if e["action"] == action]


# ---- §1 an idempotency key binds one request --------------------------------------------------------


def test_the_same_key_with_another_amount_is_a_conflict_and_writes_nothing(db, cafe):
    _, member = cafe.customer("a@example.com")
    k = key()
    first = _buy(cafe, member, 500, k)
    rows = ledger_rows(db)
    assert _buy(cafe, member, 500, k) == first  # the same request: the first answer
    with pytest.raises(Conflict) as err:
        _buy(cafe, member, 900, k)
    assert err.value.code == "idempotency_key_reused"
    assert ledger_rows(db) == rows


def test_the_same_key_for_another_member_or_a_sale_without_member_is_a_conflict(cafe):
    _, aino = cafe.customer("a@example.com")
    _, bertta = cafe.customer("b@example.com")
    k = key()
    _buy(cafe, aino, 500, k)
    for other in (bertta, None):
        with pytest.raises(Conflict) as err:
            _buy(cafe, other, 500, k)
        assert err.value.code == "idempotency_key_reused"


def test_a_refund_or_a_grant_reusing_a_purchases_key_is_refused_and_refunds_nothing(db, cafe):
    _, member = cafe.customer("a@example.com")
    k = key()
    bought = _buy(cafe, member, 500, k)
    with pytest.raises(Conflict) as err:
        cafe.owner.rpc(
            "refund_purchase",
            {"p_business_id": cafe.id, "p_purchase_id": bought["purchase_id"], "p_idempotency_key": k},
        )
    assert err.value.code == "idempotency_key_reused"
    with pytest.raises(Conflict) as err:
        cafe.owner.rpc(
            "grant_reward",
            {"p_business_id": cafe.id, "p_member_id": member, "p_title": "Sorry", "p_idempotency_key": k},
        )
    assert err.value.code == "idempotency_key_reused"
    with psycopg.connect(db.admin) as conn:
        assert conn.execute("select refunded_at from kanta.purchases").fetchone() == (None,)
    # A refund's own key, reused for the refund of another purchase, is a conflict too.
    other = cafe.buy(member, 500, when=at("2026-06-02", "09:00"))
    r = key()
    cafe.staff.rpc(
        "refund_purchase", {"p_business_id": cafe.id, "p_purchase_id": bought["purchase_id"], "p_idempotency_key": r}
    )
    with pytest.raises(Conflict) as err:
        cafe.staff.rpc(
            "refund_purchase", {"p_business_id": cafe.id, "p_purchase_id": other["purchase_id"], "p_idempotency_key": r}
        )
    assert err.value.code == "idempotency_key_reused"


def test_the_conflict_is_translated():
    assert "käytetty" in t("idempotency_key_reused", "fi")
    assert "already used" in t("idempotency_key_reused", "en")


# ---- §2 the cooldown withholds the stamp, not the purchase ------------------------------------------


def test_a_second_purchase_inside_the_cooldown_earns_points_and_no_stamp(db, cafe):
    _, member = cafe.customer("a@example.com")
    first = cafe.buy(member, 450, when=at("2026-06-01", "09:00"))
    assert first["stamps_added"] == 1 and first["stamp_withheld"] is None
    second = cafe.buy(member, 300, when=at("2026-06-01", "09:09"))
    assert second["stamps_added"] == 0 and second["stamp_withheld"] == "cooldown"
    assert second["points_added"] == 3 and second["points"] == 7 and second["stamps"] == 1
    assert second["override"] == []
    # The owner's override does not bring the stamp back: at most one stamp per cooldown.
    third = cafe.buy(member, 300, when=at("2026-06-01", "09:09:30"), by=cafe.owner, override=True)
    assert third["stamps_added"] == 0 and third["stamp_withheld"] == "cooldown"
    assert cafe.buy(member, 300, when=at("2026-06-01", "09:20"))["stamps_added"] == 1
    with psycopg.connect(db.admin) as conn:
        stamps = conn.execute("select count(*) from kanta.ledger where kind = 'stamp'").fetchone()[0]
    assert stamps == 2


def test_a_stamp_written_just_after_this_purchases_moment_still_withholds_its_stamp(cafe):
    """The lost update of the race, made deterministic: a purchase whose clock reads 09:00 comes second,
    after one stamped at 09:01 (its transaction began later but committed first)."""
    _, member = cafe.customer("a@example.com")
    assert cafe.buy(member, 450, when=at("2026-06-01", "09:01"))["stamps_added"] == 1
    late = cafe.buy(member, 450, when=at("2026-06-01", "09:00"))
    assert late["stamps_added"] == 0 and late["stamp_withheld"] == "cooldown"


def test_the_daily_cap_still_refuses_and_the_owner_may_override(cafe):
    _, member = cafe.customer("a@example.com")
    for hour in ("08", "10", "12", "14", "16"):
        cafe.buy(member, 450, when=at("2026-06-01", f"{hour}:00"))
    with pytest.raises(Conflict) as err:
        cafe.buy(member, 450, when=at("2026-06-01", "18:00"))
    assert err.value.code == "velocity_limit"
    done = cafe.buy(member, 450, when=at("2026-06-01", "18:00"), by=cafe.owner, override=True)
    assert done["override"] == ["max_purchases_per_day"] and done["stamps_added"] == 1
    assert _audit(cafe, "velocity_override")[0]["detail"]["rules"] == ["max_purchases_per_day"]


def test_the_counter_says_points_but_no_stamp_in_both_languages():
    assert "ei leimaa" in t("result_stamp_withheld", "fi")
    assert "no stamp" in t("result_stamp_withheld", "en")


# ---- §2 large amounts need a confirmation -----------------------------------------------------------


def test_an_amount_above_the_owners_limit_needs_a_confirmation(db, cafe):
    _, member = cafe.customer("a@example.com")
    assert cafe.owner.rpc("get_program", {"p_business_id": cafe.id})["confirm_above_cents"] == 20000
    assert _buy(cafe, member, 20000, key())["amount_cents"] == 20000  # up to the limit: no question
    rows = ledger_rows(db)
    k = key()
    with pytest.raises(PermissionDenied) as err:
        _buy(cafe, member, 20001, k)
    assert err.value.code == "large_amount_needs_confirmation"
    with pytest.raises(PermissionDenied):  # a sale without a member too
        _buy(cafe, None, 25000, key())
    assert ledger_rows(db) == rows
    done = _buy(cafe, member, 20001, k, p_confirm_large=True)  # the counter asks, then resends
    assert done["amount_cents"] == 20001
    with pytest.raises(InvalidInput) as err:  # the hard maximum stays
        _buy(cafe, member, 100000001, key(), p_confirm_large=True)
    assert err.value.code == "invalid_amount"
    assert t("large_amount_needs_confirmation", "fi") and t("large_amount_needs_confirmation", "en")


def test_the_owner_sets_the_limit_and_it_is_validated(cafe):
    _, member = cafe.customer("a@example.com")
    cafe.owner.rpc("update_program", {"p_business_id": cafe.id, "p_settings": {"confirm_above_cents": 5000}})
    with pytest.raises(PermissionDenied):
        _buy(cafe, member, 5001, key())
    for bad in (0, -1, 100000001):
        with pytest.raises(InvalidInput) as err:
            cafe.owner.rpc("update_program", {"p_business_id": cafe.id, "p_settings": {"confirm_above_cents": bad}})
        assert err.value.code == "setting_out_of_range"


# ---- §4 points debt is paid from the next earnings first --------------------------------------------


def _member_row(db, member):
    with psycopg.connect(db.admin) as conn:
        return conn.execute(
            "select m.points, m.points_debt, (select coalesce(sum(points), 0) from kanta.ledger where member_id = m.id)"
            " from kanta.members m where m.id = %s",
            (member,),
        ).fetchone()


def test_points_debt_is_paid_from_the_next_earnings_first(db, cafe):
    phone, member = cafe.customer("a@example.com")
    bought = cafe.buy(member, 1000, when=at("2026-06-01", "09:00"))  # 10 points
    cafe.staff.rpc(
        "redeem_reward",
        {
            "p_business_id": cafe.id,
            "p_member_id": member,
            "p_reward_id": cafe.owner.rpc("get_program", {"p_business_id": cafe.id})["rewards"][0]["id"],
            "p_idempotency_key": key(),
        },
    )
    cafe.refund(bought["purchase_id"], when=at("2026-06-01", "10:00"))
    assert _member_row(db, member) == (0, 10, 0)
    assert phone.rpc("my_card", {"p_member_id": member})["points_debt"] == 10  # the card shows it

    small = cafe.buy(member, 600, when=at("2026-06-02", "09:00"))  # 6 points, all to the debt
    assert (small["points_added"], small["points_debt_paid"], small["points"], small["points_debt"]) == (6, 6, 0, 4)
    assert _member_row(db, member) == (0, 4, 0)
    more = cafe.buy(member, 1000, when=at("2026-06-03", "09:00"))  # 10 points: 4 to the debt, 6 kept
    assert (more["points_added"], more["points_debt_paid"], more["points"], more["points_debt"]) == (10, 4, 6, 0)
    assert _member_row(db, member) == (6, 0, 6)
    assert phone.rpc("my_card", {"p_member_id": member})["points_debt"] == 0
    clear = cafe.buy(member, 1000, when=at("2026-06-04", "09:00"))
    assert (clear["points_debt_paid"], clear["points"]) == (0, 16)
    with psycopg.connect(db.admin) as conn:
        notes = conn.execute("select points, note from kanta.ledger where kind = 'adjustment' order by id").fetchall()
    assert [p for p, _ in notes] == [-6, -4]
    # The tier still counts what was earned: the purchase keeps its points.
    with psycopg.connect(db.admin) as conn:
        assert conn.execute("select points from kanta.purchases where id = %s", (small["purchase_id"],)).fetchone() == (
            6,
        )


# ---- §5 staff cannot stamp their own card -----------------------------------------------------------


def test_a_barista_cannot_record_on_or_redeem_from_their_own_card(db, cafe):
    own = cafe.staff.rpc("join_business", {"p_slug": cafe.business["slug"]})["member_id"]
    rows = ledger_rows(db)
    with pytest.raises(PermissionDenied) as err:
        cafe.buy(own, 450)
    assert err.value.code == "own_card"
    with pytest.raises(PermissionDenied) as err:  # and cannot override it
        cafe.buy(own, 450, override=True)
    assert err.value.code == "owner_only"
    assert ledger_rows(db) == rows
    # The owner can serve the barista.
    served = cafe.buy(own, 450, by=cafe.owner, when=at("2026-06-01", "09:00"))
    assert served["override"] == []
    code = cafe.owner.rpc(
        "grant_reward", {"p_business_id": cafe.id, "p_member_id": own, "p_title": "Thanks", "p_idempotency_key": key()}
    )["code"]
    with pytest.raises(PermissionDenied) as err:
        cafe.redeem(code)
    assert err.value.code == "own_card"
    cafe.redeem(code, by=cafe.owner)
    cafe.buy(own, 1000, by=cafe.owner, when=at("2026-06-02", "09:00"))
    reward_id = cafe.owner.rpc("get_program", {"p_business_id": cafe.id})["rewards"][0]["id"]
    params = {"p_business_id": cafe.id, "p_member_id": own, "p_reward_id": reward_id}
    with pytest.raises(PermissionDenied) as err:
        cafe.staff.rpc("redeem_reward", params | {"p_idempotency_key": key()})
    assert err.value.code == "own_card"
    cafe.owner.rpc("redeem_reward", params | {"p_idempotency_key": key()})
    assert _audit(cafe, "own_card_override") == []


def test_the_owner_needs_their_own_override_on_their_own_card_and_it_is_audited(cafe):
    own = cafe.owner.rpc("join_business", {"p_slug": cafe.business["slug"]})["member_id"]
    with pytest.raises(PermissionDenied) as err:
        cafe.buy(own, 450, by=cafe.owner)
    assert err.value.code == "own_card"
    done = cafe.buy(own, 1000, by=cafe.owner, override=True, when=at("2026-06-01", "09:00"))
    assert done["override"] == ["own_card"]
    code = cafe.owner.rpc(
        "grant_reward", {"p_business_id": cafe.id, "p_member_id": own, "p_title": "Mine", "p_idempotency_key": key()}
    )["code"]
    with pytest.raises(PermissionDenied):
        cafe.owner.rpc("redeem_voucher", {"p_business_id": cafe.id, "p_code": code, "p_idempotency_key": key()})
    cafe.owner.rpc(
        "redeem_voucher", {"p_business_id": cafe.id, "p_code": code, "p_idempotency_key": key(), "p_override": True}
    )
    reward_id = cafe.owner.rpc("get_program", {"p_business_id": cafe.id})["rewards"][0]["id"]
    params = {"p_business_id": cafe.id, "p_member_id": own, "p_reward_id": reward_id, "p_idempotency_key": key()}
    with pytest.raises(PermissionDenied):
        cafe.owner.rpc("redeem_reward", params)
    cafe.owner.rpc("redeem_reward", params | {"p_override": True})
    audited = _audit(cafe, "own_card_override")
    assert sorted(e["detail"]["operation"] for e in audited) == ["record_purchase", "redeem_reward", "redeem_voucher"]
    assert all(e["actor_email"] == "owner@cafe-aroma.example" for e in audited)
    assert t("own_card", "fi") and t("own_card", "en")
