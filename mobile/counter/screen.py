"""The counter, for staff on a tablet: scan or type a code, see the member, record a purchase,
undo it, redeem a voucher, or record a sale without a member.

With a keyboard-wedge scanner a purchase is three interactions: the scan (the scanner types the
code and Enter), the amount, and Enter (or the Record button). The code field keeps the focus.
"""

from __future__ import annotations

import asyncio

import flet as ft

from mobile.app import App
from mobile.counter import panel as draw
from mobile.counter.camera import scan_with_camera
from mobile.counter.models import parse_amount
from mobile.counter.state import CounterState
from mobile.formatting import problem
from mobile.owner.tools import OwnerTools
from mobile.widgets import tagged
from shared.errors import KantaError
from shared.transport import Transport

KEYS = [str(d) for d in (7, 8, 9, 4, 5, 6, 1, 2, 3)] + [",", "0"]


class CounterScreen:
    def __init__(self, app: App, api: Transport, workplace: dict):
        self.app, self.api, self.place = app, api, workplace
        self.state = CounterState(api, workplace, app.queue_dir)
        self.owner_tools: OwnerTools | None = None

    def tr(self, key: str, **values) -> str:
        return self.app.tr(key, **values)

    def show(self) -> None:
        tr = self.tr
        self.code = ft.TextField(
            label=tr("counter_code"),
            autofocus=True,
            on_submit=self.scanned,
            text_size=22,
            prefix_icon=ft.Icons.QR_CODE_SCANNER,
        )
        self.amount = ft.TextField(
            label=tr("counter_amount"),
            keyboard_type=ft.KeyboardType.NUMBER,
            on_submit=self.confirm,
            text_size=28,
            suffix=ft.Text("€"),
        )
        keypad = ft.GridView(
            [
                tagged(
                    f"key-{k}",
                    ft.OutlinedButton(k, on_click=lambda _e, k=k: self.key(k), height=56),
                    label=tr("counter_key", button=k),
                )
                for k in KEYS
            ]
            + [
                tagged(
                    "key-back",
                    ft.IconButton(
                        ft.Icons.BACKSPACE_OUTLINED, tooltip=tr("counter_backspace"), on_click=lambda _e: self.key("⌫")
                    ),
                )
            ],
            runs_count=3,
            child_aspect_ratio=2.4,
            spacing=6,
            run_spacing=6,
        )
        record = ft.FilledButton(tr("counter_record"), icon=ft.Icons.CHECK, on_click=self.confirm, height=56)
        self.panel_box, self.result_box, self.pending_box = ft.Column([]), ft.Column([]), ft.Column([])
        owner_tools = []
        if self.state.is_owner:
            owner_tools.append(
                tagged(
                    "owner-menu",
                    ft.OutlinedButton(
                        tr("counter_owner_tools"), icon=ft.Icons.SETTINGS, on_click=self.open_owner_tools
                    ),
                )
            )
        camera = tagged(
            "camera", ft.IconButton(ft.Icons.PHOTO_CAMERA, tooltip=tr("counter_camera"), on_click=self.open_camera)
        )
        stretch = ft.CrossAxisAlignment.STRETCH
        left = ft.Column(
            [
                ft.Row([ft.Container(tagged("counter-code", self.code), expand=True), camera]),
                self.pending_box,
                self.panel_box,
                self.result_box,
            ],
            spacing=12,
            horizontal_alignment=stretch,
            col={"xs": 12, "md": 7},
        )
        no_member = ft.OutlinedButton(
            tr("counter_no_member"), icon=ft.Icons.POINT_OF_SALE, on_click=self.sale_without_member
        )
        right = ft.Column(
            [
                tagged("counter-amount", self.amount),
                keypad,
                tagged("record", record),
                tagged("no-member", no_member),
                *owner_tools,
            ],
            spacing=12,
            horizontal_alignment=stretch,
            col={"xs": 12, "md": 5},
        )
        self.draw()
        sign_out = ft.IconButton(ft.Icons.LOGOUT, tooltip=tr("sign_out"), on_click=lambda _e: self.app.sign_out())
        self.app.show(
            "counter",
            self.show,
            self.place["name"],
            [ft.ResponsiveRow([left, right], spacing=24)],
            wide=True,
            actions=[tagged("sign-out", sign_out)],
        )
        if self.app.timers:
            self.app.page.run_task(self._replay_loop)

    def draw(self, *, result: bool = True) -> None:
        lang = self.app.lang
        self.panel_box.controls = draw.member_panel(self.state, lang, pick=self.pick, redeem=self.redeem)
        if result:
            self.result_box.controls = draw.result_card(self.state, lang, undo=self.undo)
        self.pending_box.controls = draw.pending(self.state, lang, confirm=self.confirm_queued, dismiss=self.dismiss)

    def redraw(self, **kwargs) -> None:
        self.draw(**kwargs)
        self.app.page.update()

    def open_owner_tools(self, _e=None) -> None:
        self.owner_tools = OwnerTools(self.app, self.api, self.place, back=self.show)
        self.owner_tools.show("dashboard")

    async def _replay_loop(self) -> None:
        while self.app.screen == "counter":
            await asyncio.sleep(5)
            if self.state.queue.entries():
                await asyncio.to_thread(self.replay)

    async def open_camera(self, _e=None) -> None:
        def found(code: str) -> None:
            self.code.value = code
            self.scanned()

        await scan_with_camera(self.app, found)

    def refocus(self) -> None:
        async def focus():
            try:
                await self.code.focus()
            except Exception:  # noqa: BLE001 - focus is a nicety; a page without a client has none
                pass

        self.app.page.run_task(focus)

    # ---- identify --------------------------------------------------------------------------

    def scanned(self, _e=None) -> None:
        code = (self.code.value or "").strip()
        if not code:
            return
        try:
            if self.state.identify(code) == "search" and not self.state.found:
                self.app.toast(self.tr("counter_nobody_found", text=code))
        except KantaError as exc:
            self.app.toast(problem(exc, self.app.lang))
        self.code.value = ""
        self.redraw(result=False)

    def pick(self, member_number: str) -> None:
        try:
            self.app.attempt(self.state.pick, member_number)
        except KantaError:
            pass
        self.redraw(result=False)
        self.refocus()

    # ---- amount and record -----------------------------------------------------------------

    def key(self, k: str) -> None:
        value = self.amount.value or ""
        self.amount.value = value[:-1] if k == "⌫" else value + k
        self.amount.update()

    def confirm(self, _e=None) -> None:
        self.record(self.state.panel["member_id"] if self.state.panel else None)

    def sale_without_member(self, _e=None) -> None:
        self.record(None, without_member=True)

    def record(
        self,
        member_id: str | None,
        *,
        without_member: bool = False,
        override: bool = False,
        confirm_large: bool = False,
    ) -> None:
        cents = parse_amount(self.amount.value or "", self.app.lang)
        if cents is None:
            self.app.toast(self.tr("counter_amount_hint"))
            return
        if member_id is None and not without_member and not self.state.offline_code:
            self.app.toast(self.tr("counter_scan_first"))
            return
        try:
            answer = self.state.record(
                member_id, cents, without_member=without_member, override=override, confirm_large=confirm_large
            )
        except KantaError as exc:
            self.app.toast(problem(exc, self.app.lang))
            again = {"without_member": without_member, "override": override, "confirm_large": confirm_large}
            if exc.code == "large_amount_needs_confirmation":
                # Above the owner's limit: ask, then send the same purchase with the confirmation.
                limit = int(exc.detail) if exc.detail.isdigit() else None
                self.result_box.controls = draw.confirm_large(
                    self.state,
                    self.app.lang,
                    cents,
                    limit,
                    lambda _e: self.record(member_id, **{**again, "confirm_large": True}),
                )
                self.app.page.update()
            elif exc.code in ("velocity_limit", "own_card") and self.state.is_owner:
                # The owner may record past the daily cap, or on their own card; the database writes
                # the override to the audit log.
                self.result_box.controls = [
                    draw.override_button(
                        self.app.lang, lambda _e: self.record(member_id, **{**again, "override": True})
                    )
                ]
                self.app.page.update()
            return
        self.amount.value = ""
        if answer is None:
            self.app.toast(self.tr("counter_queued"))
        self.redraw()
        if answer is not None:
            self.refocus()

    def undo(self, _e=None) -> None:
        if not self.state.result:
            return
        try:
            self.app.attempt(self.state.undo)
        except KantaError:
            return
        self.app.toast(self.tr("counter_undone"))
        self.redraw()

    def redeem(self, code: str, *, override: bool = False) -> None:
        try:
            answer = self.app.attempt(self.state.redeem, code, override=override)
        except KantaError as exc:
            if exc.code == "own_card" and self.state.is_owner:
                # The owner's own card: their override, written to the audit log.
                self.result_box.controls = [
                    draw.override_button(self.app.lang, lambda _e: self.redeem(code, override=True))
                ]
                self.app.page.update()
            return
        self.app.toast(self.tr("counter_redeemed", title=answer.get("title") or code))
        self.redraw(result=False)
        self.refocus()

    # ---- the offline queue -------------------------------------------------------------------

    def replay(self) -> dict:
        """Send what waits in the queue (called on a timer, and by the staff's confirmation)."""
        outcome = self.state.replay()
        self.show_outcome(outcome)
        return outcome

    def show_outcome(self, outcome: dict) -> None:
        if outcome["sent"] or outcome["refused"] or outcome["to_confirm"]:
            if outcome["to_confirm"]:
                self.app.toast(self.tr("counter_queue_confirm", n=len(outcome["to_confirm"])))
            if outcome["refused"]:
                self.app.toast(self.tr("counter_queue_refused", n=len(outcome["refused"])))
            self.redraw(result=False)

    def confirm_queued(self, key: str) -> None:
        self.show_outcome(self.state.confirm_queued(key))
        self.redraw(result=False)

    def dismiss(self, key: str) -> None:
        self.state.dismiss(key)
        self.redraw(result=False)
