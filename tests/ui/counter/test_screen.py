"""The counter in a fake flet session, against the real API: identify, record, undo, redeem, a sale
without a member, and the owner's tools hidden from staff."""

from __future__ import annotations

import pytest

from mobile.counter.models import parse_amount
from tests.engine import Cafe
from tests.ui.session import FakeSession, open_app

PASSWORD = "correct horse battery"


pytestmark = pytest.mark.program(stamps_per_card=3, stamp_cooldown_minutes=0, max_purchases_per_day=50)


@pytest.fixture
def counter(screens, cafe):
    def open_(email: str = "barista@cafe-aroma.example") -> FakeSession:
        screen = screens(width=1280, height=800)
        screen.sign_in(email, PASSWORD)
        return screen

    return open_


def submit(screen: FakeSession, identifier: str, value: str) -> None:
    screen.submit(identifier, value)


def test_scan_amount_confirm_is_three_interactions(counter, cafe):
    phone, member = cafe.customer("aino@example.com", "Aino")
    screen = counter()
    assert screen.app.screen == "counter"
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
    assert not screen.has("panel-stamps")  # a static number is not proof: the staff confirm it
    screen.click("confirm-member")
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
    assert "Lunastettu: Free coffee" in screen.app.notice
    assert phone.rpc("my_card", {"p_member_id": member})["vouchers"] == []
    assert not screen.has(f"redeem-{code}")


def test_sale_without_member_and_a_bad_amount(counter, cafe):
    screen = counter()
    screen.type("counter-amount", "abc")
    screen.click("no-member")
    assert screen.app.notice == "Anna summa, esim. 12,50."
    screen.type("counter-amount", "8,00")
    screen.click("record")
    assert screen.app.notice == "Skannaa ensin asiakas."
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
    assert screen.app.notice == "Tämä QR-koodi on jo käytetty. Pyydä asiakkaalta uusi koodi."
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


def test_offline_purchases_are_queued_survive_a_restart_and_apply_once(own_cluster, tmp_path):
    """Stop the database, record 3 purchases (queued on the device), restart the app, start the
    database: each purchase is in the ledger exactly once."""
    import time

    import psycopg

    from backend.transport.postgres import PostgresBackend
    from mobile.counter.offline import OfflineQueue
    from tests.exactly_once import RELAXED, assert_exactly_once, ledger_state

    pg = own_cluster
    backend = PostgresBackend(pg.conninfo(user="authenticator"), pg.conninfo(), max_size=4, bcrypt_rounds=4)
    queue_dir = tmp_path / "queue"

    def users(email):
        backend.auth.create_user(email, PASSWORD)
        t = backend.transport()
        t.sign_in(email, PASSWORD)
        return t

    def open_counter():
        screen = open_app(backend.transport, queue_dir=queue_dir, width=1280, height=800)
        screen.sign_in("barista@cafe-aroma.example", PASSWORD)
        return screen

    try:
        cafe = Cafe(users, settings=RELAXED)
        numbers, tokens = [], []
        for i in range(3):
            phone, member = cafe.customer(f"m{i}@example.com")
            numbers.append(phone.rpc("my_card", {"p_member_id": member})["member_number"])
            tokens.append(phone.rpc("member_qr_token", {"p_member_id": member})["token"])
        screen = open_counter()
        submit(screen, "counter-code", numbers[0])  # identified while online
        screen.click("confirm-member")
        pg.stop()
        for i, cents in enumerate((1250, 420, 980)):
            if i:
                # A member's QR scanned offline: identified on replay (a typed member number would
                # wait for the staff's confirmation, see the test below).
                submit(screen, "counter-code", tokens[i])
                assert screen.has("offline-member")
            screen.type("counter-amount", f"{cents // 100},{cents % 100:02d}")
            screen.click("record")
            assert screen.app.notice.startswith("Ei yhteyttä: ostos jonossa")
        assert screen.by_id("pending").content.value == "3 odottaa lähetystä"
        screen.close()  # the app is closed with the database still down

        queue = OfflineQueue(queue_dir / f"{cafe.id}.jsonl")
        assert [e["amount_cents"] for e in queue.entries()] == [1250, 420, 980]
        pg.start()
        screen = open_counter()  # the app again: the queue is still there
        for _ in range(20):  # until the pool has connected again (the app retries on a timer)
            if screen.app.screen == "counter":
                break
            time.sleep(0.5)
            screen.sign_in("barista@cafe-aroma.example", PASSWORD)
        assert screen.by_id("pending").content.value == "3 odottaa lähetystä"
        sent, outcome = [], {"waiting": 3}
        for _ in range(20):
            outcome = screen.shell.counter.replay()
            sent += outcome["sent"]
            if not outcome["waiting"]:
                break
            time.sleep(0.5)
        assert (len(sent), outcome["refused"], outcome["waiting"]) == (3, [], 0)
        assert not screen.has("pending")
        assert screen.shell.counter.replay()["sent"] == []  # nothing left to send twice
        keys = {e["key"]: e["amount_cents"] for e in queue.entries()} or None
        assert keys is None
        with psycopg.connect(pg.conninfo()) as conn:
            expected = dict(
                conn.execute(
                    "select o.idempotency_key, p.amount_cents from kanta.operations o"
                    " join kanta.purchases p on p.id = (o.response ->> 'purchase_id')::uuid"
                    " where o.business_id = %s and o.kind = 'record_purchase'",
                    (cafe.id,),
                ).fetchall()
            )
        assert sorted(expected.values()) == [420, 980, 1250]
        assert_exactly_once(ledger_state(pg.conninfo(), cafe.id), expected)
        screen.close()
    finally:
        backend.close()


