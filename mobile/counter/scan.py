"""Camera scanning at the counter: a frame from the tablet's camera (flet-camera) decoded with
zxing-cpp. The decoded text goes into the same code field a keyboard-wedge scanner types into."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image, UnidentifiedImageError


def decode_qr(image_bytes: bytes) -> str | None:
    """The first QR code's text in an encoded image (JPEG or PNG), or None when there is none."""
    try:
        image = Image.open(io.BytesIO(image_bytes))
        image.load()
    except (UnidentifiedImageError, OSError):
        return None
    found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return found[0].text if found else None
