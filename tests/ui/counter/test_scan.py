"""Camera frames decoded with zxing-cpp: a member QR from the wallet, photographed small, rotated and
compressed, still reads; a frame with no code, or not an image at all, reads as nothing."""

import io

from PIL import Image

from mobile.counter.scan import decode_qr
from mobile.formatting import png_qr

TOKEN = "KT0123456789abcdef0123456789abcdef"


def photo(png: bytes, *, scale: float, angle: float, quality: int) -> bytes:
    """The QR as a camera sees it: on a grey background, smaller, tilted, JPEG-compressed."""
    qr = Image.open(io.BytesIO(png)).convert("L")
    qr = qr.resize((int(qr.width * scale), int(qr.height * scale)))
    frame = Image.new("L", (640, 480), 170)
    frame.paste(qr, (120, 60))
    frame = frame.rotate(angle, fillcolor=170)
    out = io.BytesIO()
    frame.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_a_photographed_member_qr_reads():
    assert decode_qr(photo(png_qr(TOKEN), scale=0.8, angle=12, quality=55)) == TOKEN


def test_a_png_from_the_wallet_reads():
    assert decode_qr(png_qr("VABCD2345")) == "VABCD2345"


def test_no_code_or_no_image_is_nothing():
    blank = io.BytesIO()
    Image.new("RGB", (320, 240), "white").save(blank, "JPEG")
    assert decode_qr(blank.getvalue()) is None
    assert decode_qr(b"not an image") is None
