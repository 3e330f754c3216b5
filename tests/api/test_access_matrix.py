"""Who may do what: every public function and every table, tried as each kind of person.

Roles: anon; a customer of Café A; a customer of Café B only; staff of A; staff of B; the owner of A.
Every call targets Café A's things. "allow" means the call got past the permission checks (it may
still be refused by a business rule, a Conflict); "deny" means PermissionDenied or NotFound.
"""

import psycopg
import pytest

from backend.transport.postgres import begin_request, claims_for
from shared.errors import Conflict, NotFound, PermissionDenied
from tests.engine import Cafe, key

ROLES = ["anon", "customer", "other_customer", "staff", "other_staff", "owner"]
SIGNED_IN = {r: "allow" for r in ROLES if r != "anon"} | {"anon": "deny"}
THE_MEMBER = {
    "anon": "deny",
    "customer": "allow",
    "other_customer": "deny",
    "staff": "allow",
    "other_staff": "deny",
    "owner": "allow",
}
ONLY_THE_MEMBER = {r: "deny" for r in ROLES} | {"customer": "allow"}
STAFF = {r: "deny" for r in ROLES} | {"staff": "allow", "owner": "allow"}
OWNER = {r: "deny" for r in ROLES} | {"owner": "allow"}


class World:
    def __init__(self, users, backend):
        self.a = Cafe(
            users,
            slug="cafe-a",
            name="Café A",
            settings={
                "stamps_per_card": 3,
                "stamps_per_purchase": 3,
                "stamp_cooldown_minutes": 0,
                "max_purchases_per_day": 100,
                "rewards": [{"name": "Mug", "cost_points": 1}],
            },
        )
        self.b = Cafe(users, slug="cafe-b", name="Café B")
        self.customer, self.member = self.a.customer("customer@example.com")
        # A neighbour's card in the same café, so "my own rows" and "all the café's rows" differ.
        _, neighbour = self.a.customer("neighbour@example.com")
        self.a.buy(neighbour, 5000)
        self.other_customer, _ = self.b.customer("other@example.com")
        self.people = {
            "anon": backend.transport(),
            "customer": self.customer,
            "other_customer": self.other_customer,
            "staff": self.a.staff,
            "other_staff": self.b.staff,
            "owner": self.a.owner,
        }
        bought = self.a.buy(self.member, 5000)
        self.voucher = bought["vouchers_issued"][0]["code"]
        self.purchase = bought["purchase_id"]
        card = self.customer.rpc("my_card", {"p_member_id": self.member})
        self.number = card["member_number"]
        self.reward = card["rewards"][0]["id"]
        self.referral_code = card["referral"]["code"]
        self.drop = self.a.owner.rpc(
            "create_drop",
            {
                "p_business_id": self.a.id,
                "p_title": "Box",
                "p_description": "",
                "p_vip_starts_at": "2000-01-01",
                "p_public_starts_at": "2000-01-02",
                "p_ends_at": "2099-01-01",
                "p_stock": 100,
                "p_per_member_limit": 50,
            },
        )["id"]
        self.reservation = self.customer.rpc("reserve_drop", {"p_drop_id": self.drop})["reservation_id"]
        self.customer.rpc("update_my_profile", {"p_member_id": self.member, "p_changes": {"marketing_consent": True}})
        self.a.owner.rpc(
            "send_message",
            {"p_business_id": self.a.id, "p_target": f"member:{self.member}", "p_title": "Hello", "p_body": "Welcome"},
        )
        self.message = self.customer.rpc("my_inbox", {"p_member_id": self.member})["messages"][0]["id"]
        self.feedback = self.customer.rpc("submit_feedback", {"p_member_id": self.member, "p_score": 8})["feedback_id"]
        self.a.owner.rpc(
            "update_program",
            {
                "p_business_id": self.a.id,
                "p_settings": {"review_url": "https://g.page/r/cafe-a/review", "woocommerce_secret": "s" * 32},
            },
        )
        self.a.owner.rpc("member_segments", {"p_business_id": self.a.id})  # the day's scores
        self.owner_id = self.a.owner.user.id
        friend = users("friend@example.com").rpc(
            "join_business", {"p_slug": "cafe-a", "p_referral_code": self.referral_code}
        )
        # Issue 15: a referral reversed by a refund of the friend's first purchase.
        self.a.refund(self.a.buy(friend["member_id"], 5000)["purchase_id"])


