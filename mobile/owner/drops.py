"""Drops and events: the list with stock and windows, a new drop (times on the café's clock), and
a drop's reservations with pick-ups."""

from __future__ import annotations

import datetime as dt

import flet as ft

from mobile.app import App
from mobile.formatting import when
from mobile.owner import models as om
from mobile.owner.state import Drops
from mobile.widgets import heading, tagged
from shared.errors import KantaError


class DropsSection:
    def __init__(self, app: App, state: Drops, tools):
        self.app, self.state, self.tools = app, state, tools

    def body(self) -> list[ft.Control]:
        app, tz, lang = self.app, self.tools.tz, self.app.lang
        drops = self.state.load()
        now = app.clock()
        defaults = {
            "title": "",
            "description": "",
            "vip_starts": om.local_text(now + dt.timedelta(days=1), tz),
            "public_starts": om.local_text(now + dt.timedelta(days=3), tz),
            "ends": om.local_text(now + dt.timedelta(days=10), tz),
            "stock": "20",
            "limit": "1",
        }
        self.fields = {
            k: ft.TextField(label=app.tr(f"drop_{k}"), value=v, col={"xs": 12, "md": 6 if k != "description" else 12})
            for k, v in defaults.items()
        }
        form = ft.ResponsiveRow([tagged(f"drop-{k}", f) for k, f in self.fields.items()], spacing=8)
        rows: list[ft.Control] = []
        for d in drops:
            line = app.tr(
                "drop_line",
                state=app.tr(f"drop_state_{d['state']}"),
                left=d["stock_left"],
                stock=d["stock"],
                vip=when(d["vip_starts_at"], lang, tz),
                public=when(d["public_starts_at"], lang, tz),
            )
            rows.append(
                tagged(
                    f"drop-{d['id']}",
                    ft.ListTile(
                        leading=ft.Icon(ft.Icons.LOCAL_OFFER),
                        title=ft.Text(d["title"]),
                        subtitle=ft.Text(line),
                        trailing=ft.Icon(ft.Icons.CHEVRON_RIGHT),
                        on_click=lambda _e, d=d: self.toggle(d["id"]),
                    ),
                    label=d["title"],
                )
            )
            if self.state.open_drop == d["id"]:
                rows.append(self.reservations(d["id"]))
        create = ft.FilledButton(app.tr("create_drop"), icon=ft.Icons.ADD, on_click=self.create)
        return [
            *(rows or [ft.Text(app.tr("no_drops"))]),
            heading(app.tr("new_drop")),
            form,
            ft.Row([tagged("create-drop", create)]),
        ]

    def create(self, _e=None) -> None:
        app, tz = self.app, self.tools.tz
        f = {k: (field.value or "") for k, field in self.fields.items()}
        moments = {k: om.parse_local(f[k], tz) for k in ("vip_starts", "public_starts", "ends")}
        if None in moments.values():
            app.toast(app.tr("date_hint"))
            return
        try:
            app.attempt(self.state.create, f, moments)
        except KantaError:
            return
        app.toast(app.tr("drop_created", title=f["title"].strip()))
        self.tools.show("drops")

    def toggle(self, drop_id: str) -> None:
        self.state.toggle(drop_id)
        self.tools.show("drops")

    def reservations(self, drop_id: str) -> ft.Control:
        app, tz, lang = self.app, self.tools.tz, self.app.lang
        rows: list[ft.Control] = []
        for r in self.state.reservations(drop_id):
            picked = r["status"] == "picked_up"
            pickup = tagged(
                f"pickup-{r['member_number']}",
                ft.FilledButton(app.tr("mark_pickup"), on_click=lambda _e, r=r: self.pickup(r)),
            )
            rows.append(
                tagged(
                    f"reservation-{r['member_number']}",
                    ft.ListTile(
                        title=ft.Text(f"{r.get('display_name') or r['member_number']} × {r['quantity']}"),
                        subtitle=ft.Text(
                            app.tr("picked_up_at", when=when(r["picked_up_at"], lang, tz))
                            if picked
                            else app.tr("reserved_at", when=when(r["created_at"], lang, tz))
                        ),
                        trailing=None if picked else pickup,
                    ),
                )
            )
        return ft.Container(
            ft.Column(rows or [ft.Text(app.tr("no_reservations"))], spacing=0), padding=ft.Padding.only(left=40)
        )

    def pickup(self, reservation: dict) -> None:
        try:
            self.app.attempt(self.state.pickup, reservation)
        except KantaError:
            return
        self.app.toast(self.app.tr("picked_up"))
        self.tools.show("drops")
