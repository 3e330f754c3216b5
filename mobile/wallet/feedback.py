"""Feedback after a visit: a 0–10 score and a comment; the café's review link when it has one."""

from __future__ import annotations

import flet as ft

from mobile.app import App
from mobile.wallet.state import Feedback
from mobile.widgets import tagged
from shared.errors import KantaError


class FeedbackScreen:
    def __init__(self, app: App, feedback: Feedback, nav):
        self.app, self.state, self.nav = app, feedback, nav

    def show(self) -> None:
        app = self.app
        # 0–10 as radio buttons that wrap onto two rows on a phone.
        self.score = ft.RadioGroup(
            content=ft.Row(
                [ft.Radio(value=str(i), label=str(i)) for i in range(11)], wrap=True, spacing=0, run_spacing=0
            ),
        )
        self.comment = ft.TextField(label=app.tr("feedback_comment"), multiline=True, max_length=1000)
        self.result = ft.Column([])
        app.show(
            "feedback",
            self.show,
            app.tr("feedback"),
            [
                ft.Text(app.tr("feedback_question")),
                tagged("score", self.score, label=app.tr("feedback_question")),
                tagged("comment", self.comment),
                tagged("send-feedback", ft.FilledButton(app.tr("send"), on_click=self.send)),
                self.result,
            ],
            back=self.nav.show_card,
            color=self.nav.card.card["business"]["color"],
        )

    def send(self, _=None) -> None:
        app = self.app
        if self.score.value in (None, ""):
            app.toast(app.tr("pick_score"))
            return
        try:
            app.attempt(self.state.send, int(self.score.value), self.comment.value)
        except KantaError:
            return
        self.result.controls = [ft.Text(app.tr("feedback_thanks"), size=18, weight=ft.FontWeight.BOLD)]
        if self.state.review_url:
            self.result.controls.append(
                tagged(
                    "review-link", ft.FilledButton(app.tr("review_us"), icon=ft.Icons.STAR, url=self.state.review_url)
                )
            )
        app.page.update()
