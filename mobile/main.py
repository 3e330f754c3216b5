"""Flet entry point: each browser session gets its own transport and the app shell."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import flet as ft

from mobile.shell import Shell
from mobile.widgets import BRAND
from shared.i18n import DEFAULT_LANGUAGE
from shared.transport import Transport


def make_main(
    new_transport: Callable[[], Transport],
    *,
    public_url: str | None = None,
    timers: bool = True,
    queue_dir: Path | None = None,
    on_open: Callable[[Shell], None] | None = None,
):
    """`timers=False` leaves the QR countdown and the queue's replay to the caller (fake-session
    tests tick them by hand); `queue_dir` is where the counter keeps purchases made offline;
    `on_open(shell)` hands each session's shell to the caller (the tests drive it)."""
    public_url = public_url or os.environ.get("KANTA_PUBLIC_URL", "http://127.0.0.1:8550")

    def main(page: ft.Page) -> None:
        page.title = "Kanta"
        page.theme = ft.Theme(color_scheme_seed=BRAND)
        page.scroll = ft.ScrollMode.AUTO
        shell = Shell(
            page, new_transport(), lang=DEFAULT_LANGUAGE, public_url=public_url, timers=timers, queue_dir=queue_dir
        )
        page.on_disconnect = lambda _e: shell.close()
        if on_open is not None:
            on_open(shell)
        shell.start(page.route)

    return main


def main(page: ft.Page) -> None:
    """Entry for `flet run` and `flet build` ([tool.flet.app] in pyproject.toml)."""
    from backend.bootstrap import wire

    make_main(wire().new_transport)(page)
