"""Issue 15: the wallet card shows what refunds left owed (points and stamps), in both languages."""

from __future__ import annotations

import flet as ft
import pytest

from tests.engine import at, key

PASSWORD = "correct horse battery"

pytestmark = pytest.mark.program(
    stamps_per_card=3,
    stamp_cooldown_minutes=0,
    max_purchases_per_day=50,
    rewards=[{"name": "Cookie", "cost_points": 10}],
)


def _open_card(screen):
    screen.sign_in("aino@example.com", PASSWORD)
    [tile] = screen.find(lambda c: isinstance(c, ft.Semantics) and (c.identifier or "").startswith("card-"))
    screen.fire(tile.content.content, "click")


@pytest.mark.parametrize(
    ("lang", "points", "stamps"),
    [
        (
            "fi",
            "Palautuksesta jäi 5 pisteen velka: seuraavat pisteesi maksavat sen ensin.",
            "Palautuksesta jäi 2 leiman velka: seuraavat leimasi maksavat sen ensin.",
        ),
        (
            "en",
            "A refund left 5 points owed: your next points pay it first.",
            "A refund left 2 stamps owed: your next stamps pay them first.",
        ),
    ],
)
def test_the_card_shows_points_and_stamp_debt_in_both_languages(screens, cafe, lang, points, stamps):
    phone, member = cafe.customer("aino@example.com", "Aino")
    cookie = phone.rpc("my_card", {"p_member_id": member})["rewards"][0]
    bought = [cafe.buy(member, 500, when=at(f"2026-06-0{i + 1}")) for i in range(3)]  # 15 points, a full card
    cafe.redeem(bought[2]["vouchers_issued"][0]["code"], when=at("2026-06-03", "12:05"))
    cafe.staff.rpc(
        "redeem_reward",
        {"p_business_id": cafe.id, "p_member_id": member, "p_reward_id": cookie["id"], "p_idempotency_key": key()},
    )  # 5 points left
    cafe.refund(bought[2]["purchase_id"], when=at("2026-06-03", "12:30"))  # 5 clawed back, 0 owed; 1 stamp owed
    cafe.refund(bought[1]["purchase_id"], when=at("2026-06-03", "12:40"))  # 5 points owed; 2 stamps owed
    screen = screens()
    screen.fire(screen.by_id("language"), "change", patch={"selected": [lang]})
    _open_card(screen)
    assert (screen.by_id("points_debt").value, screen.by_id("stamp_debt").value) == (points, stamps)


def test_no_debt_line_without_debt(screens, cafe):
    _, member = cafe.customer("aino@example.com", "Aino")
    cafe.buy(member, 500)
    screen = screens()
    _open_card(screen)
    assert not screen.has("points_debt") and not screen.has("stamp_debt")
