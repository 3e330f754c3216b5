"""Café Aroma's year: a 10-stamp card, 1 point per euro, Bronze 0 / Silver 250 / Gold 750 (x1.0 / x1.25 / x1.5).

Every expected figure below is worked out by hand in the comments; the database must agree.
"""

import pytest

from tests.engine import Cafe, at

AROMA = {
    "stamps_per_card": 10,
    "stamp_reward": "Free coffee",
    "points_per_euro": 1,
    "tiers": [
        {"name": "Bronze", "min_points": 0, "multiplier": 1.0, "perks": []},
        {"name": "Silver", "min_points": 250, "multiplier": 1.25, "perks": ["free_refill"]},
        {"name": "Gold", "min_points": 750, "multiplier": 1.5, "perks": ["early_access"]},
    ],
    "tier_window_months": 12,
    "rewards": [{"name": "Cake slice", "cost_points": 200}],
}

# (local day, amount in cents, points added, tier after, stamps on the card after, vouchers issued)
YEAR = [
    ("2026-01-05", 4000, 40, "Bronze", 1, 0),  # 40.00 x1.0 = 40; window total 40
    ("2026-01-20", 6000, 60, "Bronze", 2, 0),  # 60 -> 100
    ("2026-02-10", 8000, 80, "Bronze", 3, 0),  # 80 -> 180
    ("2026-03-03", 10000, 100, "Silver", 4, 0),  # 100 -> 280 >= 250: Silver from now on
    ("2026-03-24", 4000, 50, "Silver", 5, 0),  # 40.00 x1.25 = 50 -> 330
    ("2026-04-14", 12000, 150, "Silver", 6, 0),  # 120.00 x1.25 = 150 -> 480
    ("2026-05-05", 20000, 250, "Silver", 7, 0),  # 200.00 x1.25 = 250 -> 730
    ("2026-05-26", 2000, 25, "Gold", 8, 0),  # 20.00 x1.25 = 25 -> 755 >= 750: Gold
    ("2026-06-16", 1000, 15, "Gold", 9, 0),  # 10.00 x1.5 = 15 -> 770
    ("2026-07-07", 3000, 45, "Gold", 0, 1),  # 30.00 x1.5 = 45 -> 815; 10th stamp: a voucher, card empty
    ("2026-08-04", 850, 12, "Gold", 1, 0),  # 8.50 x1.5 = 12.75, rounded down to 12 -> 827
    ("2026-09-01", 330, 4, "Gold", 2, 0),  # 3.30 x1.5 = 4.95 -> 4 -> 831
]


@pytest.fixture
def aroma(users):
    return Cafe(users, settings=AROMA)


def test_a_year_at_cafe_aroma(aroma):
    phone, member = aroma.customer("aino@example.com", "Aino")
    voucher_codes = []
    for day, cents, points, tier, stamps, vouchers in YEAR:
        result = aroma.buy(member, cents, when=at(day))
        assert (result["points_added"], result["tier_after"], result["stamps"], len(result["vouchers_issued"])) == (
            points,
            tier,
            stamps,
            vouchers,
        ), day
        voucher_codes += [v["code"] for v in result["vouchers_issued"]]
    # 40+60+80+100+50+150+250+25+15+45+12+4 = 831
    assert result["points"] == 831

    # Silver came with the 4th purchase, Gold with the 8th.
    assert [r for r in YEAR if r[3] == "Silver"][0][0] == "2026-03-03"

    # The free coffee is used the day after it was earned.
    redeemed = aroma.redeem(voucher_codes[0], when=at("2026-07-08"))
    assert redeemed["title"] == "Free coffee"

    # A cake slice for 200 points on the last visit: 831 - 200 = 631.
    card = None
    with aroma.clock(at("2026-09-01", "12:05"), phone, aroma.staff):
        card = phone.rpc("my_card", {"p_member_id": member})
        cake = next(r for r in card["rewards"] if r["name"] == "Cake slice")
        assert cake["affordable"] is True
        spent = aroma.staff.rpc(
            "redeem_reward",
            {
                "p_business_id": aroma.id,
                "p_member_id": member,
                "p_reward_id": cake["id"],
                "p_idempotency_key": "cake-aino-0901",
            },
        )
        assert spent["points"] == 631
        card = phone.rpc("my_card", {"p_member_id": member})
    assert card["stamps"] == 2 and card["points"] == 631
    assert card["tier"]["current"]["name"] == "Gold" and card["tier"]["next"] is None
    assert card["tier"]["fraction"] == 1
    assert card["vouchers"] == []  # the only voucher was used
    assert card["visits"] == 12


