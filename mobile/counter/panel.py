"""What the counter shows of its state: the member's panel (or the search's results, or a member
number to confirm), the purchase's confirmation card, and the purchases waiting in the queue."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from mobile.counter.models import purchase_result_lines
from mobile.counter.offline import ASKS_STAFF, LARGE_AMOUNT
from mobile.counter.state import CounterState
from mobile.formatting import money, number, problem, when
from mobile.widgets import tagged, vip_badge
from shared.errors import KantaError
from shared.i18n import t


def member_panel(state: CounterState, lang: str, *, pick: Callable[[str], None], redeem: Callable[[str], None]):
    """The controls for what identify_member (or the search) answered."""
    p = state.panel
    if state.offline_code:
        return [tagged("offline-member", ft.Text(t("counter_offline_member", lang, code=state.offline_code), size=16))]
    if not p and state.unconfirmed:
        confirm = ft.FilledButton(
            t("counter_confirm", lang), icon=ft.Icons.VERIFIED_USER, on_click=lambda _e, n=state.unconfirmed: pick(n)
        )
        lines = [
            ft.Text(t("member_number", lang, number=state.unconfirmed), size=20),
            ft.Text(t("member_number_needs_confirmation", lang)),
            ft.Row([tagged("confirm-member", confirm)]),
        ]
        return [ft.Card(ft.Container(ft.Column(lines, spacing=8), padding=16))]
    if not p and state.found:
        return [
            tagged(
                f"found-{m['member_number']}",
                ft.ListTile(
                    leading=ft.Icon(ft.Icons.PERSON_SEARCH),
                    title=ft.Text(m.get("display_name") or m["member_number"]),
                    subtitle=ft.Text(f"{m.get('email') or ''} · {m['member_number']}"),
                    on_click=lambda _e, n=m["member_number"]: pick(n),
                ),
                label=m.get("display_name") or m["member_number"],
            )
            for m in state.found
        ]
    if not p:
        return [ft.Text(t("counter_scan_hint", lang), size=16)]
    name = p.get("display_name") or t("member_number", lang, number=p["member_number"])
    tz = state.place.get("timezone") or "Europe/Helsinki"
    visit = (
        t("counter_last_visit", lang, when=when(p["last_visit_at"], lang, tz))
        if p.get("last_visit_at")
        else t("counter_first_visit", lang)
    )
    badge = [vip_badge(lang)] if p.get("vip") else []
    lines: list[ft.Control] = [
        # Tagged so that screen readers (and the browser tests) get the name and the badge.
        tagged("panel-name", ft.Row([ft.Text(name, size=24, weight=ft.FontWeight.BOLD)] + badge)),
        tagged(
            "panel-stamps", ft.Text(t("stamps_of", lang, stamps=p["stamps"], per_card=p["stamps_per_card"]), size=20)
        ),
        tagged("panel-points", ft.Text(t("points_n", lang, points=number(p["points"], lang)), size=20)),
        tagged("panel-tier", ft.Text(f"{t('tier', lang)}: {p.get('tier') or '—'}")),
        tagged("panel-last-visit", ft.Text(visit)),
    ]
    for v in p.get("vouchers", []):
        lines.append(
            tagged(
                f"redeem-{v['code']}",
                ft.OutlinedButton(
                    t("counter_redeem", lang, title=v["title"]),
                    icon=ft.Icons.REDEEM,
                    on_click=lambda _e, code=v["code"]: redeem(code),
                ),
            )
        )
    return [ft.Card(ft.Container(ft.Column(lines, spacing=6), padding=16))]


def result_card(state: CounterState, lang: str, *, undo: Callable) -> list[ft.Control]:
    r = state.result
    if not r:
        return []
    currency = state.place.get("currency") or "EUR"
    title = t("counter_recorded", lang, amount=money(r["amount_cents"], currency, lang))
    lines = [tagged("result-title", ft.Text(title, size=20, weight=ft.FontWeight.BOLD))]
    lines += [tagged("result-line", ft.Text(line, size=18)) for line in purchase_result_lines(r, lang)]
    lines.append(tagged("undo", ft.TextButton(t("counter_undo", lang), icon=ft.Icons.UNDO, on_click=undo)))
    return [ft.Card(ft.Container(ft.Column(lines, spacing=4), padding=16, bgcolor=ft.Colors.GREEN_50))]


def confirm_large(
    state: CounterState, lang: str, cents: int, limit: int | None, on_click: Callable
) -> list[ft.Control]:
    """The database asks to confirm an amount above the owner's limit: say it, and offer to send it again."""
    currency = state.place.get("currency") or "EUR"
    amount = money(cents, currency, lang)
    text = t("counter_large_amount", lang, amount=amount, limit=money(limit, currency, lang)) if limit else None
    lines: list[ft.Control] = [
        tagged("large-amount", ft.Text(text or t("large_amount_needs_confirmation", lang), size=18)),
        tagged(
            "confirm-large",
            ft.FilledButton(
                t("counter_confirm_large", lang, amount=amount), icon=ft.Icons.PRICE_CHECK, on_click=on_click
            ),
        ),
    ]
    return [ft.Card(ft.Container(ft.Column(lines, spacing=8), padding=16, bgcolor=ft.Colors.AMBER_50))]


