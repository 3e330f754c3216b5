"""The card's history, a page at a time, and the inbox, where a tap marks a message read."""

from __future__ import annotations

import flet as ft

from mobile.app import App
from mobile.formatting import when
from mobile.wallet import models as vm
from mobile.wallet.state import History, Inbox
from mobile.widgets import tagged
from shared.errors import KantaError


class HistoryScreen:
    def __init__(self, app: App, history: History, nav):
        self.app, self.state, self.nav = app, history, nav

    def show(self, more: bool = False) -> None:
        app, card = self.app, self.nav.card.card
        try:
            app.attempt(self.state.load, more)
        except KantaError:
            pass
        tz = card["business"].get("timezone", "Europe/Helsinki")
        rows: list[ft.Control] = [
            ft.ListTile(
                title=ft.Text(vm.history_line(e, app.lang)), subtitle=ft.Text(when(e["created_at"], app.lang, tz))
            )
            for e in self.state.entries
        ] or [ft.Text(app.tr("no_history"))]
        if self.state.next_before:
            rows.append(
                tagged("history-more", ft.TextButton(app.tr("load_more"), on_click=lambda _: self.show(more=True)))
            )
        app.show(
            "history", self.show, app.tr("history"), rows, back=self.nav.show_card, color=card["business"]["color"]
        )


class InboxScreen:
    def __init__(self, app: App, inbox: Inbox, nav):
        self.app, self.state, self.nav = app, inbox, nav

    def show(self) -> None:
        app = self.app
        try:
            messages = app.attempt(self.state.load)
        except KantaError:
            messages = []
        rows: list[ft.Control] = []
        for m in messages:
            title, body = vm.message_text(m, app.lang)
            rows.append(
                tagged(
                    f"message-{m['id']}",
                    ft.ListTile(
                        leading=ft.Icon(ft.Icons.MARK_EMAIL_UNREAD if not m["read"] else ft.Icons.DRAFTS),
                        title=ft.Text(title, weight=ft.FontWeight.BOLD if not m["read"] else None),
                        subtitle=ft.Text(body),
                        on_click=lambda _e, m=m: self.read(m),
                    ),
                    label=title,
                )
            )
        color = self.nav.card.card["business"]["color"]
        app.show(
            "inbox",
            self.show,
            app.tr("inbox"),
            rows or [ft.Text(app.tr("no_messages"))],
            back=self.nav.show_card,
            color=color,
        )

    def read(self, message: dict) -> None:
        try:
            self.app.attempt(self.state.read, message)
        except KantaError:
            return
        self.show()
