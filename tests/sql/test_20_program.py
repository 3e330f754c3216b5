"""The program (20_program.sql): settings are validated whole, and only the owner changes them, audited."""

import pytest

from shared.errors import InvalidInput, PermissionDenied

pytestmark = pytest.mark.program(stamps_per_card=5, rewards=[{"name": "Cookie", "cost_points": 10}])


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"stamps_per_card": 2}, "setting_out_of_range"),
        ({"stamps_per_card": 31}, "setting_out_of_range"),
        ({"stamps_per_card": "ten"}, "setting_not_a_number"),
        ({"points_per_euro": -1}, "setting_out_of_range"),
        ({"voucher_valid_days": 0}, "setting_out_of_range"),
        ({"colour": "red"}, "unknown_setting"),
        ({"tiers": []}, "invalid_tiers"),
        ({"tiers": [{"name": "Silver", "min_points": 100, "multiplier": 1}]}, "invalid_tiers"),
        ({"tiers": [{"name": "A", "min_points": 0}, {"name": "A", "min_points": 10}]}, "invalid_tiers"),
        (
            {"tiers": [{"name": "A", "min_points": 0}, {"name": "B", "min_points": 10, "multiplier": 9}]},
            "invalid_tiers",
        ),
        ({"rewards": [{"name": "Free", "cost_points": 0}]}, "invalid_rewards"),
        ({"stamps_per_card": 8, "tiers": "gold"}, "invalid_tiers"),
    ],
)
def test_bad_program_settings_are_refused_whole(cafe, settings, code):
    before = cafe.owner.rpc("get_program", {"p_business_id": cafe.id})
    with pytest.raises(InvalidInput) as err:
        cafe.owner.rpc("update_program", {"p_business_id": cafe.id, "p_settings": settings})
    assert err.value.code == code
    assert cafe.owner.rpc("get_program", {"p_business_id": cafe.id}) == before


def test_only_the_owner_changes_the_program_and_it_is_audited(cafe):
    with pytest.raises(PermissionDenied) as err:
        cafe.staff.rpc("update_program", {"p_business_id": cafe.id, "p_settings": {"stamps_per_card": 8}})
    assert err.value.code == "owner_only"
    program = cafe.owner.rpc(
        "update_program", {"p_business_id": cafe.id, "p_settings": {"stamps_per_card": 8, "rewards": []}}
    )
    assert program["stamps_per_card"] == 8 and program["rewards"] == []
    actions = [e["action"] for e in cafe.owner.rpc("audit_log", {"p_business_id": cafe.id})["entries"]]
    assert actions.count("program_updated") == 2  # the fixture's and this one
    with pytest.raises(PermissionDenied):
        cafe.staff.rpc("audit_log", {"p_business_id": cafe.id})
