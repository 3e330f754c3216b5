"""Flet entry point: each browser session gets its own transport and the customer wallet."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import flet as ft

from mobile.wallet import BRAND, WalletApp
from shared.i18n import DEFAULT_LANGUAGE
from shared.transport import Transport


def make_main(
    new_transport: Callable[[], Transport],
    *,
    public_url: str | None = None,
    timers: bool = True,
    queue_dir: Path | None = None,
):
    """`timers=False` leaves the QR countdown and the queue's replay to the caller (fake-session
    tests tick them by hand); `queue_dir` is where the counter keeps purchases made offline."""
    public_url = public_url or os.environ.get("KANTA_PUBLIC_URL", "http://127.0.0.1:8550")

    def main(page: ft.Page) -> None:
        page.title = "Kanta"
        page.theme = ft.Theme(color_scheme_seed=BRAND)
        page.scroll = ft.ScrollMode.AUTO
        app = WalletApp(
            page, new_transport(), lang=DEFAULT_LANGUAGE, public_url=public_url, timers=timers, queue_dir=queue_dir
        )
        page.data = app  # tests and the owner screens reach the session's app here
        page.on_disconnect = lambda _e: app.close()
        app.start(page.route)

    return main


def main(page: ft.Page) -> None:
    """Entry for `flet run` and `flet build` ([tool.flet.app] in pyproject.toml)."""
    from backend.bootstrap import wire

    make_main(wire().new_transport)(page)
