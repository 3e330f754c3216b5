"""Exactly-once checks that read the ledger itself: shared by the reliability tests (tests/ops/) and
the counter's offline-queue test (tests/test_ui_counter.py)."""

from __future__ import annotations

import psycopg

RELAXED = {"stamp_cooldown_minutes": 0, "max_purchases_per_day": 100, "stamps_per_card": 10}


def ledger_state(admin: str, business: str) -> dict:
    """What the database holds, in the terms the checks need."""
    with psycopg.connect(admin) as conn:
        keys = dict(
            conn.execute(
                "select idempotency_key, (response ->> 'purchase_id') from kanta.operations"
                " where business_id = %s and kind = 'record_purchase'",
                (business,),
            ).fetchall()
        )
        purchases = dict(
            conn.execute(
                "select id::text, amount_cents from kanta.purchases where business_id = %s", (business,)
            ).fetchall()
        )
        orphans = conn.execute(
            "select count(*) from kanta.ledger l where l.business_id = %s and l.purchase_id is not null"
            " and not exists (select 1 from kanta.purchases p where p.id = l.purchase_id)",
            (business,),
        ).fetchone()[0]
        stamp_rows = dict(
            conn.execute(
                "select purchase_id::text, count(*) from kanta.ledger where business_id = %s and kind = 'stamp'"
                " group by 1",
                (business,),
            ).fetchall()
        )
        mismatched = conn.execute(
            "select count(*) from kanta.members m left join lateral (select coalesce(sum(l.stamps), 0) as s,"
            " coalesce(sum(l.points), 0) as p from kanta.ledger l where l.member_id = m.id) x on true"
            " where m.business_id = %s and (m.stamps <> x.s or m.points + m.points_debt * 0 <> x.p)",
            (business,),
        ).fetchone()[0]
    return {"keys": keys, "purchases": purchases, "orphans": orphans, "stamps": stamp_rows, "mismatched": mismatched}


def assert_exactly_once(state: dict, expected: dict[str, int]) -> None:
    """Each expected key is one purchase of its amount with one stamp row; nothing else exists."""
    assert set(state["keys"]) == set(expected)
    assert None not in state["keys"].values()  # every operation finished with its answer
    assert len(state["purchases"]) == len(expected)
    for key, cents in expected.items():
        purchase = state["keys"][key]
        assert state["purchases"][purchase] == cents, key
        assert state["stamps"].get(purchase) == 1, key
    assert state["orphans"] == 0 and state["mismatched"] == 0
