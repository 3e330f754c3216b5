"""The customer's state objects: plain Python, no Flet, and the only wallet code that calls the
Transport. Each command is one RPC; a refusal is raised as the API's typed error."""

from __future__ import annotations

import json
from collections.abc import Callable

from mobile.wallet.models import MemberQr
from shared.errors import KantaError
from shared.transport import Transport


class Join:
    """Joining a café from a link (/join/{slug}?ref={code}): the friend's offer, then the card."""

    def __init__(self, api: Transport, slug: str, ref: str | None):
        self.api, self.slug, self.ref = api, slug, ref
        self.preview: dict | None = None
        self.joined = False
        if ref:
            try:
                self.preview = api.rpc("referral_preview", {"p_code": ref})
            except KantaError:
                self.ref = None  # a stale link still joins, without the referral

    def join(self, display_name: str | None) -> dict:
        params = {"p_slug": self.slug, "p_display_name": (display_name or "").strip() or None}
        if self.ref:
            params["p_referral_code"] = self.ref
        card = self.api.rpc("join_business", params)
        self.joined = True
        return card


class Wallet:
    """The customer's cards, and the profile: consent per café, my data, deleting the account."""

    def __init__(self, api: Transport):
        self.api = api
        self.cards: list[dict] = []
        self.exported: bytes | None = None

    @property
    def email(self) -> str:
        return self.api.user.email if self.api.user else ""

    def load(self) -> list[dict]:
        self.cards = self.api.rpc("my_wallet", {})
        return self.cards

    def consents(self) -> list[tuple[dict, bool]]:
        """(card, marketing consent) for each café joined."""
        return [
            (c, bool(self.api.rpc("my_card", {"p_member_id": c["member_id"]}).get("marketing_consent")))
            for c in self.load()
        ]

    def set_consent(self, member_id: str, value: bool) -> None:
        self.api.rpc("update_my_profile", {"p_member_id": member_id, "p_changes": {"marketing_consent": bool(value)}})

    def export_data(self) -> bytes:
        data = self.api.rpc("export_my_data", {})
        self.exported = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
        return self.exported

    def delete_account(self) -> None:
        self.api.rpc("delete_my_account", {})


class Card:
    """The open card (my_card) with its live feed, its QR, its drops and its unread messages."""

    def __init__(self, api: Transport):
        self.api = api
        self.member_id: str | None = None
        self.card: dict | None = None
        self.subscription = None

    def open(self, member_id: str, on_change: Callable[[dict], None]) -> dict:
        """Load the card and follow it: `on_change(event)` runs on the live feed's thread."""
        self.member_id = member_id
        self.card = self.api.rpc("my_card", {"p_member_id": member_id})
        self.close()
        self.subscription = self.api.subscribe(f"member:{member_id}", on_change)
        return self.card

    def reload(self) -> dict:
        self.card = self.api.rpc("my_card", {"p_member_id": self.member_id})
        return self.card

    def fetch(self) -> dict:
        """my_card without keeping it: the screen compares it with what it shows."""
        return self.api.rpc("my_card", {"p_member_id": self.member_id})

    def unread(self) -> int:
        return self.api.rpc("my_inbox", {"p_member_id": self.member_id, "p_limit": 1})["unread"]

    def member_qr(self, clock) -> MemberQr:
        member = self.member_id
        return MemberQr(lambda: self.api.rpc("member_qr_token", {"p_member_id": member}), clock)

    def reserve(self, drop_id: str) -> dict:
        self.api.rpc("reserve_drop", {"p_drop_id": drop_id})
        return self.reload()

    def close(self) -> None:
        if self.subscription is not None:
            self.subscription.close()
            self.subscription = None


class History:
    """The card's history, twenty lines a page."""

    PAGE = 20

    def __init__(self, api: Transport, member_id: str):
        self.api, self.member_id = api, member_id
        self.entries: list[dict] = []
        self.next_before: int | None = None

    def load(self, more: bool = False) -> None:
        if not more:
            self.entries, self.next_before = [], None
        params = {"p_member_id": self.member_id, "p_limit": self.PAGE}
        if more and self.next_before:
            params["p_before"] = self.next_before
        page = self.api.rpc("my_history", params)
        self.entries += page["entries"]
        self.next_before = page["next_before"]


class Inbox:
    def __init__(self, api: Transport, member_id: str):
        self.api, self.member_id = api, member_id
        self.messages: list[dict] = []

    def load(self) -> list[dict]:
        self.messages = self.api.rpc("my_inbox", {"p_member_id": self.member_id})["messages"]
        return self.messages

    def read(self, message: dict) -> None:
        if not message["read"]:
            self.api.rpc("mark_message_read", {"p_message_id": message["id"]})


class Feedback:
    """A 0–10 score and a comment after a visit; the answer may carry the café's review link."""

    def __init__(self, api: Transport, member_id: str):
        self.api, self.member_id = api, member_id
        self.review_url: str | None = None

    def send(self, score: int, comment: str | None) -> dict:
        answer = self.api.rpc(
            "submit_feedback", {"p_member_id": self.member_id, "p_score": score, "p_comment": comment or None}
        )
        self.review_url = answer.get("review_url")
        return answer
