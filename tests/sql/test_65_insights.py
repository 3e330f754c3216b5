"""Owner insights (65_insights.sql) on a small café whose every figure is worked out by hand below.

"Now" is 2026-06-30 12:00 in Helsinki. All visits are at 12:00 local, one a day at most.

member   visits  every  last seen   spend each  spend   RFM rank (1 low .. 5 high)
Aada        8     7 d    2 d ago     20.00      160.00   R5 F5 M5  -> champions
Bertta      6     5 d   10 d ago      3.00       18.00   R4 F4 M1  -> loyal (F>=4, R>=3)
Cecilia     4     7 d  100 d ago     15.00       60.00   R2 F3 M4  -> at_risk (R<=2, F>=3)
Daniel      2    30 d   30 d ago     10.00       20.00   R3 F2 M2  -> potential (the fallback)
Eero        1     -    200 d ago     25.00       25.00   R1 F1 M3  -> lost (gone > 180 d)

With five distinct values, the 20/40/60/80 % cuts fall strictly between neighbours, so the
i-th smallest value scores i (for recency, fewer days scores higher).
"""

import datetime as dt

import pytest

from shared.errors import PermissionDenied
from shared.i18n import churn_reason
from tests.engine import Cafe, at, key, pinned

NOW = at("2026-06-30")
PEOPLE = {  # name: (visits, every n days, last seen n days ago, cents each)
    "Aada": (8, 7, 2, 2000),
    "Bertta": (6, 5, 10, 300),
    "Cecilia": (4, 7, 100, 1500),
    "Daniel": (2, 30, 30, 1000),
    "Eero": (1, 1, 200, 2500),
}


pytestmark = pytest.mark.program(stamps_per_card=4)


@pytest.fixture
def june_cafe(cafe):
    """The shared café (4-stamp cards) with the five members' history above, seen on 30 June 2026."""
    members = {}
    for name, (visits, every, last, cents) in PEOPLE.items():
        phone, member = cafe.customer(f"{name.lower()}@example.com", name, when=at("2025-11-01"))
        members[name] = (phone, member)
        for i in reversed(range(visits)):
            bought = cafe.buy(member, cents, when=NOW - dt.timedelta(days=last + i * every))
            for v in bought["vouchers_issued"]:
                if name == "Bertta":  # Bertta's voucher (issued 10 June) is used on 12 June
                    cafe.redeem(v["code"], when=at("2026-06-12"))
    for day, cents in (("2026-06-03", 1000), ("2026-06-24", 3000)):  # sales without a member
        with cafe.clock(at(day, "15:00"), cafe.staff):
            cafe.staff.rpc(
                "record_purchase",
                {"p_business_id": cafe.id, "p_member_id": None, "p_amount_cents": cents, "p_idempotency_key": key()},
            )
    for name, when, score in (("Aada", "2026-06-28", 10), ("Bertta", "2026-06-20", 8)):
        phone, member = members[name]
        with pinned(at(when, "13:00"), phone):
            phone.rpc("submit_feedback", {"p_member_id": member, "p_score": score})
    cafe.members = members
    cafe.owner.clock = NOW
    return cafe


def test_segments(june_cafe):
    result = june_cafe.owner.rpc("member_segments", {"p_business_id": june_cafe.id})
    assert result["counts"] == {
        "champions": 1,
        "loyal": 1,
        "potential": 1,
        "new": 0,
        "at_risk": 1,
        "hibernating": 0,
        "lost": 1,
    }
    expected = {
        "Aada": ("champions", 5, 5, 5),
        "Bertta": ("loyal", 4, 4, 1),
        "Cecilia": ("at_risk", 2, 3, 4),
        "Daniel": ("potential", 3, 2, 2),
        "Eero": ("lost", 1, 1, 3),
    }
    for name, (segment, r, f, m) in expected.items():
        page = june_cafe.owner.rpc("member_segments", {"p_business_id": june_cafe.id, "p_segment": segment})
        [row] = page["members"]
        assert (row["display_name"], row["r"], row["f"], row["m"]) == (name, r, f, m)


def test_a_new_member_is_new(users):
    cafe = Cafe(users, slug="uusi")
    _, member = cafe.customer("new@example.com", "Uusi", when=NOW - dt.timedelta(days=10))
    cafe.buy(member, 500, when=NOW - dt.timedelta(days=5))
    cafe.owner.clock = NOW
    assert cafe.owner.rpc("member_segments", {"p_business_id": cafe.id})["counts"]["new"] == 1


def test_churn_risk(june_cafe):
    churn = june_cafe.owner.rpc("churn_risk", {"p_business_id": june_cafe.id})
    # Cecilia: every 7 days, away 100 > 2 x 7. Bertta: every 5 days, away 10 = 2 x 5, not more:
    # not yet at risk. Daniel and Eero have fewer than 3 visits.
    assert churn["total"] == 1
    [c] = churn["members"]
    assert (c["display_name"], float(c["typical_gap_days"]), c["days_away"], c["win_back_sent"]) == (
        "Cecilia",
        7.0,
        100,
        False,
    )
    assert churn_reason(c, "en") == "usually every 7 days, last seen 100 days ago"
    assert churn_reason(c, "fi") == "käy yleensä 7 päivän välein, viimeksi 100 päivää sitten"
    assert churn_reason({"typical_gap_days": 6.5, "days_away": 27}, "fi") == (
        "käy yleensä 6,5 päivän välein, viimeksi 27 päivää sitten"
    )
    # With k = 1.9, Bertta (10 > 1.9 x 5 = 9.5) joins her.
    assert june_cafe.owner.rpc("churn_risk", {"p_business_id": june_cafe.id, "p_k": 1.9})["total"] == 2


