"""Feedback (61_feedback.sql): one score a visit, the NPS summary, and the owner's reply in the inbox."""

import pytest

from shared.errors import Conflict
from tests.engine import at

JAN = at("2026-01-01", "07:00")

pytestmark = pytest.mark.program(stamps_per_card=5, birthday_reward="Synttärikakku")


def test_feedback_nps_and_the_owners_reply(users, cafe):
    scores = [10, 9, 8, 6, 0]  # 2 promoters, 1 passive, 2 detractors: NPS = (2 - 2) / 5 = 0
    phones = []
    for i, score in enumerate(scores):
        phone, member = cafe.customer(f"c{i}@example.com", f"Asiakas {i}")
        cafe.buy(member, 450, when=at("2026-06-01", "09:00"))
        phone.clock = at("2026-06-01", "10:00")
        given = phone.rpc("submit_feedback", {"p_member_id": member, "p_score": score, "p_comment": f"score {score}"})
        phones.append((phone, member, given["feedback_id"]))
    phone, member, feedback_id = phones[-1]
    with pytest.raises(Conflict) as err:
        phone.rpc("submit_feedback", {"p_member_id": member, "p_score": 5})
    assert err.value.code == "feedback_already_given"

    summary = cafe.owner.rpc("feedback_summary", {"p_business_id": cafe.id})
    assert (summary["responses"], summary["promoters"], summary["passives"], summary["detractors"], summary["nps"]) == (
        5,
        2,
        1,
        2,
        0,
    )
    cafe.owner.rpc("reply_feedback", {"p_feedback_id": feedback_id, "p_reply": "Olemme pahoillamme, korjaamme."})
    phone.clock = None
    box = phone.rpc("my_inbox", {"p_member_id": member})
    assert box["messages"][0]["kind"] == "feedback_reply"
    assert box["messages"][0]["body"] == "Olemme pahoillamme, korjaamme."


def test_no_feedback_without_a_recent_visit(cafe):
    phone, member = cafe.customer("a@example.com", when=JAN)
    with pytest.raises(Conflict) as err:
        phone.rpc("submit_feedback", {"p_member_id": member, "p_score": 10})
    assert err.value.code == "no_recent_visit"
