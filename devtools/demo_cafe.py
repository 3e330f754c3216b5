"""The demo café that `kanta demo` serves: its people, program and story, written through the same API the counter uses."""

from __future__ import annotations

import datetime as dt
import uuid

from backend.bootstrap import service_transport
from devtools.seed import seed
from shared.errors import Conflict

DEMO_PASSWORD = "kanta-demo"
DEMO_USERS = {
    "owner": "omistaja@kanta.demo",
    "staff": "barista@kanta.demo",
    "customer": "asiakas@kanta.demo",
}
DEMO_BUSINESS = {"p_name": "Kahvila Kanta", "p_slug": "kahvila-kanta"}

DEMO_PROGRAM = {
    "stamps_per_card": 10,
    "stamp_reward": "Kahvi talon piikkiin",
    "points_per_euro": 1,
    "tiers": [
        {"name": "Bronze", "min_points": 0, "multiplier": 1.0, "perks": []},
        {"name": "Silver", "min_points": 250, "multiplier": 1.25, "perks": ["free_refill"]},
        {"name": "Gold", "min_points": 750, "multiplier": 1.5, "perks": ["early_access"]},
    ],
    "rewards": [{"name": "Korvapuusti", "cost_points": 60}, {"name": "Kahvipussi 250 g", "cost_points": 300}],
    "referral_welcome_reward": "Tervetuliaiskahvi",
    "referral_referrer_reward": "Kahvi ystävän tuomisesta",
    "birthday_reward": "Synttärileivos",
}
# Aino's last weeks at the café: (days ago, cents). Twelve visits: one full card and two stamps.
DEMO_VISITS = [
    (75, 390), (68, 840), (61, 420), (54, 1250), (47, 380), (40, 2290),
    (33, 450), (26, 980), (19, 560), (12, 1180), (5, 420), (1, 560),
]  # fmt: skip
DEMO_REGULARS = 120
DEMO_REVIEW_URL = "https://g.page/r/kahvila-kanta/review"


def seed_demo(backend) -> dict:
    """The demo café with an owner, a barista, a customer and her recent visits. Safe to run again."""
    sessions = {}
    for role, email in DEMO_USERS.items():
        try:
            backend.auth.create_user(email, DEMO_PASSWORD, role_hint=role)
        except Conflict:
            pass
        sessions[role] = backend.transport()
        sessions[role].sign_in(email, DEMO_PASSWORD)
    try:
        business = sessions["owner"].rpc("create_business", DEMO_BUSINESS)
    except Conflict:
        business = None
    card = sessions["customer"].rpc("join_business", {"p_slug": DEMO_BUSINESS["p_slug"], "p_display_name": "Aino"})
    if business:
        owner, staff = sessions["owner"], sessions["staff"]
        owner.rpc("add_staff", {"p_business_id": business["id"], "p_email": DEMO_USERS["staff"]})
        owner.rpc("update_program", {"p_business_id": business["id"], "p_settings": DEMO_PROGRAM})
        # Regulars of the last half year, so the owner's dashboard, segments and churn list have
        # something to show: the same seed as `kanta seed`, through the same API.
        seed(
            backend.auth.admin_conninfo,
            members=DEMO_REGULARS,
            months=6,
            visits_per_member=9,
            cafe=business,
            progress=lambda _m: None,
        )
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        for days_ago, cents in DEMO_VISITS:
            # Backdated through the server-side clock: the same record_purchase the counter uses.
            staff.clock = now - dt.timedelta(days=days_ago, hours=2)
            staff.rpc(
                "record_purchase",
                {
                    "p_business_id": business["id"],
                    "p_member_id": card["member_id"],
                    "p_amount_cents": cents,
                    "p_idempotency_key": f"demo-{uuid.uuid4()}",
                },
            )
        staff.clock = None
        owner.rpc("update_program", {"p_business_id": business["id"], "p_settings": {"review_url": DEMO_REVIEW_URL}})
        drop = owner.rpc(
            "create_drop",
            {
                "p_business_id": business["id"],
                "p_title": "Joulublend 250 g",
                "p_description": "Paahtimon joulukahvi, vain 24 pussia.",
                "p_vip_starts_at": (now - dt.timedelta(hours=1)).isoformat(),
                "p_public_starts_at": (now + dt.timedelta(days=2)).isoformat(),
                "p_ends_at": (now + dt.timedelta(days=9)).isoformat(),
                "p_stock": 24,
            },
        )
        customer = sessions["customer"]
        customer.rpc("update_my_profile", {"p_member_id": card["member_id"], "p_changes": {"marketing_consent": True}})
        # Aino is a VIP, so she has reserved from the drop's early window.
        owner.rpc(
            "grant_vip",
            {
                "p_business_id": business["id"],
                "p_member_id": card["member_id"],
                "p_until": (now + dt.timedelta(days=90)).isoformat(),
            },
        )
        customer.rpc("reserve_drop", {"p_drop_id": drop["id"]})
        service_transport(backend).rpc("run_automations", {})
        owner.rpc(
            "send_message",
            {
                "p_business_id": business["id"],
                "p_target": "all",
                "p_title": "Joulun aukioloajat",
                "p_body": "Olemme auki jouluaattona klo 8–13. Hyvää joulua!",
            },
        )
    return {"business": DEMO_BUSINESS["p_slug"], "users": DEMO_USERS, "password": DEMO_PASSWORD}
