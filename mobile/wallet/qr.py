"""The member QR, full screen at the counter: single use, refreshed before it expires, and
withdrawn with the member number shown instead while the server cannot be reached."""

from __future__ import annotations

import asyncio

import flet as ft

from mobile.app import App
from mobile.formatting import png_qr
from mobile.wallet.models import MemberQr
from mobile.wallet.state import Card
from mobile.widgets import tagged


class QrScreen:
    def __init__(self, app: App, card: Card, nav):
        self.app, self.state, self.nav = app, card, nav
        self.qr: MemberQr | None = None

    def show(self) -> None:
        app = self.app
        self.qr = self.state.member_qr(lambda: app.clock())
        # Visibility is switched on the Semantics wrappers: a Semantics must hold a visible control.
        self.image = ft.Image(src=png_qr("KANTA"), width=300, height=300)
        self.image_box = tagged("member-qr", self.image, label=app.tr("qr_title"))
        self.countdown = ft.Text("", size=16)
        self.offline = ft.Text("", color=ft.Colors.ERROR)
        self.offline_box = tagged("qr-offline", self.offline)
        self.tick()
        card = self.state.card
        app.show(
            "qr",
            self.show,
            app.tr("qr_title"),
            [
                ft.Container(self.image_box, alignment=ft.Alignment.CENTER),
                ft.Container(tagged("qr-countdown", self.countdown), alignment=ft.Alignment.CENTER),
                self.offline_box,
                ft.Text(app.tr("member_number", number=card["member_number"]), text_align=ft.TextAlign.CENTER),
            ],
            back=self.leave,
            color=card["business"]["color"],
        )
        if app.timers:
            app.page.run_task(self._loop)

    def tick(self) -> None:
        """One second of the QR screen: refresh the token when due, redraw the countdown."""
        qr, app = self.qr, self.app
        if qr is None:
            return
        if qr.tick():
            self.image.src = png_qr(qr.token)
        self.image_box.visible = qr.token is not None
        self.countdown.value = app.tr("qr_countdown", seconds=qr.seconds_left()) if qr.token else ""
        self.offline_box.visible = qr.offline or qr.token is None
        self.offline.value = app.tr("qr_offline", number=self.state.card["member_number"])

    async def _loop(self) -> None:
        while self.app.screen == "qr" and self.qr is not None:
            await asyncio.to_thread(self.tick)
            self.app.page.update()
            await asyncio.sleep(1)

    def leave(self) -> None:
        self.qr = None
        self.nav.show_card()
