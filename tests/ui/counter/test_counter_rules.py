"""Issue 15 on the counter's screen: a purchase inside the cooldown shows its points and "no stamp"
(in both languages), and an amount above the owner's limit is asked about, then sent confirmed."""

from __future__ import annotations

import pytest

from mobile.counter.models import purchase_result_lines
from mobile.counter.offline import LARGE_AMOUNT
from tests.ui.session import FakeSession

PASSWORD = "correct horse battery"

pytestmark = pytest.mark.program(stamps_per_card=5, max_purchases_per_day=50)


def _open(screens) -> FakeSession:
    screen = screens(width=1280, height=800)
    screen.sign_in("barista@cafe-aroma.example", PASSWORD)
    return screen


def _record(screen: FakeSession, number: str, amount: str) -> None:
    screen.submit("counter-code", number)
    screen.click("confirm-member")
    screen.type("counter-amount", amount)
    screen.click("record")


def _lines(screen: FakeSession) -> list[str]:
    return [c.content.value for c in screen.find(lambda c: getattr(c, "identifier", None) == "result-line")]


def test_a_second_purchase_inside_the_cooldown_shows_points_and_no_stamp(screens, cafe):
    phone, member = cafe.customer("aino@example.com", "Aino")
    number = phone.rpc("my_card", {"p_member_id": member})["member_number"]
    screen = _open(screens)
    _record(screen, number, "4,50")
    assert _lines(screen) == ["+1 leima (1/5)", "+4 pistettä (4 yhteensä)"]
    _record(screen, number, "3,00")
    assert _lines(screen) == [
        "Pisteet kirjattu, ei leimaa: leima annettiin jo hetki sitten (yksi leima per odotusaika).",
        "+3 pistettä (7 yhteensä)",
    ]
    card = phone.rpc("my_card", {"p_member_id": member})
    assert (card["stamps"], card["points"]) == (1, 7)
    answer = {"stamps_added": 0, "stamp_withheld": "cooldown", "points_added": 3, "points": 7}
    assert purchase_result_lines(answer, "en")[0].startswith("Points recorded, no stamp")


def test_a_large_amount_is_asked_about_then_recorded_once(screens, cafe):
    phone, member = cafe.customer("aino@example.com", "Aino")
    number = phone.rpc("my_card", {"p_member_id": member})["member_number"]
    screen = _open(screens)
    _record(screen, number, "250,00")
    assert screen.app.notice == "Summa on tavallista suurempi. Vahvista, että se on oikein."
    assert phone.rpc("my_card", {"p_member_id": member})["points"] == 0
    question = screen.by_id("large-amount").value
    assert "250,00" in question and "200,00" in question
    screen.click("confirm-large")
    assert phone.rpc("my_card", {"p_member_id": member})["points"] == 250
    assert not screen.has("confirm-large")


def test_a_large_amount_queued_offline_waits_for_the_staffs_confirmation(screens, cafe):
    phone, member = cafe.customer("aino@example.com", "Aino")
    screen = _open(screens)
    counter_ = screen.shell.counter
    counter_.state.queue.add(
        {"business_id": cafe.id, "member_id": member, "code": None, "amount_cents": 30000, "key": "queued-large-1"}
    )
    outcome = counter_.replay()
    assert outcome["to_confirm"] == ["queued-large-1"] and outcome["waiting"] == 1
    assert counter_.state.queue.entries()[0]["refused"] == LARGE_AMOUNT
    assert screen.has("confirm-queued-large-1")
    screen.click("confirm-queued-large-1")
    assert phone.rpc("my_card", {"p_member_id": member})["points"] == 300
    assert counter_.state.queue.entries() == []


def test_the_owner_serves_their_own_card_only_with_the_audited_override(screens, cafe):
    own = cafe.owner.rpc("join_business", {"p_slug": cafe.business["slug"]})
    code = cafe.owner.rpc(
        "grant_reward",
        {"p_business_id": cafe.id, "p_member_id": own["member_id"], "p_title": "Mine", "p_idempotency_key": "ui-own-1"},
    )["code"]
    screen = screens(width=1280, height=800)
    screen.sign_in("owner@cafe-aroma.example", PASSWORD)
    _record(screen, own["member_number"], "4,50")
    assert screen.app.notice == "Et voi kirjata omalle kortillesi. Omistaja voi palvella sinut."
    screen.click("override")
    assert cafe.owner.rpc("my_card", {"p_member_id": own["member_id"]})["stamps"] == 1
    screen.click(f"redeem-{code}")
    assert screen.app.notice.startswith("Et voi kirjata omalle")
    screen.click("override")
    assert cafe.owner.rpc("my_card", {"p_member_id": own["member_id"]})["vouchers"] == []
    log = cafe.owner.rpc("audit_log", {"p_business_id": cafe.id})["entries"]
    assert sorted(e["detail"]["operation"] for e in log if e["action"] == "own_card_override") == [
        "record_purchase",
        "redeem_voucher",
    ]
