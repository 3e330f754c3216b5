"""The profile: language, marketing consent per café, my data as JSON, sign out, and deleting the
account (only with the confirmation word typed)."""

from __future__ import annotations

import asyncio

import flet as ft

from mobile.app import App
from mobile.wallet.state import Wallet
from mobile.widgets import tagged
from shared.errors import KantaError

DATA_FILE = "kanta-my-data.json"


class ProfileScreen:
    def __init__(self, app: App, wallet: Wallet, nav):
        self.app, self.state, self.nav = app, wallet, nav
        self.delete_dialog: ft.AlertDialog | None = None

    def show(self) -> None:
        app = self.app
        try:
            consents = self.state.consents()
        except KantaError:
            consents = []
        consent_rows: list[ft.Control] = []
        for c, value in consents:
            label = f"{app.tr('marketing_consent')} ({c['business_name']})"
            consent_rows.append(
                ft.Row(
                    [
                        ft.Text(label, expand=True),
                        tagged(
                            f"consent-{c['business_slug']}",
                            ft.Switch(
                                value=value, on_change=lambda e, m=c["member_id"]: self.set_consent(m, e.control.value)
                            ),
                            label=label,
                        ),
                    ]
                )
            )
        self.delete_confirm = ft.TextField(label=app.tr("delete_word"))
        app.show(
            "profile",
            self.show,
            app.tr("profile"),
            [
                ft.Text(self.state.email),
                app.language_switch(),
                *consent_rows,
                tagged("privacy-notice", ft.Text(app.tr("privacy_notice"), size=12)),
                tagged(
                    "download-data",
                    ft.OutlinedButton(app.tr("download_data"), icon=ft.Icons.DOWNLOAD, on_click=self.download_data),
                ),
                tagged(
                    "sign-out",
                    ft.OutlinedButton(app.tr("sign_out"), icon=ft.Icons.LOGOUT, on_click=lambda _: app.sign_out()),
                ),
                tagged(
                    "delete-account",
                    ft.TextButton(
                        app.tr("delete_account"),
                        icon=ft.Icons.DELETE_FOREVER,
                        on_click=self.ask_delete,
                        style=ft.ButtonStyle(color=ft.Colors.ERROR),
                    ),
                ),
            ],
            back=self.nav.show_wallet,
        )

    def ask_delete(self, _=None) -> None:
        app = self.app
        self.delete_dialog = ft.AlertDialog(
            title=ft.Text(app.tr("delete_confirm_title")),
            content=ft.Column(
                [ft.Text(app.tr("delete_confirm_text")), tagged("delete-confirm", self.delete_confirm)], tight=True
            ),
            actions=[
                ft.TextButton(app.tr("cancel"), on_click=lambda _: app.page.pop_dialog()),
                tagged(
                    "delete-yes",
                    ft.FilledButton(
                        app.tr("delete_account"),
                        on_click=lambda _: self.delete_account(),
                        style=ft.ButtonStyle(bgcolor=ft.Colors.ERROR),
                    ),
                ),
            ],
        )
        app.page.show_dialog(self.delete_dialog)

    def set_consent(self, member_id: str, value: bool) -> None:
        try:
            self.app.attempt(self.state.set_consent, member_id, value)
        except KantaError:
            return
        self.app.toast(self.app.tr("saved"))

    async def download_data(self, _=None) -> None:
        data = await asyncio.to_thread(self.state.export_data)
        self.app.toast(self.app.tr("data_ready", file=DATA_FILE))
        await ft.FilePicker().save_file(file_name=DATA_FILE, src_bytes=data)

    def delete_account(self) -> None:
        """Only with the confirmation word typed: a stray tap deletes nothing."""
        app = self.app
        if (self.delete_confirm.value or "").strip().upper() != app.tr("delete_word"):
            app.toast(app.tr("delete_refused"))
            return
        try:
            app.attempt(self.state.delete_account)
        except KantaError:
            return
        app.page.pop_dialog()
        app.toast(app.tr("deleted"))
        app.sign_out()
