"""Each counter and card action is exactly one RPC: one HTTP request through supabase-py."""

import pytest

from backend.transport.supabase import SupabaseTransport
from tests.doubles.supabase_double import running_double
from tests.engine import Cafe, key


@pytest.fixture
def world(db, users):
    cafe = Cafe(users, settings={"stamps_per_card": 3, "stamps_per_purchase": 3})
    users("aino@example.com")
    with running_double(db.authenticator, db.admin) as double:
        staff = SupabaseTransport(double.url, double.anon_key)
        staff.sign_in("barista@cafe-aroma.example", "correct horse battery")
        phone = SupabaseTransport(double.url, double.anon_key)
        phone.sign_in("aino@example.com", "correct horse battery")
        member = phone.rpc("join_business", {"p_slug": "cafe-aroma"})["member_id"]
        yield double, cafe, staff, phone, member


def test_identify_record_redeem_refund_and_show_the_card_are_one_request_each(world):
    double, cafe, staff, phone, member = world

    def requests_for(action):
        before = double.requests
        result = action()
        return double.requests - before, result

    token = phone.rpc("member_qr_token", {"p_member_id": member})["token"]
    n, panel = requests_for(lambda: staff.rpc("identify_member", {"p_business_id": cafe.id, "p_code": token}))
    assert n == 1 and panel["member_id"] == member
    n, bought = requests_for(
        lambda: staff.rpc(
            "record_purchase",
            {"p_business_id": cafe.id, "p_member_id": member, "p_amount_cents": 450, "p_idempotency_key": key()},
        )
    )
    assert n == 1 and len(bought["vouchers_issued"]) == 1
    n, _ = requests_for(
        lambda: staff.rpc(
            "redeem_voucher",
            {"p_business_id": cafe.id, "p_code": bought["vouchers_issued"][0]["code"], "p_idempotency_key": key()},
        )
    )
    assert n == 1
    n, refund = requests_for(
        lambda: staff.rpc(
            "refund_purchase",
            {"p_business_id": cafe.id, "p_purchase_id": bought["purchase_id"], "p_idempotency_key": key()},
        )
    )
    assert n == 1 and refund["points_clawed_back"] == 4
    n, card = requests_for(lambda: phone.rpc("my_card", {"p_member_id": member}))
    assert n == 1 and card["stamps"] == 0 and card["points"] == 0
