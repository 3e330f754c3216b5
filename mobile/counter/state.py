"""The counter's state object: plain Python, no Flet, and the only counter code that calls the
Transport. Identify a member, record a purchase (queued on the device while the backend is
unreachable), undo it, redeem a voucher. Every rule is the API's; this holds its answers."""

from __future__ import annotations

import uuid
from pathlib import Path

from mobile.counter.offline import NEEDS_CONFIRMATION, OfflineQueue
from shared.errors import KantaError, Unavailable
from shared.transport import Transport


def new_key() -> str:
    return f"counter-{uuid.uuid4()}"


class CounterState:
    def __init__(self, api: Transport, workplace: dict, queue_dir: Path):
        self.api, self.place = api, workplace
        self.business = workplace["business_id"]
        self.panel: dict | None = None  # the member identified, as identify_member answered
        self.result: dict | None = None  # the last purchase, as record_purchase answered
        self.offline_code: str | None = None  # scanned while the backend was unreachable
        self.found: list[dict] = []  # members found by name or e-mail
        self.unconfirmed: str | None = None  # a member number waiting for the staff's confirmation
        self.queue = OfflineQueue(queue_dir / f"{self.business}.jsonl")

    @property
    def is_owner(self) -> bool:
        return self.place["role"] == "owner"

    def call(self, name: str, params: dict):
        return self.api.rpc(name, {"p_business_id": self.business, **params})

    # ---- identify --------------------------------------------------------------------------

    def identify(self, code: str) -> str:
        """What a scan or a typed code found: "member", "confirm" (a member number: the staff must
        confirm it), "search" (not a code: a name or an e-mail) or "offline". A refusal is raised."""
        self.panel, self.offline_code, self.found, self.unconfirmed, self.result = None, None, [], None, None
        try:
            # A static member number is not proof of who stands at the counter: the database asks
            # the staff to confirm it (a rotating QR token or a voucher code needs no confirmation).
            self.panel = self.call("identify_member", {"p_code": code, "p_confirmed": False})
        except Unavailable:
            self.offline_code = code  # identified when the purchase is sent
            raise
        except KantaError as exc:
            if exc.code == "invalid_code":
                self.found = self.call("search_members", {"p_query": code, "p_limit": 8})  # too short: refused
                return "search"
            if exc.code == NEEDS_CONFIRMATION:
                self.unconfirmed = code
                return "confirm"
            raise
        return "member"

    def pick(self, member_number: str) -> None:
        """The staff's confirmation: a member chosen from the search, or a typed number confirmed."""
        self.found, self.unconfirmed, self.panel = [], None, None
        self.panel = self.call("identify_member", {"p_code": member_number, "p_confirmed": True})

    # ---- record, undo, redeem ----------------------------------------------------------------

    def record(
        self,
        member_id: str | None,
        cents: int,
        *,
        without_member: bool = False,
        override: bool = False,
        confirm_large: bool = False,
    ):
        """record_purchase's answer, or None when the purchase was queued on the device. An amount
        above the owner's limit is refused (large_amount_needs_confirmation) until the staff
        confirm it (confirm_large); a purchase inside the stamp cooldown is recorded without its
        stamp, and the answer says so (stamp_withheld)."""
        key = new_key()
        if self.offline_code and not without_member:
            self._queue(None, cents, key)
            return None
        try:
            answer = self.call(
                "record_purchase",
                {
                    "p_member_id": member_id,
                    "p_amount_cents": cents,
                    "p_idempotency_key": key,
                    "p_override": override,
                    "p_confirm_large": confirm_large,
                },
            )
        except Unavailable:
            self._queue(member_id, cents, key)  # the same key is sent again when the backend is back
            return None
        self.result = answer
        if member_id and self.panel:
            vouchers = self.panel.get("vouchers", []) + [
                {"code": v["code"], "title": v["title"]} for v in answer.get("vouchers_issued", [])
            ]
            self.panel = {
                **self.panel,
                "stamps": answer["stamps"],
                "points": answer["points"],
                "tier": answer.get("tier_after"),
                "vouchers": vouchers,
            }
        return answer

    def _queue(self, member_id: str | None, cents: int, key: str) -> None:
        self.queue.add(
            {
                "business_id": self.business,
                "member_id": member_id,
                "code": self.offline_code if not member_id else None,
                "amount_cents": cents,
                "key": key,
            }
        )
        self.result, self.offline_code = None, None

    def undo(self) -> None:
        self.call("refund_purchase", {"p_purchase_id": self.result["purchase_id"], "p_idempotency_key": new_key()})
        member = self.result.get("member_id")
        self.result = None
        if member and self.panel:
            self.panel = self.call("identify_member", {"p_code": self.panel["member_number"], "p_confirmed": True})

    def redeem(self, code: str, *, override: bool = False) -> dict:
        """Redeem a voucher; from the owner's own card only with their override (own_card otherwise)."""
        answer = self.call("redeem_voucher", {"p_code": code, "p_idempotency_key": new_key(), "p_override": override})
        if self.panel:
            self.panel["vouchers"] = [v for v in self.panel.get("vouchers", []) if v["code"] != code]
        return answer

    # ---- the offline queue -------------------------------------------------------------------

    def replay(self) -> dict:
        return self.queue.replay(self.api)

    def confirm_queued(self, key: str) -> dict:
        """The staff confirmed the member number of a purchase queued offline: send it now."""
        self.queue.confirm(key)
        return self.replay()

    def dismiss(self, key: str) -> None:
        self.queue.dismiss(key)
