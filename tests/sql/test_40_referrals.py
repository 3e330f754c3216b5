"""Referrals (40_referrals.sql): Aino shares her link, Ben joins with it, and Aino's reward waits for
Ben's first purchase."""

import psycopg
import pytest

from shared.errors import Conflict, InvalidInput, NotFound
from tests.engine import Cafe, at

pytestmark = pytest.mark.program(
    referral_welcome_reward="Tervetuloa-kahvi",
    referral_referrer_reward="Kaverikahvi",
    referral_min_cents=500,
    referral_monthly_cap=2,
)


def _code(phone, member):
    return phone.rpc("my_card", {"p_member_id": member})["referral"]["code"]


def test_preview_shows_the_offer_and_only_the_inviters_first_name(backend, cafe):
    aino, member = cafe.customer("aino@example.com", "Aino Virtanen")
    preview = backend.transport().rpc("referral_preview", {"p_code": _code(aino, member).lower()})  # anon
    assert preview == {
        "code": _code(aino, member),
        "business_name": "Café Aroma",
        "business_slug": "cafe-aroma",
        "color": "#6B4F3A",
        "welcome_reward": "Tervetuloa-kahvi",
        "referrer_reward": "Kaverikahvi",
        "inviter_first_name": "Aino",
    }
    assert "Virtanen" not in str(preview)
    with pytest.raises(NotFound) as err:
        backend.transport().rpc("referral_preview", {"p_code": "RNOSUCH1"})
    assert err.value.code == "referral_code_unknown"


def test_pending_until_the_first_qualifying_purchase_then_granted_once(db, users, cafe):
    aino, aino_member = cafe.customer("aino@example.com", "Aino")
    ben = users("ben@example.com")
    joined = ben.rpc(
        "join_business", {"p_slug": "cafe-aroma", "p_display_name": "Ben", "p_referral_code": _code(aino, aino_member)}
    )
    assert joined["welcome_voucher"]["title"] == "Tervetuloa-kahvi"  # at once
    assert joined["referred_by"] == "Aino"
    stats = aino.rpc("my_card", {"p_member_id": aino_member})["referral"]
    assert (stats["joined"], stats["pending"], stats["rewarded"]) == (1, 1, 0)

    small = cafe.buy(joined["member_id"], 300, when=at("2026-06-01", "09:00"))  # below the 5.00 minimum
    assert "referral_completed" not in small
    first = cafe.buy(joined["member_id"], 650, when=at("2026-06-02", "09:00"))
    assert first["referral_completed"]["referrer_member_id"] == aino_member
    again = cafe.buy(joined["member_id"], 900, when=at("2026-06-03", "09:00"))
    assert "referral_completed" not in again

    with cafe.clock(at("2026-06-03", "10:00"), aino):
        card = aino.rpc("my_card", {"p_member_id": aino_member})
    assert [v["title"] for v in card["vouchers"]] == ["Kaverikahvi"]
    assert (card["referral"]["pending"], card["referral"]["rewarded"]) == (0, 1)
    with psycopg.connect(db.admin) as conn:
        assert conn.execute("select count(*) from kanta.vouchers where kind = 'referral'").fetchone()[0] == 1


def test_self_referral_and_existing_members_are_refused(users, cafe):
    aino, member = cafe.customer("aino@example.com", "Aino")
    with pytest.raises(InvalidInput) as err:
        aino.rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": _code(aino, member)})
    assert err.value.code == "self_referral"
    ben, _ = cafe.customer("ben@example.com", "Ben")
    with pytest.raises(Conflict) as err:
        ben.rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": _code(aino, member)})
    assert err.value.code == "already_member"


def test_a_code_from_another_cafe_is_unknown_here(users, cafe):
    other = Cafe(users, slug="leipomo-kuu", name="Leipomo Kuu")
    aino, member = other.customer("aino@example.com", "Aino")
    ben = users("ben@example.com")
    with pytest.raises(NotFound):
        ben.rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": _code(aino, member)})


def test_the_monthly_cap_holds_and_resets_next_month(users, cafe):
    aino, member = cafe.customer("aino@example.com", "Aino")
    code = _code(aino, member)
    joiners = [users(f"{n}@example.com") for n in ("ben", "cai", "dan", "eve")]
    for phone in joiners:
        phone.clock = at("2026-06-10")
    joiners[0].rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": code})
    joiners[1].rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": code})
    with pytest.raises(Conflict) as err:
        joiners[2].rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": code})
    assert err.value.code == "referral_cap_reached"
    joiners[3].clock = at("2026-07-01", "00:10")  # a new month in Helsinki (still June in UTC)
    assert joiners[3].rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": code})["new"] is True
