"""The owner runs the café from the back office (80_owner.sql): the staff list, a member search at
the counter, a reward granted by hand, a win-back message, and an audit log that lists the
counter's operations by who made them."""

from __future__ import annotations

import pytest

from shared.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.engine import Cafe, at, key

pytestmark = pytest.mark.program(stamps_per_card=3, stamp_cooldown_minutes=0, max_purchases_per_day=50)


def test_staff_list_and_removal(cafe, users):
    staff = cafe.owner.rpc("staff_list", {"p_business_id": cafe.id})
    assert [(s["email"], s["role"], s["me"]) for s in staff] == [
        ("owner@cafe-aroma.example", "owner", True),
        ("barista@cafe-aroma.example", "staff", False),
    ]
    with pytest.raises(PermissionDenied):
        cafe.staff.rpc("staff_list", {"p_business_id": cafe.id})
    with pytest.raises(Conflict) as err:
        cafe.owner.rpc("remove_staff", {"p_business_id": cafe.id, "p_user_id": cafe.owner.user.id})
    assert err.value.code == "cannot_remove_self"

    barista = staff[1]["user_id"]
    cafe.owner.rpc("remove_staff", {"p_business_id": cafe.id, "p_user_id": barista})
    with pytest.raises(NotFound) as err:
        cafe.owner.rpc("remove_staff", {"p_business_id": cafe.id, "p_user_id": barista})
    assert err.value.code == "staff_not_found"
    # The removed barista can no longer record a purchase.
    _, member = cafe.customer("aino@example.com", "Aino")
    with pytest.raises(PermissionDenied):
        cafe.buy(member, 500)
    log = cafe.owner.rpc("audit_log", {"p_business_id": cafe.id})["entries"]
    assert [e["target"] for e in log if e["action"] == "staff_removed"] == [barista]


def test_search_by_name_email_or_number(cafe):
    phone, aino = cafe.customer("aino.virtanen@example.com", "Aino Virtanen")
    cafe.customer("bertta@example.com", "Bertta 100%")
    number = phone.rpc("my_card", {"p_member_id": aino})["member_number"]

    def found(query):
        return [
            m["display_name"] for m in cafe.staff.rpc("search_members", {"p_business_id": cafe.id, "p_query": query})
        ]

    assert found("virt") == ["Aino Virtanen"]
    assert found("AINO.V") == ["Aino Virtanen"]  # e-mail, any case
    assert found(number[:5]) == ["Aino Virtanen"]
    assert found("100%") == ["Bertta 100%"]  # % is a character here, not a wildcard
    assert found("0%0") == []
    with pytest.raises(InvalidInput) as err:
        found("ai")
    assert err.value.code == "search_too_short"
    other = Cafe(cafe.users, slug="cafe-b", name="Café B")
    with pytest.raises(PermissionDenied):
        other.staff.rpc("search_members", {"p_business_id": cafe.id, "p_query": "virt"})


def test_grant_reward_is_a_voucher_once_per_key(cafe):
    phone, member = cafe.customer("aino@example.com")
    k = key()
    params = {"p_business_id": cafe.id, "p_member_id": member, "p_title": "Anteeksi: pulla", "p_idempotency_key": k}
    first = cafe.owner.rpc("grant_reward", params)
    assert cafe.owner.rpc("grant_reward", params) == first  # a retry writes nothing
    vouchers = phone.rpc("my_card", {"p_member_id": member})["vouchers"]
    assert [(v["title"], v["code"]) for v in vouchers] == [("Anteeksi: pulla", first["code"])]
    with pytest.raises(PermissionDenied):
        cafe.staff.rpc("grant_reward", {**params, "p_idempotency_key": key()})
    with pytest.raises(InvalidInput):
        cafe.owner.rpc("grant_reward", {**params, "p_title": " ", "p_idempotency_key": key()})


def test_win_back_needs_consent_and_is_sent_once_in_60_days(cafe):
    phone, member = cafe.customer("aino@example.com", "Aino", when=at("2026-01-01"))
    for day in ("2026-01-02", "2026-01-05", "2026-01-08"):
        cafe.buy(member, 500, when=at(day))
    args = {"p_business_id": cafe.id, "p_member_id": member}
    with cafe.clock(at("2026-03-01")):
        with pytest.raises(Conflict) as err:
            cafe.owner.rpc("send_win_back", args)
        assert err.value.code == "no_marketing_consent"
        phone.rpc("update_my_profile", {"p_member_id": member, "p_changes": {"marketing_consent": True}})
        [risky] = cafe.owner.rpc("churn_risk", {"p_business_id": cafe.id})["members"]
        assert risky["win_back_sent"] is False
        assert cafe.owner.rpc("send_win_back", args)["sent"] is True
        assert cafe.owner.rpc("churn_risk", {"p_business_id": cafe.id})["members"][0]["win_back_sent"] is True
        with pytest.raises(Conflict) as err:
            cafe.owner.rpc("send_win_back", args)
        assert err.value.code == "win_back_recently_sent"
    kinds = [m["kind"] for m in phone.rpc("my_inbox", {"p_member_id": member})["messages"]]
    assert kinds.count("win_back") == 1


