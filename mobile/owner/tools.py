"""The owner's back office (Flet), tablet first, reached from the counter: one section at a time
under a row of section buttons. Staff never see it, and the API refuses them anyway."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from mobile.app import App
from mobile.owner.audit import AuditSection, ExportSection
from mobile.owner.dashboard import DashboardSection
from mobile.owner.drops import DropsSection
from mobile.owner.feedback import FeedbackSection
from mobile.owner.members import MembersSection
from mobile.owner.program import ProgramSection
from mobile.owner.staff import StaffSection
from mobile.owner.state import OwnerState
from mobile.widgets import tagged
from shared.errors import KantaError
from shared.transport import Transport

SECTIONS = [  # (name, icon)
    ("dashboard", ft.Icons.INSIGHTS),
    ("members", ft.Icons.PEOPLE),
    ("drops", ft.Icons.LOCAL_OFFER),
    ("program", ft.Icons.TUNE),
    ("staff", ft.Icons.BADGE),
    ("feedback", ft.Icons.RATE_REVIEW),
    ("audit", ft.Icons.RECEIPT_LONG),
    ("export", ft.Icons.DOWNLOAD),
]


class OwnerTools:
    def __init__(self, app: App, api: Transport, place: dict, *, back: Callable[[], None]):
        self.app, self.place, self.back = app, place, back
        self.state = OwnerState(api, place)
        self.section = "dashboard"
        s = self.state
        self.sections = {
            "dashboard": DashboardSection(app, s.dashboard, self),
            "members": MembersSection(app, s.members, self),
            "drops": DropsSection(app, s.drops, self),
            "program": ProgramSection(app, s.program, self),
            "staff": StaffSection(app, s.staff, self),
            "feedback": FeedbackSection(app, s.feedback, self),
            "audit": AuditSection(app, s.audit, self),
            "export": ExportSection(app, s.export, self),
        }

    @property
    def tz(self) -> str:
        return self.place.get("timezone") or "Europe/Helsinki"

    @property
    def currency(self) -> str:
        return self.place.get("currency") or "EUR"

    def title(self, section: str) -> str:
        return f"{self.place['name']} · {self.app.tr('owner_' + section)}"

    def show(self, section: str | None = None) -> None:
        app = self.app
        self.section = section or self.section
        try:
            body = app.attempt(self.sections[self.section].body)
        except KantaError:
            body = [ft.Text(app.notice or "")]
        nav = ft.Row(
            [
                tagged(
                    f"section-{name}",
                    (ft.FilledTonalButton if name == self.section else ft.TextButton)(
                        app.tr(f"owner_{name}"), icon=icon, on_click=lambda _e, n=name: self.show(n)
                    ),
                )
                for name, icon in SECTIONS
            ],
            wrap=True,
            spacing=4,
        )
        app.show(
            f"owner-{self.section}",
            self.show,
            self.title(self.section),
            [nav, ft.Divider(height=1), *body],
            back=self.back,
            wide=True,
            actions=[app.language_switch()],
        )