@pytest.mark.parametrize(
    ("day", "tier", "qualifying", "to_next", "fraction"),
    [
        # All twelve purchases are inside the 12 months: 831 -> Gold.
        ("2027-01-01", "Gold", 831, None, 1),
        # From 2026-04-15 on: 250+25+15+45+12+4 = 351 -> Silver, 750-351 = 399 to Gold,
        # (351-250)/(750-250) = 0.202 of the way.
        ("2027-04-15", "Silver", 351, 399, 0.202),
        # From 2026-05-27 on: 15+45+12+4 = 76 -> Bronze, 250-76 = 174 to Silver, 76/250 = 0.304.
        ("2027-05-27", "Bronze", 76, 174, 0.304),
    ],
)
def test_the_tier_drops_as_the_window_passes(aroma, day, tier, qualifying, to_next, fraction):
    phone, member = aroma.customer("aino@example.com", "Aino")
    for d, cents, *_ in YEAR:
        aroma.buy(member, cents, when=at(d))
    with aroma.clock(at(day), phone):
        card = phone.rpc("my_card", {"p_member_id": member})
    progress = card["tier"]
    assert progress["current"]["name"] == tier
    assert progress["qualifying_points"] == qualifying
    assert progress["points_to_next"] == to_next
    assert float(progress["fraction"]) == pytest.approx(fraction)
    # Points already earned stay on the card; only the tier follows the window.
    assert card["points"] == 831


def test_the_window_is_counted_on_the_cafes_calendar(users):
    # 1 May 01:00 in Helsinki is 30 April 22:00 UTC. Two months back on Helsinki's calendar is
    # 1 March 01:00 local; in UTC it would be 28 February 22:00 and take in the purchase below.
    cafe = Cafe(
        users,
        slug="kalenteri",
        settings={
            "tier_window_months": 2,
            "tiers": [{"name": "Bronze", "min_points": 0}, {"name": "Silver", "min_points": 100}],
        },
    )
    phone, member = cafe.customer("a@example.com")
    cafe.buy(member, 10000, when=at("2026-03-01", "00:30"))  # 100 points, just before the window opens
    with cafe.clock(at("2026-05-01", "01:00"), phone):
        card = phone.rpc("my_card", {"p_member_id": member})
    assert card["tier"]["qualifying_points"] == 0
    assert card["tier"]["current"]["name"] == "Bronze"


def test_every_reader_of_the_current_tier_agrees_after_the_window_moved(aroma):
    # On 2027-05-27 the window holds 76 points: Bronze (see above). The card, the counter's panel,
    # both exports, the inbox's tier targeting and the KPIs read the one definition
    # (kanta.member_tier), not a tier cached at the last purchase (Gold).
    phone, member = aroma.customer("aino@example.com", "Aino Virtanen")
    phone.rpc("update_my_profile", {"p_member_id": member, "p_changes": {"marketing_consent": True}})
    for d, cents, *_ in YEAR:
        aroma.buy(member, cents, when=at(d))
    day = at("2027-05-27")
    with aroma.clock(day, phone, aroma.owner, aroma.staff):
        card = phone.rpc("my_card", {"p_member_id": member})
        number = card["member_number"]
        panel = aroma.staff.rpc("identify_member", {"p_business_id": aroma.id, "p_code": number, "p_confirmed": True})
        members_csv = aroma.owner.rpc("export_members", {"p_business_id": aroma.id})
        exports = {
            f: aroma.owner.rpc("export_marketing", {"p_business_id": aroma.id, "p_format": f})
            for f in ("mailchimp", "brevo", "csv")
        }
        sent = {
            t: aroma.owner.rpc(
                "send_message",
                {"p_business_id": aroma.id, "p_target": f"tier:{t}", "p_title": "Hello", "p_body": "x"},
            )
            for t in ("Gold", "Bronze")
        }
        kpis = aroma.owner.rpc(
            "business_kpis",
            {"p_business_id": aroma.id, "p_from": at("2026-01-01").isoformat(), "p_to": day.isoformat()},
        )

    def tier_column(text: str, sep: str, header: str) -> list[str]:
        import csv
        import io

        rows = list(csv.DictReader(io.StringIO(text), delimiter=sep))
        return [r[header] for r in rows]

    assert card["tier"]["current"]["name"] == "Bronze"
    assert panel["tier"] == "Bronze"
    assert tier_column(members_csv, ",", "tier") == ["Bronze"]
    assert tier_column(exports["mailchimp"], ",", "Tier") == ["Bronze"]
    assert tier_column(exports["brevo"], ";", "TIER") == ["Bronze"]
    assert tier_column(exports["csv"], ",", "tier") == ["Bronze"]
    assert (sent["Gold"]["sent"], sent["Bronze"]["sent"]) == (0, 1)
    # The KPIs' spend by tier is the tier held when buying (a historical fact), so Gold stays there.
    assert {row["tier"] for row in kpis["spend_by_tier"]} == {"Bronze", "Silver", "Gold"}


