"""The app shell: the route (/ or /join/{slug}?ref={code}), sign-in, and where each user lands
(staff and owners on their café's counter, customers on their wallet). One per session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import flet as ft

from mobile.account import Account
from mobile.app import App
from mobile.counter.screen import CounterScreen
from mobile.formatting import problem
from mobile.wallet.cards import hero
from mobile.wallet.customer import Customer
from mobile.wallet.state import Join
from mobile.widgets import tagged
from shared.errors import KantaError
from shared.i18n import DEFAULT_LANGUAGE
from shared.transport import Transport


def parse_route(route: str | None) -> tuple[list[str], dict[str, str]]:
    parsed = urlparse(route or "/")
    parts = [unquote(p) for p in parsed.path.split("/") if p]
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    return parts, query


class Shell:
    def __init__(
        self,
        page: ft.Page,
        api: Transport,
        *,
        lang: str = DEFAULT_LANGUAGE,
        public_url: str = "http://127.0.0.1:8550",
        timers: bool = True,
        clock: Callable[[], dt.datetime] | None = None,
        queue_dir: Path | None = None,
    ):
        self.app = App(page, lang=lang, public_url=public_url, timers=timers, clock=clock, queue_dir=queue_dir)
        self.app.sign_out = self.sign_out
        self.api = api
        self.account = Account(api)
        self.customer = Customer(self.app, api)
        self.counter: CounterScreen | None = None
        self.join: Join | None = None

    def start(self, route: str | None) -> None:
        parts, query = parse_route(route)
        if len(parts) == 2 and parts[0] == "join":
            self.join = Join(self.api, parts[1], query.get("ref"))
        if not self.account.signed_in:
            self.show_sign_in()
        else:
            self.land()

    def land(self) -> None:
        """After sign-in: the join that brought them, their café's counter, or their wallet."""
        if self.join and not self.join.joined:
            self.customer.join(self.join)
            return
        # Unavailable goes up to the sign-in screen, which says the server cannot be reached.
        workplaces = self.account.workplaces()
        if workplaces:  # the first workplace's counter (choosing among several cafés is still to come)
            self.counter = CounterScreen(self.app, self.api, workplaces[0])
            self.counter.show()
        else:
            self.customer.show_wallet()

    def show_sign_in(self) -> None:
        app, account = self.app, self.account
        email = ft.TextField(label=app.tr("email"), keyboard_type=ft.KeyboardType.EMAIL, autofocus=True)
        password = ft.TextField(label=app.tr("password"), password=True, can_reveal_password=True)
        code = ft.TextField(label=app.tr("otp_code"), keyboard_type=ft.KeyboardType.NUMBER)
        error = ft.Text("", color=ft.Colors.ERROR)

        def attempt(action: Callable[[], object], then: Callable[[], None] = self.land) -> None:
            try:
                action()
                then()
            except KantaError as exc:
                error.value = problem(exc, app.lang)
                app.page.update()

        body: list[ft.Control] = [hero(app, self.join)]
        if account.by_code and account.otp_email:
            verify = ft.FilledButton(
                app.tr("verify_code"), on_click=lambda _: attempt(lambda: account.verify_code(code.value))
            )
            body += [
                ft.Text(app.tr("code_sent", email=account.otp_email)),
                tagged("otp-code", code),
                tagged("verify", verify),
            ]
        elif account.by_code:
            send = ft.FilledButton(
                app.tr("send_code"),
                on_click=lambda _: attempt(lambda: account.send_code(email.value), self.show_sign_in),
            )
            body += [tagged("email", email), tagged("send-code", send)]
        else:
            password.on_submit = lambda _: attempt(lambda: account.sign_in(email.value, password.value))
            body += [
                tagged("email", email),
                tagged("password", password),
                tagged(
                    "sign-in",
                    ft.FilledButton(
                        app.tr("sign_in"),
                        on_click=lambda _: attempt(lambda: account.sign_in(email.value, password.value)),
                    ),
                ),
                tagged(
                    "sign-up",
                    ft.OutlinedButton(
                        app.tr("sign_up"),
                        on_click=lambda _: attempt(lambda: account.sign_up(email.value, password.value)),
                    ),
                ),
            ]
        body += [error, app.language_switch()]
        app.show("signin", self.show_sign_in, "", body)

    def sign_out(self) -> None:
        self.customer.close()
        self.account.sign_out()
        self.show_sign_in()

    def close(self) -> None:
        self.app.screen = "closed"
        self.customer.close()
        self.account.close()
