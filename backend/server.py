"""The ASGI app: the Flet web app at / plus Kanta's own HTTP routes, served by uvicorn."""

from __future__ import annotations

from collections.abc import Callable

import flet_web.fastapi as flet_fastapi
from starlette.responses import JSONResponse

from backend.transport.base import Transport

# Everything the app needs is served from here: flet-web's bundle still names a CDN for the Rive
# runtime even with no_cdn, so the browser is told to fetch from this origin only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self' blob: data:",
        "worker-src 'self' blob:",
        "frame-ancestors 'none'",
    ]
)


def build_app(new_transport: Callable[[], Transport], *, describe: Callable[[], dict] | None = None):
    """`new_transport()` gives each browser session its own signed-out transport."""
    from mobile.main import make_main

    app = flet_fastapi.FastAPI()

    @app.middleware("http")
    async def security_headers(request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response

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
