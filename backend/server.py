"""The ASGI app: the Flet web app at / plus Kanta's own HTTP routes, served by uvicorn."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft
import flet_web.fastapi as flet_fastapi
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from shared.errors import Conflict, InvalidInput, KantaError, NotFound, PermissionDenied, Unavailable
from shared.i18n import LANGUAGES, error_text
from shared.transport import Transport

# A WooCommerce order is a few kilobytes; anything far larger is not one.
MAX_WEBHOOK_BYTES = 1_000_000

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


def build_app(
    new_transport: Callable[[], Transport],
    *,
    describe: Callable[[], dict] | None = None,
    public_url: str = "http://127.0.0.1:8550",
):
    """`new_transport()` gives each browser session its own signed-out transport."""
    from backend import landing
    from mobile.main import make_main

    def anon_rpc(name: str, params: dict):
        transport = new_transport()
        try:
            return transport.rpc(name, params)
        finally:
            transport.close()

    app = flet_fastapi.FastAPI()

    @app.middleware("http")
    async def security_headers(request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response

    def rpc_response(call: Callable[[], object]) -> JSONResponse:
        """The API's answer as JSON; a typed error as its HTTP status with the message in both languages."""
        try:
            return JSONResponse(call())
        except KantaError as exc:
            status = 500
            for kind, code in (
                (PermissionDenied, 401),
                (NotFound, 404),
                (InvalidInput, 400),
                (Conflict, 409),
                (Unavailable, 503),
            ):
                if isinstance(exc, kind):
                    status = code
                    break
            return JSONResponse(
                {"error": exc.code, "message": {lang: error_text(exc, lang) for lang in LANGUAGES}}, status_code=status
            )

    @app.post("/hooks/woocommerce/{slug}")
    async def woocommerce_webhook(slug: str, request: Request):
        """A WooCommerce order webhook. The signature check and every rule are in the SQL function."""
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BYTES:
            return JSONResponse({"error": "invalid_webhook_payload"}, status_code=413)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        params = {
            "p_slug": slug,
            "p_topic": request.headers.get("x-wc-webhook-topic"),
            "p_signature": request.headers.get("x-wc-webhook-signature"),
            "p_body": text,
        }

        return await run_in_threadpool(rpc_response, lambda: anon_rpc("woocommerce_webhook", params))

    @app.get("/r/{code}")
    async def referral_landing(code: str, request: Request):
        """The shared referral link: Open Graph tags for the preview, then a button into the app."""
        lang = landing.pick_language(request.headers.get("accept-language"))
        try:
            preview = await run_in_threadpool(anon_rpc, "referral_preview", {"p_code": code})
        except NotFound:
            return HTMLResponse(landing.not_found_page(lang), status_code=404)
        except InvalidInput:
            return HTMLResponse(landing.not_found_page(lang), status_code=404)
        return HTMLResponse(landing.referral_page(preview, public_url, lang))

    @app.get("/r/{code}/qr.png")
    async def referral_qr(code: str):
        """The preview image: a QR code of the link itself, to scan from another screen."""
        from shared.links import referral_link

        if not code.isascii() or not code.replace("-", "").isalnum() or len(code) > 32:
            return Response(status_code=404)
        return Response(landing.qr_png(referral_link(public_url, code)), media_type="image/png")

    @app.get("/healthz")
    def healthz():
        return JSONResponse({"ok": True, **(describe() if describe else {})})

    app.mount(
        "/",
        flet_fastapi.app(
            make_main(new_transport, public_url=public_url),
            app_name="Kanta",
            app_short_name="Kanta",
            app_description="Kanta loyalty wallet",
            no_cdn=True,  # never reach a CDN: the renderer and fonts come from flet-web
            # skwasm shows the first screen in about 1.9 s warm where CanvasKit takes 2.4-2.7 s
            # (`kanta bench ui`); FLET_WEB_RENDERER still overrides it (the screenshots use canvaskit).
            web_renderer=ft.WebRenderer.SKWASM,
        ),
    )
    return app