CALLS = {
    "create_business": (SIGNED_IN, lambda w: {"p_name": "New", "p_slug": f"new-{key()[5:13]}"}),
    "join_business": (SIGNED_IN, lambda w: {"p_slug": "cafe-a"}),
    "my_wallet": (SIGNED_IN, lambda w: {}),
    "my_workplaces": (SIGNED_IN, lambda w: {}),
    "my_card": (THE_MEMBER, lambda w: {"p_member_id": w.member}),
    "my_history": (THE_MEMBER, lambda w: {"p_member_id": w.member}),
    "member_qr_token": (ONLY_THE_MEMBER, lambda w: {"p_member_id": w.member}),
    "identify_member": (STAFF, lambda w: {"p_business_id": w.a.id, "p_code": w.number, "p_confirmed": True}),
    "record_purchase": (
        STAFF,
        lambda w: {"p_business_id": w.a.id, "p_member_id": w.member, "p_amount_cents": 100, "p_idempotency_key": key()},
    ),
    "redeem_voucher": (STAFF, lambda w: {"p_business_id": w.a.id, "p_code": w.voucher, "p_idempotency_key": key()}),
    "redeem_reward": (
        STAFF,
        lambda w: {
            "p_business_id": w.a.id,
            "p_member_id": w.member,
            "p_reward_id": w.reward,
            "p_idempotency_key": key(),
        },
    ),
    "refund_purchase": (
        STAFF,
        lambda w: {"p_business_id": w.a.id, "p_purchase_id": w.purchase, "p_idempotency_key": key()},
    ),
    "get_program": (STAFF, lambda w: {"p_business_id": w.a.id}),
    "update_program": (OWNER, lambda w: {"p_business_id": w.a.id, "p_settings": {"stamp_reward": "Latte"}}),
    "add_staff": (OWNER, lambda w: {"p_business_id": w.a.id, "p_email": "barista@cafe-a.example"}),
    "audit_log": (OWNER, lambda w: {"p_business_id": w.a.id}),
    "staff_list": (OWNER, lambda w: {"p_business_id": w.a.id}),
    # The owner gets past the check and is refused by the rule (a Conflict): nobody removes themselves.
    "remove_staff": (OWNER, lambda w: {"p_business_id": w.a.id, "p_user_id": w.owner_id}),
    "search_members": (STAFF, lambda w: {"p_business_id": w.a.id, "p_query": w.number[:4]}),
    "business_drops": (STAFF, lambda w: {"p_business_id": w.a.id}),
    "grant_reward": (
        OWNER,
        lambda w: {"p_business_id": w.a.id, "p_member_id": w.member, "p_title": "Sorry", "p_idempotency_key": key()},
    ),
    "owner_dashboard": (OWNER, lambda w: {"p_business_id": w.a.id, "p_from": "2026-01-01", "p_to": "2027-01-01"}),
    "send_win_back": (OWNER, lambda w: {"p_business_id": w.a.id, "p_member_id": w.member}),
    "referral_preview": ({r: "allow" for r in ROLES}, lambda w: {"p_code": w.referral_code}),
    "grant_vip": (OWNER, lambda w: {"p_business_id": w.a.id, "p_member_id": w.member, "p_until": "2099-01-01"}),
    "revoke_vip": (OWNER, lambda w: {"p_business_id": w.a.id, "p_member_id": w.member}),
    "create_drop": (
        OWNER,
        lambda w: {
            "p_business_id": w.a.id,
            "p_title": "Box",
            "p_description": "",
            "p_vip_starts_at": "2000-01-01",
            "p_public_starts_at": "2000-01-02",
            "p_ends_at": "2099-01-01",
            "p_stock": 100,
        },
    ),
    "reserve_drop": ({r: "deny" for r in ROLES} | {"customer": "allow"}, lambda w: {"p_drop_id": w.drop}),
    "drop_reservations": (STAFF, lambda w: {"p_drop_id": w.drop}),
    "mark_pickup": (STAFF, lambda w: {"p_reservation_id": w.reservation}),
    "update_my_profile": (ONLY_THE_MEMBER, lambda w: {"p_member_id": w.member, "p_changes": {"phone": "+358401234"}}),
    "my_inbox": (ONLY_THE_MEMBER, lambda w: {"p_member_id": w.member}),
    "mark_message_read": (ONLY_THE_MEMBER, lambda w: {"p_message_id": w.message}),
    "send_message": (OWNER, lambda w: {"p_business_id": w.a.id, "p_target": "all", "p_title": "Hi", "p_body": "x"}),
    "run_automations": ({r: "deny" for r in ROLES}, lambda w: {}),
    "submit_feedback": (ONLY_THE_MEMBER, lambda w: {"p_member_id": w.member, "p_score": 9}),
    "feedback_summary": (OWNER, lambda w: {"p_business_id": w.a.id}),
    "reply_feedback": (OWNER, lambda w: {"p_feedback_id": w.feedback, "p_reply": "Thanks"}),
    "export_my_data": (SIGNED_IN, lambda w: {}),
    # Everyone signed in may delete their own account; the owner is refused (a Conflict) while owning.
    "delete_my_account": (SIGNED_IN, lambda w: {}),
    "member_segments": (OWNER, lambda w: {"p_business_id": w.a.id}),
    "churn_risk": (OWNER, lambda w: {"p_business_id": w.a.id}),
    "business_kpis": (OWNER, lambda w: {"p_business_id": w.a.id, "p_from": "2026-01-01", "p_to": "2027-01-01"}),
    "kpi_timeseries": (
        OWNER,
        lambda w: {
            "p_business_id": w.a.id,
            "p_metric": "revenue",
            "p_bucket": "week",
            "p_from": "2026-01-01",
            "p_to": "2027-01-01",
        },
    ),
    "export_members": (OWNER, lambda w: {"p_business_id": w.a.id}),
    "export_marketing": (OWNER, lambda w: {"p_business_id": w.a.id, "p_format": "mailchimp"}),
    # Open to the web, but only a body signed with the café's secret gets past it: nobody here has one.
    "woocommerce_webhook": (
        {r: "deny" for r in ROLES},
        lambda w: {"p_slug": "cafe-a", "p_topic": "order.updated", "p_signature": "bm9wZQ==", "p_body": "{}"},
    ),
}


