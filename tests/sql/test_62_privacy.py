"""Privacy (62_privacy.sql): download my data and delete my account, checked against the schema and
every table's contents."""

import psycopg
import pytest

from shared.errors import Conflict, NotFound, PermissionDenied
from tests.engine import Cafe, at, key

EMAIL, NAME, PHONE, BIRTHDAY = "aino.virtanen@example.com", "Aino Virtanen", "+358 40 123 4567", "1990-03-15"


@pytest.fixture
def aino(users):
    cafe = Cafe(users)
    phone, member = cafe.customer(EMAIL, NAME, when=at("2026-01-01"))
    phone.rpc(
        "update_my_profile",
        {"p_member_id": member, "p_changes": {"phone": PHONE, "birthday": BIRTHDAY, "marketing_consent": True}},
    )
    bought = cafe.buy(member, 1250)
    phone.rpc("member_qr_token", {"p_member_id": member})
    phone.rpc("submit_feedback", {"p_member_id": member, "p_score": 9, "p_comment": f"Terveisin {NAME}"})
    cafe.owner.rpc(
        "send_message",
        {"p_business_id": cafe.id, "p_target": f"member:{member}", "p_title": f"Hei {NAME}", "p_body": "Kiitos!"},
    )
    drop = cafe.owner.rpc(
        "create_drop",
        {
            "p_business_id": cafe.id,
            "p_title": "Box",
            "p_description": "",
            "p_vip_starts_at": "2000-01-01",
            "p_public_starts_at": "2000-01-02",
            "p_ends_at": "2099-01-01",
            "p_stock": 5,
        },
    )
    phone.rpc("reserve_drop", {"p_drop_id": drop["id"]})
    friend = users("friend@example.com")
    code = phone.rpc("my_card", {"p_member_id": member})["referral"]["code"]
    joined = friend.rpc("join_business", {"p_slug": cafe.business["slug"], "p_referral_code": code})
    cafe.buy(joined["member_id"], 500)  # completes the referral: Aino gets her voucher
    return cafe, phone, member, bought


def _member_tables(conn):
    """Every kanta table with a foreign key to kanta.members, read from the catalog."""
    return {
        r[0]
        for r in conn.execute(
            "select distinct c.conrelid::regclass::text from pg_constraint c"
            " where c.contype = 'f' and c.confrelid = 'kanta.members'::regclass"
        )
    }


def test_export_contains_every_personal_field_the_schema_stores(db, aino):
    _, phone, member, _ = aino
    export = phone.rpc("export_my_data")
    [card] = export["cards"]
    assert export["account"]["email"] == EMAIL
    with psycopg.connect(db.admin) as conn:
        member_columns = {
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'kanta' and table_name = 'members'"
            )
        }
        assert member_columns <= set(card["members"]), member_columns - set(card["members"])
        for table in _member_tables(conn):
            name = table.removeprefix("kanta.")
            assert name in card, f"{table} points at members but is not in the export"
            columns = {
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema = 'kanta' and table_name = %s",
                    (name,),
                )
            }
            rows = card[name]
            assert rows, f"the fixture made no {name} rows, so the check would prove nothing"
            assert columns <= set(rows[0]), (name, columns - set(rows[0]))
    assert card["members"]["phone"] == PHONE and card["members"]["birthday"] == BIRTHDAY


def test_delete_my_account_leaves_no_personal_data_and_the_totals_unchanged(db, aino):
    cafe, phone, member, _ = aino
    totals = (
        "select count(*), sum(amount_cents) from kanta.purchases where business_id = %s",
        "select sum(points), sum(stamps), count(*) from kanta.ledger where business_id = %s",
    )
    with psycopg.connect(db.admin) as conn:
        before = [conn.execute(q, (cafe.id,)).fetchone() for q in totals]

    assert phone.rpc("delete_my_account")["deleted"] is True

    with psycopg.connect(db.admin) as conn:
        assert [conn.execute(q, (cafe.id,)).fetchone() for q in totals] == before
        tables = [
            r[0]
            for r in conn.execute(
                "select format('%I.%I', schemaname, tablename) from pg_tables where schemaname in ('kanta', 'auth')"
            )
        ]
        assert len(tables) > 10
        found = []
        for table in tables:
            for needle in (EMAIL, NAME, "Aino", PHONE, BIRTHDAY):
                hits = conn.execute(
                    f"select count(*) from {table} t where t::text ilike %s", (f"%{needle}%",)
                ).fetchone()[0]
                if hits:
                    found.append((table, needle, hits))
        assert found == []
    with pytest.raises(PermissionDenied):  # the login is gone
        phone.sign_in(EMAIL, "correct horse battery")


