"""The member's card (32_card.sql): my_history pages by keyset."""

import pytest

from tests.engine import at, key

pytestmark = pytest.mark.program(stamps_per_card=5, rewards=[{"name": "Cookie", "cost_points": 10}])


def test_history_pages_by_keyset(cafe):
    phone, member = cafe.customer("a@example.com")
    for i in range(7):
        cafe.buy(member, 450, when=at(f"2026-06-0{i + 1}"))
    seen, before = [], None
    while True:
        page = phone.rpc("my_history", {"p_member_id": member, "p_before": before, "p_limit": 4})
        seen += [e["id"] for e in page["entries"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen))
    # 7 stamps + 7 point entries + 1 voucher issued (5-stamp card)
    assert len(seen) == 15


def test_my_card_shows_the_points_debt(db, cafe):
    phone, member = cafe.customer("a@example.com")
    assert phone.rpc("my_card", {"p_member_id": member})["points_debt"] == 0
    cookie = phone.rpc("my_card", {"p_member_id": member})["rewards"][0]
    big = cafe.buy(member, 2500, when=at("2026-06-01", "09:00"))  # 25 points
    for _ in range(2):  # 25 - 10 - 10 = 5 left
        cafe.staff.rpc(
            "redeem_reward",
            {"p_business_id": cafe.id, "p_member_id": member, "p_reward_id": cookie["id"], "p_idempotency_key": key()},
        )
    cafe.refund(big["purchase_id"], when=at("2026-06-01", "09:30"))  # 5 clawed back, 20 owed
    card = phone.rpc("my_card", {"p_member_id": member})
    assert (card["points"], card["points_debt"], card["stamp_debt"]) == (0, 20, 0)
