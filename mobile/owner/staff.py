"""Staff: who works here and in which role; add someone who has an account, or remove them."""

from __future__ import annotations

import flet as ft

from mobile.app import App
from mobile.owner.state import Staff
from mobile.widgets import heading, tagged
from shared.errors import KantaError


class StaffSection:
    def __init__(self, app: App, state: Staff, tools):
        self.app, self.state, self.tools = app, state, tools

    def body(self) -> list[ft.Control]:
        app = self.app
        staff = self.state.load()
        self.email = ft.TextField(label=app.tr("email"), keyboard_type=ft.KeyboardType.EMAIL, col={"xs": 12, "md": 6})
        self.role = ft.Dropdown(
            label=app.tr("role"),
            value="staff",
            options=[ft.DropdownOption(key=r, text=app.tr(f"role_{r}")) for r in ("staff", "owner")],
            col={"xs": 12, "md": 3},
        )
        rows = [self.row(s) for s in staff]
        add = ft.FilledButton(app.tr("add_staff"), icon=ft.Icons.PERSON_ADD, on_click=self.add)
        return [
            *rows,
            heading(app.tr("add_staff")),
            ft.ResponsiveRow([tagged("staff-email", self.email), tagged("staff-role", self.role)]),
            ft.Text(app.tr("add_staff_help"), size=13),
            ft.Row([tagged("add-staff", add)]),
        ]

    def row(self, s: dict) -> ft.Control:
        app = self.app
        remove = tagged(
            f"remove-{s['email']}",
            ft.IconButton(
                ft.Icons.PERSON_REMOVE, tooltip=app.tr("remove_staff"), on_click=lambda _e, s=s: self.remove(s)
            ),
        )
        return tagged(
            f"staff-{s['email']}",
            ft.ListTile(
                leading=ft.Icon(ft.Icons.ADMIN_PANEL_SETTINGS if s["role"] == "owner" else ft.Icons.PERSON),
                title=ft.Text(s["email"]),
                subtitle=ft.Text(app.tr(f"role_{s['role']}") + (f" · {app.tr('you')}" if s["me"] else "")),
                trailing=None if s["me"] else remove,
            ),
        )

    def add(self, _e=None) -> None:
        try:
            self.app.attempt(self.state.add, self.email.value or "", self.role.value)
        except KantaError:
            return
        self.app.toast(self.app.tr("staff_added"))
        self.tools.show("staff")

    def remove(self, person: dict) -> None:
        try:
            self.app.attempt(self.state.remove, person)
        except KantaError:
            return
        self.app.toast(self.app.tr("staff_removed", email=person["email"]))
        self.tools.show("staff")
