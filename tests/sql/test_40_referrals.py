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
    # Issue 15: the welcome gift is no longer issued at once; it waits for the first qualifying purchase.
    assert joined["welcome_pending"]["title"] == "Tervetuloa-kahvi"
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
    with cafe.clock(at("2026-06-03", "10:00"), ben):
        ben_card = ben.rpc("my_card", {"p_member_id": joined["member_id"]})
    assert [v["title"] for v in ben_card["vouchers"]] == ["Tervetuloa-kahvi"]  # with the qualifying purchase
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


# ---- issue 15 §3: referrals and welcome offers that cannot be farmed ----


def _vouchers(db, kind):
    with psycopg.connect(db.admin) as conn:
        return conn.execute("select count(*) from kanta.vouchers where kind = %s", (kind,)).fetchone()[0]


def test_the_normalised_email_ignores_case_and_plus_tags(db):
    with psycopg.connect(db.admin) as conn:
        got = [
            conn.execute("select kanta.normalise_email(%s)", (e,)).fetchone()[0]
            for e in (" Aino+1@Example.COM ", "aino@example.com", "aino+a+b@example.com", "plain@x.fi")
        ]
    assert got == ["aino@example.com", "aino@example.com", "aino@example.com", "plain@x.fi"]


def test_a_plus_tagged_address_of_the_referrer_is_a_self_referral(db, users, cafe):
    aino, member = cafe.customer("aino@example.com", "Aino")
    alias = users("Aino+1@Example.com")
    with pytest.raises(InvalidInput) as err:
        alias.rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": _code(aino, member)})
    assert err.value.code == "self_referral"
    assert _vouchers(db, "welcome") == 0


def test_joining_leaves_a_keyed_trace_that_outlives_the_account(db, users, cafe):
    import hashlib
    import hmac

    ben, _ = cafe.customer("Ben+cafe@example.com", "Ben")
    with psycopg.connect(db.admin) as conn:
        [secret] = conn.execute("select secret from kanta.trace_keys where business_id = %s", (cafe.id,)).fetchone()
        rows = conn.execute("select business_id::text, email_hmac from kanta.member_traces").fetchall()
    expected = hmac.new(bytes(secret), b"ben@example.com", hashlib.sha256).digest()
    assert [(b, bytes(h)) for b, h in rows] == [(cafe.id, expected)]
    ben.rpc("delete_my_account")
    with psycopg.connect(db.admin) as conn:
        assert conn.execute("select count(*) from kanta.member_traces").fetchone()[0] == 1
        assert conn.execute("select count(*) from kanta.member_traces t where t::text ilike '%ben%'").fetchone()[0] == 0


def test_rejoining_after_deleting_the_account_is_not_new(db, users, cafe):
    aino, aino_member = cafe.customer("aino@example.com", "Aino")
    code = _code(aino, aino_member)
    ben = users("ben@example.com")
    first = ben.rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": code})
    assert cafe.buy(first["member_id"], 650, when=at("2026-06-02", "09:00"))["referral_completed"]
    assert (_vouchers(db, "welcome"), _vouchers(db, "referral")) == (1, 1)
    ben.rpc("delete_my_account")

    again = users("Ben+again@example.com")  # the same person, a new login
    joined = again.rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": code})
    assert joined["new"] is True and joined["referred_by"] is None and joined["welcome_pending"] is None
    assert joined["referral_refused"] == "not_new"
    bought = cafe.buy(joined["member_id"], 900, when=at("2026-06-05", "09:00"))
    assert "referral_completed" not in bought
    assert (_vouchers(db, "welcome"), _vouchers(db, "referral")) == (1, 1)
    stats = aino.rpc("my_card", {"p_member_id": aino_member})["referral"]
    assert (stats["joined"], stats["rewarded"]) == (1, 1)


def test_five_throwaway_accounts_make_no_free_coffee(db, users, cafe):
    aino, member = cafe.customer("aino@example.com", "Aino")
    code = _code(aino, member)
    cafe.owner.rpc("update_program", {"p_business_id": cafe.id, "p_settings": {"referral_monthly_cap": 10}})
    for n in range(5):
        phone = users(f"throwaway{n}@example.com")
        joined = phone.rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": code})
        card = phone.rpc("my_card", {"p_member_id": joined["member_id"]})
        assert card["vouchers"] == []
        assert card["referral"]["welcome"] == {
            "title": "Tervetuloa-kahvi",
            "status": "pending",
            "min_cents": 500,
        }
    assert _vouchers(db, "welcome") == 0


def test_the_welcome_voucher_comes_with_the_first_qualifying_purchase(db, users, cafe):
    aino, aino_member = cafe.customer("aino@example.com", "Aino")
    ben = users("ben@example.com")
    joined = ben.rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": _code(aino, aino_member)})
    assert "welcome_voucher" not in joined  # nothing to collect by signing up
    assert joined["welcome_pending"] == {"title": "Tervetuloa-kahvi", "min_cents": 500}
    cafe.buy(joined["member_id"], 300, when=at("2026-06-01", "09:00"))  # below the minimum
    assert _vouchers(db, "welcome") == 0
    cafe.buy(joined["member_id"], 650, when=at("2026-06-02", "09:00"))
    with cafe.clock(at("2026-06-02", "10:00"), ben):
        card = ben.rpc("my_card", {"p_member_id": joined["member_id"]})
    assert [v["title"] for v in card["vouchers"] if v["kind"] == "welcome"] == ["Tervetuloa-kahvi"]
    assert card["referral"]["welcome"]["status"] == "issued"
    assert _vouchers(db, "welcome") == 1


def test_anonymous_previews_do_not_inflate_the_invite_count(backend, users, cafe):
    aino, member = cafe.customer("aino@example.com", "Aino")
    code = _code(aino, member)
    anon = backend.transport()
    for _ in range(50):
        anon.rpc("referral_preview", {"p_code": code})
    assert aino.rpc("my_card", {"p_member_id": member})["referral"]["invited"] == 0
    users("ben@example.com").rpc("join_business", {"p_slug": "cafe-aroma", "p_referral_code": code})
    anon.rpc("referral_preview", {"p_code": code})
    assert aino.rpc("my_card", {"p_member_id": member})["referral"]["invited"] == 1
