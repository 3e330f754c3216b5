"""VIP drops (50_vip_drops.sql): VIP early access: Aino (Gold, early access) reserves before the public; 20 people race for 5 pieces."""

import threading

import psycopg
import pytest

from backend.transport.postgres import PostgresBackend
from shared.errors import Conflict, PermissionDenied
from tests.engine import at, pinned

TIERS = [
    {"name": "Bronze", "min_points": 0, "multiplier": 1.0, "perks": []},
    {"name": "Gold", "min_points": 100, "multiplier": 1.5, "perks": ["early_access"]},
]


# The program of the tests below that do not name their own.
VIP = pytest.mark.program(tiers=TIERS)


def _drop(cafe, stock=5, limit=1):
    with cafe.clock(at("2026-06-01", "08:00"), cafe.owner):
        return cafe.owner.rpc(
            "create_drop",
            {
                "p_business_id": cafe.id,
                "p_title": "Joulutorttu-laatikko",
                "p_description": "Limited",
                "p_vip_starts_at": at("2026-06-10", "09:00"),
                "p_public_starts_at": at("2026-06-11", "09:00"),
                "p_ends_at": at("2026-06-20", "18:00"),
                "p_stock": stock,
                "p_per_member_limit": limit,
            },
        )


def _reserve(phone, drop_id, when, quantity=1):
    with pinned(when, phone):
        return phone.rpc("reserve_drop", {"p_drop_id": drop_id, "p_quantity": quantity})


@VIP
def test_vip_window_grant_revoke_and_tier_perk(cafe):
    drop = _drop(cafe)
    plain, plain_member = cafe.customer("plain@example.com")
    granted, granted_member = cafe.customer("granted@example.com")
    gold, gold_member = cafe.customer("gold@example.com")
    cafe.buy(gold_member, 10000, when=at("2026-06-05"))  # 100 points: Gold, which has early_access
    vip_time = at("2026-06-10", "10:00")

    with pytest.raises(Conflict) as err:
        _reserve(plain, drop["id"], at("2026-06-09"))
    assert err.value.code == "drop_not_open"
    with pytest.raises(PermissionDenied) as err:
        _reserve(plain, drop["id"], vip_time)
    assert err.value.code == "early_access_only"

    with cafe.clock(at("2026-06-09"), cafe.owner):
        cafe.owner.rpc(
            "grant_vip",
            {
                "p_business_id": cafe.id,
                "p_member_id": granted_member,
                "p_until": at("2026-12-31"),
                "p_note": "regular since 2019",
            },
        )
    assert _reserve(granted, drop["id"], vip_time)["stock_left"] == 4
    assert _reserve(gold, drop["id"], vip_time)["stock_left"] == 3  # the tier's perk counts as VIP

    with cafe.clock(at("2026-06-10", "10:30"), cafe.owner):
        revoked = cafe.owner.rpc("revoke_vip", {"p_business_id": cafe.id, "p_member_id": granted_member})
    assert revoked["vip"] is False
    assert _reserve(plain, drop["id"], at("2026-06-11", "09:00"))["stock_left"] == 2  # public now
    with pytest.raises(Conflict) as err:
        _reserve(plain, drop["id"], at("2026-06-11", "09:05"))
    assert err.value.code == "reservation_limit"

    with cafe.clock(vip_time, gold):
        card = gold.rpc("my_card", {"p_member_id": gold_member})
    assert card["vip"] is True
    [listed] = card["drops"]
    assert (listed["state"], listed["can_reserve"], listed["my_reserved"]) == ("vip_window", False, 1)


@VIP
def test_owner_sees_reservations_and_marks_pickup(cafe):
    drop = _drop(cafe)
    phone, member = cafe.customer("a@example.com", "Aino")
    r = _reserve(phone, drop["id"], at("2026-06-12"))
    listing = cafe.staff.rpc("drop_reservations", {"p_drop_id": drop["id"]})
    assert [x["display_name"] for x in listing["reservations"]] == ["Aino"]
    assert cafe.staff.rpc("mark_pickup", {"p_reservation_id": r["reservation_id"]})["status"] == "picked_up"
    with pytest.raises(Conflict):
        cafe.staff.rpc("mark_pickup", {"p_reservation_id": r["reservation_id"]})
    with pytest.raises(PermissionDenied):
        cafe.staff.rpc(
            "create_drop",
            {
                "p_business_id": cafe.id,
                "p_title": "x",
                "p_description": "",
                "p_vip_starts_at": at("2026-06-10"),
                "p_public_starts_at": at("2026-06-11"),
                "p_ends_at": at("2026-06-12"),
                "p_stock": 1,
            },
        )


@pytest.mark.slow
@VIP
def test_twenty_people_five_pieces_no_oversell_in_30_rounds(db, users, cafe):
    people = []
    for i in range(20):
        phone, _ = cafe.customer(f"p{i}@example.com")
        people.append(phone)
    wide = PostgresBackend(db.authenticator, db.admin, min_size=20, max_size=20, bcrypt_rounds=4)
    try:
        sessions = []
        for p in people:
            t = wide.transport()
            t.user, t.clock = p.user, at("2026-06-12")
            sessions.append(t)
        for round_no in range(30):
            drop = _drop(cafe)
            start, outcomes = threading.Barrier(20), []
            threads = [threading.Thread(target=_race, args=(t, drop["id"], start, outcomes)) for t in sessions]
            for th in threads:
                th.start()
            for th in threads:
                th.join(30)
            assert outcomes.count("ok") == 5 and outcomes.count("sold_out") == 15, round_no
        with psycopg.connect(db.admin) as conn:
            assert conn.execute("select count(*) from kanta.drops where reserved <> stock").fetchone()[0] == 0
            assert conn.execute("select count(*) from kanta.reservations").fetchone()[0] == 30 * 5
    finally:
        wide.close()


def _race(session, drop_id, start, outcomes):
    start.wait()
    try:
        session.rpc("reserve_drop", {"p_drop_id": drop_id})
        outcomes.append("ok")
    except Conflict as exc:
        outcomes.append(exc.code)


@VIP
def test_bad_drop_windows_are_refused(cafe):
    from shared.errors import InvalidInput

    with pytest.raises(InvalidInput) as err:
        cafe.owner.rpc(
            "create_drop",
            {
                "p_business_id": cafe.id,
                "p_title": "x",
                "p_description": "",
                "p_vip_starts_at": at("2026-06-12"),
                "p_public_starts_at": at("2026-06-11"),
                "p_ends_at": at("2026-06-13"),
                "p_stock": 1,
            },
        )
    assert err.value.code == "invalid_drop_windows"


@pytest.mark.program(stamps_per_card=3, stamp_cooldown_minutes=0, max_purchases_per_day=50)
def test_business_drops_show_what_is_left(cafe):
    drop = cafe.owner.rpc(
        "create_drop",
        {
            "p_business_id": cafe.id,
            "p_title": "Joulupulla",
            "p_description": "",
            "p_vip_starts_at": "2000-01-01",
            "p_public_starts_at": "2000-01-02",
            "p_ends_at": "2099-01-01",
            "p_stock": 5,
        },
    )
    phone, _ = cafe.customer("aino@example.com")
    phone.rpc("reserve_drop", {"p_drop_id": drop["id"]})
    [listed] = cafe.staff.rpc("business_drops", {"p_business_id": cafe.id})
    assert (listed["title"], listed["stock_left"], listed["state"]) == ("Joulupulla", 4, "public")
