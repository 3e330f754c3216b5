"""The customer wallet in a fake flet session, against the real API on the embedded database."""

from __future__ import annotations

import datetime as dt

import flet as ft
import psycopg
import pytest

from tests.ui.session import FakeSession, open_app

PASSWORD = "correct horse battery"
TIERS = [
    {"name": "Bronze", "min_points": 0, "multiplier": 1.0, "perks": []},
    {"name": "Gold", "min_points": 100, "multiplier": 1.5, "perks": ["early_access"]},
]


pytestmark = pytest.mark.program(stamps_per_card=5, stamp_cooldown_minutes=0, max_purchases_per_day=50, tiers=TIERS)


@pytest.fixture
def aino(cafe):
    phone, member = cafe.customer("aino@example.com", "Aino Virtanen")
    return phone, member


@pytest.fixture
def open_screens(screens):
    return screens


def sign_in(screen: FakeSession, email: str = "aino@example.com") -> None:
    screen.sign_in(email, PASSWORD)


def app(screen):
    return screen.app


def customer(screen):
    return screen.shell.customer


def open_first_card(screen):
    [tile] = [
        c for c in screen.find(lambda c: isinstance(c, ft.Semantics) and (c.identifier or "").startswith("card-"))
    ]
    screen.fire(tile.content.content, "click")


# ---- sign-in and language -----------------------------------------------------------------------


def test_language_switch_and_wrong_password(open_screens, aino):
    screen = open_screens()
    assert "Kirjaudu sisään" in screen.texts()
    screen.fire(screen.by_id("language"), "change", patch={"selected": ["en"]})
    assert "Sign in" in screen.texts() and "Kirjaudu sisään" not in screen.texts()
    screen.type("email", "aino@example.com")
    screen.type("password", "not the password")
    screen.click("sign-in")
    assert "Wrong e-mail or password." in screen.texts()
    assert app(screen).screen == "signin"


def test_wallet_lists_cards_with_stamps_and_points(open_screens, cafe, aino):
    cafe.buy(aino[1], 1250)
    screen = open_screens()
    sign_in(screen)
    assert app(screen).screen == "wallet"
    assert "Café Aroma" in screen.texts()
    assert "1/5 leimaa · 12 pistettä" in screen.texts()


# ---- the card ------------------------------------------------------------------------------------


def test_card_shows_grid_tier_progress_and_opens_a_voucher_qr(open_screens, cafe, aino):
    for _ in range(5):
        cafe.buy(aino[1], 1000)
    cafe.buy(aino[1], 1000)
    screen = open_screens()
    sign_in(screen)
    open_first_card(screen)
    grid = screen.find(lambda c: isinstance(c, ft.Semantics) and c.identifier == "stamp-grid")[0]
    assert grid.label == "1/5 leimaa"
    stamped = [s for s in customer(screen).card_screen.slots if s.content.key.endswith("True")]
    assert len(customer(screen).card_screen.slots) == 5 and len(stamped) == 1
    # 60 points of 100 to Gold.
    assert screen.by_id("tier-progress").value == pytest.approx(0.6)
    assert "40 pistettä tasoon Gold" in screen.texts()
    [voucher] = [
        c for c in screen.find(lambda c: isinstance(c, ft.Semantics) and (c.identifier or "").startswith("voucher-"))
    ]
    screen.fire(voucher.content, "click")
    qr = screen.by_id("voucher-qr")
    code = voucher.identifier.removeprefix("voucher-")
    assert code in [c.value for c in qr.controls if isinstance(c, ft.Text)]
    image = qr.controls[0]
    assert isinstance(image.src, bytes) and image.src.startswith(b"\x89PNG")


def test_member_qr_refreshes_before_expiry_and_shows_offline(open_screens, cafe, aino, db):
    screen = open_screens()
    sign_in(screen)
    open_first_card(screen)
    qr = customer(screen).qr_screen
    now = [dt.datetime.now(dt.UTC)]
    app(screen).clock = lambda: now[0]
    screen.click("show-qr")
    first = qr.qr.token
    assert first and screen.wrapper("member-qr").visible
    assert screen.by_id("qr-countdown").value in ("Uusi koodi 59 s päästä", "Uusi koodi 60 s päästä")
    now[0] += dt.timedelta(seconds=30)
    qr.tick()
    assert qr.qr.token == first  # not due yet
    now[0] += dt.timedelta(seconds=26)  # 4 s left: refreshed before it expires
    qr.tick()
    second = qr.qr.token
    assert second and second != first
    # The member's token is accepted at the counter; the replaced one was single-use anyway.
    panel = cafe.staff.rpc("identify_member", {"p_business_id": cafe.id, "p_code": second})
    assert panel["member_id"] == aino[1]

    # The server goes away: kill every pooled connection, then let the token run out.
    with psycopg.connect(db.admin, autocommit=True) as conn:
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = current_database() and usename = 'authenticator'"
        )
    now[0] += dt.timedelta(seconds=61)
    qr.tick()
    assert qr.qr.offline and qr.qr.token is None
    assert not screen.wrapper("member-qr").visible
    assert screen.wrapper("qr-offline").visible and "Ei yhteyttä" in screen.by_id("qr-offline").value
    qr.tick()  # the pool has a fresh connection again
    assert qr.qr.token and not qr.qr.offline and screen.wrapper("member-qr").visible


