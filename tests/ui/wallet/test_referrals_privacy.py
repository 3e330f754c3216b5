"""Issue 15 on the customer's screens: the privacy notice states the keyed e-mail trace and its legal
basis in both languages; a friend's welcome gift shows as waiting, not as a voucher, until the first
qualifying purchase; a former member re-joining is told the invitation's gifts do not apply."""

from __future__ import annotations

import flet as ft
import pytest

from tests.ui.wallet.test_screens import PASSWORD, app, customer, sign_in

pytestmark = pytest.mark.program(referral_welcome_reward="Tervetuloa-kahvi", referral_min_cents=500)


def test_the_profile_states_the_trace_and_its_legal_basis_in_both_languages(screens, cafe):
    cafe.customer("aino@example.com", "Aino")
    screen = screens()
    sign_in(screen)
    screen.click("profile")
    fi = screen.by_id("privacy-notice").value
    assert "HMAC-SHA256" in fi and "väärinkäytösten estäminen" in fi and "6 art. 1 f" in fi
    screen.fire(screen.by_id("language"), "change", patch={"selected": ["en"]})
    en = screen.by_id("privacy-notice").value
    assert "legitimate interest in preventing fraud" in en and "Art. 6(1)(f)" in en


def _join(screen, code, email):
    screen.type("email", email)
    screen.type("password", PASSWORD)
    screen.click("sign-up")
    screen.type("display-name", "Bo")
    screen.click("join")


def test_a_friends_welcome_gift_waits_for_the_first_purchase(screens, cafe):
    aino, member = cafe.customer("aino@example.com", "Aino")
    code = aino.rpc("my_card", {"p_member_id": member})["referral"]["code"]
    screen = screens(f"/join/cafe-aroma?ref={code}")
    _join(screen, code, "bo@example.com")
    assert app(screen).screen == "card"
    tile = screen.by_id("welcome-pending")
    assert isinstance(tile, ft.ListTile)
    assert tile.title.value == (
        "Liittymislahja Tervetuloa-kahvi odottaa: saat sen ensimmäisestä vähintään 5,00\xa0€ ostoksestasi."
    )
    assert customer(screen).card.card["vouchers"] == []
    cafe.buy(customer(screen).card.card["member_id"], 650)
    customer(screen).card.reload()
    customer(screen).show_card()
    assert not screen.has("welcome-pending")
    assert [v["title"] for v in customer(screen).card.card["vouchers"]] == ["Tervetuloa-kahvi"]
