"""The widgets every screen shares: a tagged control (tests and screen readers find it), a stamp
slot, the VIP badge, a heading and the language switch."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import flet as ft

from shared.i18n import t

if TYPE_CHECKING:  # the type only: the wallet builds on these widgets, not the other way round
    from mobile.wallet.models import Slot

BRAND = "#6B4F3A"


def tagged(identifier: str, control: ft.Control, label: str | None = None) -> ft.Semantics:
    """A control with a stable identifier for tests, and a label for screen readers. An icon
    button's wrapper is marked a button, so its tooltip names it (else the button is nameless)."""
    # A ResponsiveRow sizes its direct children, so the wrapper carries the control's columns.
    col = getattr(control, "col", 12)
    if isinstance(control, ft.IconButton):
        return ft.Semantics(identifier=identifier, label=label, button=True, content=control, col=col)
    return ft.Semantics(identifier=identifier, label=label, content=control, col=col)


def heading(text: str) -> ft.Text:
    return ft.Text(text, size=20, weight=ft.FontWeight.BOLD)


def vip_badge(lang: str, *, size: int | None = None, vertical: int = 2, horizontal: int = 8) -> ft.Container:
    return ft.Container(
        ft.Text(t("vip_badge", lang), color=ft.Colors.WHITE, size=size),
        bgcolor=ft.Colors.AMBER_800,
        padding=ft.Padding.symmetric(vertical=vertical, horizontal=horizontal),
        border_radius=8,
    )


def slot_face(slot: Slot, color: str, lang: str) -> ft.Control:
    """One cup of a stamp card: stamped, the reward slot, or empty."""
    if slot.stamped:
        icon, fg, bg, label = ft.Icons.COFFEE, ft.Colors.WHITE, color, t("stamped", lang)
    elif slot.reward:
        icon, fg, bg, label = ft.Icons.CARD_GIFTCARD, color, ft.Colors.with_opacity(0.12, color), t("reward_slot", lang)
    else:
        icon, fg, bg, label = ft.Icons.COFFEE_OUTLINED, ft.Colors.with_opacity(0.5, color), None, t("empty_slot", lang)
    return ft.Container(
        ft.Icon(icon, color=fg, size=26),
        key=f"{slot.index}-{slot.stamped}",
        width=48,
        height=48,
        border_radius=24,
        bgcolor=bg,
        border=ft.Border.all(2, color),
        alignment=ft.Alignment.CENTER,
        tooltip=label,
    )


def language_switch(lang: str, on_change: Callable[[str], None]) -> ft.Control:
    return tagged(
        "language",
        ft.SegmentedButton(
            selected=[lang],
            segments=[
                ft.Segment(value="fi", label=ft.Text("Suomi")),
                ft.Segment(value="en", label=ft.Text("English")),
            ],
            on_change=lambda e: on_change(list(e.control.selected)[0]),
        ),
        label=t("language", lang),
    )
