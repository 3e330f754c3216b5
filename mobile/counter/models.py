"""View-models of the counter: plain Python, no Flet. An amount typed in euros, and what
record_purchase's answer means, line by line."""

from __future__ import annotations

from babel.numbers import NumberFormatError, parse_decimal

from mobile.formatting import number
from shared.i18n import t


def parse_amount(text: str, lang: str) -> int | None:
    """'12,50' (or '12.50') euros as 1250 cents; None when it is not a positive amount."""
    cleaned = text.strip().replace("€", "").replace(" ", "").replace("\u00a0", "")
    if not cleaned:
        return None
    try:
        value = parse_decimal(cleaned.replace(".", ","), locale="fi_FI")
    except NumberFormatError:
        return None
    cents = int(value * 100)
    return cents if cents > 0 and value * 100 == cents else None


def purchase_result_lines(answer: dict, lang: str) -> list[str]:
    """What record_purchase's answer means, line by line, for the confirmation card."""
    lines = []
    if answer.get("stamps_added"):
        lines.append(
            t(
                "result_stamps",
                lang,
                n=answer["stamps_added"],
                stamps=answer["stamps"],
                per_card=answer["stamps_per_card"],
            )
        )
    if answer.get("stamp_withheld") == "cooldown":  # points, no stamp: one stamp per cooldown
        lines.append(t("result_stamp_withheld", lang))
    if answer.get("points_added"):
        lines.append(
            t("result_points", lang, n=number(answer["points_added"], lang), points=number(answer["points"], lang))
        )
    if answer.get("points_debt_paid"):
        lines.append(t("result_debt_paid", lang, n=number(answer["points_debt_paid"], lang)))
    for v in answer.get("vouchers_issued", []):
        lines.append(t("result_voucher", lang, title=v["title"], code=v["code"]))
    if answer.get("tier_changed"):
        lines.append(t("result_tier", lang, tier=answer.get("tier_after") or ""))
    if answer.get("referral_completed"):
        lines.append(t("result_referral", lang))
    if answer.get("override"):
        lines.append(t("result_override", lang))
    return lines
