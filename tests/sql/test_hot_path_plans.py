"""The helpers on the counter's and the card's paths keep their plans (PL/pgSQL), and kanta.now()
stays inlinable: a later migration that re-creates one as a SET-carrying SQL function fails here."""

import psycopg

HOT = {
    "qualifying_points", "tier_for", "next_tier", "is_staff", "purchase_extras", "member_tier", "card_extras",
    "referral_card", "drops_card", "is_vip", "active_vouchers", "member_panel", "can_see_member", "program_json",
    "program_settings_json", "drop_state", "parse_member_number", "normalise_voucher_code", "finish_operation",
}  # fmt: skip


def test_hot_helpers_are_plpgsql_and_now_inlines(db):
    with psycopg.connect(db.admin) as conn:
        rows = dict(
            conn.execute(
                "select p.proname, l.lanname from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
                " join pg_language l on l.oid = p.prolang where n.nspname = 'kanta' and p.proname = any(%s)",
                (list(HOT),),
            ).fetchall()
        )
        now = conn.execute(
            "select l.lanname, p.proconfig, p.prosecdef from pg_proc p join pg_language l on l.oid = p.prolang"
            " where p.oid = 'kanta.now()'::regprocedure"
        ).fetchone()
        # Inlined: the plan shows the expression, not a function call.
        plan = conn.execute("explain (verbose) select kanta.now()").fetchall()
    assert rows == {name: "plpgsql" for name in HOT}
    assert now == ("sql", None, False)
    assert "kanta.now" not in str(plan) and "current_setting" in str(plan)
