"""The customer wallet (Flet): sign in, cards, the stamp card, the member QR, referrals, drops,
history, inbox, feedback and the profile. Phone first; every screen is thin over mobile.models
and the API's answers.

Routes: /  (wallet, or sign-in)   /join/{slug}?ref={code}   and in-app screens kept in memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import flet as ft
import platformdirs

from mobile import models as vm
from shared.errors import KantaError
from shared.i18n import DEFAULT_LANGUAGE, t
from shared.links import referral_link

BRAND = "#6B4F3A"


def tagged(identifier: str, control: ft.Control, label: str | None = None) -> ft.Semantics:
    """A control with a stable identifier for tests, and a label for screen readers. An icon
    button's wrapper is marked a button, so its tooltip names it (else the button is nameless)."""
    # A ResponsiveRow sizes its direct children, so the wrapper carries the control's columns.
    col = getattr(control, "col", 12)
    if isinstance(control, ft.IconButton):
        return ft.Semantics(identifier=identifier, label=label, button=True, content=control, col=col)
    return ft.Semantics(identifier=identifier, label=label, content=control, col=col)


def parse_route(route: str | None) -> tuple[list[str], dict[str, str]]:
    parsed = urlparse(route or "/")
    parts = [unquote(p) for p in parsed.path.split("/") if p]
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    return parts, query


