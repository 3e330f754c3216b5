"""View-models of the customer wallet: plain Python, no Flet.

They turn what the API returned into what a screen shows (slots of a stamp card, "120 points to
Gold", a QR countdown, share links). They decide no business rule: every number comes from the
API's answer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from urllib.parse import quote, urlencode

from babel.dates import format_timedelta

from mobile.formatting import locale, money, number, parse_time
from shared.errors import KantaError, Unavailable
from shared.i18n import t

# ---- the card ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Slot:
    index: int
    stamped: bool
    reward: bool  # the last slot holds the reward


def stamp_slots(stamps: int, per_card: int) -> list[Slot]:
    return [Slot(i, i < stamps, i == per_card - 1) for i in range(per_card)]


def stamps_label(card: dict, lang: str) -> str:
    return t("stamps_of", lang, stamps=card["stamps"], per_card=card["stamps_per_card"])


@dataclasses.dataclass(frozen=True)
class TierProgress:
    current: str | None
    next: str | None
    fraction: float
    label: str
    perks: list[str]


def tier_progress(card: dict, lang: str) -> TierProgress:
    tier = card.get("tier") or {}
    current = (tier.get("current") or {}).get("name")
    upcoming = (tier.get("next") or {}).get("name")
    if upcoming:
        label = t("points_to_tier", lang, points=number(tier.get("points_to_next"), lang), tier=upcoming)
    else:
        label = t("top_tier", lang, tier=current or "")
    perks = [perk_text(p, lang) for p in (tier.get("current") or {}).get("perks") or []]
    return TierProgress(current, upcoming, float(tier.get("fraction") or 0), label, perks)


def perk_text(perk: str, lang: str) -> str:
    """A known perk in words; an owner's own perk word as written."""
    text = t(f"perk_{perk}", lang)
    return perk if text == f"perk_{perk}" else text


def affordable_rewards(card: dict) -> list[dict]:
    return [r for r in card.get("rewards", []) if r.get("affordable")]


def wallet_line(card: dict, lang: str) -> str:
    """Stamps and points at a glance, for the wallet list."""
    parts = [
        t("stamps_of", lang, stamps=card["stamps"], per_card=card["stamps_per_card"]),
        t("points_n", lang, points=number(card["points"], lang)),
    ]
    if card.get("vouchers"):
        parts.append(t("vouchers_n", lang, n=card["vouchers"]))
    return " · ".join(parts)


# ---- the member QR ----------------------------------------------------------------------------


class MemberQr:
    """The rotating, single-use member QR: fetch a token, count down, fetch again before it expires.

    `fetch()` calls member_qr_token; `clock()` is the time now. When a refresh fails because the
    server is unreachable, the QR is withdrawn (a stale token would be refused at the counter) and
    the screen says so; the next tick tries again.
    """

    REFRESH_BEFORE = 5  # seconds before expiry

    def __init__(self, fetch: Callable[[], dict], clock: Callable[[], dt.datetime] | None = None):
        self.fetch = fetch
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.token: str | None = None
        self.expires_at: dt.datetime | None = None
        self.offline = False
        self.error: Exception | None = None

    def seconds_left(self) -> int:
        if self.expires_at is None:
            return 0
        return max(0, int((self.expires_at - self.clock()).total_seconds()))

    def tick(self) -> bool:
        """Refresh when due; True when the token changed."""
        if self.token is not None and self.seconds_left() > self.REFRESH_BEFORE:
            return False
        try:
            answer = self.fetch()
        except Unavailable as exc:
            self.offline, self.error = True, exc
            if self.seconds_left() == 0:
                self.token = None
            return False
        except KantaError as exc:
            self.error, self.token = exc, None
            return False
        self.offline, self.error = False, None
        self.token = answer["token"]
        self.expires_at = parse_time(answer["expires_at"])
        return True


# ---- referrals -------------------------------------------------------------------------------


def share_text(card: dict, lang: str) -> str:
    return t(
        "share_text", lang, business=card["business"]["name"], reward=(card.get("referral") or {}).get("welcome_reward")
    )


def share_links(link: str, text: str, subject: str) -> dict[str, str]:
    """The platforms' own share URLs, each prefilled."""
    return {
        "whatsapp": "https://wa.me/?" + urlencode({"text": f"{text} {link}"}, quote_via=quote),
        "facebook": "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": link}, quote_via=quote),
        "x": "https://x.com/intent/post?" + urlencode({"text": text, "url": link}, quote_via=quote),
        "email": "mailto:?" + urlencode({"subject": subject, "body": f"{text}\n\n{link}"}, quote_via=quote),
    }


# ---- drops -----------------------------------------------------------------------------------


def countdown(until, now: dt.datetime, lang: str) -> str:
    moment = parse_time(until)
    if moment is None:
        return ""
    return format_timedelta(moment - now, threshold=1.1, add_direction=True, locale=locale(lang))


def drop_status(drop: dict, vip: bool, now: dt.datetime, lang: str) -> str:
    """What a member sees about a drop: when it opens for them, or that it is open."""
    state = drop["state"]
    if state == "sold_out":
        return t("sold_out", lang)
    if state == "upcoming":
        opens = drop["vip_starts_at"] if vip else drop["public_starts_at"]
        return t("drop_opens", lang, when=countdown(opens, now, lang))
    if state == "vip_window" and not vip:
        return t("drop_public_opens", lang, when=countdown(drop["public_starts_at"], now, lang))
    if state in ("vip_window", "public"):
        if drop["stock_left"] <= 0:
            return t("sold_out", lang)
        return t("drop_open", lang, left=drop["stock_left"], when=countdown(drop["ends_at"], now, lang))
    return t("drop_closed", lang)


# ---- inbox and history ------------------------------------------------------------------------


def message_text(message: dict, lang: str) -> tuple[str, str]:
    """(title, body): automations are stored as kind + data and worded here; owners' as written."""
    kind, data = message["kind"], message.get("data") or {}
    if kind in ("owner", "feedback_reply"):
        title = message.get("title") or t("msg_feedback_reply_title", lang)
        return title, message.get("body") or ""
    values = {k: v for k, v in data.items() if isinstance(v, (str, int, float))}
    if "amount_cents" in data:
        values["amount"] = money(data["amount_cents"], "EUR", lang)
    return t(f"msg_{kind}_title", lang, **values), t(f"msg_{kind}_body", lang, **values)


def history_line(entry: dict, lang: str) -> str:
    kind = entry["kind"]
    values = {
        "stamps": abs(entry.get("stamps") or 0),
        "points": number(abs(entry.get("points") or 0), lang),
        "amount": money(entry.get("amount_cents"), "EUR", lang) if entry.get("amount_cents") else "",
        "title": entry.get("voucher_title") or entry.get("reward") or "",
    }
    return t(f"history_{kind}", lang, **values)
