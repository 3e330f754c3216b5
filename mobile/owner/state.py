"""The owner's state objects, one per section of the back office: plain Python, no Flet, and the
only owner code that calls the Transport. Each command is one RPC for this café; the database
refuses staff, and a refusal is raised as its typed error."""

from __future__ import annotations

import datetime as dt
import uuid

from mobile.owner import models as om
from shared.transport import Transport


class Section:
    def __init__(self, api: Transport, place: dict):
        self.api, self.place = api, place
        self.business = place["business_id"]

    def call(self, name: str, params: dict | None = None):
        return self.api.rpc(name, {"p_business_id": self.business, **(params or {})})


class Dashboard(Section):
    period_days = 30

    @property
    def bucket(self) -> str:
        return "day" if self.period_days <= 30 else "week" if self.period_days <= 90 else "month"

    def load(self, now: dt.datetime, tz: str) -> dict:
        start, end = om.period(self.period_days, now, tz)
        return self.call("owner_dashboard", {"p_from": start, "p_to": end, "p_bucket": self.bucket})


class Members(Section):
    """Segments, churn alerts with win-back, the search, and one member's VIP and rewards."""

    segment: str | None = None
    all_alerts = False  # the churn list shows five until asked for all

    def __init__(self, api: Transport, place: dict):
        super().__init__(api, place)
        self.found: list[dict] = []
        self.member: dict | None = None  # the member open in the dialog

    def load(self) -> tuple[dict, dict]:
        segments = self.call("member_segments", {"p_limit": 50, "p_segment": self.segment or "champions"})
        if self.segment is None:  # the first look: the first segment that has anyone in it
            self.segment = next((s for s in om.SEGMENTS if segments["counts"].get(s)), "champions")
            if self.segment != "champions":
                segments = self.call("member_segments", {"p_limit": 50, "p_segment": self.segment})
        return segments, self.call("churn_risk", {"p_limit": 20})

    def search(self, text: str) -> None:
        self.found = []
        self.found = self.call("search_members", {"p_query": text or ""})

    def win_back(self, member: dict) -> None:
        self.call("send_win_back", {"p_member_id": member["member_id"]})

    def open(self, member_number: str) -> dict:
        self.member = self.call("identify_member", {"p_code": member_number, "p_confirmed": True})
        return self.member

    def grant_vip(self, until: dt.datetime) -> None:
        self.call("grant_vip", {"p_member_id": self.member["member_id"], "p_until": until.isoformat()})

    def revoke_vip(self) -> None:
        self.call("revoke_vip", {"p_member_id": self.member["member_id"]})

    def grant_reward(self, title: str) -> dict:
        return self.call(
            "grant_reward",
            {"p_member_id": self.member["member_id"], "p_title": title, "p_idempotency_key": f"owner-{uuid.uuid4()}"},
        )


class Drops(Section):
    open_drop: str | None = None  # the drop whose reservations are shown

    def load(self) -> list[dict]:
        return self.call("business_drops")

    def create(self, fields: dict[str, str], moments: dict[str, str]) -> None:
        self.call(
            "create_drop",
            {
                "p_title": fields["title"],
                "p_description": fields["description"],
                "p_vip_starts_at": moments["vip_starts"],
                "p_public_starts_at": moments["public_starts"],
                "p_ends_at": moments["ends"],
                "p_stock": fields["stock"].strip(),
                "p_per_member_limit": fields["limit"].strip(),
            },
        )

    def toggle(self, drop_id: str) -> None:
        self.open_drop = None if self.open_drop == drop_id else drop_id

    def reservations(self, drop_id: str) -> list[dict]:
        return self.api.rpc("drop_reservations", {"p_drop_id": drop_id})["reservations"]

    def pickup(self, reservation: dict) -> None:
        self.api.rpc("mark_pickup", {"p_reservation_id": reservation["id"]})


class Program(Section):
    program: dict = {}

    def load(self) -> dict:
        self.program = self.call("get_program")
        return self.program

    def save(self, settings: dict) -> None:
        self.program = self.call("update_program", {"p_settings": settings})


class Staff(Section):
    def load(self) -> list[dict]:
        return self.call("staff_list")

    def add(self, email: str, role: str) -> None:
        self.call("add_staff", {"p_email": email.strip(), "p_role": role})

    def remove(self, person: dict) -> None:
        self.call("remove_staff", {"p_user_id": person["user_id"]})


class FeedbackList(Section):
    def load(self) -> dict:
        return self.call("feedback_summary")

    def reply(self, feedback_id: str, text: str) -> None:
        self.api.rpc("reply_feedback", {"p_feedback_id": feedback_id, "p_reply": text})


class Audit(Section):
    def __init__(self, api: Transport, place: dict):
        super().__init__(api, place)
        self.entries: list[dict] = []
        self.next_before: str | None = None

    def load(self, more: bool = False) -> None:
        if not more:
            self.entries, self.next_before = [], None
        params: dict = {"p_limit": 50}
        if more and self.next_before:
            params["p_before"] = self.next_before
        page = self.call("audit_log", params)
        self.entries += page["entries"]
        self.next_before = page["next_before"]


class Export(Section):
    exported: tuple[str, bytes] | None = None  # (file name, bytes) of the last export

    def export(self, fmt: str) -> tuple[str, bytes]:
        """All members as CSV (export_members), or the consenting ones in an e-mail tool's layout."""
        text = self.call("export_members") if fmt == "csv" else self.call("export_marketing", {"p_format": fmt})
        if isinstance(text, dict):  # export_marketing answers with the file and its name
            name, text = text.get("filename") or f"kanta-{fmt}.csv", text["csv"]
        else:
            name = f"kanta-{self.place['slug']}-members.csv"
        self.exported = (name, text.encode("utf-8"))
        return self.exported


class OwnerState:
    """The back office's sections for one café."""

    def __init__(self, api: Transport, place: dict):
        self.dashboard = Dashboard(api, place)
        self.members = Members(api, place)
        self.drops = Drops(api, place)
        self.program = Program(api, place)
        self.staff = Staff(api, place)
        self.feedback = FeedbackList(api, place)
        self.audit = Audit(api, place)
        self.export = Export(api, place)
