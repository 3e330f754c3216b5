"""A card: the stamp grid (new stamps animate in), points and the tier's progress, vouchers with
their QR, rewards within reach, and the ways to the card's other screens."""

from __future__ import annotations

import flet as ft

from mobile.app import App
from mobile.formatting import day, money, number, png_qr
from mobile.wallet import models as vm
from mobile.wallet.state import Card
from mobile.widgets import slot_face, tagged, vip_badge
from shared.errors import KantaError


class CardScreen:
    def __init__(self, app: App, card: Card, nav):
        self.app, self.state, self.nav = app, card, nav
        self.slots: list[ft.AnimatedSwitcher] = []
        self.voucher_dialog: ft.AlertDialog | None = None

    def can_animate(self, card: dict) -> bool:
        return len(self.slots) == card["stamps_per_card"]

    def stamp_grid(self, card: dict) -> ft.Semantics:
        app, color = self.app, card["business"]["color"]
        self.slots = [
            ft.AnimatedSwitcher(
                slot_face(slot, color, app.lang),
                transition=ft.AnimatedSwitcherTransition.SCALE,
                duration=ft.Duration(milliseconds=450),
                switch_in_curve=ft.AnimationCurve.ELASTIC_OUT,
            )
            for slot in vm.stamp_slots(card["stamps"], card["stamps_per_card"])
        ]
        self.stamps_text = ft.Text(vm.stamps_label(card, app.lang), size=16, weight=ft.FontWeight.W_600)
        return tagged(
            "stamp-grid",
            ft.Column(
                [
                    ft.Row(
                        [ft.Text(app.tr("stamp_card"), size=18, weight=ft.FontWeight.BOLD), self.stamps_text],
                        alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                    ),
                    ft.Row(self.slots, wrap=True, spacing=10, run_spacing=10),
                    ft.Text(app.tr("reward_on_full", reward=card["stamp_reward"]), size=13),
                ]
            ),
            label=vm.stamps_label(card, app.lang),
        )

    def animate_stamps(self, before: dict, card: dict) -> None:
        """Swap only the slots that changed, so the new stamp scales in."""
        lang, color = self.app.lang, card["business"]["color"]
        old = vm.stamp_slots(before["stamps"], before["stamps_per_card"])
        for slot, was, switcher in zip(
            vm.stamp_slots(card["stamps"], card["stamps_per_card"]), old, self.slots, strict=True
        ):
            if slot.stamped != was.stamped:
                switcher.content = slot_face(slot, color, lang)
        self.stamps_text.value = vm.stamps_label(card, lang)
        self.points_text.value = number(card["points"], lang)
        self.grid_semantics.label = vm.stamps_label(card, lang)
        progress = vm.tier_progress(card, lang)
        self.tier_bar.value, self.tier_label.value = progress.fraction, progress.label
        self.vouchers_box.controls = self.voucher_tiles(card)
        self.app.page.update()

    def voucher_tiles(self, card: dict) -> list[ft.Control]:
        app = self.app
        tiles = [
            tagged(
                f"voucher-{v['code']}",
                ft.ListTile(
                    leading=ft.Icon(ft.Icons.REDEEM),
                    title=ft.Text(v["title"]),
                    subtitle=ft.Text(
                        app.tr("valid_until", when=day(v["expires_at"], app.lang)) if v.get("expires_at") else ""
                    ),
                    trailing=ft.Icon(ft.Icons.QR_CODE),
                    on_click=lambda _e, v=v: self.show_voucher(v),
                ),
                label=f"{v['title']}: {app.tr('show_voucher')}",
            )
            for v in card.get("vouchers", [])
        ]
        welcome = (card.get("referral") or {}).get("welcome") or {}
        if welcome.get("status") == "pending":  # not a voucher yet: no code, nothing to show at the counter
            amount = money(welcome["min_cents"], card["business"]["currency"], app.lang)
            tiles.append(
                tagged(
                    "welcome-pending",
                    ft.ListTile(
                        leading=ft.Icon(ft.Icons.HOURGLASS_TOP),
                        title=ft.Text(app.tr("welcome_pending", title=welcome["title"], amount=amount)),
                    ),
                )
            )
        return tiles or [ft.Text(app.tr("no_vouchers"))]

    def points_card(self, card: dict, progress: vm.TierProgress) -> ft.Control:
        app, color = self.app, card["business"]["color"]
        self.points_text = ft.Text(number(card["points"], app.lang), size=32, weight=ft.FontWeight.BOLD, color=color)
        self.tier_bar = ft.ProgressBar(
            value=progress.fraction, color=color, bar_height=10, border_radius=5, semantics_label=progress.label
        )
        self.tier_label = ft.Text(progress.label)
        tier_row = [ft.Text(f"{app.tr('tier')}: {progress.current or '—'}", weight=ft.FontWeight.W_600)]
        if card.get("vip"):
            tier_row.append(vip_badge(app.lang, size=12))
        return ft.Card(
            ft.Container(
                ft.Column(
                    [
                        ft.Row(
                            [ft.Text(app.tr("points"), size=18, weight=ft.FontWeight.BOLD), self.points_text],
                            alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                        ),
                        ft.Row(tier_row),
                        tagged("tier-progress", self.tier_bar, label=progress.label),
                        self.tier_label,
                    ]
                    + [ft.Text(f"✓ {p}", size=13) for p in progress.perks]
                    + self.debt_lines(card)
                ),
                padding=16,
            )
        )

    def debt_lines(self, card: dict) -> list[ft.Control]:
        """What refunds of points or stamps already used left owed, when anything is."""
        app, lines = self.app, []
        for key, field in (("points_debt_owed", "points_debt"), ("stamp_debt_owed", "stamp_debt")):
            owed = card.get(field) or 0
            if owed > 0:
                text = app.tr(key, n=number(owed, app.lang))
                lines.append(tagged(field, ft.Text(text, size=13, color=ft.Colors.ERROR), label=text))
        return lines

    def show(self) -> None:
        app, nav, card = self.app, self.nav, self.state.card
        color = card["business"]["color"]
        progress = vm.tier_progress(card, app.lang)
        self.grid_semantics = self.stamp_grid(card)
        self.vouchers_box = ft.Column(self.voucher_tiles(card), spacing=0)
        rewards = [
            ft.ListTile(
                leading=ft.Icon(ft.Icons.STARS),
                title=ft.Text(r["name"]),
                trailing=ft.Text(app.tr("cost_points", points=number(r["cost_points"], app.lang))),
            )
            for r in vm.affordable_rewards(card)
        ]
        try:
            inbox_badge = str(self.state.unread() or "") or None
        except KantaError:
            inbox_badge = None
        body: list[ft.Control] = [
            tagged(
                "show-qr",
                ft.FilledButton(
                    app.tr("show_qr"),
                    icon=ft.Icons.QR_CODE_2,
                    on_click=lambda _: nav.show_qr(),
                    style=ft.ButtonStyle(bgcolor=color, padding=20),
                ),
            ),
            ft.Card(ft.Container(self.grid_semantics, padding=16)),
            self.points_card(card, progress),
            ft.Text(app.tr("vouchers"), size=18, weight=ft.FontWeight.BOLD),
            self.vouchers_box,
        ]
        if rewards:
            body += [ft.Text(app.tr("rewards_you_can_get"), size=18, weight=ft.FontWeight.BOLD), *rewards]
        screens = [  # (identifier, caption, icon, opens, badge)
            ("open-referral", "refer", ft.Icons.SHARE, nav.show_referral, None),
            ("open-drops", "drops", ft.Icons.LOCAL_OFFER, nav.show_drops, None),
            ("open-history", "history", ft.Icons.HISTORY, nav.show_history, None),
            ("open-inbox", "inbox", ft.Icons.MAIL, nav.show_inbox, inbox_badge),
            ("open-feedback", "feedback", ft.Icons.RATE_REVIEW, nav.show_feedback, None),
        ]
        body += [
            ft.Row(
                [
                    tagged(
                        ident,
                        ft.OutlinedButton(
                            app.tr(caption), icon=icon, badge=badge, on_click=lambda _e, opens=opens: opens()
                        ),
                    )
                    for ident, caption, icon, opens, badge in screens
                ],
                wrap=True,
            ),
            ft.Text(app.tr("member_number", number=card["member_number"]), size=12, color=ft.Colors.ON_SURFACE_VARIANT),
        ]
        app.show("card", self.show, card["business"]["name"], body, back=nav.show_wallet, color=color)

    def show_voucher(self, voucher: dict) -> None:
        app = self.app
        valid = app.tr("valid_until", when=day(voucher["expires_at"], app.lang)) if voucher.get("expires_at") else ""
        dialog = ft.AlertDialog(
            title=ft.Text(voucher["title"]),
            content=tagged(
                "voucher-qr",
                ft.Column(
                    [
                        ft.Image(src=png_qr(voucher["code"]), width=240, height=240),
                        ft.Text(voucher["code"], size=20, weight=ft.FontWeight.BOLD, selectable=True),
                        ft.Text(valid),
                    ],
                    tight=True,
                    horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                ),
                label=f"{voucher['title']} {voucher['code']}",
            ),
            actions=[ft.TextButton(app.tr("close"), on_click=lambda _: app.page.pop_dialog())],
        )
        self.voucher_dialog = dialog
        app.page.show_dialog(dialog)