def test_kpis_for_june(june_cafe):
    k = june_cafe.owner.rpc(
        "business_kpis",
        {"p_business_id": june_cafe.id, "p_from": at("2026-06-01", "00:00"), "p_to": at("2026-07-01", "00:00")},
    )
    # June sales: Aada 7, 14, 21, 28 June (4 x 20.00 = 80.00); Bertta 5, 10, 15, 20 June
    # (4 x 3.00 = 12.00); no member: 10.00 + 30.00. Total 132.00, members 92.00.
    assert (k["revenue_cents"], k["member_revenue_cents"]) == (13200, 9200)
    assert float(k["member_revenue_share"]) == 0.6970  # 92 / 132 = 0.69697
    assert (k["buying_members"], float(k["repeat_rate"]), float(k["visits_per_member"])) == (2, 1.0, 4.0)
    # Active: last visit within 30 days: Aada (2), Bertta (10); Daniel's is exactly 30 days ago.
    assert (k["members"], k["active_30"], k["active_90"], k["new_members"]) == (5, 2, 3, 0)
    # 4-stamp cards: Bertta's 4th visit (10 June) and Aada's 8th (28 June) issue vouchers in June;
    # Bertta's is redeemed: 1 of 2.
    assert (k["vouchers_issued"], k["vouchers_redeemed"], float(k["redemption_rate"])) == (2, 1, 0.5)
    # Feedback 10 (promoter) and 8 (passive): NPS = 100 x (1 - 0) / 2 = 50.
    assert (k["feedback_responses"], k["nps"]) == (2, 50)
    # The average June purchase, by the tier held when buying (all Bronze):
    # (4 x 20.00 + 4 x 3.00) / 8 purchases = 11.50.
    assert k["spend_by_tier"] == [{"tier": "Bronze", "purchases": 8, "average_cents": 1150}]
    assert k["referrals"] == 0 and k["referral_conversion"] is None


def test_weekly_revenue_on_the_cafes_calendar(june_cafe):
    series = june_cafe.owner.rpc(
        "kpi_timeseries",
        {
            "p_business_id": june_cafe.id,
            "p_metric": "revenue",
            "p_bucket": "week",
            "p_from": at("2026-06-01", "00:00"),
            "p_to": at("2026-07-01", "00:00"),
        },
    )
    # Weeks start on Monday; 1 June 2026 is a Monday.
    #  1-7 June: Aada 7th 20.00, Bertta 5th 3.00, no member 3rd 10.00  = 33.00
    #  8-14:     Aada 14th 20.00, Bertta 10th 3.00                     = 23.00
    # 15-21:     Aada 21st 20.00, Bertta 15th and 20th 3.00 + 3.00     = 26.00
    # 22-28:     Aada 28th 20.00, no member 24th 30.00                 = 50.00
    assert [(p["bucket"], float(p["value"])) for p in series["points"]] == [
        ("2026-06-01", 3300),
        ("2026-06-08", 2300),
        ("2026-06-15", 2600),
        ("2026-06-22", 5000),
    ]


def test_export_members_csv(june_cafe):
    csv = june_cafe.owner.rpc("export_members", {"p_business_id": june_cafe.id})
    lines = csv.splitlines()
    assert lines[0] == (
        "member_number,display_name,email,joined_at,visits,spend_cents,points,stamps,tier,segment,"
        "last_visit_at,marketing_consent"
    )
    rows = {line.split(",")[1]: line.split(",") for line in lines[1:]}
    assert set(rows) == set(PEOPLE)
    assert rows["Cecilia"][2] == "cecilia@example.com" and rows["Cecilia"][9] == "at_risk"
    assert rows["Aada"][4:6] == ["8", "16000"]


def test_insights_are_for_the_owner_only(june_cafe):
    for fn, params in (
        ("member_segments", {}),
        ("churn_risk", {}),
        ("export_members", {}),
        ("business_kpis", {"p_from": "2026-01-01", "p_to": "2026-02-01"}),
        ("kpi_timeseries", {"p_metric": "revenue", "p_bucket": "day", "p_from": "2026-01-01", "p_to": "2026-02-01"}),
    ):
        with pytest.raises(PermissionDenied):
            june_cafe.staff.rpc(fn, {"p_business_id": june_cafe.id, **params})


