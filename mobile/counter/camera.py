"""Scanning with the tablet's camera where the platform has one (flet-camera): frames are decoded
(zxing-cpp) until a QR code reads, and its text goes in as if a scanner had typed it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import flet as ft

from mobile.app import App
from mobile.counter.scan import decode_qr


async def scan_with_camera(app: App, found: Callable[[str], None]) -> None:
    import flet_camera as fc  # the plugin loads only when a camera is asked for

    camera = fc.Camera(preview_enabled=True, expand=True)
    dialog = ft.AlertDialog(
        title=ft.Text(app.tr("counter_camera")),
        content=ft.Container(camera, width=480, height=360),
        actions=[ft.TextButton(app.tr("close"), on_click=lambda _e: app.page.pop_dialog())],
    )
    app.page.show_dialog(dialog)
    try:
        cameras = await camera.get_available_cameras()
        if not cameras:
            raise LookupError("no camera")
        back = next((c for c in cameras if c.lens_direction == fc.CameraLensDirection.BACK), cameras[0])
        await camera.initialize(back, fc.ResolutionPreset.MEDIUM, enable_audio=False)
        while dialog.open:
            code = await asyncio.to_thread(decode_qr, await camera.take_picture())
            if code:
                app.page.pop_dialog()
                found(code)
                return
            await asyncio.sleep(0.25)
    except Exception:  # noqa: BLE001 - no camera, no permission, or a platform without the plugin
        if dialog.open:
            app.page.pop_dialog()
        app.toast(app.tr("counter_no_camera"))
