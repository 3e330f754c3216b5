"""Integrations (70_integrations.sql): WooCommerce order webhooks, Mailchimp / Brevo exports and the
review link after feedback.

The order payloads in tests/fixtures/woocommerce are shaped exactly as WooCommerce's REST API v3
documents an order (webhooks deliver that same JSON), at the three moments a shop sends them:
order.created (processing), order.updated to completed, and order.refunded.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from backend.server import build_app
from shared.errors import InvalidInput, PermissionDenied
from tests.engine import Cafe, at

FIXTURES = Path(__file__).parents[1] / "fixtures" / "woocommerce"
SECRET = "wc-secret-8f2b1d7c9e4a6b3f"
REVIEW_URL = "https://g.page/r/CafeAroma/review"


def order(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def shop(users, backend):
    cafe = Cafe(users, settings={"stamps_per_card": 10})
    cafe.owner.rpc("update_program", {"p_business_id": cafe.id, "p_settings": {"woocommerce_secret": SECRET}})
    phone, member = cafe.customer("aino.virtanen@example.com", "Aino Virtanen")
    client = TestClient(build_app(backend.transport))
    return cafe, phone, member, client


def deliver(client, body: bytes, topic: str, signature: str | None = "sign", slug: str = "cafe-aroma"):
    headers = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Source": "https://shop.example.com/",
    }
    if signature == "sign":
        signature = sign(body)
    if signature is not None:
        headers["X-WC-Webhook-Signature"] = signature
    return client.post(f"/hooks/woocommerce/{slug}", content=body, headers=headers)


def snapshot(db, business_id) -> dict:
    """Every row the webhook could write, counted."""
    with psycopg.connect(db.admin) as conn:
        return {
            table: conn.execute(
                f"select count(*) from kanta.{table} where business_id = %s", (business_id,)
            ).fetchone()[0]
            for table in ("purchases", "ledger", "operations", "vouchers", "audit_log", "daily_sales")
        }


# ---- the signature ------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.binary(max_size=150), message=st.binary(max_size=300))
def test_sql_hmac_matches_python(db, key, message):
    with psycopg.connect(db.admin) as conn:
        got = conn.execute("select kanta.hmac_sha256(%s, %s)", (key, message)).fetchone()[0]
    assert bytes(got) == hmac.new(key, message, hashlib.sha256).digest()


def test_a_valid_signature_is_accepted_and_records_the_net_amount(shop, db):
    cafe, phone, member, client = shop
    response = deliver(client, order("order.updated"), "order.updated")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "recorded" and answer["member"] is True
    # 29.35 total − 10.00 shipping − 1.35 tax = 18.00.
    assert answer["purchase"]["amount_cents"] == 1800
    card = phone.rpc("my_card", {"p_member_id": member})
    assert (card["stamps"], card["points"]) == (1, 18)


@pytest.mark.parametrize(
    "case",
    ["tampered body", "missing header", "wrong secret", "empty signature", "not utf-8"],
)
def test_refused_signatures_write_nothing(shop, db, case):
    cafe, phone, member, client = shop
    body = order("order.updated")
    before = snapshot(db, cafe.id)
    if case == "tampered body":
        signature = sign(body)
        body = body.replace(b'"total": "29.35"', b'"total": "2935.00"')
    elif case == "missing header":
        signature = None
    elif case == "wrong secret":
        signature = sign(body, "another-secret-of-32-characters")
    elif case == "empty signature":
        signature = ""
    else:
        body = body + b"\xff"
        signature = sign(body)
    response = deliver(client, body, "order.updated", signature)
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"
    assert set(response.json()["message"]) == {"fi", "en"}
    assert snapshot(db, cafe.id) == before
    assert phone.rpc("my_card", {"p_member_id": member})["points"] == 0


def test_a_cafe_without_a_secret_refuses_every_order(users, backend, db):
    cafe = Cafe(users)
    client = TestClient(build_app(backend.transport))
    before = snapshot(db, cafe.id)
    body = order("order.updated")
    assert deliver(client, body, "order.updated", sign(body)).status_code == 401
    assert snapshot(db, cafe.id) == before


def test_unknown_shop_is_404_and_the_ping_is_answered(shop, db):
    cafe, _, _, client = shop
    assert deliver(client, order("order.updated"), "order.updated", slug="no-such-cafe").status_code == 404
    before = snapshot(db, cafe.id)
    ping = client.post(
        "/hooks/woocommerce/cafe-aroma",
        content=b"webhook_id=42",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert ping.status_code == 200 and ping.json() == {"status": "ping"}
    assert snapshot(db, cafe.id) == before


# ---- orders ------------------------------------------------------------------------------------


def test_a_processing_order_waits_for_completion(shop, db):
    cafe, _, _, client = shop
    before = snapshot(db, cafe.id)
    response = deliver(client, order("order.created"), "order.created")
    assert response.status_code == 200
    assert response.json()["status"] == "ignored" and response.json()["order_status"] == "processing"
    assert snapshot(db, cafe.id) == before


def test_the_same_order_three_times_is_one_ledger_effect(shop, db):
    cafe, phone, member, client = shop
    answers = [deliver(client, order("order.updated"), "order.updated").json() for _ in range(3)]
    assert len({a["purchase"]["purchase_id"] for a in answers}) == 1
    with psycopg.connect(db.admin) as conn:
        purchases = conn.execute(
            "select count(*), sum(amount_cents) from kanta.purchases where member_id = %s", (member,)
        ).fetchone()
        ledger = conn.execute(
            "select kind, stamps, points from kanta.ledger where member_id = %s order by id", (member,)
        ).fetchall()
    assert purchases == (1, 1800)
    assert ledger == [("stamp", 1, 0), ("points_earned", 0, 18)]


def test_an_order_edited_after_it_was_recorded_keeps_the_first_purchase(shop, db):
    """WooCommerce re-sends an order whose total the shop edited: the recorded purchase stands (a
    lower total is the shop's refund, not a second purchase), and the webhook still answers 200 so
    WooCommerce does not retry it or disable the hook."""
    import json

    cafe, _, member, client = shop
    first = deliver(client, order("order.updated"), "order.updated").json()
    edited = json.loads(order("order.updated"))
    edited["total"] = "99.00"
    before = snapshot(db, cafe.id)
    again = deliver(client, json.dumps(edited).encode(), "order.updated")
    assert again.status_code == 200
    assert again.json()["purchase"] == first["purchase"]
    assert snapshot(db, cafe.id) == before


def test_a_refund_webhook_reverses_the_purchase(shop, db):
    cafe, phone, member, client = shop
    deliver(client, order("order.updated"), "order.updated")
    response = deliver(client, order("order.refunded"), "order.refunded")
    assert response.status_code == 200 and response.json()["status"] == "refunded"
    again = deliver(client, order("order.refunded"), "order.refunded")
    assert again.json()["refund"] == response.json()["refund"]  # a redelivered refund changes nothing more
    card = phone.rpc("my_card", {"p_member_id": member})
    assert (card["stamps"], card["points"]) == (0, 0)
    with psycopg.connect(db.admin) as conn:
        refunded = conn.execute(
            "select refunded_at is not null from kanta.purchases where member_id = %s", (member,)
        ).fetchone()[0]
        sums = conn.execute(
            "select sum(stamps), sum(points) from kanta.ledger where member_id = %s", (member,)
        ).fetchone()
    assert refunded and sums == (0, 0)


def test_an_order_from_a_non_member_is_a_sale_without_member(shop, db):
    cafe, _, _, client = shop
    body = order("order.updated").replace(b"Aino.Virtanen@example.com", b"guest@example.net")
    answer = deliver(client, body, "order.updated").json()
    assert answer["status"] == "recorded" and answer["member"] is False
    kpis = cafe.owner.rpc("business_kpis", {"p_business_id": cafe.id, "p_from": "2000-01-01", "p_to": "2100-01-01"})
    assert (kpis["revenue_cents"], kpis["member_revenue_cents"]) == (1800, 0)


def test_the_owner_may_count_the_grand_total(shop, db):
    cafe, _, _, client = shop
    cafe.owner.rpc("update_program", {"p_business_id": cafe.id, "p_settings": {"woocommerce_amount": "total"}})
    assert deliver(client, order("order.updated"), "order.updated").json()["purchase"]["amount_cents"] == 2935


# ---- settings ------------------------------------------------------------------------------------


def test_integration_settings_are_validated_and_the_secret_never_shown(shop, db):
    cafe, _, _, _ = shop
    for settings_, code in (
        ({"review_url": "http://g.page/r/x"}, "invalid_review_url"),
        ({"review_url": "javascript:alert(1)"}, "invalid_review_url"),
        ({"woocommerce_secret": "short"}, "invalid_webhook_secret"),
        ({"woocommerce_amount": "gross"}, "invalid_woocommerce_amount"),
        ({"review_url": 5}, "invalid_settings"),
        ({"review_url": REVIEW_URL, "stamps_per_card": 99}, "setting_out_of_range"),
    ):
        with pytest.raises(InvalidInput) as refused:
            cafe.owner.rpc("update_program", {"p_business_id": cafe.id, "p_settings": settings_})
        assert refused.value.code == code
    # The last refusal rolled back its review_url too: nothing is half-written.
    program = cafe.staff.rpc("get_program", {"p_business_id": cafe.id})
    assert program["review_url"] is None and program["woocommerce_connected"] is True
    with pytest.raises(PermissionDenied):
        cafe.staff.rpc("update_program", {"p_business_id": cafe.id, "p_settings": {"review_url": REVIEW_URL}})
    log = cafe.owner.rpc("audit_log", {"p_business_id": cafe.id})
    assert SECRET not in json.dumps(program) and SECRET not in json.dumps(log)
    assert any(
        e["action"] == "integrations_updated" and e["detail"].get("woocommerce_secret") == "changed"
        for e in log["entries"]
    )


# ---- review link ------------------------------------------------------------------------------


@pytest.mark.parametrize("score", [0, 10])
def test_the_review_link_is_offered_after_any_score(users, score):
    cafe = Cafe(users)
    cafe.owner.rpc("update_program", {"p_business_id": cafe.id, "p_settings": {"review_url": REVIEW_URL}})
    phone, member = cafe.customer("guest@example.com")
    cafe.buy(member, 450)
    answer = phone.rpc("submit_feedback", {"p_member_id": member, "p_score": score, "p_comment": "Kiitos"})
    assert answer["review_url"] == REVIEW_URL and answer["score"] == score


# ---- exports for e-mail tools -------------------------------------------------------------------


@pytest.fixture
def listed(users):
    cafe = Cafe(users)
    people = [
        ("ada@example.com", "Äijä Öljynen", True),
        ("bo@example.com", "Bo", True),
        ("cy@example.com", "Cy No-Consent", False),
        ("di@example.com", "Dí O'Hara; Jr", True),
    ]
    for email, name, consent in people:
        phone, member = cafe.customer(email, name, when=at("2026-01-05"))
        phone.rpc("update_my_profile", {"p_member_id": member, "p_changes": {"marketing_consent": consent}})
        cafe.buy(member, 1200, when=at("2026-02-01", "10:00"))
    return cafe


def export(cafe, fmt):
    with cafe.clock(at("2026-02-10"), cafe.owner):
        return cafe.owner.rpc("export_marketing", {"p_business_id": cafe.id, "p_format": fmt})


def test_mailchimp_export_shape(listed):
    text = export(listed, "mailchimp")
    assert text.splitlines()[0] == "Email Address,First Name,Last Name,Tier,Segment,Last Visit,Tags"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["Email Address"] for r in rows} == {"ada@example.com", "bo@example.com", "di@example.com"}
    ada = next(r for r in rows if r["Email Address"] == "ada@example.com")
    assert (ada["First Name"], ada["Last Name"], ada["Tier"], ada["Last Visit"]) == (
        "Äijä",
        "Öljynen",
        "Bronze",
        "2026-02-01",
    )
    assert ada["Tags"].split(",")[:2] == ["kanta", "Bronze"] and ada["Segment"] in ada["Tags"].split(",")
    di = next(r for r in rows if r["Email Address"] == "di@example.com")
    assert (di["First Name"], di["Last Name"]) == ("Dí", "O'Hara; Jr")


def test_brevo_export_shape(listed):
    text = export(listed, "brevo")
    assert text.splitlines()[0] == "EMAIL;FIRSTNAME;LASTNAME;TIER;SEGMENT;LAST_VISIT"
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert {r["EMAIL"] for r in rows} == {"ada@example.com", "bo@example.com", "di@example.com"}
    assert next(r for r in rows if r["EMAIL"] == "ada@example.com")["LASTNAME"] == "Öljynen"
    assert next(r for r in rows if r["EMAIL"] == "di@example.com")["LASTNAME"] == "O'Hara; Jr"
    assert all(r["SEGMENT"] and r["TIER"] == "Bronze" for r in rows)
    # The bytes a file would hold are UTF-8 and decode back to the same names.
    assert "Äijä".encode() in text.encode("utf-8")


def test_csv_export_has_only_consenting_members(listed):
    rows = list(csv.DictReader(io.StringIO(export(listed, "csv"))))
    assert sorted(r["email"] for r in rows) == ["ada@example.com", "bo@example.com", "di@example.com"]
    assert all(r["marketing_consent"] == "true" for r in rows), rows
    with pytest.raises(InvalidInput):
        export(listed, "xlsx")