def test_every_public_function_is_in_the_matrix(db):
    with psycopg.connect(db.admin) as conn:
        names = {
            r[0]
            for r in conn.execute(
                "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'"
            )
        }
    assert names == set(CALLS)


@pytest.mark.parametrize("function", sorted(CALLS))
def test_function_matrix(users, backend, function):
    world = World(users, backend)
    expected, params = CALLS[function]
    got = {}
    for role in ROLES:
        try:
            world.people[role].rpc(function, params(world))
            got[role] = "allow"
        except Conflict:
            got[role] = "allow"
        except (PermissionDenied, NotFound):
            got[role] = "deny"
    assert got == expected


# ---- tables ------------------------------------------------------------------------------------

# Rows of Café A each role can read: "all", "own" (the customer's own card's rows), "none", or "error".
VISIBLE = {
    "businesses": {"customer": "all", "staff": "all", "owner": "all"},
    "staff": {"staff": "all", "owner": "all"},
    "members": {"customer": "own", "staff": "all", "owner": "all"},
    "programs": {"customer": "all", "staff": "all", "owner": "all"},
    "rewards": {"customer": "all", "staff": "all", "owner": "all"},
    "purchases": {"customer": "own", "staff": "all", "owner": "all"},
    "vouchers": {"customer": "own", "staff": "all", "owner": "all"},
    "ledger": {"customer": "own", "staff": "all", "owner": "all"},
    "audit_log": {"owner": "all"},
    "referrals": {"customer": "own", "staff": "all", "owner": "all"},
    "drops": {"customer": "all", "staff": "all", "owner": "all"},
    "reservations": {"customer": "own", "staff": "all", "owner": "all"},
    # A member's inbox is theirs alone; feedback is between the member and the owner.
    "messages": {"customer": "own"},
    "feedback": {"customer": "own", "owner": "all"},
    # Not granted to any client role at all: reading them is an error, not an empty list.
    "operations": {r: "error" for r in ROLES},
    "member_tokens": {r: "error" for r in ROLES},
    # The keyed e-mail trace and its key (40_referrals.sql): server-side only.
    "member_traces": {r: "error" for r in ROLES},
    "trace_keys": {r: "error" for r in ROLES},
    "daily_sales": {r: "error" for r in ROLES},
    "integrations": {r: "error" for r in ROLES},
    "member_scores": {r: "error" for r in ROLES},
    "referral_reversals": {r: "error" for r in ROLES},  # issue 15: no client reads it
    "score_runs": {r: "error" for r in ROLES},
}
TABLES = sorted(VISIBLE)
# The column that makes a row "the customer's own".
OWN_COLUMN = {"members": "id", "referrals": "referrer_member_id"}


