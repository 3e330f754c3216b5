"""The member's card (32_card.sql): my_history pages by keyset."""

import pytest

from tests.engine import at

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