def test_a_queued_purchase_refused_on_replay_is_shown_not_dropped(screens, cafe, tmp_path):
    from mobile.counter.offline import OfflineQueue

    screen = screens(width=1280, height=800)
    screen.sign_in("barista@cafe-aroma.example", PASSWORD)
    counter_ = screen.shell.counter
    # Queued earlier for a member number that does not exist (typed wrong while offline).
    counter_.state.queue.add(
        {"business_id": cafe.id, "member_id": None, "code": "00000000", "amount_cents": 500, "key": "queued-typo-1"}
    )
    outcome = counter_.replay()
    assert outcome["refused"] == ["queued-typo-1"] and outcome["waiting"] == 1
    assert screen.has("refused-queued-typo-1")
    refused = OfflineQueue(counter_.state.queue.path).refused()
    assert [e["refused"] for e in refused] == ["invalid_code"]
    screen.fire(screen.by_id("refused-queued-typo-1").trailing, "click")
    assert counter_.state.queue.entries() == [] and not screen.has("pending")


def test_a_member_number_queued_offline_waits_for_the_staffs_confirmation(screens, cafe):
    """A typed member number is not proof of who stood at the counter, offline or not: the replay
    asks the database without a confirmation, keeps the purchase when it asks for one, and records
    it (once) only after the staff confirm."""
    phone, member = cafe.customer("aino@example.com", "Aino")
    number = phone.rpc("my_card", {"p_member_id": member})["member_number"]
    screen = screens(width=1280, height=800)
    screen.sign_in("barista@cafe-aroma.example", PASSWORD)
    counter_ = screen.shell.counter
    for key in ("queued-number-1", "queued-number-2"):  # typed while offline
        counter_.state.queue.add(
            {"business_id": cafe.id, "member_id": None, "code": number, "amount_cents": 500, "key": key}
        )
    outcome = counter_.replay()
    assert (outcome["sent"], outcome["waiting"]) == ([], 2)
    assert phone.rpc("my_card", {"p_member_id": member})["points"] == 0  # nothing recorded unconfirmed
    assert counter_.replay()["sent"] == []  # asked again, still waiting for the staff
    assert screen.has("confirm-queued-number-1") and screen.has("discard-queued-number-2")
    screen.click("discard-queued-number-2")
    screen.click("confirm-queued-number-1")
    card = phone.rpc("my_card", {"p_member_id": member})
    assert (card["stamps"], card["points"]) == (1, 5)
    assert counter_.state.queue.entries() == [] and not screen.has("pending")
    assert counter_.replay()["sent"] == []  # nothing left to send twice
    assert phone.rpc("my_card", {"p_member_id": member})["points"] == 5
