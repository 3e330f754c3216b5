"""Members: the search, churn alerts with a reason and a one-tap win-back, the RFM segments, and
one member's card for the owner (VIP on or off, a reward granted by hand)."""

from __future__ import annotations

import datetime as dt

import flet as ft

from mobile.app import App
from mobile.formatting import day, number, when
from mobile.owner import models as om
from mobile.owner.state import Members
from mobile.wallet.models import stamps_label
from mobile.widgets import heading, tagged
from shared.errors import KantaError
from shared.i18n import churn_reason

VIP_DAYS = [30, 90, 365]


class MembersSection:
    def __init__(self, app: App, state: Members, tools):
        self.app, self.state, self.tools = app, state, tools
        self.dialog: ft.AlertDialog | None = None

    def body(self) -> list[ft.Control]:
        app, state, lang = self.app, self.state, self.app.lang
        segments, churn = state.load()
        chips = [
            tagged(
                f"segment-{seg}",
                ft.Chip(
                    label=ft.Text(f"{om.segment_label(seg, lang)} {segments['counts'].get(seg, 0)}"),
                    selected=state.segment == seg,
                    on_select=lambda _e, s=seg: self.pick_segment(s),
                ),
            )
            for seg in om.SEGMENTS
        ]
        rows = [self.member_row(m) for m in segments["members"]] or [ft.Text(app.tr("no_members"))]
        search = ft.TextField(
            label=app.tr("member_search"), prefix_icon=ft.Icons.SEARCH, on_submit=self.search, value=""
        )
        shown = churn["members"] if state.all_alerts else churn["members"][:5]
        alerts = [self.alert(m) for m in shown]
        more = (
            [tagged("all-alerts", ft.TextButton(app.tr("show_all", n=churn["total"]), on_click=self.show_alerts))]
            if len(shown) < len(churn["members"])
            else []
        )
        return [
            tagged("member-search", search),
            *[self.member_row(m, "found") for m in state.found],
            heading(app.tr("churn_alerts", n=churn["total"])),
            *(alerts or [ft.Text(app.tr("no_churn"))]),
            *more,
            heading(app.tr("segments")),
            ft.Text(app.tr("scored_at", when=when(segments["as_of"], lang, self.tools.tz)), size=12),
            ft.Row(chips, wrap=True),
            *rows,
        ]

    def alert(self, m: dict) -> ft.Control:
        app, lang = self.app, self.app.lang
        reason, sent = churn_reason(m, lang), m.get("win_back_sent")
        return tagged(
            f"churn-{m['member_number']}",
            ft.ListTile(
                leading=ft.Icon(ft.Icons.WARNING_AMBER, color=ft.Colors.ORANGE_800),
                title=ft.Text(om.member_name(m, lang)),
                subtitle=ft.Text(reason),
                trailing=tagged(
                    f"win-back-{m['member_number']}",
                    ft.OutlinedButton(
                        app.tr("win_back_sent") if sent else app.tr("send_win_back"),
                        icon=ft.Icons.CHECK if sent else ft.Icons.FAVORITE,
                        disabled=bool(sent),
                        on_click=lambda _e, m=m: self.win_back(m),
                    ),
                ),
            ),
            label=f"{om.member_name(m, lang)}: {reason}",
        )

    def member_row(self, m: dict, prefix: str = "member") -> ft.Control:
        lang = self.app.lang
        # A search result says what it matched on; a segment's member, how they buy.
        line = (
            f"{m.get('email') or ''} · {m['member_number']}"
            if prefix == "found"
            else om.member_line(m, lang, self.tools.currency, self.tools.tz)
        )
        return tagged(
            f"{prefix}-{m['member_number']}",
            ft.ListTile(
                leading=ft.Icon(ft.Icons.PERSON),
                title=ft.Text(om.member_name(m, lang)),
                subtitle=ft.Text(line),
                trailing=ft.Icon(ft.Icons.CHEVRON_RIGHT),
                on_click=lambda _e, n=m["member_number"]: self.open_member(n),
            ),
            label=om.member_name(m, lang),
        )

    def show_alerts(self, _e=None) -> None:
        self.state.all_alerts = True
        self.tools.show("members")

    def search(self, e) -> None:
        try:
            self.app.attempt(self.state.search, e.control.value)
        except KantaError:
            pass
        self.tools.show("members")

    def pick_segment(self, segment: str) -> None:
        self.state.segment = segment
        self.tools.show("members")

    def win_back(self, member: dict) -> None:
        try:
            self.app.attempt(self.state.win_back, member)
        except KantaError:
            return
        self.app.toast(self.app.tr("win_back_done", name=om.member_name(member, self.app.lang)))
        self.tools.show("members")

    # ---- one member --------------------------------------------------------------------------

    def open_member(self, member_number: str) -> None:
        try:
            panel = self.app.attempt(self.state.open, member_number)
        except KantaError:
            return
        self.draw_member(panel)

    def draw_member(self, panel: dict) -> None:
        app, lang, tz = self.app, self.app.lang, self.tools.tz
        self.days = ft.Dropdown(
            label=app.tr("vip_for"),
            value="90",
            options=[ft.DropdownOption(key=str(d), text=app.tr("days_n", n=d)) for d in VIP_DAYS],
            width=180,
        )
        self.reward = ft.TextField(label=app.tr("reward_title"), width=300)
        vip = bool(panel.get("vip"))
        vip_line = (
            app.tr("vip_until", when=day(panel["vip_until"], lang, tz))
            if panel.get("vip_until")
            else app.tr("vip_badge")
            if vip
            else app.tr("not_vip")
        )
        grant = ft.FilledButton(app.tr("grant_vip"), icon=ft.Icons.STAR, on_click=self.grant_vip)
        revoke = [tagged("revoke-vip", ft.TextButton(app.tr("revoke_vip"), on_click=self.revoke_vip))] if vip else []
        reward = ft.OutlinedButton(app.tr("grant_reward"), icon=ft.Icons.REDEEM, on_click=self.grant_reward)
        lines: list[ft.Control] = [
            ft.Text(stamps_label(panel, lang) if "stamps_per_card" in panel else ""),
            ft.Text(app.tr("points_n", points=number(panel["points"], lang))),
            ft.Text(f"{app.tr('tier')}: {panel.get('tier') or '—'}"),
            ft.Text(vip_line),
            ft.Row([self.days, tagged("grant-vip", grant)] + revoke, wrap=True),
            ft.Row([tagged("reward-title", self.reward), tagged("grant-reward", reward)], wrap=True),
        ]
        title = ft.Text(panel.get("display_name") or app.tr("member_number", number=panel["member_number"]))
        content = tagged("member-panel", ft.Column(lines, tight=True, spacing=8))
        if self.dialog is not None and self.dialog.open:  # redrawn in place after a change
            self.dialog.title, self.dialog.content = title, content
            self.dialog.update()
            return
        self.dialog = ft.AlertDialog(
            title=title,
            content=content,
            actions=[ft.TextButton(app.tr("close"), on_click=lambda _e: app.page.pop_dialog())],
        )
        app.page.show_dialog(self.dialog)

    def _done(self, text: str) -> None:
        self.app.toast(text)
        self.open_member(self.state.member["member_number"])

    def grant_vip(self, _e=None) -> None:
        until = self.app.clock() + dt.timedelta(days=int(self.days.value or 90))
        try:
            self.app.attempt(self.state.grant_vip, until)
        except KantaError:
            return
        self._done(self.app.tr("vip_granted", when=day(until, self.app.lang, self.tools.tz)))

    def revoke_vip(self, _e=None) -> None:
        try:
            self.app.attempt(self.state.revoke_vip)
        except KantaError:
            return
        self._done(self.app.tr("vip_revoked"))

    def grant_reward(self, _e=None) -> None:
        try:
            answer = self.app.attempt(self.state.grant_reward, self.reward.value or "")
        except KantaError:
            return
        self._done(self.app.tr("reward_granted", title=answer["title"]))
