"""Invite a friend: the referral link and its QR, the platforms' share links, and the counts."""

from __future__ import annotations

import flet as ft

from mobile.app import App
from mobile.formatting import png_qr
from mobile.wallet import models as vm
from mobile.wallet.state import Card
from mobile.widgets import tagged
from shared.links import referral_link


class ReferralScreen:
    def __init__(self, app: App, card: Card, nav):
        self.app, self.state, self.nav = app, card, nav
        self.share_urls: dict[str, str] = {}

    def show(self) -> None:
        app, card = self.app, self.state.card
        ref = card["referral"]
        link = referral_link(app.public_url, ref["code"])
        text = vm.share_text(card, app.lang)
        self.share_urls = vm.share_links(link, text, app.tr("share_subject", business=card["business"]["name"]))

        async def copy(_):
            app.toast(app.tr("copied"))
            await ft.Clipboard().set(link)

        share_buttons = [
            tagged(f"share-{name}", ft.OutlinedButton(app.tr(f"share_{name}"), url=url), label=app.tr(f"share_{name}"))
            for name, url in self.share_urls.items()
        ]
        stats = app.tr("referral_stats", invited=ref["invited"], pending=ref["pending"], rewarded=ref["rewarded"])
        app.show(
            "referral",
            self.show,
            app.tr("refer"),
            [
                ft.Text(app.tr("refer_explain", welcome=ref["welcome_reward"], referrer=ref["referrer_reward"])),
                ft.Container(
                    tagged("referral-qr", ft.Image(src=png_qr(link), width=220, height=220), label=link),
                    alignment=ft.Alignment.CENTER,
                ),
                tagged("referral-link", ft.Text(link, selectable=True, text_align=ft.TextAlign.CENTER)),
                ft.Row(share_buttons, wrap=True, alignment=ft.MainAxisAlignment.CENTER),
                tagged("copy-link", ft.FilledButton(app.tr("copy_link"), icon=ft.Icons.COPY, on_click=copy)),
                tagged("referral-stats", ft.Text(stats)),
            ],
            back=self.nav.show_card,
            color=card["business"]["color"],
        )
