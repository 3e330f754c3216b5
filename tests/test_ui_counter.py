"""The counter in a fake flet session, against the real API: identify, record, undo, redeem, a sale
without a member, and the owner's tools hidden from staff."""

from __future__ import annotations

import pytest

from mobile.models import parse_amount
from tests.engine import Cafe
from tests.ui_session import FakeSession

PASSWORD = "correct horse battery"


@pytest.fixture
def cafe(users):
    return Cafe(users, settings={"stamps_per_card": 3, "stamp_cooldown_minutes": 0, "max_purchases_per_day": 50})


@pytest.fixture
def counter(screens, cafe):
    def open_(email: str = "barista@cafe-aroma.example") -> FakeSession:
        screen = screens(width=1280, height=800)
        screen.sign_in(email, PASSWORD)
        return screen

    return open_


def submit(screen: FakeSession, identifier: str, value: str) -> None:
    """What a keyboard-wedge scanner (or a typist) does: the text, then Enter."""
    field = screen.by_id(identifier)
    screen.fire(field, "change", value, patch={"value": value})
    screen.fire(field, "submit", value)


def test_scan_amount_confirm_is_three_interactions(counter, cafe):
    phone, member = cafe.customer("aino@example.com", "Aino")
    screen = counter()
    assert screen.page.data.screen == "counter"
    token = phone.rpc("member_qr_token", {"p_member_id": member})["token"]
    submit(screen, "counter-code", token)  # 1: the scan (the scanner types the code and Enter)
    assert screen.by_id("panel-stamps").value == "0/3 leimaa"
    screen.type("counter-amount", "12,50")  # 2: the amount
    screen.fire(screen.by_id("counter-amount"), "submit", "12,50")  # 3: Enter confirms
    lines = [c.content.value for c in screen.find(lambda c: getattr(c, "identifier", None) == "result-line")]
    assert lines == ["+1 leima (1/3)", "+12 pistettä (12 yhteensä)"]
    assert screen.by_id("panel-stamps").value == "1/3 leimaa"
    card = phone.rpc("my_card", {"p_member_id": member})
    assert (card["stamps"], card["points"]) == (1, 12)


def test_undo_refunds_the_purchase(counter, cafe):
    phone, member = cafe.customer("aino@example.com", "Aino")
    number = phone.rpc("my_card", {"p_member_id": member})["member_number"]
    screen = counter()
    submit(screen, "counter-code", number)
    screen.type("counter-amount", "4,20")
    screen.click("record")
    assert phone.rpc("my_card", {"p_member_id": member})["points"] == 4
    screen.click("undo")
    card = phone.rpc("my_card", {"p_member_id": member})
    assert (card["stamps"], card["points"]) == (0, 0)
    assert screen.by_id("panel-stamps").value == "0/3 leimaa"
    assert not screen.has("undo")


def test_a_full_card_is_redeemed_by_scanning_its_voucher(counter, cafe):
    phone, member = cafe.customer("aino@example.com", "Aino")
    for _ in range(3):
        cafe.buy(member, 300)
    code = phone.rpc("my_card", {"p_member_id": member})["vouchers"][0]["code"]
    screen = counter()
    submit(screen, "counter-code", code)
    screen.click(f"redeem-{code}")
    assert "Lunastettu: Free coffee" in screen.page.data.notice
    assert phone.rpc("my_card", {"p_member_id": member})["vouchers"] == []
    assert not screen.has(f"redeem-{code}")


def test_sale_without_member_and_a_bad_amount(counter, cafe):
    screen = counter()
    screen.type("counter-amount", "abc")
    screen.click("no-member")
    assert screen.page.data.notice == "Anna summa, esim. 12,50."
    screen.type("counter-amount", "8,00")
    screen.click("record")
    assert screen.page.data.notice == "Skannaa ensin asiakas."
    screen.click("no-member")
    kpis = cafe.owner.rpc("business_kpis", {"p_business_id": cafe.id, "p_from": "2000-01-01", "p_to": "2100-01-01"})
    assert (kpis["revenue_cents"], kpis["member_revenue_cents"]) == (800, 0)


def test_owner_tools_are_hidden_from_staff(counter, cafe):
    assert not counter().has("owner-menu")
    assert counter("owner@cafe-aroma.example").has("owner-menu")


def test_an_expired_or_used_token_is_refused_in_the_users_language(counter, cafe):
    phone, member = cafe.customer("aino@example.com", "Aino")
    token = phone.rpc("member_qr_token", {"p_member_id": member})["token"]
    screen = counter()
    submit(screen, "counter-code", token)
    submit(screen, "counter-code", token)  # the same code again: single use
    assert screen.page.data.notice == "Tämä QR-koodi on jo käytetty. Pyydä asiakkaalta uusi koodi."
    assert not screen.has("panel-stamps")  # no member is shown for a refused code


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("12,50", 1250),
        ("12.50", 1250),
        ("12", 1200),
        ("0,05", 5),
        ("1 234,50", 123450),
        ("", None),
        ("abc", None),
        ("0", None),
        ("-3", None),
        ("1,234", None),
    ],
)
def test_amounts(text, cents):
    assert parse_amount(text, "fi") == cents
