"""The counter (Flet), for staff on a tablet: scan or type a code, see the member, record a
purchase, undo it, redeem a voucher, or record a sale without a member.

With a keyboard-wedge scanner a purchase is three interactions: the scan (the scanner types the
code and Enter), the amount, and Enter (or the Record button). The code field keeps the focus.
Every rule is the API's; this screen shows its answers.
"""

from __future__ import annotations

import uuid

import flet as ft

from mobile import models as vm
from mobile.offline import NEEDS_CONFIRMATION, OfflineQueue
from shared.errors import KantaError, Unavailable
from shared.i18n import t


def new_key() -> str:
    return f"counter-{uuid.uuid4()}"


class Counter:
    def __init__(self, app, workplace: dict):
        """`app` is the session's WalletApp: its page, API, language, frame and toasts."""
        self.app, self.place = app, workplace
        self.business = workplace["business_id"]
        self.panel: dict | None = None
        self.result: dict | None = None
        self.offline_code: str | None = None  # scanned while the backend was unreachable
        self.found: list[dict] = []  # members found by name or e-mail
        self.unconfirmed: str | None = None  # a member number waiting for the staff's confirmation
        self.queue = OfflineQueue(app.queue_dir / f"{self.business}.jsonl")

    @property
    def page(self) -> ft.Page:
        return self.app.page

    def tr(self, key: str, **values) -> str:
        return t(key, self.app.lang, **values)

    def money(self, cents: int | None) -> str:
        return vm.money(cents, self.place.get("currency") or "EUR", self.app.lang)

    def call(self, name: str, params: dict):
        return self.app.call(name, {"p_business_id": self.business, **params})

    # ---- the screen ------------------------------------------------------------------------

    def show(self) -> None:
        from mobile.wallet import tagged

        self.app.screen = "counter"
        self.app._rerender = self.show
        self.code = ft.TextField(
            label=self.tr("counter_code"),
            autofocus=True,
            on_submit=self.scanned,
            text_size=22,
            prefix_icon=ft.Icons.QR_CODE_SCANNER,
        )
        self.amount = ft.TextField(
            label=self.tr("counter_amount"),
            keyboard_type=ft.KeyboardType.NUMBER,
            on_submit=self.confirm,
            text_size=28,
            suffix=ft.Text("€"),
        )
        keys = [str(d) for d in (7, 8, 9, 4, 5, 6, 1, 2, 3)] + [",", "0"]
        keypad = ft.GridView(
            [
                tagged(
                    f"key-{k}",
                    ft.OutlinedButton(k, on_click=lambda _e, k=k: self.key(k), height=56),
                    label=self.tr("counter_key", button=k),
                )
                for k in keys
            ]
            + [
                tagged(
                    "key-back",
                    ft.IconButton(
                        ft.Icons.BACKSPACE_OUTLINED,
                        tooltip=self.tr("counter_backspace"),
                        on_click=lambda _e: self.key("⌫"),
                    ),
                )
            ],
            runs_count=3,
            child_aspect_ratio=2.4,
            spacing=6,
            run_spacing=6,
        )
        self.record_button = ft.FilledButton(
            self.tr("counter_record"), icon=ft.Icons.CHECK, on_click=self.confirm, height=56
        )
        self.panel_box = ft.Column([])
        self.result_box = ft.Column([])
        self.pending_box = ft.Column([])
        owner_tools = []
        if self.place["role"] == "owner":
            owner_tools.append(
                tagged(
                    "owner-menu",
                    ft.OutlinedButton(
                        self.tr("counter_owner_tools"),
                        icon=ft.Icons.SETTINGS,
                        on_click=self.open_owner_tools,
                    ),
                )
            )
        camera = tagged(
            "camera",
            ft.IconButton(ft.Icons.PHOTO_CAMERA, tooltip=self.tr("counter_camera"), on_click=self.open_camera),
        )
        left = ft.Column(
            [
                ft.Row([ft.Container(tagged("counter-code", self.code), expand=True), camera]),
                self.pending_box,
                self.panel_box,
                self.result_box,
            ],
            spacing=12,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            col={"xs": 12, "md": 7},
        )
        right = ft.Column(
            [
                tagged("counter-amount", self.amount),
                keypad,
                tagged("record", self.record_button),
                tagged(
                    "no-member",
                    ft.OutlinedButton(
                        self.tr("counter_no_member"), icon=ft.Icons.POINT_OF_SALE, on_click=self.sale_without_member
                    ),
                ),
                *owner_tools,
            ],
            spacing=12,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            col={"xs": 12, "md": 5},
        )
        self.draw_panel()
        self.draw_pending()
        self.app.frame(
            self.place["name"],
            [ft.ResponsiveRow([left, right], spacing=24)],
            wide=True,
            actions=[
                tagged(
                    "sign-out",
                    ft.IconButton(
                        ft.Icons.LOGOUT, tooltip=self.tr("sign_out"), on_click=lambda _e: self.app.sign_out()
                    ),
                )
            ],
        )

        if self.app.timers:
            self.page.run_task(self._replay_loop)

    def open_owner_tools(self, _e=None) -> None:
        from mobile.owner import open_owner_tools

        self.owner_tools = open_owner_tools(self.app, self)

    async def _replay_loop(self) -> None:
        import asyncio

        while self.app.screen == "counter":
            await asyncio.sleep(5)
            if self.queue.entries():
                await asyncio.to_thread(self.replay)

    async def open_camera(self, _e=None) -> None:
        """Scan with the tablet's camera where the platform has one: frames are decoded (zxing-cpp)
        until a QR code reads, which then goes in as if a scanner had typed it."""
        import asyncio

        import flet_camera as fc

        from mobile.scan import decode_qr

        camera = fc.Camera(preview_enabled=True, expand=True)
        dialog = ft.AlertDialog(
            title=ft.Text(self.tr("counter_camera")),
            content=ft.Container(camera, width=480, height=360),
            actions=[ft.TextButton(self.tr("close"), on_click=lambda _e: self.page.pop_dialog())],
        )
        self.page.show_dialog(dialog)
        try:
            cameras = await camera.get_available_cameras()
            if not cameras:
                raise LookupError("no camera")
            back = next((c for c in cameras if c.lens_direction == fc.CameraLensDirection.BACK), cameras[0])
            await camera.initialize(back, fc.ResolutionPreset.MEDIUM, enable_audio=False)
            while dialog.open:
                code = await asyncio.to_thread(decode_qr, await camera.take_picture())
                if code:
                    self.page.pop_dialog()
                    self.code.value = code
                    self.scanned()
                    return
                await asyncio.sleep(0.25)
        except Exception:  # noqa: BLE001 - no camera, no permission, or a platform without the plugin
            if dialog.open:
                self.page.pop_dialog()
            self.app.toast(self.tr("counter_no_camera"))

    def refocus(self) -> None:
        async def focus():
            try:
                await self.code.focus()
            except Exception:  # noqa: BLE001 - focus is a nicety; a page without a client has none
                pass

        self.page.run_task(focus)

    # ---- identify --------------------------------------------------------------------------

    def scanned(self, _e=None) -> None:
        code = (self.code.value or "").strip()
        if not code:
            return
        self.offline_code = None
        self.found = []
        self.unconfirmed = None
        try:
            # A static member number is not proof of who stands at the counter: the database asks
            # the staff to confirm it (a rotating QR token or a voucher code needs no confirmation).
            self.panel = self.app.api.rpc(
                "identify_member", {"p_business_id": self.business, "p_code": code, "p_confirmed": False}
            )
        except Unavailable as exc:
            self.panel, self.offline_code = None, code  # identified when the purchase is sent
            self.app.toast(vm.problem(exc, self.app.lang))
        except KantaError as exc:
            self.panel = None
            if exc.code == "invalid_code":
                self.search(code)  # not a code of ours: a name or an e-mail (the API says if too short)
            elif exc.code == "member_number_needs_confirmation":
                self.unconfirmed = code
            else:
                self.app.toast(vm.problem(exc, self.app.lang))
        self.code.value = ""
        self.result = None
        self.draw_panel()
        self.page.update()

    def search(self, text: str) -> None:
        """The third way to find a member: by name or e-mail. Picking one is the staff's confirmation."""
        try:
            self.found = self.call("search_members", {"p_query": text, "p_limit": 8})  # a refusal is shown
        except KantaError:
            self.found = []
            return
        if not self.found:
            self.app.toast(self.tr("counter_nobody_found", text=text))

    def pick(self, member_number: str) -> None:
        """The staff's confirmation: a member chosen from the search, or a typed number confirmed."""
        self.found = []
        self.unconfirmed = None
        try:
            self.panel = self.call("identify_member", {"p_code": member_number, "p_confirmed": True})
        except KantaError:
            self.panel = None
        self.draw_panel()
        self.page.update()
        self.refocus()

    def draw_panel(self) -> None:
        from mobile.wallet import tagged

        self.panel_box.controls.clear()
        p = self.panel
        if self.offline_code:
            self.panel_box.controls.append(
                tagged("offline-member", ft.Text(self.tr("counter_offline_member", code=self.offline_code), size=16))
            )
            return
        if not p and self.unconfirmed:
            self.panel_box.controls.append(
                ft.Card(
                    ft.Container(
                        ft.Column(
                            [
                                ft.Text(self.tr("member_number", number=self.unconfirmed), size=20),
                                ft.Text(self.tr("member_number_needs_confirmation")),
                                ft.Row(
                                    [
                                        tagged(
                                            "confirm-member",
                                            ft.FilledButton(
                                                self.tr("counter_confirm"),
                                                icon=ft.Icons.VERIFIED_USER,
                                                on_click=lambda _e, n=self.unconfirmed: self.pick(n),
                                            ),
                                        )
                                    ]
                                ),
                            ],
                            spacing=8,
                        ),
                        padding=16,
                    )
                )
            )
            return
        if not p and self.found:
            for m in self.found:
                self.panel_box.controls.append(
                    tagged(
                        f"found-{m['member_number']}",
                        ft.ListTile(
                            leading=ft.Icon(ft.Icons.PERSON_SEARCH),
                            title=ft.Text(m.get("display_name") or m["member_number"]),
                            subtitle=ft.Text(f"{m.get('email') or ''} · {m['member_number']}"),
                            on_click=lambda _e, n=m["member_number"]: self.pick(n),
                        ),
                        label=m.get("display_name") or m["member_number"],
                    )
                )
            return
        if not p:
            self.panel_box.controls.append(ft.Text(self.tr("counter_scan_hint"), size=16))
            return
        name = p.get("display_name") or self.tr("member_number", number=p["member_number"])
        badge = [
            ft.Container(
                ft.Text(self.tr("vip_badge"), color=ft.Colors.WHITE),
                bgcolor=ft.Colors.AMBER_800,
                padding=ft.Padding.symmetric(vertical=2, horizontal=8),
                border_radius=8,
            )
        ]
        lines: list[ft.Control] = [
            # Tagged so that screen readers (and the browser tests) get the name and the badge.
            tagged(
                "panel-name",
                ft.Row([ft.Text(name, size=24, weight=ft.FontWeight.BOLD)] + (badge if p.get("vip") else [])),
            ),
            tagged(
                "panel-stamps",
                ft.Text(self.tr("stamps_of", stamps=p["stamps"], per_card=p["stamps_per_card"]), size=20),
            ),
            tagged("panel-points", ft.Text(self.tr("points_n", points=vm.number(p["points"], self.app.lang)), size=20)),
            tagged("panel-tier", ft.Text(f"{self.tr('tier')}: {p.get('tier') or '—'}")),
            tagged(
                "panel-last-visit",
                ft.Text(
                    self.tr(
                        "counter_last_visit",
                        when=vm.when(
                            p["last_visit_at"], self.app.lang, self.place.get("timezone") or "Europe/Helsinki"
                        ),
                    )
                    if p.get("last_visit_at")
                    else self.tr("counter_first_visit")
                ),
            ),
        ]
        for v in p.get("vouchers", []):
            lines.append(
                tagged(
                    f"redeem-{v['code']}",
                    ft.OutlinedButton(
                        self.tr("counter_redeem", title=v["title"]),
                        icon=ft.Icons.REDEEM,
                        on_click=lambda _e, code=v["code"]: self.redeem(code),
                    ),
                )
            )
        self.panel_box.controls.append(ft.Card(ft.Container(ft.Column(lines, spacing=6), padding=16)))

    # ---- amount and record -----------------------------------------------------------------

    def key(self, k: str) -> None:
        value = self.amount.value or ""
        self.amount.value = value[:-1] if k == "⌫" else value + k
        self.amount.update()

    def cents(self) -> int | None:
        return vm.parse_amount(self.amount.value or "", self.app.lang)

    def confirm(self, _e=None) -> None:
        self._record(self.panel["member_id"] if self.panel else None)

    def _queue(self, member_id: str | None, cents: int, key: str) -> None:
        self.queue.add(
            {
                "business_id": self.business,
                "member_id": member_id,
                "code": self.offline_code if not member_id else None,
                "amount_cents": cents,
                "key": key,
            }
        )
        self.result = None
        self.amount.value = ""
        self.offline_code = None
        self.app.toast(self.tr("counter_queued"))
        self.draw_pending()
        self.draw_panel()
        self.draw_result()
        self.page.update()

    def replay(self) -> dict:
        """Send what waits in the queue (called on a timer, and after each answered call)."""
        outcome = self.queue.replay(self.app.api)
        if outcome["sent"] or outcome["refused"] or outcome["to_confirm"]:
            if outcome["to_confirm"]:
                self.app.toast(self.tr("counter_queue_confirm", n=len(outcome["to_confirm"])))
            if outcome["refused"]:
                self.app.toast(self.tr("counter_queue_refused", n=len(outcome["refused"])))
            self.draw_pending()
            self.page.update()
        return outcome

    def draw_pending(self) -> None:
        from mobile.wallet import tagged

        self.pending_box.controls.clear()
        waiting = self.queue.entries()
        if not waiting:
            return
        self.pending_box.controls.append(
            tagged(
                "pending",
                ft.Container(
                    ft.Text(self.tr("counter_pending", n=len(waiting)), color=ft.Colors.WHITE),
                    bgcolor=ft.Colors.ORANGE_800,
                    padding=ft.Padding.symmetric(vertical=4, horizontal=10),
                    border_radius=12,
                ),
            )
        )
        for e in waiting:
            if e.get("refused") == NEEDS_CONFIRMATION:  # the database asks; the staff answer
                self.pending_box.controls.append(
                    tagged(
                        f"to-confirm-{e['key']}",
                        ft.ListTile(
                            leading=ft.Icon(ft.Icons.VERIFIED_USER, color=ft.Colors.ORANGE_800),
                            title=ft.Text(
                                self.tr("counter_confirm_line", amount=self.money(e["amount_cents"]), number=e["code"])
                            ),
                            subtitle=ft.Text(vm.problem(KantaError(e["refused"]), self.app.lang)),
                            trailing=ft.Row(
                                [
                                    tagged(
                                        f"confirm-{e['key']}",
                                        ft.FilledButton(
                                            self.tr("counter_confirm"),
                                            on_click=lambda _e, k=e["key"]: self.confirm_queued(k),
                                        ),
                                    ),
                                    tagged(
                                        f"discard-{e['key']}",
                                        ft.TextButton(
                                            self.tr("counter_discard"), on_click=lambda _e, k=e["key"]: self.dismiss(k)
                                        ),
                                    ),
                                ],
                                tight=True,
                            ),
                        ),
                    )
                )
            elif e.get("refused"):
                self.pending_box.controls.append(
                    tagged(
                        f"refused-{e['key']}",
                        ft.ListTile(
                            leading=ft.Icon(ft.Icons.WARNING, color=ft.Colors.ERROR),
                            title=ft.Text(self.tr("counter_refused_line", amount=self.money(e["amount_cents"]))),
                            subtitle=ft.Text(vm.problem(KantaError(e["refused"]), self.app.lang)),
                            trailing=ft.TextButton(
                                self.tr("counter_dismiss"), on_click=lambda _e, k=e["key"]: self.dismiss(k)
                            ),
                        ),
                    )
                )

    def confirm_queued(self, key: str) -> None:
        """The staff confirmed the member number of a purchase queued offline: send it now."""
        self.queue.confirm(key)
        self.replay()
        self.draw_pending()
        self.page.update()

    def dismiss(self, key: str) -> None:
        self.queue.dismiss(key)
        self.draw_pending()
        self.page.update()

    def sale_without_member(self, _e=None) -> None:
        self._record(None, without_member=True)

    def _record(self, member_id: str | None, *, without_member: bool = False, override: bool = False) -> None:
        cents = self.cents()
        if cents is None:
            self.app.toast(self.tr("counter_amount_hint"))
            return
        if member_id is None and not without_member and not self.offline_code:
            self.app.toast(self.tr("counter_scan_first"))
            return
        key = new_key()
        if self.offline_code and not without_member:
            self._queue(None, cents, key)
            return
        try:
            answer = self.app.api.rpc(
                "record_purchase",
                {
                    "p_business_id": self.business,
                    "p_member_id": member_id,
                    "p_amount_cents": cents,
                    "p_idempotency_key": key,
                    "p_override": override,
                },
            )
        except Unavailable:
            self._queue(member_id, cents, key)  # the same key is sent again when the backend is back
            return
        except KantaError as exc:
            self.app.toast(vm.problem(exc, self.app.lang))
            if exc.code == "velocity_limit" and self.place["role"] == "owner":
                self.offer_override(member_id)
            return
        self.result = answer
        self.amount.value = ""
        if member_id:
            self.panel = {
                **self.panel,
                "stamps": answer["stamps"],
                "points": answer["points"],
                "tier": answer.get("tier_after"),
            }
            self.panel["vouchers"] = self.panel.get("vouchers", []) + [
                {"code": v["code"], "title": v["title"]} for v in answer.get("vouchers_issued", [])
            ]
        self.draw_panel()
        self.draw_result()
        self.page.update()
        self.refocus()

    def offer_override(self, member_id: str | None) -> None:
        """The owner may record past a velocity limit; the database writes the override to the audit log."""
        from mobile.wallet import tagged

        self.result_box.controls = [
            tagged(
                "override",
                ft.FilledButton(
                    self.tr("counter_override"),
                    icon=ft.Icons.GAVEL,
                    on_click=lambda _e: self._record(member_id, override=True),
                    style=ft.ButtonStyle(bgcolor=ft.Colors.ORANGE_800),
                ),
            )
        ]
        self.page.update()

    def draw_result(self) -> None:
        from mobile.wallet import tagged

        self.result_box.controls.clear()
        r = self.result
        if not r:
            return
        lines = [
            tagged(
                "result-title",
                ft.Text(
                    self.tr("counter_recorded", amount=self.money(r["amount_cents"])),
                    size=20,
                    weight=ft.FontWeight.BOLD,
                ),
            )
        ]
        lines += [tagged("result-line", ft.Text(line, size=18)) for line in vm.purchase_result_lines(r, self.app.lang)]
        lines.append(tagged("undo", ft.TextButton(self.tr("counter_undo"), icon=ft.Icons.UNDO, on_click=self.undo)))
        self.result_box.controls.append(
            ft.Card(ft.Container(ft.Column(lines, spacing=4), padding=16, bgcolor=ft.Colors.GREEN_50))
        )

    def undo(self, _e=None) -> None:
        if not self.result:
            return
        try:
            self.call("refund_purchase", {"p_purchase_id": self.result["purchase_id"], "p_idempotency_key": new_key()})
        except KantaError:
            return
        self.app.toast(self.tr("counter_undone"))
        member = self.result.get("member_id")
        self.result = None
        if member and self.panel:
            self.panel = self.call("identify_member", {"p_code": self.panel["member_number"], "p_confirmed": True})
        self.draw_panel()
        self.draw_result()
        self.page.update()

    # ---- redeem ----------------------------------------------------------------------------

    def redeem(self, code: str) -> None:
        try:
            answer = self.call("redeem_voucher", {"p_code": code, "p_idempotency_key": new_key()})
        except KantaError:
            return
        self.app.toast(self.tr("counter_redeemed", title=answer.get("title") or code))
        if self.panel:
            self.panel["vouchers"] = [v for v in self.panel.get("vouchers", []) if v["code"] != code]
        self.draw_panel()
        self.page.update()
        self.refocus()


def open_counter(app, workplaces: list[dict]) -> Counter:
    """The first workplace's counter (choosing among several cafés is still to come)."""
    counter = Counter(app, workplaces[0])
    counter.show()
    return counter