def test_every_table_is_in_the_matrix(db):
    with psycopg.connect(db.admin) as conn:
        tables = {r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'kanta'")}
    assert tables == set(VISIBLE)


def _as(db, transport):
    conn = psycopg.connect(db.authenticator)
    begin_request(conn, claims_for(transport.user))
    return conn


def test_table_matrix(db, users, backend):
    world = World(users, backend)
    world.customer.rpc("member_qr_token", {"p_member_id": world.member})
    world.a.owner.rpc("update_program", {"p_business_id": world.a.id, "p_settings": {"stamp_reward": "Latte"}})
    with psycopg.connect(db.admin) as conn:

        def count(table, member_only):
            column = "id" if table == "businesses" else "business_id"
            if not member_only:
                return conn.execute(
                    f"select count(*) from kanta.{table} where {column} = %s", (world.a.id,)
                ).fetchone()[0]
            own = OWN_COLUMN.get(table, "member_id")
            return conn.execute(
                f"select count(*) from kanta.{table} where {column} = %s and {own} = %s", (world.a.id, world.member)
            ).fetchone()[0]

        own_tables = {t for t, seen in VISIBLE.items() if "own" in seen.values()}
        truth = {t: (count(t, False), count(t, True) if t in own_tables else 0) for t in TABLES}

    mismatches = []
    for table in TABLES:
        everything, own = truth[table]
        assert everything > 0, f"the world has no {table} rows to hide"
        for role in ROLES:
            want = "error" if role == "anon" else VISIBLE[table].get(role, "none")
            conn = _as(db, world.people[role])
            try:
                column = "id" if table == "businesses" else "business_id"
                seen = conn.execute(
                    f"select count(*) from kanta.{table} where {column} = %s", (world.a.id,)
                ).fetchone()[0]
            except psycopg.errors.InsufficientPrivilege:
                seen = "error"
            finally:
                conn.close()
            expected = {"all": everything, "own": own, "none": 0, "error": "error"}[want]
            if seen != expected:
                mismatches.append((table, role, want, expected, seen))
    assert mismatches == [], "\n".join(map(str, mismatches))


@pytest.mark.parametrize("role", ROLES)
def test_no_client_role_can_write_any_table(db, users, backend, role):
    world = World(users, backend)
    for table in TABLES:
        for statement in (
            f"insert into kanta.{table} default values",
            f"update kanta.{table} set business_id = business_id"
            if table != "businesses"
            else "update kanta.businesses set name = name",
            f"delete from kanta.{table}",
        ):
            conn = _as(db, world.people[role])
            try:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
            finally:
                conn.close()
