"""Flet entry point: the wallet and counter screens hang off this page (a welcome placeholder for now)."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from backend.transport.base import Transport
from shared.i18n import DEFAULT_LANGUAGE, t

BRAND = "#6B4F3A"


def welcome_view(lang: str, on_language: Callable[[str], None]) -> ft.Control:
    return ft.SafeArea(
        content=ft.Container(
            padding=24,
            content=ft.Column(
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                spacing=16,
                controls=[
                    ft.Icon(ft.Icons.LOCAL_CAFE, size=64, color=BRAND),
                    ft.Text(t("app_title", lang), size=40, weight=ft.FontWeight.BOLD, color=BRAND),
                    ft.Text(t("tagline", lang), size=18),
                    ft.Text(t("coming_soon", lang), size=14, text_align=ft.TextAlign.CENTER),
                    ft.SegmentedButton(
                        selected=[lang],
                        segments=[
                            ft.Segment(value="fi", label=ft.Text("Suomi")),
                            ft.Segment(value="en", label=ft.Text("English")),
                        ],
                        on_change=lambda e: on_language(list(e.control.selected)[0]),
                    ),
                ],
            ),
        )
    )


def make_main(new_transport: Callable[[], Transport]):
    def main(page: ft.Page) -> None:
        page.title = "Kanta"
        page.theme = ft.Theme(color_scheme_seed=BRAND)
        page.horizontal_alignment = ft.CrossAxisAlignment.CENTER
        transport = new_transport()  # one per browser session; the screens will use it
        page.on_disconnect = lambda _e: transport.close()

        def show(lang: str) -> None:
            page.controls.clear()
            page.add(welcome_view(lang, show))

        show(DEFAULT_LANGUAGE)

    return main


def main(page: ft.Page) -> None:
    """Entry for `flet run` and `flet build` ([tool.flet.app] in pyproject.toml)."""
    from backend.cli import default_transport_factory

    make_main(default_transport_factory())(page)