def test_a_stamp_arrives_live_without_refresh(open_screens, cafe, aino):
    screen = open_screens()
    sign_in(screen)
    open_first_card(screen)
    wallet = customer(screen).card_screen
    assert wallet.stamps_text.value == "0/5 leimaa"
    first_slot = wallet.slots[0]
    cafe.buy(aino[1], 450)
    assert screen.wait_for(lambda: wallet.stamps_text.value == "1/5 leimaa", timeout=5)
    # The same switcher got a new face: Flutter animates the swap.
    assert wallet.slots[0] is first_slot and first_slot.content.key == "0-True"
    assert "Uusi leima!" in (app(screen).notice or "")


# ---- referral, drops, history, inbox, feedback -------------------------------------------------


def test_referral_screen_has_share_links_and_stats(open_screens, cafe, aino, users):
    screen = open_screens()
    sign_in(screen)
    open_first_card(screen)
    screen.click("open-referral")
    code = customer(screen).card.card["referral"]["code"]
    link = f"https://kanta.example.fi/r/{code}"
    urls = {name: screen.by_id(f"share-{name}").url for name in ("whatsapp", "facebook", "x", "email")}
    assert urls["whatsapp"].startswith("https://wa.me/?text=") and code in urls["whatsapp"]
    assert (
        urls["facebook"] == f"https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fkanta.example.fi%2Fr%2F{code}"
    )
    assert urls["x"].startswith("https://x.com/intent/post?text=") and f"%2Fr%2F{code}" in urls["x"]
    assert urls["email"].startswith("mailto:?subject=")
    assert screen.by_id("referral-link").value == link
    assert screen.by_id("referral-stats").value == "Liittyi linkilläsi 0 · odottaa ostosta 0 · palkittu 0"


def test_drops_show_vip_window_and_reserve(open_screens, cafe, aino):
    now = dt.datetime.now(dt.UTC)
    drop = cafe.owner.rpc(
        "create_drop",
        {
            "p_business_id": cafe.id,
            "p_title": "Joulukahvi",
            "p_description": "50 pussia",
            "p_vip_starts_at": (now - dt.timedelta(hours=1)).isoformat(),
            "p_public_starts_at": (now + dt.timedelta(days=2)).isoformat(),
            "p_ends_at": (now + dt.timedelta(days=5)).isoformat(),
            "p_stock": 50,
        },
    )
    screen = open_screens()
    sign_in(screen)
    open_first_card(screen)
    screen.click("open-drops")
    assert screen.by_id(f"drop-status-{drop['id']}").value.startswith("VIP-jäsenten ennakkovaraus. Kaikille")
    assert not screen.has(f"reserve-{drop['id']}")
    cafe.owner.rpc("grant_vip", {"p_business_id": cafe.id, "p_member_id": aino[1], "p_until": "2099-01-01"})
    screen.click("back")
    customer(screen).card.reload()
    customer(screen).show_card()
    assert "VIP" in screen.texts()  # the badge on the card
    screen.click("open-drops")
    screen.click(f"reserve-{drop['id']}")
    assert "Varauksesi: 1" in screen.texts()


def test_history_pages_and_inbox_marks_read(open_screens, cafe, aino):
    for _ in range(11):
        cafe.buy(aino[1], 200)  # 2 ledger rows each, plus 2 full cards: 24 rows, two pages
    cafe.owner.rpc(
        "send_message",
        {"p_business_id": cafe.id, "p_target": f"member:{aino[1]}", "p_title": "Hei Aino", "p_body": "Uusi kakku!"},
    )
    aino[0].rpc("update_my_profile", {"p_member_id": aino[1], "p_changes": {"marketing_consent": True}})
    cafe.owner.rpc(
        "send_message",
        {"p_business_id": cafe.id, "p_target": f"member:{aino[1]}", "p_title": "Hei Aino", "p_body": "Uusi kakku!"},
    )
    screen = open_screens()
    sign_in(screen)
    open_first_card(screen)
    assert screen.by_id("open-inbox").badge == "1"
    screen.click("open-history")
    assert len(customer(screen).history_screen.state.entries) == 20 and screen.has("history-more")
    screen.click("history-more")
    assert len(customer(screen).history_screen.state.entries) == 24 and not screen.has("history-more")
    assert "Leimat +1 · 2,00\xa0€" in screen.texts()
    screen.click("back")
    screen.click("open-inbox")
    [message] = [
        c for c in screen.find(lambda c: isinstance(c, ft.Semantics) and (c.identifier or "").startswith("message-"))
    ]
    assert message.label == "Hei Aino"
    screen.fire(message.content, "click")
    assert aino[0].rpc("my_inbox", {"p_member_id": aino[1]})["unread"] == 0