class WalletApp:
    def __init__(
        self,
        page: ft.Page,
        api,
        *,
        lang: str = DEFAULT_LANGUAGE,
        public_url: str = "http://127.0.0.1:8550",
        timers: bool = True,
        clock: Callable[[], dt.datetime] | None = None,
        queue_dir: Path | None = None,
    ):
        self.page, self.api, self.lang, self.public_url, self.timers = page, api, lang, public_url, timers
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        # Where the counter keeps purchases made while the backend is unreachable.
        self.queue_dir = queue_dir or Path(platformdirs.user_data_dir("kanta")) / "counter-queue"
        self.screen = "signin"
        self.card: dict | None = None
        self.member_id: str | None = None
        self.pending_join: dict | None = None
        self.subscription = None
        self.qr: vm.MemberQr | None = None
        self.slots: list[ft.AnimatedSwitcher] = []
        self.history: list[dict] = []
        self.history_next: int | None = None
        self.otp_email: str | None = None
        self.review_url: str | None = None
        self.notice: str | None = None
        self._rerender: Callable[[], None] = lambda: None

    # ---- plumbing --------------------------------------------------------------------------

    def tr(self, key: str, **values) -> str:
        return t(key, self.lang, **values)

    def call(self, name: str, params: dict | None = None):
        """One API call; a failure becomes a message on screen in the user's language."""
        try:
            return self.api.rpc(name, params or {})
        except KantaError as exc:
            self.toast(vm.problem(exc, self.lang))
            raise

    def toast(self, text: str) -> None:
        self.notice = text
        self.page.show_dialog(ft.SnackBar(content=ft.Text(text), duration=ft.Duration(seconds=4)))

    def frame(
        self, title: str, body: list[ft.Control], *, back: Callable | None = None, actions=None, wide: bool = False
    ) -> None:
        """The page: an app bar and a centred column, full width on a phone, narrower on a tablet
        (`wide`: the whole width, for the counter)."""
        leading = (
            tagged("back", ft.IconButton(ft.Icons.ARROW_BACK, tooltip=self.tr("back"), on_click=lambda _: back()))
            if back
            else None
        )
        self.page.appbar = ft.AppBar(
            title=ft.Text(title, weight=ft.FontWeight.BOLD),
            leading=leading,
            actions=actions or [],
            bgcolor=self.card["business"]["color"] if self.card else None,
            color=ft.Colors.WHITE if self.card else None,
        )
        column = ft.Column(body, spacing=16, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
        self.page.controls.clear()
        self.page.add(
            ft.ResponsiveRow(
                [ft.Container(column, padding=16, col={"xs": 12} if wide else {"xs": 12, "md": 8, "lg": 6})],
                alignment=ft.MainAxisAlignment.CENTER,
            )
        )
        self.page.update()

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self._rerender()

    # ---- start and sign-in -------------------------------------------------------------------

    def start(self, route: str | None) -> None:
        parts, query = parse_route(route)
        if len(parts) == 2 and parts[0] == "join":
            self.pending_join = {"slug": parts[1], "ref": query.get("ref")}
            if self.pending_join["ref"]:
                try:
                    self.pending_join["preview"] = self.api.rpc(
                        "referral_preview", {"p_code": self.pending_join["ref"]}
                    )
                except KantaError:
                    self.pending_join["ref"] = None
        if self.api.user is None:
            self.show_sign_in()
        elif self.pending_join:
            self.show_join()
        elif not self.open_counter_if_staff():
            self.show_wallet()

    def open_counter_if_staff(self) -> bool:
        """Staff and owners land on their café's counter; customers on their wallet."""
        from mobile.counter import open_counter

        # Unavailable goes up to the sign-in screen, which says the server cannot be reached.
        workplaces = self.api.rpc("my_workplaces", {})
        if not workplaces:
            return False
        self.counter = open_counter(self, workplaces)
        return True

    def show_sign_in(self) -> None:
        self.screen = "signin"
        self._rerender = self.show_sign_in
        otp = hasattr(self.api, "send_otp")
        email = ft.TextField(label=self.tr("email"), keyboard_type=ft.KeyboardType.EMAIL, autofocus=True)
        password = ft.TextField(label=self.tr("password"), password=True, can_reveal_password=True)
        code = ft.TextField(label=self.tr("otp_code"), keyboard_type=ft.KeyboardType.NUMBER)
        error = ft.Text("", color=ft.Colors.ERROR)
        self.sign_in_fields = {"email": email, "password": password, "code": code, "error": error}

        def after_sign_in() -> None:
            if self.pending_join:
                self.show_join()
            elif not self.open_counter_if_staff():
                self.show_wallet()

        def attempt(action: Callable[[], object]) -> None:
            try:
                action()
                after_sign_in()
            except KantaError as exc:
                error.value = vm.problem(exc, self.lang)
                self.page.update()

        def do_sign_in(_=None):
            attempt(lambda: self.api.sign_in(email.value.strip(), password.value))

        def do_sign_up(_=None):
            attempt(lambda: self.api.sign_up(email.value.strip(), password.value))

        def do_send_code(_=None):
            try:
                self.api.send_otp(email.value.strip())
            except KantaError as exc:
                error.value = vm.problem(exc, self.lang)
                self.page.update()
                return
            self.otp_email = email.value.strip()
            self.show_sign_in()

        def do_verify(_=None):
            attempt(lambda: self.api.verify_otp(self.otp_email, code.value.strip()))

        body: list[ft.Control] = [self.hero()]
        if otp and self.otp_email:
            body += [
                ft.Text(self.tr("code_sent", email=self.otp_email)),
                tagged("otp-code", code),
                tagged("verify", ft.FilledButton(self.tr("verify_code"), on_click=do_verify)),
            ]
        elif otp:
            body += [
                tagged("email", email),
                tagged("send-code", ft.FilledButton(self.tr("send_code"), on_click=do_send_code)),
            ]
        else:
            password.on_submit = do_sign_in
            body += [
                tagged("email", email),
                tagged("password", password),
                tagged("sign-in", ft.FilledButton(self.tr("sign_in"), on_click=do_sign_in)),
                tagged("sign-up", ft.OutlinedButton(self.tr("sign_up"), on_click=do_sign_up)),
            ]
        body += [error, self.language_switch()]
        self.frame("", body)

    def hero(self) -> ft.Control:
        join = self.pending_join
        lines: list[ft.Control] = [ft.Icon(ft.Icons.LOCAL_CAFE, size=56, color=BRAND)]
        if join and join.get("preview"):
            preview = join["preview"]
            lines += [
                ft.Text(self.tr("join_title", business=preview["business_name"]), size=24, weight=ft.FontWeight.BOLD),
                ft.Text(self.tr("join_gift", reward=preview["welcome_reward"]), size=16, color=preview.get("color")),
            ]
        else:
            lines += [
                ft.Text(self.tr("app_title"), size=36, weight=ft.FontWeight.BOLD, color=BRAND),
                ft.Text(self.tr("tagline"), size=16),
            ]
        return ft.Column(lines, horizontal_alignment=ft.CrossAxisAlignment.CENTER, spacing=8)

    def language_switch(self) -> ft.Control:
        return tagged(
            "language",
            ft.SegmentedButton(
                selected=[self.lang],
                segments=[
                    ft.Segment(value="fi", label=ft.Text("Suomi")),
                    ft.Segment(value="en", label=ft.Text("English")),
                ],
                on_change=lambda e: self.set_language(list(e.control.selected)[0]),
            ),
            label=self.tr("language"),
        )

    def show_join(self) -> None:
        self.screen = "join"
        self._rerender = self.show_join
        join = self.pending_join or {}
        name = ft.TextField(label=self.tr("your_name"))

        def do_join(_=None):
            params = {"p_slug": join["slug"], "p_display_name": (name.value or "").strip() or None}
            if join.get("ref"):
                params["p_referral_code"] = join["ref"]
            try:
                card = self.call("join_business", params)
            except KantaError:
                return
            self.pending_join = None
            self.toast(self.tr("joined"))
            self.open_card(card["member_id"])

        self.frame(
            "",
            [
                self.hero(),
                tagged("display-name", name),
                tagged("join", ft.FilledButton(self.tr("join_button"), on_click=do_join)),
            ],
        )

    def sign_out(self) -> None:
        self.close_subscription()
        self.api.sign_out()
        self.card = self.member_id = None
        self.show_sign_in()

    # ---- wallet ------------------------------------------------------------------------------

    def show_wallet(self) -> None:
        self.screen = "wallet"
        self._rerender = self.show_wallet
        self.close_subscription()
        self.card = None
        try:
            cards = self.call("my_wallet")
        except KantaError:
            cards = []
        tiles: list[ft.Control] = []
        for c in cards:
            tiles.append(
                tagged(
                    f"card-{c['business_slug']}",
                    ft.Card(
                        ft.Container(
                            ft.Column(
                                [
                                    ft.Text(
                                        c["business_name"], size=20, weight=ft.FontWeight.BOLD, color=ft.Colors.WHITE
                                    ),
                                    ft.Text(vm.wallet_line(c, self.lang), color=ft.Colors.WHITE),
                                    ft.Text(c.get("tier") or "", color=ft.Colors.with_opacity(0.8, ft.Colors.WHITE)),
                                ],
                                spacing=4,
                            ),
                            bgcolor=c["color"],
                            padding=20,
                            border_radius=16,
                            on_click=lambda _e, m=c["member_id"]: self.open_card(m),
                        ),
                    ),
                    label=f"{c['business_name']}: {vm.wallet_line(c, self.lang)}",
                )
            )
        if not tiles:
            tiles.append(ft.Text(self.tr("no_cards")))
        actions = [
            tagged(
                "profile",
                ft.IconButton(ft.Icons.PERSON, tooltip=self.tr("profile"), on_click=lambda _: self.show_profile()),
            )
        ]
        self.frame(self.tr("my_cards"), tiles, actions=actions)

    # ---- the card ----------------------------------------------------------------------------

    def open_card(self, member_id: str) -> None:
        self.member_id = member_id
        self.card = self.call("my_card", {"p_member_id": member_id})
        self.close_subscription()
        self.subscription = self.api.subscribe(f"member:{member_id}", self._live_event)
        self.show_card()

    def _live_event(self, _event: dict) -> None:
        """From the live feed's thread: refresh the card on the page's loop."""
        self.page.run_task(self.refresh_card)

    async def refresh_card(self) -> None:
        if self.member_id is None:
            return
        try:
            card = await asyncio.to_thread(self.api.rpc, "my_card", {"p_member_id": self.member_id})
        except KantaError:
            return
        before = self.card
        if self.screen == "qr" and before:
            # Stamped while the QR was up: back to the card, where the new stamp animates in.
            self.qr = None
            self.show_card()
        self.card = card
        if self.screen == "card" and before and len(self.slots) == card["stamps_per_card"]:
            self.animate_stamps(before, card)
        elif self.screen == "card":
            self.show_card()
        if before and card["stamps"] > before["stamps"]:
            self.toast(self.tr("new_stamp"))

    def slot_face(self, slot: vm.Slot, color: str) -> ft.Control:
        if slot.stamped:
            icon, fg, bg, label = ft.Icons.COFFEE, ft.Colors.WHITE, color, self.tr("stamped")
        elif slot.reward:
            icon, fg, bg, label = (
                ft.Icons.CARD_GIFTCARD,
                color,
                ft.Colors.with_opacity(0.12, color),
                self.tr("reward_slot"),
            )
        else:
            icon, fg, bg, label = (
                ft.Icons.COFFEE_OUTLINED,
                ft.Colors.with_opacity(0.5, color),
                None,
                self.tr("empty_slot"),
            )
        return ft.Container(
            ft.Icon(icon, color=fg, size=26),
            key=f"{slot.index}-{slot.stamped}",
            width=48,
            height=48,
            border_radius=24,
            bgcolor=bg,
            border=ft.Border.all(2, color),
            alignment=ft.Alignment.CENTER,
            tooltip=label,
        )

    def stamp_grid(self, card: dict) -> ft.Control:
        color = card["business"]["color"]
        self.slots = [
            ft.AnimatedSwitcher(
                self.slot_face(slot, color),
                transition=ft.AnimatedSwitcherTransition.SCALE,
                duration=ft.Duration(milliseconds=450),
                switch_in_curve=ft.AnimationCurve.ELASTIC_OUT,
            )
            for slot in vm.stamp_slots(card["stamps"], card["stamps_per_card"])
        ]
        self.stamps_text = ft.Text(vm.stamps_label(card, self.lang), size=16, weight=ft.FontWeight.W_600)
        return tagged(
            "stamp-grid",
            ft.Column(
                [
                    ft.Row(
                        [ft.Text(self.tr("stamp_card"), size=18, weight=ft.FontWeight.BOLD), self.stamps_text],
                        alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                    ),
                    ft.Row(self.slots, wrap=True, spacing=10, run_spacing=10),
                    ft.Text(self.tr("reward_on_full", reward=card["stamp_reward"]), size=13),
                ]
            ),
            label=vm.stamps_label(card, self.lang),
        )

    def animate_stamps(self, before: dict, card: dict) -> None:
        """Swap only the slots that changed, so the new stamp scales in."""
        color = card["business"]["color"]
        old = vm.stamp_slots(before["stamps"], before["stamps_per_card"])
        for slot, was, switcher in zip(
            vm.stamp_slots(card["stamps"], card["stamps_per_card"]), old, self.slots, strict=True
        ):
            if slot.stamped != was.stamped:
                switcher.content = self.slot_face(slot, color)
        self.stamps_text.value = vm.stamps_label(card, self.lang)
        self.points_text.value = vm.number(card["points"], self.lang)
        self.grid_semantics.label = vm.stamps_label(card, self.lang)
        progress = vm.tier_progress(card, self.lang)
        self.tier_bar.value, self.tier_label.value = progress.fraction, progress.label
        self.vouchers_box.controls = self.voucher_tiles(card)
        self.page.update()

    def voucher_tiles(self, card: dict) -> list[ft.Control]:
        tiles = []
        for v in card.get("vouchers", []):
            tiles.append(
                tagged(
                    f"voucher-{v['code']}",
                    ft.ListTile(
                        leading=ft.Icon(ft.Icons.REDEEM),
                        title=ft.Text(v["title"]),
                        subtitle=ft.Text(
                            self.tr("valid_until", when=vm.day(v["expires_at"], self.lang))
                            if v.get("expires_at")
                            else ""
                        ),
                        trailing=ft.Icon(ft.Icons.QR_CODE),
                        on_click=lambda _e, v=v: self.show_voucher(v),
                    ),
                    label=f"{v['title']}: {self.tr('show_voucher')}",
                )
            )
        return tiles or [ft.Text(self.tr("no_vouchers"))]

    def show_card(self) -> None:
        self.screen = "card"
        self._rerender = self.show_card
        card = self.card
        color = card["business"]["color"]
        progress = vm.tier_progress(card, self.lang)
        grid = self.stamp_grid(card)
        self.grid_semantics = grid
        self.points_text = ft.Text(
            vm.number(card["points"], self.lang), size=32, weight=ft.FontWeight.BOLD, color=color
        )
        self.tier_bar = ft.ProgressBar(
            value=progress.fraction, color=color, bar_height=10, border_radius=5, semantics_label=progress.label
        )
        self.tier_label = ft.Text(progress.label)
        self.vouchers_box = ft.Column(self.voucher_tiles(card), spacing=0)
        rewards = [
            ft.ListTile(
                leading=ft.Icon(ft.Icons.STARS),
                title=ft.Text(r["name"]),
                trailing=ft.Text(self.tr("cost_points", points=vm.number(r["cost_points"], self.lang))),
            )
            for r in vm.affordable_rewards(card)
        ]
        inbox_badge = None
        try:
            unread = self.api.rpc("my_inbox", {"p_member_id": self.member_id, "p_limit": 1})["unread"]
            inbox_badge = str(unread) if unread else None
        except KantaError:
            pass
        vip = card.get("vip")
        body: list[ft.Control] = [
            tagged(
                "show-qr",
                ft.FilledButton(
                    self.tr("show_qr"),
                    icon=ft.Icons.QR_CODE_2,
                    on_click=lambda _: self.show_qr(),
                    style=ft.ButtonStyle(bgcolor=color, padding=20),
                ),
            ),
            ft.Card(ft.Container(grid, padding=16)),
            ft.Card(
                ft.Container(
                    ft.Column(
                        [
                            ft.Row(
                                [ft.Text(self.tr("points"), size=18, weight=ft.FontWeight.BOLD), self.points_text],
                                alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                            ),
                            ft.Row(
                                [ft.Text(f"{self.tr('tier')}: {progress.current or '—'}", weight=ft.FontWeight.W_600)]
                                + (
                                    [
                                        ft.Container(
                                            ft.Text(self.tr("vip_badge"), color=ft.Colors.WHITE, size=12),
                                            bgcolor=ft.Colors.AMBER_800,
                                            padding=ft.Padding.symmetric(vertical=2, horizontal=8),
                                            border_radius=8,
                                        )
                                    ]
                                    if vip
                                    else []
                                )
                            ),
                            tagged("tier-progress", self.tier_bar, label=progress.label),
                            self.tier_label,
                        ]
                        + [ft.Text(f"✓ {p}", size=13) for p in progress.perks]
                    ),
                    padding=16,
                )
            ),
            ft.Text(self.tr("vouchers"), size=18, weight=ft.FontWeight.BOLD),
            self.vouchers_box,
        ]
        if rewards:
            body += [ft.Text(self.tr("rewards_you_can_get"), size=18, weight=ft.FontWeight.BOLD), *rewards]
        screens = [  # (identifier, caption, icon, opens, badge)
            ("open-referral", "refer", ft.Icons.SHARE, self.show_referral, None),
            ("open-drops", "drops", ft.Icons.LOCAL_OFFER, self.show_drops, None),
            ("open-history", "history", ft.Icons.HISTORY, self.show_history, None),
            ("open-inbox", "inbox", ft.Icons.MAIL, self.show_inbox, inbox_badge),
            ("open-feedback", "feedback", ft.Icons.RATE_REVIEW, self.show_feedback, None),
        ]
        body += [
            ft.Row(
                [
                    tagged(
                        ident,
                        ft.OutlinedButton(
                            self.tr(caption), icon=icon, badge=badge, on_click=lambda _e, opens=opens: opens()
                        ),
                    )
                    for ident, caption, icon, opens, badge in screens
                ],
                wrap=True,
            ),
            ft.Text(
                self.tr("member_number", number=card["member_number"]), size=12, color=ft.Colors.ON_SURFACE_VARIANT
            ),
        ]
        self.frame(card["business"]["name"], body, back=self.show_wallet)

    def show_voucher(self, voucher: dict) -> None:
        dialog = ft.AlertDialog(
            title=ft.Text(voucher["title"]),
            content=tagged(
                "voucher-qr",
                ft.Column(
                    [
                        ft.Image(src=vm.png_qr(voucher["code"]), width=240, height=240),
                        ft.Text(voucher["code"], size=20, weight=ft.FontWeight.BOLD, selectable=True),
                        ft.Text(
                            self.tr("valid_until", when=vm.day(voucher["expires_at"], self.lang))
                            if voucher.get("expires_at")
                            else ""
                        ),
                    ],
                    tight=True,
                    horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                ),
                label=f"{voucher['title']} {voucher['code']}",
            ),
            actions=[ft.TextButton(self.tr("close"), on_click=lambda _: self.page.pop_dialog())],
        )
        self.voucher_dialog = dialog
        self.page.show_dialog(dialog)

    # ---- member QR ---------------------------------------------------------------------------

    def show_qr(self) -> None:
        self.screen = "qr"
        self._rerender = self.show_qr
        self.qr = vm.MemberQr(lambda: self.api.rpc("member_qr_token", {"p_member_id": self.member_id}), self.clock)
        # Visibility is switched on the Semantics wrappers: a Semantics must hold a visible control.
        self.qr_image = ft.Image(src=vm.png_qr("KANTA"), width=300, height=300)
        self.qr_image_box = tagged("member-qr", self.qr_image, label=self.tr("qr_title"))
        self.qr_countdown = ft.Text("", size=16)
        self.qr_offline = ft.Text("", color=ft.Colors.ERROR)
        self.qr_offline_box = tagged("qr-offline", self.qr_offline)
        self.qr_tick()
        self.frame(
            self.tr("qr_title"),
            [
                ft.Container(self.qr_image_box, alignment=ft.Alignment.CENTER),
                ft.Container(tagged("qr-countdown", self.qr_countdown), alignment=ft.Alignment.CENTER),
                self.qr_offline_box,
                ft.Text(self.tr("member_number", number=self.card["member_number"]), text_align=ft.TextAlign.CENTER),
            ],
            back=self.leave_qr,
        )
        if self.timers:
            self.page.run_task(self._qr_loop)

    def qr_tick(self) -> None:
        """One second of the QR screen: refresh the token when due, redraw the countdown."""
        if self.qr is None:
            return
        if self.qr.tick():
            self.qr_image.src = vm.png_qr(self.qr.token)
        self.qr_image_box.visible = self.qr.token is not None
        self.qr_countdown.value = self.tr("qr_countdown", seconds=self.qr.seconds_left()) if self.qr.token else ""
        self.qr_offline_box.visible = self.qr.offline or self.qr.token is None
        self.qr_offline.value = self.tr("qr_offline", number=self.card["member_number"])

    async def _qr_loop(self) -> None:
        while self.screen == "qr" and self.qr is not None:
            await asyncio.to_thread(self.qr_tick)
            self.page.update()
            await asyncio.sleep(1)

    def leave_qr(self) -> None:
        self.qr = None
        self.show_card()

    # ---- referral ----------------------------------------------------------------------------

    def show_referral(self) -> None:
        self.screen = "referral"
        self._rerender = self.show_referral
        card = self.card
        ref = card["referral"]
        link = referral_link(self.public_url, ref["code"])
        text = vm.share_text(card, self.lang)
        links = vm.share_links(link, text, self.tr("share_subject", business=card["business"]["name"]))

        async def copy(_):
            self.toast(self.tr("copied"))
            await ft.Clipboard().set(link)

        share_buttons = [
            tagged(
                f"share-{name}", ft.OutlinedButton(self.tr(f"share_{name}"), url=url), label=self.tr(f"share_{name}")
            )
            for name, url in links.items()
        ]
        self.share_urls = links
        self.frame(
            self.tr("refer"),
            [
                ft.Text(self.tr("refer_explain", welcome=ref["welcome_reward"], referrer=ref["referrer_reward"])),
                ft.Container(
                    tagged("referral-qr", ft.Image(src=vm.png_qr(link), width=220, height=220), label=link),
                    alignment=ft.Alignment.CENTER,
                ),
                tagged("referral-link", ft.Text(link, selectable=True, text_align=ft.TextAlign.CENTER)),
                ft.Row(share_buttons, wrap=True, alignment=ft.MainAxisAlignment.CENTER),
                tagged("copy-link", ft.FilledButton(self.tr("copy_link"), icon=ft.Icons.COPY, on_click=copy)),
                tagged(
                    "referral-stats",
                    ft.Text(
                        self.tr(
                            "referral_stats", invited=ref["invited"], joined=ref["joined"], rewarded=ref["rewarded"]
                        )
                    ),
                ),
            ],
            back=self.show_card,
        )

    # ---- drops -------------------------------------------------------------------------------

    def show_drops(self) -> None:
        self.screen = "drops"
        self._rerender = self.show_drops
        card = self.card
        now = self.clock()
        tiles: list[ft.Control] = []
        for d in card.get("drops", []):
            controls: list[ft.Control] = [
                ft.Text(d["title"], size=18, weight=ft.FontWeight.BOLD),
                ft.Text(d.get("description") or ""),
                tagged(f"drop-status-{d['id']}", ft.Text(vm.drop_status(d, bool(card.get("vip")), now, self.lang))),
            ]
            if d.get("my_reserved"):
                controls.append(ft.Text(self.tr("my_reserved", n=d["my_reserved"])))
            if d.get("can_reserve"):
                controls.append(
                    tagged(
                        f"reserve-{d['id']}",
                        ft.FilledButton(self.tr("reserve"), on_click=lambda _e, d=d: self.reserve(d)),
                    )
                )
            tiles.append(ft.Card(ft.Container(ft.Column(controls), padding=16)))
        header = (
            [  # in a row, so the badge is its own size rather than the column's width
                ft.Row(
                    [
                        ft.Container(
                            ft.Text(self.tr("vip_badge"), color=ft.Colors.WHITE),
                            bgcolor=ft.Colors.AMBER_800,
                            padding=ft.Padding.symmetric(vertical=4, horizontal=12),
                            border_radius=8,
                        )
                    ]
                )
            ]
            if card.get("vip")
            else []
        )
        self.frame(self.tr("drops"), header + (tiles or [ft.Text(self.tr("no_drops"))]), back=self.show_card)

    def reserve(self, drop: dict) -> None:
        try:
            self.call("reserve_drop", {"p_drop_id": drop["id"]})
        except KantaError:
            return
        self.toast(self.tr("reserved"))
        self.card = self.call("my_card", {"p_member_id": self.member_id})
        self.show_drops()

    # ---- history and inbox -------------------------------------------------------------------

    def show_history(self, more: bool = False) -> None:
        self.screen = "history"
        self._rerender = self.show_history
        if not more:
            self.history, self.history_next = [], None
        params = {"p_member_id": self.member_id, "p_limit": 20}
        if more and self.history_next:
            params["p_before"] = self.history_next
        try:
            page = self.call("my_history", params)
        except KantaError:
            page = {"entries": [], "next_before": None}
        self.history += page["entries"]
        self.history_next = page["next_before"]
        tz = self.card["business"].get("timezone", "Europe/Helsinki")
        rows: list[ft.Control] = [
            ft.ListTile(
                title=ft.Text(vm.history_line(e, self.lang)), subtitle=ft.Text(vm.when(e["created_at"], self.lang, tz))
            )
            for e in self.history
        ] or [ft.Text(self.tr("no_history"))]
        if self.history_next:
            rows.append(
                tagged("history-more", ft.TextButton(self.tr("load_more"), on_click=lambda _: self.show_history(True)))
            )
        self.frame(self.tr("history"), rows, back=self.show_card)

    def show_inbox(self) -> None:
        self.screen = "inbox"
        self._rerender = self.show_inbox
        try:
            inbox = self.call("my_inbox", {"p_member_id": self.member_id})
        except KantaError:
            inbox = {"messages": [], "unread": 0}
        rows: list[ft.Control] = []
        for m in inbox["messages"]:
            title, body = vm.message_text(m, self.lang)
            rows.append(
                tagged(
                    f"message-{m['id']}",
                    ft.ListTile(
                        leading=ft.Icon(ft.Icons.MARK_EMAIL_UNREAD if not m["read"] else ft.Icons.DRAFTS),
                        title=ft.Text(title, weight=ft.FontWeight.BOLD if not m["read"] else None),
                        subtitle=ft.Text(body),
                        on_click=lambda _e, m=m: self.read_message(m),
                    ),
                    label=title,
                )
            )
        self.frame(self.tr("inbox"), rows or [ft.Text(self.tr("no_messages"))], back=self.show_card)

    def read_message(self, message: dict) -> None:
        if not message["read"]:
            try:
                self.call("mark_message_read", {"p_message_id": message["id"]})
            except KantaError:
                return
        self.show_inbox()

    # ---- feedback ----------------------------------------------------------------------------

    def show_feedback(self) -> None:
        self.screen = "feedback"
        self._rerender = self.show_feedback
        self.review_url = None
        # 0–10 as radio buttons that wrap onto two rows on a phone.
        score = tagged(
            "score",
            ft.RadioGroup(
                content=ft.Row(
                    [ft.Radio(value=str(i), label=str(i)) for i in range(11)], wrap=True, spacing=0, run_spacing=0
                ),
            ),
            label=self.tr("feedback_question"),
        )
        comment = ft.TextField(label=self.tr("feedback_comment"), multiline=True, max_length=1000)
        result = ft.Column([])
        self.feedback_fields = {"score": score.content, "comment": comment, "result": result}

        def send(_=None):
            chosen = [score.content.value] if score.content.value not in (None, "") else []
            if not chosen:
                self.toast(self.tr("pick_score"))
                return
            try:
                answer = self.call(
                    "submit_feedback",
                    {"p_member_id": self.member_id, "p_score": int(chosen[0]), "p_comment": comment.value or None},
                )
            except KantaError:
                return
            self.review_url = answer.get("review_url")
            result.controls = [ft.Text(self.tr("feedback_thanks"), size=18, weight=ft.FontWeight.BOLD)]
            if self.review_url:
                result.controls.append(
                    tagged(
                        "review-link", ft.FilledButton(self.tr("review_us"), icon=ft.Icons.STAR, url=self.review_url)
                    )
                )
            self.page.update()

        self.frame(
            self.tr("feedback"),
            [
                ft.Text(self.tr("feedback_question")),
                score,
                tagged("comment", comment),
                tagged("send-feedback", ft.FilledButton(self.tr("send"), on_click=send)),
                result,
            ],
            back=self.show_card,
        )

    # ---- profile -----------------------------------------------------------------------------

    def show_profile(self) -> None:
        self.screen = "profile"
        self._rerender = self.show_profile
        try:
            cards = self.api.rpc("my_wallet", {})
        except KantaError:
            cards = []
        consent_rows: list[ft.Control] = []
        for c in cards:
            card = self.api.rpc("my_card", {"p_member_id": c["member_id"]})
            consent_rows.append(
                ft.Row(
                    [
                        ft.Text(f"{self.tr('marketing_consent')} ({c['business_name']})", expand=True),
                        tagged(
                            f"consent-{c['business_slug']}",
                            ft.Switch(
                                value=bool(card.get("marketing_consent")),
                                on_change=lambda e, m=c["member_id"]: self.set_consent(m, e.control.value),
                            ),
                            label=f"{self.tr('marketing_consent')} ({c['business_name']})",
                        ),
                    ]
                )
            )
        confirm = ft.TextField(label=self.tr("delete_word"))
        self.delete_confirm = confirm

        def ask_delete(_=None):
            dialog = ft.AlertDialog(
                title=ft.Text(self.tr("delete_confirm_title")),
                content=ft.Column(
                    [ft.Text(self.tr("delete_confirm_text")), tagged("delete-confirm", confirm)], tight=True
                ),
                actions=[
                    ft.TextButton(self.tr("cancel"), on_click=lambda _: self.page.pop_dialog()),
                    tagged(
                        "delete-yes",
                        ft.FilledButton(
                            self.tr("delete_account"),
                            on_click=lambda _: self.delete_account(),
                            style=ft.ButtonStyle(bgcolor=ft.Colors.ERROR),
                        ),
                    ),
                ],
            )
            self.delete_dialog = dialog
            self.page.show_dialog(dialog)

        self.frame(
            self.tr("profile"),
            [
                ft.Text(self.api.user.email if self.api.user else ""),
                self.language_switch(),
                *consent_rows,
                tagged(
                    "download-data",
                    ft.OutlinedButton(self.tr("download_data"), icon=ft.Icons.DOWNLOAD, on_click=self.download_data),
                ),
                tagged(
                    "sign-out",
                    ft.OutlinedButton(self.tr("sign_out"), icon=ft.Icons.LOGOUT, on_click=lambda _: self.sign_out()),
                ),
                tagged(
                    "delete-account",
                    ft.TextButton(
                        self.tr("delete_account"),
                        icon=ft.Icons.DELETE_FOREVER,
                        on_click=ask_delete,
                        style=ft.ButtonStyle(color=ft.Colors.ERROR),
                    ),
                ),
            ],
            back=self.show_wallet,
        )

    def set_consent(self, member_id: str, value: bool) -> None:
        try:
            self.call("update_my_profile", {"p_member_id": member_id, "p_changes": {"marketing_consent": bool(value)}})
        except KantaError:
            return
        self.toast(self.tr("saved"))

    async def download_data(self, _=None) -> None:
        data = await asyncio.to_thread(self.api.rpc, "export_my_data", {})
        self.exported = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
        name = "kanta-my-data.json"
        self.toast(self.tr("data_ready", file=name))
        await ft.FilePicker().save_file(file_name=name, src_bytes=self.exported)

    def delete_account(self) -> None:
        """Only with the confirmation word typed: a stray tap deletes nothing."""
        if (self.delete_confirm.value or "").strip().upper() != self.tr("delete_word"):
            self.toast(self.tr("delete_refused"))
            return
        try:
            self.call("delete_my_account")
        except KantaError:
            return
        self.page.pop_dialog()
        self.close_subscription()
        self.api.sign_out()
        self.toast(self.tr("deleted"))
        self.show_sign_in()

    # ---- teardown ----------------------------------------------------------------------------

    def close_subscription(self) -> None:
        if self.subscription is not None:
            self.subscription.close()
            self.subscription = None

    def close(self) -> None:
        self.screen = "closed"
        self.close_subscription()
        self.api.close()