# ---- the window's start, on the café's calendar (issue 15) ----------------------------------------
# (the moment the window ends, in Helsinki, and its length in months). The window is
# (end - N months, end], "N months back" as dateutil.relativedelta counts it on the café's wall
# clock: the day is clamped to the shorter month (Mar 31 - 1 month = Feb 28, or Feb 29 in a leap
# year), and a wall time that falls twice (the autumn DST change) is its first occurrence, as
# zoneinfo's fold=0 has it.
WINDOW_ENDS = [
    ("2026-03-31T12:00", 1),  # Feb 28 12:00
    ("2028-03-31T12:00", 1),  # Feb 29 12:00 (leap year)
    ("2026-05-31T12:00", 3),  # Feb 28 12:00
    ("2026-05-31T23:30", 1),  # Apr 30 23:30
    ("2028-02-29T12:00", 12),  # 2027-02-28 12:00
    ("2029-02-28T12:00", 12),  # 2028-02-28, not Feb 29
    ("2026-12-31T00:30", 10),  # Feb 28 00:30
    ("2026-10-31T12:00", 1),  # Sep 30 12:00
    ("2026-04-01T01:30", 1),  # Mar 1 01:30: 2026-03-31 22:30 UTC, still March in UTC
    ("2026-03-29T04:30", 1),  # the spring DST day: Feb 28 04:30 (EET)
    ("2026-04-29T03:30", 1),  # Mar 29 03:30 does not exist (the clock jumps 03:00 -> 04:00)
    ("2026-11-25T03:30", 1),  # Oct 25 03:30 happens twice: the first, 00:30 UTC
    ("2026-11-25T03:59", 1),  # likewise
    ("2027-10-31T03:15", 12),  # 2026-10-31 03:15 (EET, no longer ambiguous)
]


@pytest.mark.parametrize(("end", "months"), WINDOW_ENDS)
def test_the_window_starts_where_relativedelta_says(db, users, end, months):
    import datetime as dt

    import psycopg
    from dateutil.relativedelta import relativedelta

    from tests.engine import HELSINKI

    cafe = Cafe(users, slug="ikkuna")
    _, member = cafe.customer("a@example.com")
    p_at = dt.datetime.fromisoformat(end).replace(tzinfo=HELSINKI)
    start = p_at - relativedelta(months=months)  # a wall time; fold=0 where it is ambiguous
    start_utc = dt.datetime.fromtimestamp(start.timestamp(), dt.UTC)
    second = dt.timedelta(seconds=1)
    with psycopg.connect(db.admin) as conn:
        for when, points in ((start_utc - second, 100), (start_utc, 1000), (start_utc + second, 10), (p_at, 1)):
            conn.execute(
                "insert into kanta.purchases (business_id, member_id, amount_cents, points, created_at)"
                " values (%s, %s, 100, %s, %s)",
                (cafe.id, member, points, when),
            )
        got = conn.execute("select kanta.qualifying_points(%s, %s, %s)", (member, months, p_at)).fetchone()[0]
    assert got == 11, f"window ({start_utc}, {p_at}]"
