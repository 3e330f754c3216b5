"""The owner's view-models, with no Flet: what the settings form sends, the live preview, the
dashboard's figures and chart points, the café-calendar period, times typed on the café's clock."""

import datetime as dt

import pytest

from mobile.owner import models as om

HELSINKI = "Europe/Helsinki"


def test_the_form_becomes_update_programs_settings():
    settings = om.settings_from_form(
        {
            "stamps_per_card": "8",
            "points_per_euro": "1,5",
            "stamp_reward": "  Latte ",
            "max_purchases_per_day": "many",  # sent as typed: the database refuses it, in both languages
            "rewards": "Korvapuusti = 60\n\nKahvipussi = 300 ",
            "tiers": "Bronze; 0; 1\nGold; 500; 1,5; early_access, free_refill",
        }
    )
    assert settings == {
        "stamps_per_card": 8,
        "points_per_euro": 1.5,
        "stamp_reward": "Latte",
        "max_purchases_per_day": "many",
        "rewards": [{"name": "Korvapuusti", "cost_points": 60}, {"name": "Kahvipussi", "cost_points": 300}],
        "tiers": [
            {"name": "Bronze", "min_points": 0, "multiplier": 1, "perks": []},
            {"name": "Gold", "min_points": 500, "multiplier": 1.5, "perks": ["early_access", "free_refill"]},
        ],
    }
    # A reward line without "= points" is still sent, for the database to refuse by name.
    assert om.settings_from_form({"rewards": "Mug"})["rewards"] == [{"name": "Mug", "cost_points": None}]


def test_program_texts_round_trip():
    rewards = [{"name": "Mug", "cost_points": 40}]
    tiers = [{"name": "Bronze", "min_points": 0, "multiplier": 1, "perks": []}]
    again = om.settings_from_form({"rewards": om.rewards_text(rewards), "tiers": om.tiers_text(tiers)})
    assert again == {"rewards": rewards, "tiers": tiers}


def test_preview_follows_the_form_and_keeps_the_saved_value_while_typing():
    saved = {"stamps_per_card": 10, "stamp_reward": "Kahvi", "color": "#123456", "name": "Kahvila"}
    card = om.preview_card({"stamps_per_card": 8, "tiers": [{"name": "B", "min_points": 0}]}, saved)
    assert (card["stamps_per_card"], card["stamps"], card["stamp_reward"], card["tiers"]) == (8, 3, "Kahvi", ["B"])
    assert om.preview_card({"stamps_per_card": "8x"}, saved)["stamps_per_card"] == 10
    assert om.preview_card({"stamps_per_card": 99}, saved)["stamps_per_card"] == 10  # more than it can draw


def test_period_is_whole_days_on_the_cafes_calendar():
    # 23:30 UTC on 31 Mar is already 1 Apr in Helsinki (summer time, +3).
    start, end = om.period(30, dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC), HELSINKI)
    assert (start, end) == ("2026-03-03T00:00:00+02:00", "2026-04-02T00:00:00+03:00")


@pytest.mark.parametrize(
    ("typed", "moment"),
    [
        ("24.12.2026 9:00", "2026-12-24T09:00:00+02:00"),
        ("2026-07-01 08:30", "2026-07-01T08:30:00+03:00"),
        ("huomenna", None),
        ("", None),
    ],
)
def test_times_typed_on_the_cafes_clock(typed, moment):
    assert om.parse_local(typed, HELSINKI) == moment


def test_dashboard_tiles_and_series():
    kpis = {"revenue_cents": 123450, "member_revenue_share": 0.6543, "nps": -20, "active_30": 1234}
    tiles = {tile.key: tile.value for tile in om.kpi_tiles(kpis, "fi")}
    assert tiles["revenue"] == "1\xa0234,50\xa0€"
    assert tiles["member_revenue_share"] == "65\xa0%"
    assert tiles["nps"] == "-20"
    assert tiles["active_30"] == "1\xa0234"
    assert tiles["referral_conversion"] == "—"  # no referrals: nothing to divide
    assert {tile.key: tile.value for tile in om.kpi_tiles(kpis, "en")}["revenue"] == "€1,234.50"
    s = om.series(
        "revenue", [{"bucket": "2026-03-02", "value": 61830}, {"bucket": "2026-03-09", "value": 0}], "week", "fi"
    )
    assert s.points == [(0, 618.3), (1, 0.0)] and s.labels == ["2.3.", "9.3."] and s.max_y == 1000
    share = om.series("member_revenue_share", [{"bucket": "2026-03-01", "value": 0.25}], "month", "en")
    assert share.points == [(0, 25.0)] and share.labels == ["Mar 26"]


def test_spend_by_tier_keeps_the_apis_order():
    kpis = {
        "spend_by_tier": [
            {"tier": "Silver", "purchases": 1200, "average_cents": 1244},
            {"tier": "Gold", "purchases": 3, "average_cents": 2050},
            {"tier": "none", "purchases": 1, "average_cents": 500},
        ]
    }
    assert [(r.tier, r.average, r.purchases) for r in om.spend_by_tier(kpis, "fi")] == [
        ("Silver", "12,44\xa0€", "Ostoja: 1\xa0200"),
        ("Gold", "20,50\xa0€", "Ostoja: 3"),
        ("—", "5,00\xa0€", "Ostoja: 1"),
    ]
    assert om.spend_by_tier(kpis, "en")[0].purchases == "Purchases: 1,200"
    assert om.spend_by_tier({}, "en") == []


def test_audit_lines():
    entry = {"action": "record_purchase", "detail": {"amount_cents": 1250}}
    assert om.audit_line(entry, "fi") == "Ostos kirjattu 12,50\xa0€"
    assert om.audit_line({"action": "redeem_voucher", "detail": {"title": "Latte"}}, "en") == "Voucher redeemed: Latte"
    assert om.audit_line({"action": "some_future_thing", "detail": {}}, "en") == "some future thing"


def test_staff_rows_word_the_figures_and_the_flags():
    staff = {
        "flag_factor": 3,
        "members": [
            {"user_id": "u1", "email": "mia@x.fi", "role": "staff", "purchases": 1200, "overrides": 0, "refunds": 9,
             "grants": 0, "redemptions": 4, "flags": ["refunds"]},
            {"user_id": "u2", "email": "leo@x.fi", "role": None, "purchases": 2, "overrides": 0, "refunds": 0,
             "grants": 0, "redemptions": 0, "flags": []},
        ],
    }  # fmt: skip
    mia, leo = om.staff_rows(staff, "fi")
    assert mia.figures[0] == ("Ostot", "1\xa0200") and mia.figures[2] == ("Palautukset", "9")
    assert mia.unusual == "Poikkeuksellisen paljon: palautukset (vähintään 3× henkilökunnan mediaani)"
    assert (leo.name, leo.unusual) == ("leo@x.fi (entinen työntekijä)", None)
    [en] = om.staff_rows({"members": staff["members"][:1]}, "en")
    assert en.unusual == "Unusually many: refunds (at least 3× the staff median)"
    assert om.staff_rows(None, "en") == []
