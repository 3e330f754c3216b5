"""The owner's back office (Flet), tablet first: the KPI dashboard with charts, members and
segments with churn alerts and win-back, VIP and granted rewards, drops with reservations and
pick-ups, program settings with a live preview of the card, staff, feedback, the audit log and
exports. Reached from the counter; staff never see it, and the API refuses them anyway.

Each tap is one API call; the screens show its answer through mobile.owner_models.
"""

from __future__ import annotations

import datetime as dt
import uuid

import flet as ft
import flet_charts as fch

from mobile import models as vm
from mobile import owner_models as om
from mobile.wallet import tagged
from shared.errors import KantaError
from shared.i18n import churn_reason

SECTIONS = [  # (name, icon)
    ("dashboard", ft.Icons.INSIGHTS),
    ("members", ft.Icons.PEOPLE),
    ("drops", ft.Icons.LOCAL_OFFER),
    ("program", ft.Icons.TUNE),
    ("staff", ft.Icons.BADGE),
    ("feedback", ft.Icons.RATE_REVIEW),
    ("audit", ft.Icons.RECEIPT_LONG),
    ("export", ft.Icons.DOWNLOAD),
]
VIP_DAYS = [30, 90, 365]


class OwnerTools:
    def __init__(self, app, counter):
        self.app, self.counter = app, counter
        self.place = counter.place
        self.business = counter.business
        self.section = "dashboard"
        self.period_days = 30
        self.segment: str | None = None
        self.audit_entries: list[dict] = []
        self.audit_next: str | None = None
        self.exported: tuple[str, bytes] | None = None
        self.drop_open: str | None = None
        self.found: list[dict] = []  # members found by the search on the members screen
        self.all_alerts = False  # the churn list shows five until asked for all

    # ---- plumbing ----------------------------------------------------------------------------

    @property
    def page(self) -> ft.Page:
        return self.app.page

    @property
    def lang(self) -> str:
        return self.app.lang

    @property
    def tz(self) -> str:
        return self.place.get("timezone") or "Europe/Helsinki"

    @property
    def currency(self) -> str:
        return self.place.get("currency") or "EUR"

    def tr(self, key: str, **values) -> str:
        return self.app.tr(key, **values)

    def call(self, name: str, params: dict | None = None):
        """One call for this café; a refusal is shown in the user's language and raised."""
        return self.app.call(name, {"p_business_id": self.business, **(params or {})})

    def heading(self, text: str) -> ft.Text:
        return ft.Text(text, size=20, weight=ft.FontWeight.BOLD)

    def show(self, section: str | None = None) -> None:
        self.section = section or self.section
        self.app.screen = f"owner-{self.section}"
        self.app._rerender = self.show
        try:
            body = getattr(self, f"body_{self.section}")()
        except KantaError:
            body = [ft.Text(self.app.notice or "")]
        nav = ft.Row(
            [
                tagged(
                    f"section-{name}",
                    (ft.FilledTonalButton if name == self.section else ft.TextButton)(
                        self.tr(f"owner_{name}"), icon=icon, on_click=lambda _e, n=name: self.show(n)
                    ),
                )
                for name, icon in SECTIONS
            ],
            wrap=True,
            spacing=4,
        )
        self.app.frame(
            f"{self.place['name']} · {self.tr('owner_' + self.section)}",
            [nav, ft.Divider(height=1), *body],
            back=self.counter.show,
            wide=True,
            actions=[self.app.language_switch()],
        )

    # ---- dashboard ---------------------------------------------------------------------------

    def body_dashboard(self) -> list[ft.Control]:
        now = self.app.clock()
        start, end = om.period(self.period_days, now, self.tz)
        bucket = "day" if self.period_days <= 30 else "week" if self.period_days <= 90 else "month"
        board = self.call("owner_dashboard", {"p_from": start, "p_to": end, "p_bucket": bucket})
        kpis = board["kpis"]
        periods = tagged(
            "period",
            ft.SegmentedButton(
                selected=[str(self.period_days)],
                segments=[ft.Segment(value=k, label=ft.Text(self.tr("last_days", n=v))) for k, v in om.PERIODS.items()],
                on_change=lambda e: self.set_period(int(list(e.control.selected)[0])),
            ),
            label=self.tr("period"),
        )
        tiles = [
            self.figure(f"kpi-{tile.key}", tile.label, tile.value) for tile in om.kpi_tiles(kpis, self.lang, self.currency)
        ]
        charts = [
            ft.Container(
                self.chart(om.series(metric, board["series"].get(metric) or [], bucket, self.lang)),
                col={"xs": 12, "md": 6},
            )
            for metric in ("revenue", "visits", "member_revenue_share", "redemptions", "new_members", "nps")
        ]
        by_tier = om.spend_by_tier(kpis, self.lang, self.currency)
        return [
            periods,
            ft.ResponsiveRow(tiles, spacing=8, run_spacing=8),
            ft.ResponsiveRow(charts, spacing=16, run_spacing=16),
            self.heading(self.tr("spend_by_tier")),
            ft.ResponsiveRow(
                [self.figure(f"tier-{row.tier}", row.tier, row.average, row.purchases) for row in by_tier],
                spacing=8,
                run_spacing=8,
            )
            if by_tier
            else ft.Text(self.tr("no_data")),
        ]

    @staticmethod
    def figure(key: str, label: str, value: str, caption: str | None = None) -> ft.Control:
        """One figure on the dashboard: what it is, the value large, and maybe a line under it."""
        lines = [
            ft.Text(label, size=13, color=ft.Colors.ON_SURFACE_VARIANT),
            ft.Text(value, size=26, weight=ft.FontWeight.BOLD),
        ]
        if caption:
            lines.append(ft.Text(caption, size=12, color=ft.Colors.ON_SURFACE_VARIANT))
        return tagged(
            key,
            ft.Container(
                ft.Column(lines, spacing=2),
                padding=12,
                border_radius=12,
                bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
                col={"xs": 6, "sm": 4, "md": 3, "lg": 2},
            ),
            label=", ".join([f"{label}: {value}", *([caption] if caption else [])]),
        )

    def chart(self, s: om.Series) -> ft.Control:
        color = self.place.get("color") or "#6B4F3A"
        step = max(1, len(s.labels) // 6)
        axis = fch.ChartAxis(
            labels=[
                fch.ChartAxisLabel(value=x, label=ft.Text(s.labels[x], size=10)) for x, _ in s.points if x % step == 0
            ],
            label_size=24,
        )
        if s.metric in ("revenue", "visits", "redemptions", "new_members"):
            chart: ft.Control = fch.BarChart(
                groups=[
                    fch.BarChartGroup(x=x, rods=[fch.BarChartRod(to_y=y, color=color, width=10, tooltip=f"{y:g}")])
                    for x, y in s.points
                ],
                bottom_axis=axis,
                left_axis=fch.ChartAxis(label_size=44),
                max_y=s.max_y,
                expand=True,
            )
        else:
            chart = fch.LineChart(
                data_series=[
                    fch.LineChartData(points=[fch.LineChartDataPoint(x, y) for x, y in s.points], color=color)
                ],
                bottom_axis=axis,
                left_axis=fch.ChartAxis(label_size=44),
                min_y=-100 if s.metric == "nps" else 0,
                max_y=100,
                expand=True,
            )
        body = chart if s.points else ft.Text(self.tr("no_data"))
        return tagged(
            f"chart-{s.metric}",
            ft.Container(
                ft.Column([ft.Text(s.title, weight=ft.FontWeight.W_600), ft.Container(body, height=180)]),
                padding=12,
                border_radius=12,
                border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            ),
            label=s.title,
        )

    def set_period(self, days: int) -> None:
        self.period_days = days
        self.show("dashboard")

    # ---- members, segments, churn ------------------------------------------------------------

    def body_members(self) -> list[ft.Control]:
        segments = self.call("member_segments", {"p_limit": 50, "p_segment": self.segment or "champions"})
        if self.segment is None:  # the first look: the first segment that has anyone in it
            self.segment = next((s for s in om.SEGMENTS if segments["counts"].get(s)), "champions")
            if self.segment != "champions":
                segments = self.call("member_segments", {"p_limit": 50, "p_segment": self.segment})
        churn = self.call("churn_risk", {"p_limit": 20})
        chips = [
            tagged(
                f"segment-{seg}",
                ft.Chip(
                    label=ft.Text(f"{om.segment_label(seg, self.lang)} {segments['counts'].get(seg, 0)}"),
                    selected=self.segment == seg,
                    on_select=lambda _e, s=seg: self.pick_segment(s),
                ),
            )
            for seg in om.SEGMENTS
        ]
        rows = [self.member_row(m) for m in segments["members"]] or [ft.Text(self.tr("no_members"))]
        search = ft.TextField(
            label=self.tr("member_search"), prefix_icon=ft.Icons.SEARCH, on_submit=self.search_members, value=""
        )
        found = [self.member_row(m, "found") for m in self.found]
        alerts = []
        shown = churn["members"] if self.all_alerts else churn["members"][:5]
        for m in shown:
            reason = churn_reason(m, self.lang)
            sent = m.get("win_back_sent")
            alerts.append(
                tagged(
                    f"churn-{m['member_number']}",
                    ft.ListTile(
                        leading=ft.Icon(ft.Icons.WARNING_AMBER, color=ft.Colors.ORANGE_800),
                        title=ft.Text(om.member_name(m, self.lang)),
                        subtitle=ft.Text(reason),
                        trailing=tagged(
                            f"win-back-{m['member_number']}",
                            ft.OutlinedButton(
                                self.tr("win_back_sent") if sent else self.tr("send_win_back"),
                                icon=ft.Icons.CHECK if sent else ft.Icons.FAVORITE,
                                disabled=bool(sent),
                                on_click=lambda _e, m=m: self.win_back(m),
                            ),
                        ),
                    ),
                    label=f"{om.member_name(m, self.lang)}: {reason}",
                )
            )
        return [
            tagged("member-search", search),
            *found,
            self.heading(self.tr("churn_alerts", n=churn["total"])),
            *(alerts or [ft.Text(self.tr("no_churn"))]),
            *(
                [tagged("all-alerts", ft.TextButton(self.tr("show_all", n=churn["total"]), on_click=self.show_alerts))]
                if len(shown) < len(churn["members"])
                else []
            ),
            self.heading(self.tr("segments")),
            ft.Text(self.tr("scored_at", when=vm.when(segments["as_of"], self.lang, self.tz)), size=12),
            ft.Row(chips, wrap=True),
            *rows,
        ]

    def show_alerts(self, _e=None) -> None:
        self.all_alerts = True
        self.show("members")

    def search_members(self, e) -> None:
        try:
            self.found = self.call("search_members", {"p_query": e.control.value or ""})
        except KantaError:
            self.found = []
        self.show("members")

    def member_row(self, m: dict, prefix: str = "member") -> ft.Control:
        # A search result says what it matched on; a segment's member, how they buy.
        line = (
            f"{m.get('email') or ''} · {m['member_number']}"
            if prefix == "found"
            else om.member_line(m, self.lang, self.currency, self.tz)
        )
        return tagged(
            f"{prefix}-{m['member_number']}",
            ft.ListTile(
                leading=ft.Icon(ft.Icons.PERSON),
                title=ft.Text(om.member_name(m, self.lang)),
                subtitle=ft.Text(line),
                trailing=ft.Icon(ft.Icons.CHEVRON_RIGHT),
                on_click=lambda _e, n=m["member_number"]: self.open_member(n),
            ),
            label=om.member_name(m, self.lang),
        )

    def pick_segment(self, segment: str) -> None:
        self.segment = segment
        self.show("members")

    def win_back(self, member: dict) -> None:
        try:
            self.call("send_win_back", {"p_member_id": member["member_id"]})
        except KantaError:
            return
        self.app.toast(self.tr("win_back_done", name=om.member_name(member, self.lang)))
        self.show("members")

    def open_member(self, member_number: str) -> None:
        """The member's card for the owner: VIP on or off, and a reward granted by hand."""
        try:
            panel = self.call("identify_member", {"p_code": member_number, "p_confirmed": True})
        except KantaError:
            return
        self.member_panel = panel
        days = ft.Dropdown(
            label=self.tr("vip_for"),
            value="90",
            options=[ft.DropdownOption(key=str(d), text=self.tr("days_n", n=d)) for d in VIP_DAYS],
            width=180,
        )
        reward = ft.TextField(label=self.tr("reward_title"), width=300)
        self.member_fields = {"days": days, "reward": reward}
        vip = bool(panel.get("vip"))
        lines: list[ft.Control] = [
            ft.Text(vm.stamps_label(panel, self.lang) if "stamps_per_card" in panel else ""),
            ft.Text(self.tr("points_n", points=vm.number(panel["points"], self.lang))),
            ft.Text(f"{self.tr('tier')}: {panel.get('tier') or '—'}"),
            ft.Text(self.tr("vip_until", when=vm.day(panel["vip_until"], self.lang, self.tz)))
            if panel.get("vip_until")
            else ft.Text(self.tr("vip_badge") if vip else self.tr("not_vip")),
            ft.Row(
                [
                    days,
                    tagged(
                        "grant-vip", ft.FilledButton(self.tr("grant_vip"), icon=ft.Icons.STAR, on_click=self.grant_vip)
                    ),
                ]
                + (
                    [tagged("revoke-vip", ft.TextButton(self.tr("revoke_vip"), on_click=self.revoke_vip))]
                    if vip
                    else []
                ),
                wrap=True,
            ),
            ft.Row(
                [
                    tagged("reward-title", reward),
                    tagged(
                        "grant-reward",
                        ft.OutlinedButton(self.tr("grant_reward"), icon=ft.Icons.REDEEM, on_click=self.grant_reward),
                    ),
                ],
                wrap=True,
            ),
        ]
        title = ft.Text(panel.get("display_name") or self.tr("member_number", number=panel["member_number"]))
        content = tagged("member-panel", ft.Column(lines, tight=True, spacing=8))
        dialog = getattr(self, "member_dialog", None)
        if dialog is not None and dialog.open:  # redrawn in place after a change
            dialog.title, dialog.content = title, content
            dialog.update()
            return
        self.member_dialog = ft.AlertDialog(
            title=title,
            content=content,
            actions=[ft.TextButton(self.tr("close"), on_click=lambda _e: self.page.pop_dialog())],
        )
        self.page.show_dialog(self.member_dialog)

    def _member_done(self, text: str) -> None:
        self.app.toast(text)
        self.open_member(self.member_panel["member_number"])

    def grant_vip(self, _e=None) -> None:
        days = int(self.member_fields["days"].value or 90)
        until = self.app.clock() + dt.timedelta(days=days)
        try:
            self.call("grant_vip", {"p_member_id": self.member_panel["member_id"], "p_until": until.isoformat()})
        except KantaError:
            return
        self._member_done(self.tr("vip_granted", when=vm.day(until, self.lang, self.tz)))

    def revoke_vip(self, _e=None) -> None:
        try:
            self.call("revoke_vip", {"p_member_id": self.member_panel["member_id"]})
        except KantaError:
            return
        self._member_done(self.tr("vip_revoked"))

    def grant_reward(self, _e=None) -> None:
        try:
            answer = self.call(
                "grant_reward",
                {
                    "p_member_id": self.member_panel["member_id"],
                    "p_title": self.member_fields["reward"].value or "",
                    "p_idempotency_key": f"owner-{uuid.uuid4()}",
                },
            )
        except KantaError:
            return
        self._member_done(self.tr("reward_granted", title=answer["title"]))

    # ---- drops -------------------------------------------------------------------------------

    def body_drops(self) -> list[ft.Control]:
        drops = self.call("business_drops")
        now = self.app.clock()
        defaults = {
            "title": "",
            "description": "",
            "vip_starts": om.local_text(now + dt.timedelta(days=1), self.tz),
            "public_starts": om.local_text(now + dt.timedelta(days=3), self.tz),
            "ends": om.local_text(now + dt.timedelta(days=10), self.tz),
            "stock": "20",
            "limit": "1",
        }
        self.drop_fields = {
            k: ft.TextField(label=self.tr(f"drop_{k}"), value=v, col={"xs": 12, "md": 6 if k != "description" else 12})
            for k, v in defaults.items()
        }
        form = ft.ResponsiveRow([tagged(f"drop-{k}", f) for k, f in self.drop_fields.items()], spacing=8)
        rows: list[ft.Control] = []
        for d in drops:
            rows.append(
                tagged(
                    f"drop-{d['id']}",
                    ft.ListTile(
                        leading=ft.Icon(ft.Icons.LOCAL_OFFER),
                        title=ft.Text(d["title"]),
                        subtitle=ft.Text(
                            self.tr(
                                "drop_line",
                                state=self.tr(f"drop_state_{d['state']}"),
                                left=d["stock_left"],
                                stock=d["stock"],
                                vip=vm.when(d["vip_starts_at"], self.lang, self.tz),
                                public=vm.when(d["public_starts_at"], self.lang, self.tz),
                            )
                        ),
                        trailing=ft.Icon(ft.Icons.CHEVRON_RIGHT),
                        on_click=lambda _e, d=d: self.open_drop(d["id"]),
                    ),
                    label=d["title"],
                )
            )
            if self.drop_open == d["id"]:
                rows.append(self.reservations(d["id"]))
        create = ft.FilledButton(self.tr("create_drop"), icon=ft.Icons.ADD, on_click=self.create_drop)
        return [
            *(rows or [ft.Text(self.tr("no_drops"))]),
            self.heading(self.tr("new_drop")),
            form,
            ft.Row([tagged("create-drop", create)]),
        ]

    def create_drop(self, _e=None) -> None:
        f = {k: (field.value or "") for k, field in self.drop_fields.items()}
        moments = {k: om.parse_local(f[k], self.tz) for k in ("vip_starts", "public_starts", "ends")}
        if None in moments.values():
            self.app.toast(self.tr("date_hint"))
            return
        try:
            self.call(
                "create_drop",
                {
                    "p_title": f["title"],
                    "p_description": f["description"],
                    "p_vip_starts_at": moments["vip_starts"],
                    "p_public_starts_at": moments["public_starts"],
                    "p_ends_at": moments["ends"],
                    "p_stock": f["stock"].strip(),
                    "p_per_member_limit": f["limit"].strip(),
                },
            )
        except KantaError:
            return
        self.app.toast(self.tr("drop_created", title=f["title"].strip()))
        self.show("drops")

    def open_drop(self, drop_id: str) -> None:
        self.drop_open = None if self.drop_open == drop_id else drop_id
        self.show("drops")

    def reservations(self, drop_id: str) -> ft.Control:
        listing = self.app.api.rpc("drop_reservations", {"p_drop_id": drop_id})
        rows: list[ft.Control] = []
        for r in listing["reservations"]:
            picked = r["status"] == "picked_up"
            rows.append(
                tagged(
                    f"reservation-{r['member_number']}",
                    ft.ListTile(
                        title=ft.Text(f"{r.get('display_name') or r['member_number']} × {r['quantity']}"),
                        subtitle=ft.Text(
                            self.tr("picked_up_at", when=vm.when(r["picked_up_at"], self.lang, self.tz))
                            if picked
                            else self.tr("reserved_at", when=vm.when(r["created_at"], self.lang, self.tz))
                        ),
                        trailing=None
                        if picked
                        else tagged(
                            f"pickup-{r['member_number']}",
                            ft.FilledButton(self.tr("mark_pickup"), on_click=lambda _e, r=r: self.pickup(r)),
                        ),
                    ),
                )
            )
        return ft.Container(
            ft.Column(rows or [ft.Text(self.tr("no_reservations"))], spacing=0),
            padding=ft.Padding.only(left=40),
        )

    def pickup(self, reservation: dict) -> None:
        try:
            self.app.call("mark_pickup", {"p_reservation_id": reservation["id"]})
        except KantaError:
            return
        self.app.toast(self.tr("picked_up"))
        self.show("drops")

    # ---- program settings and the rewards catalogue --------------------------------------------

    def body_program(self) -> list[ft.Control]:
        program = self.call("get_program")
        self.program = program
        self.program_fields: dict[str, ft.TextField] = {}
        for key in om.PROGRAM_FIELDS:
            self.program_fields[key] = ft.TextField(
                label=self.tr(f"setting_{key}"),
                value=str(program[key]),
                on_change=self.preview,
                col={"xs": 12, "md": 6},
                keyboard_type=None if key in om.TEXT_FIELDS else ft.KeyboardType.NUMBER,
            )
        self.program_fields["rewards"] = ft.TextField(
            label=self.tr("setting_rewards"),
            value=om.rewards_text(program["rewards"]),
            multiline=True,
            min_lines=3,
            helper=self.tr("rewards_help"),
            on_change=self.preview,
            col={"xs": 12, "md": 6},
        )
        self.program_fields["tiers"] = ft.TextField(
            label=self.tr("setting_tiers"),
            value=om.tiers_text(program["tiers"]),
            multiline=True,
            min_lines=3,
            helper=self.tr("tiers_help"),
            on_change=self.preview,
            col={"xs": 12, "md": 6},
        )
        self.preview_box = ft.Container()
        self.program_error = ft.Text("", color=ft.Colors.ERROR)
        self.preview()
        form = ft.ResponsiveRow(
            [tagged(f"setting-{k}", f) for k, f in self.program_fields.items()], spacing=8, run_spacing=8
        )
        return [
            ft.ResponsiveRow(
                [
                    ft.Column([form], col={"xs": 12, "lg": 8}),
                    ft.Column(
                        [ft.Text(self.tr("card_preview"), weight=ft.FontWeight.BOLD), self.preview_box],
                        col={"xs": 12, "lg": 4},
                    ),
                ]
            ),
            self.program_error,
            ft.Row(
                [
                    tagged(
                        "save-program", ft.FilledButton(self.tr("save"), icon=ft.Icons.SAVE, on_click=self.save_program)
                    )
                ]
            ),
        ]

    def form_settings(self) -> dict:
        return om.settings_from_form({k: f.value or "" for k, f in self.program_fields.items()})

    def preview(self, _e=None) -> None:
        """The customer's card as the form stands, redrawn at each keystroke."""
        card = om.preview_card(self.form_settings(), {**self.place, **self.program})
        color = card["business"]["color"]
        slots = [self.app.slot_face(s, color) for s in vm.stamp_slots(card["stamps"], card["stamps_per_card"])]
        self.preview_box.content = tagged(
            "card-preview",
            ft.Card(
                ft.Container(
                    ft.Column(
                        [
                            ft.Text(self.place["name"], size=18, weight=ft.FontWeight.BOLD, color=color),
                            ft.Text(self.tr("stamps_of", stamps=card["stamps"], per_card=card["stamps_per_card"])),
                            ft.Row(slots, wrap=True, spacing=6, run_spacing=6),
                            ft.Text(self.tr("reward_on_full", reward=card["stamp_reward"]), size=13),
                            ft.Text(" · ".join(card["tiers"]), size=13),
                        ],
                        spacing=8,
                    ),
                    padding=16,
                )
            ),
            label=self.tr("card_preview"),
        )
        if _e is not None:
            self.preview_box.update()

    def save_program(self, _e=None) -> None:
        try:
            self.program = self.call("update_program", {"p_settings": self.form_settings()})
        except KantaError as exc:
            self.program_error.value = vm.problem(exc, self.lang)
            self.page.update()
            return
        self.app.toast(self.tr("saved"))
        self.show("program")

    # ---- staff -------------------------------------------------------------------------------

    def body_staff(self) -> list[ft.Control]:
        staff = self.call("staff_list")
        email = ft.TextField(label=self.tr("email"), keyboard_type=ft.KeyboardType.EMAIL, col={"xs": 12, "md": 6})
        role = ft.Dropdown(
            label=self.tr("role"),
            value="staff",
            options=[ft.DropdownOption(key=r, text=self.tr(f"role_{r}")) for r in ("staff", "owner")],
            col={"xs": 12, "md": 3},
        )
        self.staff_fields = {"email": email, "role": role}
        rows = [
            tagged(
                f"staff-{s['email']}",
                ft.ListTile(
                    leading=ft.Icon(ft.Icons.ADMIN_PANEL_SETTINGS if s["role"] == "owner" else ft.Icons.PERSON),
                    title=ft.Text(s["email"]),
                    subtitle=ft.Text(self.tr(f"role_{s['role']}") + (f" · {self.tr('you')}" if s["me"] else "")),
                    trailing=None
                    if s["me"]
                    else tagged(
                        f"remove-{s['email']}",
                        ft.IconButton(
                            ft.Icons.PERSON_REMOVE,
                            tooltip=self.tr("remove_staff"),
                            on_click=lambda _e, s=s: self.remove_staff(s),
                        ),
                    ),
                ),
            )
            for s in staff
        ]
        return [
            *rows,
            self.heading(self.tr("add_staff")),
            ft.ResponsiveRow([tagged("staff-email", email), tagged("staff-role", role)]),
            ft.Text(self.tr("add_staff_help"), size=13),
            ft.Row(
                [
                    tagged(
                        "add-staff",
                        ft.FilledButton(self.tr("add_staff"), icon=ft.Icons.PERSON_ADD, on_click=self.add_staff),
                    )
                ]
            ),
        ]

    def add_staff(self, _e=None) -> None:
        try:
            self.call(
                "add_staff",
                {
                    "p_email": (self.staff_fields["email"].value or "").strip(),
                    "p_role": self.staff_fields["role"].value,
                },
            )
        except KantaError:
            return
        self.app.toast(self.tr("staff_added"))
        self.show("staff")

    def remove_staff(self, person: dict) -> None:
        try:
            self.call("remove_staff", {"p_user_id": person["user_id"]})
        except KantaError:
            return
        self.app.toast(self.tr("staff_removed", email=person["email"]))
        self.show("staff")

    # ---- feedback ----------------------------------------------------------------------------

    def body_feedback(self) -> list[ft.Control]:
        summary = self.call("feedback_summary")
        rows: list[ft.Control] = []
        self.reply_fields: dict[str, ft.TextField] = {}
        for item in summary["recent"]:
            reply = ft.TextField(label=self.tr("reply"), value=item.get("reply") or "")
            self.reply_fields[item["id"]] = reply
            rows.append(
                tagged(
                    f"feedback-{item['id']}",
                    ft.Card(
                        ft.Container(
                            ft.Column(
                                [
                                    ft.Text(om.feedback_line(item, self.lang, self.tz), weight=ft.FontWeight.W_600),
                                    ft.Text(item.get("comment") or "—"),
                                    ft.Row(
                                        [
                                            ft.Container(tagged(f"reply-text-{item['id']}", reply), expand=True),
                                            tagged(
                                                f"reply-{item['id']}",
                                                ft.IconButton(
                                                    ft.Icons.SEND,
                                                    tooltip=self.tr("send_reply"),
                                                    on_click=lambda _e, i=item["id"]: self.reply(i),
                                                ),
                                            ),
                                        ]
                                    ),
                                ]
                            ),
                            padding=12,
                        )
                    ),
                )
            )
        nps = summary.get("nps")
        return [
            tagged(
                "feedback-summary",
                ft.Text(
                    self.tr(
                        "feedback_summary",
                        n=summary["responses"],
                        nps="—" if nps is None else vm.number(nps, self.lang),
                        promoters=summary["promoters"],
                        passives=summary["passives"],
                        detractors=summary["detractors"],
                    ),
                    size=16,
                ),
            ),
            *(rows or [ft.Text(self.tr("no_feedback"))]),
        ]

    def reply(self, feedback_id: str) -> None:
        try:
            self.app.call(
                "reply_feedback", {"p_feedback_id": feedback_id, "p_reply": self.reply_fields[feedback_id].value}
            )
        except KantaError:
            return
        self.app.toast(self.tr("reply_sent"))

    # ---- audit log ---------------------------------------------------------------------------

    def body_audit(self, more: bool = False) -> list[ft.Control]:
        if not more:
            self.audit_entries, self.audit_next = [], None
        params: dict = {"p_limit": 50}
        if more and self.audit_next:
            params["p_before"] = self.audit_next
        page = self.call("audit_log", params)
        self.audit_entries += page["entries"]
        self.audit_next = page["next_before"]
        rows: list[ft.Control] = [
            tagged(
                "audit-line",
                ft.ListTile(
                    dense=True,
                    title=ft.Text(om.audit_line(e, self.lang, self.currency)),
                    subtitle=ft.Text(om.audit_meta(e, self.lang, self.tz)),
                ),
            )
            for e in self.audit_entries
        ] or [ft.Text(self.tr("no_history"))]
        if self.audit_next:
            rows.append(tagged("audit-more", ft.TextButton(self.tr("load_more"), on_click=self.more_audit)))
        return rows

    def more_audit(self, _e=None) -> None:
        self.app.screen = "owner-audit"
        rows = self.body_audit(more=True)
        self.app.frame(
            f"{self.place['name']} · {self.tr('owner_audit')}", rows, back=lambda: self.show("audit"), wide=True
        )

    # ---- export ------------------------------------------------------------------------------

    def body_export(self) -> list[ft.Control]:
        return [
            ft.Text(self.tr("export_help")),
            ft.Row(
                [
                    tagged(
                        f"export-{fmt}",
                        ft.OutlinedButton(
                            self.tr(f"export_{fmt}"), icon=ft.Icons.DOWNLOAD, on_click=lambda _e, f=fmt: self.export(f)
                        ),
                    )
                    for fmt in ("csv", "mailchimp", "brevo")
                ],
                wrap=True,
            ),
        ]

    def export(self, fmt: str) -> None:
        """All members as CSV (export_members), or the consenting ones in an e-mail tool's layout."""
        try:
            if fmt == "csv":
                text = self.call("export_members")
            else:
                text = self.call("export_marketing", {"p_format": fmt})
        except KantaError:
            return
        if isinstance(text, dict):  # export_marketing answers with the file and its name
            name, text = text.get("filename") or f"kanta-{fmt}.csv", text["csv"]
        else:
            name = f"kanta-{self.place['slug']}-members.csv"
        self.exported = (name, text.encode("utf-8"))
        self.app.toast(self.tr("export_ready", file=name))

        async def save():
            await ft.FilePicker().save_file(file_name=name, src_bytes=self.exported[1])

        self.page.run_task(save)


def open_owner_tools(app, counter, section: str = "dashboard") -> OwnerTools:
    tools = OwnerTools(app, counter)
    tools.show(section)
    return tools