def test_a_refund_leaves_the_revenue_series_and_kpis(june_cafe):
    june = {"p_business_id": june_cafe.id, "p_from": at("2026-06-01", "00:00"), "p_to": at("2026-07-01", "00:00")}
    with june_cafe.clock(at("2026-06-24", "16:00"), june_cafe.staff):
        extra = june_cafe.staff.rpc(
            "record_purchase",
            {"p_business_id": june_cafe.id, "p_member_id": None, "p_amount_cents": 5000, "p_idempotency_key": key()},
        )
    week = {"p_metric": "revenue", "p_bucket": "week", **june}
    assert june_cafe.owner.rpc("kpi_timeseries", {**week})["points"][-1]["value"] == 10000  # 50.00 + 50.00
    june_cafe.refund(extra["purchase_id"], when=at("2026-06-24", "16:05"))
    assert june_cafe.owner.rpc("kpi_timeseries", {**week})["points"][-1]["value"] == 5000
    assert june_cafe.owner.rpc("business_kpis", june)["revenue_cents"] == 13200


def test_segments_are_scored_once_a_cafe_day(june_cafe, users):
    first = june_cafe.owner.rpc("member_segments", {"p_business_id": june_cafe.id})
    assert first["as_of"].startswith("2026-06-30")
    # Eero comes back the same afternoon: the day's segments stand until the café's next day.
    _, eero = june_cafe.members["Eero"]
    june_cafe.buy(eero, 2500, when=NOW + dt.timedelta(hours=2))
    with pinned(NOW + dt.timedelta(hours=3), june_cafe.owner):
        assert june_cafe.owner.rpc("member_segments", {"p_business_id": june_cafe.id})["counts"]["lost"] == 1
    # Next morning (Helsinki), the first look scores again: Eero is no longer lost.
    with pinned(at("2026-07-01", "08:00"), june_cafe.owner):
        again = june_cafe.owner.rpc("member_segments", {"p_business_id": june_cafe.id})
    assert again["as_of"].startswith("2026-07-01") and again["counts"]["lost"] == 0


def test_the_nightly_run_scores_every_business(june_cafe, db):
    import psycopg

    from backend.transport.postgres import begin_request

    with psycopg.connect(db.authenticator) as conn:
        begin_request(conn, {"role": "service_role"})
        conn.execute("select public.run_automations(%s)", (at("2026-07-02", "03:00"),))
        conn.commit()
    with psycopg.connect(db.admin) as conn:
        day, scored = conn.execute(
            "select r.day, (select count(*) from kanta.member_scores s where s.business_id = r.business_id)"
            " from kanta.score_runs r where r.business_id = %s",
            (june_cafe.id,),
        ).fetchone()
    assert (str(day), scored) == ("2026-07-02", 5)


def test_average_purchase_by_tier_counts_the_tier_held_when_buying(users):
    cafe = Cafe(
        users,
        slug="taso",
        settings={
            "tiers": [
                {"name": "Member", "min_points": 0, "multiplier": 1.0, "perks": []},
                {"name": "Gold", "min_points": 100, "multiplier": 1.0, "perks": []},
            ]
        },
    )
    _, member = cafe.customer("climber@example.com", when=at("2026-05-01"))
    cafe.buy(member, 10000, when=at("2026-06-02"))  # 100 points, bought as Member
    cafe.buy(member, 1000, when=at("2026-06-09"))  # now Gold
    cafe.buy(member, 3000, when=at("2026-06-16"))  # Gold
    cafe.owner.clock = NOW
    k = cafe.owner.rpc(
        "business_kpis",
        {"p_business_id": cafe.id, "p_from": at("2026-06-01", "00:00"), "p_to": at("2026-07-01", "00:00")},
    )
    # Member: one purchase of 100.00; Gold: (10.00 + 30.00) / 2 = 20.00, in the program's order
    # (not the alphabet's). Still one buying member.
    assert k["spend_by_tier"] == [
        {"tier": "Member", "purchases": 1, "average_cents": 10000},
        {"tier": "Gold", "purchases": 2, "average_cents": 2000},
    ]
    assert (k["buying_members"], float(k["repeat_rate"]), float(k["visits_per_member"])) == (1, 1.0, 3.0)


@pytest.mark.program(stamps_per_card=3, stamp_cooldown_minutes=0, max_purchases_per_day=50)
def test_dashboard_is_the_kpis_and_every_series_in_one_call(cafe):
    _, member = cafe.customer("aino@example.com", "Aino", when=at("2026-03-01"))
    cafe.buy(member, 1000, when=at("2026-03-02"))
    cafe.buy(None, 500, when=at("2026-03-03"))
    period = {"p_business_id": cafe.id, "p_from": "2026-03-01", "p_to": "2026-04-01"}
    board = cafe.owner.rpc("owner_dashboard", {**period, "p_bucket": "week"})
    assert board["kpis"] == cafe.owner.rpc("business_kpis", period)
    assert set(board["series"]) == {"revenue", "member_revenue_share", "visits", "new_members", "redemptions", "nps"}
    weekly = cafe.owner.rpc("kpi_timeseries", {**period, "p_metric": "revenue", "p_bucket": "week"})["points"]
    assert board["series"]["revenue"] == weekly == [{"bucket": "2026-03-02", "value": 1500}]
    with pytest.raises(PermissionDenied):
        cafe.staff.rpc("owner_dashboard", period)
