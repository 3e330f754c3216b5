"""Feedback: the NPS summary and each response, with a reply that reaches the member's inbox."""

from __future__ import annotations

import flet as ft

from mobile.app import App
from mobile.formatting import number
from mobile.owner import models as om
from mobile.owner.state import FeedbackList
from mobile.widgets import tagged
from shared.errors import KantaError


class FeedbackSection:
    def __init__(self, app: App, state: FeedbackList, tools):
        self.app, self.state, self.tools = app, state, tools
        self.replies: dict[str, ft.TextField] = {}

    def body(self) -> list[ft.Control]:
        app = self.app
        summary = self.state.load()
        self.replies = {}
        rows = [self.item(i) for i in summary["recent"]]
        nps = summary.get("nps")
        text = app.tr(
            "feedback_summary",
            n=summary["responses"],
            nps="—" if nps is None else number(nps, app.lang),
            promoters=summary["promoters"],
            passives=summary["passives"],
            detractors=summary["detractors"],
        )
        return [tagged("feedback-summary", ft.Text(text, size=16)), *(rows or [ft.Text(app.tr("no_feedback"))])]

    def item(self, item: dict) -> ft.Control:
        app = self.app
        reply = ft.TextField(label=app.tr("reply"), value=item.get("reply") or "")
        self.replies[item["id"]] = reply
        send = ft.IconButton(
            ft.Icons.SEND, tooltip=app.tr("send_reply"), on_click=lambda _e, i=item["id"]: self.reply(i)
        )
        return tagged(
            f"feedback-{item['id']}",
            ft.Card(
                ft.Container(
                    ft.Column(
                        [
                            ft.Text(om.feedback_line(item, app.lang, self.tools.tz), weight=ft.FontWeight.W_600),
                            ft.Text(item.get("comment") or "—"),
                            ft.Row(
                                [
                                    ft.Container(tagged(f"reply-text-{item['id']}", reply), expand=True),
                                    tagged(f"reply-{item['id']}", send),
                                ]
                            ),
                        ]
                    ),
                    padding=12,
                )
            ),
        )

    def reply(self, feedback_id: str) -> None:
        try:
            self.app.attempt(self.state.reply, feedback_id, self.replies[feedback_id].value)
        except KantaError:
            return
        self.app.toast(self.app.tr("reply_sent"))
