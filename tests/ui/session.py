"""Fake-session harness: a real flet Session on a connection that records instead of sending.

Uses flet internals (Session, Connection), which is why flet is pinned exactly.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import flet as ft
import msgpack
from flet.controls.base_control import BaseControl
from flet.controls.context import _context_page, context
from flet.messaging.connection import Connection
from flet.messaging.protocol import configure_encode_object_for_msgpack
from flet.messaging.session import Session
from flet.pubsub.pubsub_hub import PubSubHub

_ENCODE = configure_encode_object_for_msgpack(BaseControl)


class RecordingConnection(Connection):
    """Serialises every message exactly as flet_web does; flet takes its diff snapshots while encoding."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        super().__init__()
        self.loop = loop
        self.executor = ThreadPoolExecutor(max_workers=2)
        self.pubsubhub = PubSubHub(loop=loop, executor=self.executor)
        self.sent: list = []

    def send_message(self, message) -> None:
        self.sent.append(msgpack.packb([message.action, message.body], default=_ENCODE))

    def register(self, page_patch) -> None:
        self.sent.append(msgpack.packb(page_patch, default=_ENCODE))


class _Errors(logging.Handler):
    """flet logs an exception raised in an event handler and carries on; a test must not."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def open_app(new_transport, *, route: str = "/", width: float = 400, height: float = 800, **options) -> FakeSession:
    """The app (mobile.main.make_main) in a fake session; `.shell` is the session's shell and `.app`
    what its screens share (the screen on show, the last toast)."""
    from mobile.main import make_main

    shells = []
    main = make_main(new_transport, timers=False, on_open=shells.append, **options)
    session = FakeSession(main, route=route, width=width, height=height)
    session.shell = shells[-1]
    session.app = session.shell.app
    return session


class FakeSession:
    """Run `main(page)` in a session, then fire events at controls as the browser would."""

    shell = None  # set by open_app
    app = None

    def __init__(self, main, *, width: float = 400, height: float = 800, route: str = "/"):
        self.errors = _Errors()
        logging.getLogger("flet").addHandler(self.errors)
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.conn = RecordingConnection(self.loop)
        self.session = Session(self.conn)
        self.page: ft.Page = self.session.page
        self.session.apply_page_patch({"width": width, "height": height, "route": route})
        self.loop.run_until_complete(self._start(main))
        self.settle()

    def settle(self) -> None:
        """Let flet's update scheduler send what the last step changed."""
        self.loop.run_until_complete(asyncio.sleep(0.02))

    def wait_for(self, condition, timeout: float = 5.0) -> bool:
        """Run the page's loop (live events, tasks) until condition() holds; False on timeout."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            self.loop.run_until_complete(asyncio.sleep(0.05))
        return condition()

    async def _start(self, main) -> None:
        # The steps flet_web's FletApp takes for a new client: register (which sends and
        # indexes the page), then run main inside the loop, then flush updates.
        self.session.start_updates_scheduler()
        self.conn.register(self.session.get_page_patch())
        _context_page.set(self.page)
        context.reset_auto_update()
        result = main(self.page)
        if asyncio.iscoroutine(result):
            await result
        await self.session.after_event(self.page)

    def fire(self, control: ft.Control, event: str, data=None, *, patch: dict | None = None) -> None:
        """As the browser does: first patch the properties the user changed, then send the event."""
        if patch:
            self.session.apply_patch(control._i, patch)
        self.loop.run_until_complete(self.session.dispatch_event(control._i, event, data))
        self.settle()
        self.raise_errors()

    def raise_errors(self) -> None:
        if self.errors.records:
            record = self.errors.records.pop(0)
            raise AssertionError(f"an event handler failed: {record.getMessage()}\n{record.exc_text or ''}") from (
                record.exc_info[1] if record.exc_info else None
            )

    def find(self, predicate) -> list[ft.Control]:
        """Every control under the page (depth first) for which predicate(control) holds."""
        found, stack = [], list(self.page.controls) + list(self.page._dialogs.controls)
        if self.page.appbar is not None:
            stack.append(self.page.appbar)
        while stack:
            c = stack.pop(0)
            if predicate(c):
                found.append(c)
            for attr in (
                "content",
                "controls",
                "segments",
                "label",
                "actions",
                "title",
                "leading",
                "trailing",
                "subtitle",
            ):
                child = getattr(c, attr, None)
                if isinstance(child, list):
                    stack.extend(x for x in child if isinstance(x, ft.BaseControl))
                elif isinstance(child, ft.BaseControl):
                    stack.append(child)
        return found

    def by_id(self, identifier: str) -> ft.Control:
        """The control wrapped in ft.Semantics(identifier=...)."""
        [wrapper] = self.find(lambda c: isinstance(c, ft.Semantics) and c.identifier == identifier)
        return wrapper.content

    def wrapper(self, identifier: str) -> ft.Semantics:
        [wrapper] = self.find(lambda c: isinstance(c, ft.Semantics) and c.identifier == identifier)
        return wrapper

    def has(self, identifier: str) -> bool:
        return bool(self.find(lambda c: isinstance(c, ft.Semantics) and c.identifier == identifier))

    def click(self, identifier: str) -> None:
        self.fire(self.by_id(identifier), "click")

    def type(self, identifier: str, value: str) -> None:
        """Type into a field as the browser does: the new value arrives as a patch, then a change event."""
        field = self.by_id(identifier)
        self.fire(field, "change", value, patch={"value": value})

    def submit(self, identifier: str, value: str) -> None:
        """What a keyboard-wedge scanner (or a typist) does: the text, then Enter."""
        field = self.by_id(identifier)
        self.fire(field, "change", value, patch={"value": value})
        self.fire(field, "submit", value)

    def sign_in(self, email: str, password: str = "correct horse battery") -> None:
        self.type("email", email)
        self.type("password", password)
        self.click("sign-in")

    def texts(self) -> list[str]:
        texts = [c.value for c in self.find(lambda c: isinstance(c, ft.Text)) if c.value]
        # Buttons carry their caption as a plain string.
        return texts + [c.content for c in self.find(lambda c: isinstance(getattr(c, "content", None), str))]

    def close(self) -> None:
        if self.shell is not None:
            self.shell.close()
        logging.getLogger("flet").removeHandler(self.errors)

        async def _close():
            self.session.close()

        self.loop.run_until_complete(_close())
        self.conn.executor.shutdown(wait=False)
        self.loop.close()
