"""The daily automations, the inbox, the owner's messages and feedback, as the members live them."""

import datetime as dt

import psycopg
import pytest
from dateutil.relativedelta import relativedelta

from shared.errors import Conflict, PermissionDenied
from shared.transport import User
from tests.engine import Cafe, at

JAN = at("2026-01-01", "07:00")


@pytest.fixture
def cafe(users):
    return Cafe(users, settings={"stamps_per_card": 5, "birthday_reward": "Synttärikakku"})


@pytest.fixture
def scheduler(backend):
    t = backend.transport()
    t.user = User(id="00000000-0000-0000-0000-000000000000", email="", role="service_role")
    return t


def run(scheduler, when):
    return scheduler.rpc("run_automations", {"p_now": when})


def inbox(phone, member, when=None):
    phone.clock = when
    try:
        return phone.rpc("my_inbox", {"p_member_id": member})
    finally:
        phone.clock = None


def consent(phone, member, when, **changes):
    phone.clock = when
    try:
        return phone.rpc(
            "update_my_profile", {"p_member_id": member, "p_changes": {"marketing_consent": True, **changes}}
        )
    finally:
        phone.clock = None


def test_running_twice_on_one_day_sends_nothing_twice(db, cafe, scheduler):
    phone, member = cafe.customer("a@example.com", "Aino", when=JAN)
    consent(phone, member, at("2026-01-01"), birthday="1990-06-01")
    for i in range(4):
        cafe.buy(member, 450, when=at(f"2026-05-2{i}"))  # 4 of 5 stamps: near the reward
    first = run(scheduler, at("2026-06-01", "08:00"))
    assert first["welcome"] == 1 and first["near_reward"] == 1 and first["birthday"] == 1
    assert first["thank_you"] == 0  # the purchases are more than two days old
    again = run(scheduler, at("2026-06-01", "20:00"))
    assert set(again.values()) == {0}
    with psycopg.connect(db.admin) as conn:
        kinds = [r[0] for r in conn.execute("select kind from kanta.messages order by id")]
        # 9 days away after four daily visits is also "at risk" (more than 2 x a 1-day gap).
        assert kinds == ["welcome", "near_reward", "birthday", "win_back"]
        assert conn.execute("select count(*) from kanta.vouchers where kind = 'birthday'").fetchone()[0] == 1


def test_marketing_needs_consent_and_transactional_does_not(cafe, scheduler):
    phone, member = cafe.customer("a@example.com", when=JAN)
    phone.rpc("update_my_profile", {"p_member_id": member, "p_changes": {"birthday": "1990-06-01"}})
    cafe.buy(member, 450, when=at("2026-05-31"))
    sent = run(scheduler, at("2026-06-01", "08:00"))
    assert sent["birthday"] == 0 and sent["thank_you"] == 1 and sent["welcome"] == 1


@pytest.mark.parametrize(
    ("born", "entered", "check_day", "rewarded"),
    [
        # Feb 29 falls on Feb 28 in a common year (dateutil says where).
        ("2000-02-29", "2026-01-01", "2027-02-28", True),
        ("2000-02-29", "2026-01-01", "2027-03-01", False),
        ("2000-02-29", "2026-01-01", "2028-02-29", True),  # a leap year: the real day
        ("2000-02-29", "2026-01-01", "2028-02-28", False),
        # The 30-day rule: entered 29 days before -> not this year; 30 days before -> yes.
        ("1990-06-30", "2026-06-01", "2026-06-30", False),
        ("1990-06-30", "2026-05-31", "2026-06-30", True),
    ],
)
def test_birthday_edge_cases(cafe, scheduler, born, entered, check_day, rewarded):
    phone, member = cafe.customer("a@example.com", when=JAN)
    consent(phone, member, at(entered), birthday=born)
    # The oracle, from dateutil: this year's birthday (Feb 29 -> Feb 28 in common years), and
    # whether it was entered at least 30 days before it.
    birth, day = dt.date.fromisoformat(born), dt.date.fromisoformat(check_day)
    this_year = birth + relativedelta(year=day.year)
    oracle = this_year == day and dt.date.fromisoformat(entered) <= this_year - dt.timedelta(days=30)
    assert oracle == rewarded
    sent = run(scheduler, at(check_day, "09:00"))
    assert sent["birthday"] == (1 if rewarded else 0)


