"""The wallet: one tile per café joined; and joining a café from a link."""

from __future__ import annotations

import flet as ft

from mobile.app import App
from mobile.wallet import models as vm
from mobile.wallet.state import Join, Wallet
from mobile.widgets import BRAND, tagged
from shared.errors import KantaError


def hero(app: App, join: Join | None) -> ft.Control:
    """The app's name, or the friend's offer when the link carries one."""
    lines: list[ft.Control] = [ft.Icon(ft.Icons.LOCAL_CAFE, size=56, color=BRAND)]
    if join and join.preview:
        preview = join.preview
        lines += [
            ft.Text(app.tr("join_title", business=preview["business_name"]), size=24, weight=ft.FontWeight.BOLD),
            ft.Text(app.tr("join_gift", reward=preview["welcome_reward"]), size=16, color=preview.get("color")),
        ]
    else:
        lines += [
            ft.Text(app.tr("app_title"), size=36, weight=ft.FontWeight.BOLD, color=BRAND),
            ft.Text(app.tr("tagline"), size=16),
        ]
    return ft.Column(lines, horizontal_alignment=ft.CrossAxisAlignment.CENTER, spacing=8)


class CardsScreen:
    def __init__(self, app: App, wallet: Wallet, nav):
        self.app, self.wallet, self.nav = app, wallet, nav

    def show(self) -> None:
        app = self.app
        try:
            cards = app.attempt(self.wallet.load)
        except KantaError:
            cards = []
        tiles: list[ft.Control] = [self.tile(c) for c in cards] or [ft.Text(app.tr("no_cards"))]
        actions = [
            tagged(
                "profile",
                ft.IconButton(ft.Icons.PERSON, tooltip=app.tr("profile"), on_click=lambda _: self.nav.show_profile()),
            )
        ]
        app.show("wallet", self.show, app.tr("my_cards"), tiles, actions=actions)

    def tile(self, c: dict) -> ft.Control:
        line = vm.wallet_line(c, self.app.lang)
        return tagged(
            f"card-{c['business_slug']}",
            ft.Card(
                ft.Container(
                    ft.Column(
                        [
                            ft.Text(c["business_name"], size=20, weight=ft.FontWeight.BOLD, color=ft.Colors.WHITE),
                            ft.Text(line, color=ft.Colors.WHITE),
                            ft.Text(c.get("tier") or "", color=ft.Colors.with_opacity(0.8, ft.Colors.WHITE)),
                        ],
                        spacing=4,
                    ),
                    bgcolor=c["color"],
                    padding=20,
                    border_radius=16,
                    on_click=lambda _e, m=c["member_id"]: self.nav.open_card(m),
                ),
            ),
            label=f"{c['business_name']}: {line}",
        )


class JoinScreen:
    def __init__(self, app: App, join: Join, nav):
        self.app, self.join, self.nav = app, join, nav

    def show(self) -> None:
        app = self.app
        self.name = ft.TextField(label=app.tr("your_name"))
        app.show(
            "join",
            self.show,
            "",
            [
                hero(app, self.join),
                tagged("display-name", self.name),
                tagged("join", ft.FilledButton(app.tr("join_button"), on_click=self.do_join)),
            ],
        )

    def do_join(self, _=None) -> None:
        try:
            card = self.app.attempt(self.join.join, self.name.value)
        except KantaError:
            return
        self.app.toast(self.app.tr("referral_not_new" if card.get("referral_refused") == "not_new" else "joined"))
        self.nav.open_card(card["member_id"])
