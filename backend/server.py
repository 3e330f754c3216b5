"""The ASGI app: the Flet web app at / plus Kanta's own HTTP routes, served by uvicorn."""

from __future__ import annotations

from collections.abc import Callable

import flet_web.fastapi as flet_fastapi
from starlette.responses import JSONResponse

from backend.transport.base import Transport


def build_app(new_transport: Callable[[], Transport], *, describe: Callable[[], dict] | None = None):
    """`new_transport()` gives each browser session its own signed-out transport."""
    from mobile.main import make_main

    app = flet_fastapi.FastAPI()

    @app.get("/healthz")
    def healthz():
        return JSONResponse({"ok": True, **(describe() if describe else {})})

    app.mount(
        "/",
        flet_fastapi.app(
            make_main(new_transport),
            app_name="Kanta",
            app_short_name="Kanta",
            app_description="Kanta loyalty wallet",
            no_cdn=True,  # never reach a CDN: CanvasKit and fonts come from flet-web
        ),
    )
    return app