def test_birthday_once_a_year_and_at_helsinki_midnight(cafe, scheduler):
    phone, member = cafe.customer("a@example.com", when=JAN)
    consent(phone, member, at("2026-01-01"), birthday="1990-03-15")
    # 23:30 on the 14th in Helsinki is 21:30 UTC: not yet.
    assert run(scheduler, at("2026-03-14", "23:30"))["birthday"] == 0
    # 00:30 on the 15th in Helsinki is still the 14th in UTC (22:30): the café's day counts.
    midnight = at("2026-03-15", "00:30")
    assert midnight.astimezone(dt.UTC).day == 14
    assert run(scheduler, midnight)["birthday"] == 1
    assert run(scheduler, at("2026-03-15", "18:00"))["birthday"] == 0  # once
    assert run(scheduler, at("2027-03-15", "09:00"))["birthday"] == 1  # next year again
    titles = [
        m["data"].get("reward")
        for m in inbox(phone, member, at("2027-03-15", "10:00"))["messages"]
        if m["kind"] == "birthday"
    ]
    assert titles == ["Synttärikakku", "Synttärikakku"]


def test_win_back_at_most_once_in_60_days(cafe, scheduler):
    phone, member = cafe.customer("a@example.com", when=JAN)
    consent(phone, member, at("2026-01-01"))
    for day in ("2026-01-05", "2026-01-12", "2026-01-19"):  # a weekly regular
        cafe.buy(member, 450, when=at(day))
    assert run(scheduler, at("2026-01-30"))["win_back"] == 0  # 11 days away: under 2 x 7
    assert run(scheduler, at("2026-02-05"))["win_back"] == 1  # 17 days away
    assert run(scheduler, at("2026-03-01"))["win_back"] == 0
    assert run(scheduler, at("2026-04-10"))["win_back"] == 1  # 64 days after the first


def test_vip_drop_message_goes_to_consenting_vips_only(cafe, scheduler):
    vip, vip_member = cafe.customer("vip@example.com")
    quiet, quiet_member = cafe.customer("quiet@example.com")
    plain, plain_member = cafe.customer("plain@example.com")
    consent(vip, vip_member, at("2026-01-01"))
    consent(plain, plain_member, at("2026-01-01"))
    for m in (vip_member, quiet_member):
        cafe.owner.rpc("grant_vip", {"p_business_id": cafe.id, "p_member_id": m, "p_until": "2099-01-01"})
    cafe.owner.rpc(
        "create_drop",
        {
            "p_business_id": cafe.id,
            "p_title": "Box",
            "p_description": "",
            "p_vip_starts_at": at("2026-06-10"),
            "p_public_starts_at": at("2026-06-11"),
            "p_ends_at": at("2026-06-12"),
            "p_stock": 3,
        },
    )
    assert run(scheduler, at("2026-06-09"))["vip_drop"] == 0
    assert run(scheduler, at("2026-06-10", "13:00"))["vip_drop"] == 1


def test_only_the_scheduler_runs_automations(cafe):
    with pytest.raises(PermissionDenied):
        cafe.owner.rpc("run_automations", {})


def test_inbox_unread_badge_and_owner_messages(cafe, scheduler):
    phone, member = cafe.customer("a@example.com", when=JAN)
    consent(phone, member, at("2026-01-01"))
    _, other = cafe.customer("b@example.com")  # no consent
    sent = cafe.owner.rpc(
        "send_message",
        {"p_business_id": cafe.id, "p_target": "all", "p_title": "Uusi leipä", "p_body": "Ruisleipä tuli!"},
    )
    assert sent["sent"] == 1
    box = phone.rpc("my_inbox", {"p_member_id": member})
    assert box["unread"] == 1 and box["messages"][0]["title"] == "Uusi leipä"
    phone.rpc("mark_message_read", {"p_message_id": box["messages"][0]["id"]})
    assert phone.rpc("my_inbox", {"p_member_id": member})["unread"] == 0
    with pytest.raises(PermissionDenied):
        cafe.staff.rpc("send_message", {"p_business_id": cafe.id, "p_target": "all", "p_title": "x", "p_body": "y"})


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
