"""The audit log, fifty lines a page, and the exports: all members as CSV, or the consenting ones
in Mailchimp's or Brevo's layout."""

from __future__ import annotations

import flet as ft

from mobile.app import App
from mobile.owner import models as om
from mobile.owner.state import Audit, Export
from mobile.widgets import tagged
from shared.errors import KantaError


class AuditSection:
    def __init__(self, app: App, state: Audit, tools):
        self.app, self.state, self.tools = app, state, tools

    def body(self, more: bool = False) -> list[ft.Control]:
        app, tools = self.app, self.tools
        self.state.load(more)
        rows: list[ft.Control] = [
            tagged(
                "audit-line",
                ft.ListTile(
                    dense=True,
                    title=ft.Text(om.audit_line(e, app.lang, tools.currency)),
                    subtitle=ft.Text(om.audit_meta(e, app.lang, tools.tz)),
                ),
            )
            for e in self.state.entries
        ] or [ft.Text(app.tr("no_history"))]
        if self.state.next_before:
            rows.append(tagged("audit-more", ft.TextButton(app.tr("load_more"), on_click=self.more)))
        return rows

    def more(self, _e=None) -> None:
        try:
            rows = self.app.attempt(self.body, more=True)
        except KantaError:
            return
        self.app.show(
            "owner-audit", self.more, self.tools.title("audit"), rows, back=lambda: self.tools.show("audit"), wide=True
        )


class ExportSection:
    def __init__(self, app: App, state: Export, tools):
        self.app, self.state, self.tools = app, state, tools

    def body(self) -> list[ft.Control]:
        app = self.app
        buttons = [
            tagged(
                f"export-{fmt}",
                ft.OutlinedButton(
                    app.tr(f"export_{fmt}"), icon=ft.Icons.DOWNLOAD, on_click=lambda _e, f=fmt: self.export(f)
                ),
            )
            for fmt in ("csv", "mailchimp", "brevo")
        ]
        return [ft.Text(app.tr("export_help")), ft.Row(buttons, wrap=True)]

    def export(self, fmt: str) -> None:
        try:
            name, data = self.app.attempt(self.state.export, fmt)
        except KantaError:
            return
        self.app.toast(self.app.tr("export_ready", file=name))

        async def save():
            await ft.FilePicker().save_file(file_name=name, src_bytes=data)

        self.app.page.run_task(save)
