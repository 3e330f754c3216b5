"""VIP drops and events: when each opens for this member, and a reservation during the window."""

from __future__ import annotations

import flet as ft

from mobile.app import App
from mobile.wallet import models as vm
from mobile.wallet.state import Card
from mobile.widgets import tagged, vip_badge
from shared.errors import KantaError


class DropsScreen:
    def __init__(self, app: App, card: Card, nav):
        self.app, self.state, self.nav = app, card, nav

    def show(self) -> None:
        app, card = self.app, self.state.card
        now = app.clock()
        tiles: list[ft.Control] = []
        for d in card.get("drops", []):
            controls: list[ft.Control] = [
                ft.Text(d["title"], size=18, weight=ft.FontWeight.BOLD),
                ft.Text(d.get("description") or ""),
                tagged(f"drop-status-{d['id']}", ft.Text(vm.drop_status(d, bool(card.get("vip")), now, app.lang))),
            ]
            if d.get("my_reserved"):
                controls.append(ft.Text(app.tr("my_reserved", n=d["my_reserved"])))
            if d.get("can_reserve"):
                controls.append(
                    tagged(
                        f"reserve-{d['id']}",
                        ft.FilledButton(app.tr("reserve"), on_click=lambda _e, d=d: self.reserve(d)),
                    )
                )
            tiles.append(ft.Card(ft.Container(ft.Column(controls), padding=16)))
        # In a row, so the badge is its own size rather than the column's width.
        header = [ft.Row([vip_badge(app.lang, vertical=4, horizontal=12)])] if card.get("vip") else []
        app.show(
            "drops",
            self.show,
            app.tr("drops"),
            header + (tiles or [ft.Text(app.tr("no_drops"))]),
            back=self.nav.show_card,
            color=card["business"]["color"],
        )

    def reserve(self, drop: dict) -> None:
        try:
            self.app.attempt(self.state.reserve, drop["id"])
        except KantaError:
            return
        self.app.toast(self.app.tr("reserved"))
        self.show()
