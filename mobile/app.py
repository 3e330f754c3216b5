"""The session's app: what the shell hands every screen (the page, the language, the clock, the
frame, toasts and where signing out leads). Screens talk to each other only through it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import flet as ft
import platformdirs

from mobile.formatting import problem
from mobile.widgets import language_switch, tagged
from shared.errors import KantaError
from shared.i18n import DEFAULT_LANGUAGE, t


class App:
    def __init__(
        self,
        page: ft.Page,
        *,
        lang: str = DEFAULT_LANGUAGE,
        public_url: str = "http://127.0.0.1:8550",
        timers: bool = True,
        clock: Callable[[], dt.datetime] | None = None,
        queue_dir: Path | None = None,
    ):
        self.page, self.lang, self.public_url, self.timers = page, lang, public_url, timers
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        # Where the counter keeps purchases made while the backend is unreachable.
        self.queue_dir = queue_dir or Path(platformdirs.user_data_dir("kanta")) / "counter-queue"
        self.screen = "signin"  # the screen on show, by name
        self.notice: str | None = None  # the last toast
        self.rerender: Callable[[], None] = lambda: None  # draws the screen again, e.g. in another language
        self.sign_out: Callable[[], None] = lambda: None  # the shell's; screens call it, none owns it

    def tr(self, key: str, **values) -> str:
        return t(key, self.lang, **values)

    def toast(self, text: str) -> None:
        self.notice = text
        self.page.show_dialog(ft.SnackBar(content=ft.Text(text), duration=ft.Duration(seconds=4)))

    def attempt(self, command: Callable, *args, **kwargs):
        """Run a state object's command; a refusal is shown in the user's language and raised again."""
        try:
            return command(*args, **kwargs)
        except KantaError as exc:
            self.toast(problem(exc, self.lang))
            raise

    def set_language(self, lang: str) -> None:
        self.lang = lang
        self.rerender()

    def language_switch(self) -> ft.Control:
        return language_switch(self.lang, self.set_language)

    def show(
        self,
        screen: str,
        rerender: Callable[[], None],
        title: str,
        body: list[ft.Control],
        *,
        back: Callable | None = None,
        actions=None,
        wide: bool = False,
        color: str | None = None,
    ) -> None:
        """The page: an app bar (in the café's `color` on a card) and a centred column, full width
        on a phone, narrower on a tablet (`wide`: the whole width, for the counter)."""
        self.screen, self.rerender = screen, rerender
        leading = (
            tagged("back", ft.IconButton(ft.Icons.ARROW_BACK, tooltip=self.tr("back"), on_click=lambda _: back()))
            if back
            else None
        )
        self.page.appbar = ft.AppBar(
            title=ft.Text(title, weight=ft.FontWeight.BOLD),
            leading=leading,
            actions=actions or [],
            bgcolor=color,
            color=ft.Colors.WHITE if color else None,
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
