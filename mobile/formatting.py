"""Numbers, money, moments and QR pictures in the user's language (Babel), and a failed call in words.

Plain Python, no Flet: every screen formats through here, none decides a rule.
"""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import qrcode
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from shared.errors import KantaError
from shared.i18n import error_text

LOCALES = {"fi": "fi_FI", "en": "en_IE"}


def locale(lang: str) -> str:
    return LOCALES.get(lang, "fi_FI")


def money(cents: int | None, currency: str = "EUR", lang: str = "fi") -> str:
    """1 234,50 € in Finnish, €1,234.50 in English."""
    return format_currency((cents or 0) / 100, currency, locale=locale(lang))


def number(value, lang: str = "fi") -> str:
    return format_decimal(value or 0, locale=locale(lang))


def parse_time(value: str | dt.datetime | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


def when(value, lang: str, tz: str = "Europe/Helsinki") -> str:
    moment = parse_time(value)
    return format_datetime(moment, "short", tzinfo=ZoneInfo(tz), locale=locale(lang)) if moment else ""


def day(value, lang: str, tz: str = "Europe/Helsinki") -> str:
    moment = parse_time(value)
    return format_date(moment.astimezone(ZoneInfo(tz)), "medium", locale=locale(lang)) if moment else ""


def png_qr(payload: str, *, box_size: int = 10, border: int = 2) -> bytes:
    """A QR code as PNG bytes (qrcode + Pillow), for ft.Image(src=...)."""
    image = qrcode.make(payload, box_size=box_size, border=border)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def problem(error: Exception, lang: str) -> str:
    """What to tell the user about a failed call, in their language."""
    if isinstance(error, KantaError):
        return error_text(error, lang)
    return error_text("unexpected_error", lang)