def override_button(lang: str, on_click: Callable) -> ft.Control:
    return tagged(
        "override",
        ft.FilledButton(
            t("counter_override", lang),
            icon=ft.Icons.GAVEL,
            on_click=on_click,
            style=ft.ButtonStyle(bgcolor=ft.Colors.ORANGE_800),
        ),
    )


def pending(
    state: CounterState, lang: str, *, confirm: Callable[[str], None], dismiss: Callable[[str], None]
) -> list[ft.Control]:
    """The queue's count, and each purchase the database refused or asks the staff to confirm."""
    waiting = state.queue.entries()
    if not waiting:
        return []
    currency = state.place.get("currency") or "EUR"
    rows: list[ft.Control] = [
        tagged(
            "pending",
            ft.Container(
                ft.Text(t("counter_pending", lang, n=len(waiting)), color=ft.Colors.WHITE),
                bgcolor=ft.Colors.ORANGE_800,
                padding=ft.Padding.symmetric(vertical=4, horizontal=10),
                border_radius=12,
            ),
        )
    ]
    for e in waiting:
        amount = money(e["amount_cents"], currency, lang)
        why = ft.Text(problem(KantaError(e["refused"]), lang)) if e.get("refused") else None
        if e.get("refused") in ASKS_STAFF:  # the database asks; the staff answer
            if e["refused"] == LARGE_AMOUNT:
                title = t("counter_large_line", lang, amount=amount)
            else:
                title = t("counter_confirm_line", lang, amount=amount, number=e["code"])
            buttons = [
                tagged(
                    f"confirm-{e['key']}",
                    ft.FilledButton(t("counter_confirm", lang), on_click=lambda _e, k=e["key"]: confirm(k)),
                ),
                tagged(
                    f"discard-{e['key']}",
                    ft.TextButton(t("counter_discard", lang), on_click=lambda _e, k=e["key"]: dismiss(k)),
                ),
            ]
            rows.append(
                tagged(
                    f"to-confirm-{e['key']}",
                    ft.ListTile(
                        leading=ft.Icon(ft.Icons.VERIFIED_USER, color=ft.Colors.ORANGE_800),
                        title=ft.Text(title),
                        subtitle=why,
                        trailing=ft.Row(buttons, tight=True),
                    ),
                )
            )
        elif e.get("refused"):
            rows.append(
                tagged(
                    f"refused-{e['key']}",
                    ft.ListTile(
                        leading=ft.Icon(ft.Icons.WARNING, color=ft.Colors.ERROR),
                        title=ft.Text(t("counter_refused_line", lang, amount=amount)),
                        subtitle=why,
                        trailing=ft.TextButton(t("counter_dismiss", lang), on_click=lambda _e, k=e["key"]: dismiss(k)),
                    ),
                )
            )
    return rows
