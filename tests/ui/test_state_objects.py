"""The screens' state objects are plain Python: they import no Flet, and a whole counter visit runs
through them against the real database with no page at all."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mobile.counter.state import CounterState
from mobile.wallet.state import Card, Wallet

STATE_MODULES = [
    "mobile.account",
    "mobile.counter.state",
    "mobile.counter.offline",
    "mobile.counter.models",
    "mobile.wallet.state",
    "mobile.wallet.models",
    "mobile.owner.state",
    "mobile.owner.models",
]

pytestmark = pytest.mark.program(stamps_per_card=3, stamp_cooldown_minutes=0, max_purchases_per_day=50)


def test_no_state_object_imports_flet():
    code = "import sys\n" + "".join(f"import {m}\n" for m in STATE_MODULES)
    code += "print(sorted({m.split('.')[0] for m in sys.modules} & {'flet', 'flet_web', 'flet_charts'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_counter_visit_through_the_state_objects_alone(cafe, tmp_path):
    phone, member = cafe.customer("aino@example.com", "Aino")
    counter = CounterState(cafe.staff, {"business_id": cafe.id, "role": "staff"}, tmp_path)
    number = Card(phone).open(member, on_change=lambda _event: None)["member_number"]

    # A typed member number: the database asks the staff to confirm, the state object only relays it.
    assert counter.identify(number) == "confirm" and counter.panel is None
    counter.pick(number)
    assert counter.panel["member_id"] == member

    for cents in (450, 380, 520):
        answer = counter.record(member, cents)
    assert answer["stamps"] == 0 and len(answer["vouchers_issued"]) == 1  # the third stamp filled the card
    assert [v["code"] for v in counter.panel["vouchers"]] == [answer["vouchers_issued"][0]["code"]]

    counter.redeem(answer["vouchers_issued"][0]["code"])
    assert counter.panel["vouchers"] == []
    wallet = Wallet(phone).load()
    assert [c["member_id"] for c in wallet] == [member]