def test_an_owner_cannot_delete_their_account_while_owning(aino):
    cafe, *_ = aino
    with pytest.raises(Conflict) as err:
        cafe.owner.rpc("delete_my_account")
    assert err.value.code == "owner_cannot_delete"


# ---- issue 15 §6: deletion leaves nothing personal ----


@pytest.fixture
def named(users):
    """Aino with owner-written text naming her: a VIP note, a granted reward's title, a purchase
    (audit log, stored answers), a voucher she still holds."""
    cafe = Cafe(users)
    phone, member = cafe.customer(EMAIL, NAME, when=at("2026-01-01"))
    number = phone.rpc("my_card", {"p_member_id": member})["member_number"]
    cafe.owner.rpc(
        "grant_vip",
        {"p_business_id": cafe.id, "p_member_id": member, "p_until": "2099-01-01", "p_note": f"{NAME}, {EMAIL}"},
    )
    granted = cafe.owner.rpc(
        "grant_reward",
        {"p_business_id": cafe.id, "p_member_id": member, "p_title": f"Anteeksi {NAME}", "p_idempotency_key": key()},
    )
    cafe.buy(member, 1250)
    cafe.buy(member, 700, override=True, by=cafe.owner)  # inside the cooldown: an audited override
    return cafe, phone, member, number, granted["code"]


def test_deletion_scrubs_owner_written_text_that_names_the_member(db, named):
    cafe, phone, member, number, _ = named
    with psycopg.connect(db.admin) as conn:
        seeded = conn.execute("select count(*) from kanta.audit_log t where t::text ilike %s", (f"%{NAME}%",))
        assert seeded.fetchone()[0] > 0  # the fixture did write her name into the audit log
    phone.rpc("delete_my_account")
    with psycopg.connect(db.admin) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "select format('%I.%I', schemaname, tablename) from pg_tables where schemaname in ('kanta', 'auth')"
            )
        ]
        found = []
        for table in tables:
            for needle in (EMAIL, NAME, "Aino", number):
                hits = conn.execute(
                    f"select count(*) from {table} t where t::text ilike %s", (f"%{needle}%",)
                ).fetchone()[0]
                if hits:
                    found.append((table, needle, hits))
        assert found == []
    # The owner's audit log still reads, without the text.
    entries = cafe.owner.rpc("audit_log", {"p_business_id": cafe.id})["entries"]
    assert {"vip_granted", "reward_granted", "record_purchase"} <= {e["action"] for e in entries}
    assert NAME not in str(entries)


def test_a_deleted_card_is_never_identified_again_and_takes_nothing(named):
    cafe, phone, member, number, voucher = named
    phone.rpc("delete_my_account")
    with pytest.raises(NotFound) as err:
        cafe.staff.rpc("identify_member", {"p_business_id": cafe.id, "p_code": number, "p_confirmed": True})
    assert err.value.code == "member_not_found"
    with pytest.raises(NotFound):
        cafe.staff.rpc("identify_member", {"p_business_id": cafe.id, "p_code": voucher})
    with pytest.raises(NotFound) as err:
        cafe.buy(member, 500, when=at("2026-03-01"))
    assert err.value.code == "member_not_found"
    with pytest.raises((NotFound, Conflict)):
        cafe.redeem(voucher)
    with pytest.raises(NotFound):
        cafe.owner.rpc(
            "grant_reward",
            {"p_business_id": cafe.id, "p_member_id": member, "p_title": "Hei taas", "p_idempotency_key": key()},
        )
    with pytest.raises(NotFound):
        cafe.owner.rpc(
            "grant_vip", {"p_business_id": cafe.id, "p_member_id": member, "p_until": "2099-01-01", "p_note": "x"}
        )