def test_audit_log_lists_the_counters_operations_and_pages_without_gaps(cafe):
    _, member = cafe.customer("aino@example.com", "Aino")
    bought = [cafe.buy(member, 400 + i) for i in range(3)]
    code = bought[-1]["vouchers_issued"][0]["code"]
    cafe.redeem(code)
    cafe.refund(bought[0]["purchase_id"])
    cafe.owner.rpc("update_program", {"p_business_id": cafe.id, "p_settings": {"stamp_reward": "Latte"}})

    entries, cursor = [], None
    while True:
        page = cafe.owner.rpc("audit_log", {"p_business_id": cafe.id, "p_before": cursor, "p_limit": 2})
        entries += page["entries"]
        cursor = page["next_before"]
        if cursor is None:
            break
    actions = [e["action"] for e in entries]
    assert actions == [
        "program_updated",
        "purchase_refunded",
        "redeem_voucher",
        "record_purchase",
        "record_purchase",
        "record_purchase",
        "program_updated",  # the fixture's settings
    ]
    assert len({e["cursor"] for e in entries}) == len(entries)
    by_action = {e["action"]: e for e in entries}
    assert by_action["redeem_voucher"]["actor_email"] == "barista@cafe-aroma.example"
    assert by_action["redeem_voucher"]["detail"]["code"] == code
    assert [e["detail"]["amount_cents"] for e in entries if e["action"] == "record_purchase"] == [402, 401, 400]
    with pytest.raises(InvalidInput) as err:
        cafe.owner.rpc("audit_log", {"p_business_id": cafe.id, "p_before": "yesterday"})
    assert err.value.code == "invalid_cursor"


# ---- per-staff figures (issue 15) ----------------------------------------------------------------


def _staff(cafe, users, name):
    t = users(f"{name}@cafe-aroma.example")
    cafe.owner.rpc("add_staff", {"p_business_id": cafe.id, "p_email": f"{name}@cafe-aroma.example"})
    return t


def _figures(board):
    return {
        s["email"]: (s["purchases"], s["overrides"], s["refunds"], s["grants"], s["redemptions"], s["flags"])
        for s in board["staff"]["members"]
    }


@pytest.mark.program(stamps_per_card=3, stamp_cooldown_minutes=0, max_purchases_per_day=2)
def test_the_dashboard_shows_each_staff_members_figures_and_flags_the_unusual(cafe, users):
    mia, leo = _staff(cafe, users, "mia"), _staff(cafe, users, "leo")
    _, aino = cafe.customer("aino@example.com", "Aino")
    _, ben = cafe.customer("ben@example.com", "Ben")
    # The barista: 4 purchases, all refunded, and the free coffee of a full card redeemed.
    days = ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    bought = [cafe.buy(aino, 500, when=at(d)) for d in days[:3]] + [cafe.buy(ben, 500, when=at(days[3]))]
    cafe.redeem(bought[2]["vouchers_issued"][0]["code"], when=at("2026-03-04", "12:05"))
    for b, d in zip(bought, days, strict=True):
        cafe.refund(b["purchase_id"], when=at(d, "13:00"))
    # Mia: 2 purchases, one refunded. Leo: 2 purchases. The owner: a third purchase in Ben's day
    # (an override of the 2-a-day limit) and a granted reward.
    mine = [cafe.buy(ben, 700, when=at("2026-03-10", t), by=mia) for t in ("09:00", "10:00")]
    cafe.refund(mine[0]["purchase_id"], when=at("2026-03-10", "11:00"), by=mia)
    for t in ("09:00", "10:00"):
        cafe.buy(aino, 300, when=at("2026-03-11", t), by=leo)
    cafe.buy(aino, 300, when=at("2026-03-11", "11:00"), by=cafe.owner, override=True)
    with cafe.clock(at("2026-03-12")):
        cafe.owner.rpc(
            "grant_reward",
            {"p_business_id": cafe.id, "p_member_id": ben, "p_title": "Sorry", "p_idempotency_key": key()},
        )
    # Outside the period: not counted.
    cafe.buy(ben, 500, when=at("2026-04-02"))

    period = {"p_business_id": cafe.id, "p_from": "2026-03-01", "p_to": "2026-04-01"}
    board = cafe.owner.rpc("owner_dashboard", period)
    # (purchases, overrides, refunds, grants, redemptions, flags). Refunds per staff member are
    # 4, 1, 0, 0: the median is 0.5, and 4 >= 3 x 0.5 (and at least 3) is unusual.
    assert _figures(board) == {
        "barista@cafe-aroma.example": (4, 0, 4, 0, 1, ["refunds"]),
        "leo@cafe-aroma.example": (2, 0, 0, 0, 0, []),
        "mia@cafe-aroma.example": (2, 0, 1, 0, 0, []),
        "owner@cafe-aroma.example": (1, 1, 0, 1, 0, []),
    }
    assert board["staff"]["median"]["refunds"] == 0.5
    assert board["staff"]["flag_factor"] == 3
    with pytest.raises(PermissionDenied):
        cafe.staff.rpc("owner_dashboard", period)
