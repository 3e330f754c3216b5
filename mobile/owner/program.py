"""Program settings and the rewards catalogue, with a live preview of the customer's card."""

from __future__ import annotations

import flet as ft

from mobile.app import App
from mobile.formatting import problem
from mobile.owner import models as om
from mobile.owner.state import Program
from mobile.wallet.models import stamp_slots
from mobile.widgets import slot_face, tagged
from shared.errors import KantaError


class ProgramSection:
    def __init__(self, app: App, state: Program, tools):
        self.app, self.state, self.tools = app, state, tools

    def body(self) -> list[ft.Control]:
        app = self.app
        program = self.state.load()
        self.fields: dict[str, ft.TextField] = {
            key: ft.TextField(
                label=app.tr(f"setting_{key}"),
                value=str(program[key]),
                on_change=self.preview,
                col={"xs": 12, "md": 6},
                keyboard_type=None if key in om.TEXT_FIELDS else ft.KeyboardType.NUMBER,
            )
            for key in om.PROGRAM_FIELDS
        }
        for key, value in (
            ("rewards", om.rewards_text(program["rewards"])),
            ("tiers", om.tiers_text(program["tiers"])),
        ):
            self.fields[key] = ft.TextField(
                label=app.tr(f"setting_{key}"),
                value=value,
                multiline=True,
                min_lines=3,
                helper=app.tr(f"{key}_help"),
                on_change=self.preview,
                col={"xs": 12, "md": 6},
            )
        self.preview_box = ft.Container()
        self.error = ft.Text("", color=ft.Colors.ERROR)
        self.preview()
        form = ft.ResponsiveRow([tagged(f"setting-{k}", f) for k, f in self.fields.items()], spacing=8, run_spacing=8)
        save = ft.FilledButton(app.tr("save"), icon=ft.Icons.SAVE, on_click=self.save)
        return [
            ft.ResponsiveRow(
                [
                    ft.Column([form], col={"xs": 12, "lg": 8}),
                    ft.Column(
                        [ft.Text(app.tr("card_preview"), weight=ft.FontWeight.BOLD), self.preview_box],
                        col={"xs": 12, "lg": 4},
                    ),
                ]
            ),
            self.error,
            ft.Row([tagged("save-program", save)]),
        ]

    def settings(self) -> dict:
        return om.settings_from_form({k: f.value or "" for k, f in self.fields.items()})

    def preview(self, _e=None) -> None:
        """The customer's card as the form stands, redrawn at each keystroke."""
        app, place = self.app, self.tools.place
        card = om.preview_card(self.settings(), {**place, **self.state.program})
        color = card["business"]["color"]
        slots = [slot_face(s, color, app.lang) for s in stamp_slots(card["stamps"], card["stamps_per_card"])]
        self.preview_box.content = tagged(
            "card-preview",
            ft.Card(
                ft.Container(
                    ft.Column(
                        [
                            ft.Text(place["name"], size=18, weight=ft.FontWeight.BOLD, color=color),
                            ft.Text(app.tr("stamps_of", stamps=card["stamps"], per_card=card["stamps_per_card"])),
                            ft.Row(slots, wrap=True, spacing=6, run_spacing=6),
                            ft.Text(app.tr("reward_on_full", reward=card["stamp_reward"]), size=13),
                            ft.Text(" · ".join(card["tiers"]), size=13),
                        ],
                        spacing=8,
                    ),
                    padding=16,
                )
            ),
            label=app.tr("card_preview"),
        )
        if _e is not None:
            self.preview_box.update()

    def save(self, _e=None) -> None:
        try:
            self.state.save(self.settings())
        except KantaError as exc:
            self.error.value = problem(exc, self.app.lang)
            self.app.page.update()
            return
        self.app.toast(self.app.tr("saved"))
        self.tools.show("program")