@pytest.mark.parametrize("score", ["0", "10"])
def test_feedback_offers_the_review_link_whatever_the_score(open_screens, cafe, aino, score):
    cafe.owner.rpc(
        "update_program", {"p_business_id": cafe.id, "p_settings": {"review_url": "https://g.page/r/aroma/review"}}
    )
    cafe.buy(aino[1], 450)
    screen = open_screens()
    sign_in(screen)
    open_first_card(screen)
    screen.click("open-feedback")
    screen.click("send-feedback")
    assert app(screen).notice == "Valitse arvosana 0–10."
    screen.fire(screen.by_id("score"), "change", score, patch={"value": score})
    screen.click("send-feedback")
    assert screen.by_id("review-link").url == "https://g.page/r/aroma/review"
    assert "Kiitos palautteestasi!" in screen.texts()


# ---- joining from a link --------------------------------------------------------------------------


def test_join_from_a_referral_link(open_screens, cafe, aino, backend):
    code = aino[0].rpc("my_card", {"p_member_id": aino[1]})["referral"]["code"]
    screen = open_screens(f"/join/cafe-aroma?ref={code}")
    assert "Liity: Café Aroma" in screen.texts()
    screen.type("email", "bo@example.com")
    screen.type("password", PASSWORD)
    screen.click("sign-up")
    assert app(screen).screen == "join"
    screen.type("display-name", "Bo")
    screen.click("join")
    assert app(screen).screen == "card" and customer(screen).card.card["business"]["slug"] == "cafe-aroma"
    referrals = aino[0].rpc("my_card", {"p_member_id": aino[1]})["referral"]
    assert referrals["joined"] == 1


# ---- profile ------------------------------------------------------------------------------------


def test_delete_is_refused_without_confirmation(open_screens, cafe, aino, backend):
    screen = open_screens()
    sign_in(screen)
    screen.click("profile")
    screen.click("delete-account")
    screen.click("delete-yes")
    assert app(screen).notice == "Tiliä ei poistettu: kirjoita POISTA vahvistukseksi."
    assert aino[0].rpc("my_wallet", {})[0]["member_id"] == aino[1]  # still there
    screen.type("delete-confirm", "poista")
    screen.click("delete-yes")
    assert app(screen).screen == "signin"
    assert aino[0].rpc("my_wallet", {}) == []  # the card is no longer linked to anyone


def test_marketing_consent_switch(open_screens, cafe, aino):
    screen = open_screens()
    sign_in(screen)
    screen.click("profile")
    switch = screen.by_id("consent-cafe-aroma")
    assert switch.value is False
    screen.fire(switch, "change", patch={"value": True})
    assert aino[0].rpc("my_card", {"p_member_id": aino[1]})["marketing_consent"] is True


def test_supabase_mode_signs_in_with_an_emailed_code(db, backend, cafe):
    """Supabase mode: the same screen asks for an e-mail code (supabase-py against the
    PostgREST/GoTrue TEST DOUBLE in tests/doubles, backed by the real database)."""
    from backend.transport.supabase import SupabaseTransport
    from tests.doubles.supabase_double import running_double

    with running_double(db.authenticator, db.admin) as double:
        screen = open_app(lambda: SupabaseTransport(double.url, double.anon_key), route="/join/cafe-aroma")
        try:
            assert not screen.has("password") and screen.has("send-code")
            screen.type("email", "Eino@Example.com")
            screen.click("send-code")
            assert "Koodi lähetettiin osoitteeseen Eino@Example.com." in screen.texts()
            screen.type("otp-code", "000000")
            screen.click("verify")
            assert app(screen).screen == "signin"  # a wrong code keeps you here, with the reason
            screen.type("otp-code", double.outbox["eino@example.com"])
            screen.click("verify")
            assert app(screen).screen == "join"
            screen.click("join")
            assert app(screen).screen == "card" and customer(screen).card.card["business"]["name"] == "Café Aroma"
        finally:
            screen.close()
