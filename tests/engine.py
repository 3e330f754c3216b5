"""A café with an owner, a barista and customers, driven through the real API for counter stories."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

HELSINKI = ZoneInfo("Europe/Helsinki")


def at(day: str, time: str = "12:00", tz=HELSINKI) -> dt.datetime:
    """A local wall-clock moment in the café's time zone, e.g. at("2026-03-03")."""
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=tz)


def key() -> str:
    return f"test-{uuid.uuid4()}"


@contextlib.contextmanager
def pinned(moment: dt.datetime | None, *transports):
    """Pin kanta.now() for calls made through these transports (the server-side test hook)."""
    saved = [t.clock for t in transports]
    for t in transports:
        t.clock = moment
    try:
        yield
    finally:
        for t, c in zip(transports, saved, strict=True):
            t.clock = c


class Cafe:
    def __init__(self, users, slug: str = "cafe-aroma", name: str = "Café Aroma", settings: dict | None = None):
        self.users = users
        self.owner = users(f"owner@{slug}.example")
        self.business = self.owner.rpc("create_business", {"p_name": name, "p_slug": slug})
        self.id = self.business["id"]
        self.staff = users(f"barista@{slug}.example")
        self.owner.rpc("add_staff", {"p_business_id": self.id, "p_email": f"barista@{slug}.example"})
        if settings:
            self.owner.rpc("update_program", {"p_business_id": self.id, "p_settings": settings})

    def customer(self, email: str, name: str | None = None, *, when: dt.datetime | None = None):
        """A signed-in customer who joined (at `when`, if given); returns (transport, member_id)."""
        t = self.users(email)
        with pinned(when, t):
            card = t.rpc("join_business", {"p_slug": self.business["slug"], "p_display_name": name})
        return t, card["member_id"]

    def clock(self, moment: dt.datetime | None, *transports):
        """Pin kanta.now() for these transports (by default the owner's and the barista's)."""
        return pinned(moment, *(transports or (self.owner, self.staff)))

    def buy(
        self,
        member_id,
        cents: int,
        *,
        when: dt.datetime | None = None,
        by=None,
        override: bool = False,
        idempotency_key: str | None = None,
    ):
        by = by or self.staff
        with self.clock(when, by):
            return by.rpc(
                "record_purchase",
                {
                    "p_business_id": self.id,
                    "p_member_id": member_id,
                    "p_amount_cents": cents,
                    "p_idempotency_key": idempotency_key or key(),
                    "p_override": override,
                },
            )

    def redeem(self, code: str, *, when: dt.datetime | None = None, by=None):
        by = by or self.staff
        with self.clock(when, by):
            return by.rpc("redeem_voucher", {"p_business_id": self.id, "p_code": code, "p_idempotency_key": key()})

    def refund(self, purchase_id: str, *, when: dt.datetime | None = None, by=None):
        by = by or self.staff
        with self.clock(when, by):
            return by.rpc(
                "refund_purchase", {"p_business_id": self.id, "p_purchase_id": purchase_id, "p_idempotency_key": key()}
            )


def ledger_rows(db) -> int:
    """How many rows kanta.ledger holds: a refusal must leave it as it was."""
    import psycopg

    with psycopg.connect(db.admin) as conn:
        return conn.execute("select count(*) from kanta.ledger").fetchone()[0]
