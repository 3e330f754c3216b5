"""View-models of the owner's screens: plain Python, no Flet.

They turn the API's answers into tiles, chart points and lines of text, and turn the settings form
back into what update_program takes. They decide no rule: a value the database refuses comes back
as its typed error, shown in the user's language.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from dateutil import parser as dateparser

from mobile.formatting import locale, money, number, parse_time, when
from shared.i18n import t

SEGMENTS = ["champions", "loyal", "potential", "new", "at_risk", "hibernating", "lost"]
METRICS = ["revenue", "member_revenue_share", "visits", "new_members", "redemptions", "nps"]
PERIODS = {"30": 30, "90": 90, "365": 365}


# ---- the dashboard -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: str


def percent(value, lang: str) -> str:
    from babel.numbers import format_percent

    return "—" if value is None else format_percent(float(value), locale=locale(lang))


def kpi_tiles(kpis: dict, lang: str, currency: str = "EUR") -> list[Tile]:
    """The dashboard's figures, in the order an owner reads them."""

    def tile(key: str, value: str) -> Tile:
        return Tile(key, t(f"kpi_{key}", lang), value)

    nps = kpis.get("nps")
    return [
        tile("active_30", number(kpis.get("active_30"), lang)),
        tile("active_90", number(kpis.get("active_90"), lang)),
        tile("new_members", number(kpis.get("new_members"), lang)),
        tile("revenue", money(kpis.get("revenue_cents"), currency, lang)),
        tile("member_revenue_share", percent(kpis.get("member_revenue_share"), lang)),
        tile("repeat_rate", percent(kpis.get("repeat_rate"), lang)),
        tile(
            "visits_per_member",
            "—" if kpis.get("visits_per_member") is None else number(kpis["visits_per_member"], lang),
        ),
        tile("redemption_rate", percent(kpis.get("redemption_rate"), lang)),
        tile("referral_conversion", percent(kpis.get("referral_conversion"), lang)),
        tile("nps", "—" if nps is None else number(nps, lang)),
    ]


@dataclasses.dataclass(frozen=True)
class TierSpend:
    tier: str
    average: str  # one purchase's spend, as money
    purchases: str  # "8 purchases"


STAFF_FIGURES = ("purchases", "overrides", "refunds", "grants", "redemptions")


@dataclasses.dataclass(frozen=True)
class StaffRow:
    key: str  # the staff member's e-mail (or user id), for the row's identifier
    name: str  # e-mail, and "former staff" for someone no longer on the staff
    figures: list[tuple[str, str]]  # (label, value) in STAFF_FIGURES order
    unusual: str | None  # the flag's sentence, or None


def staff_rows(staff: dict | None, lang: str) -> list[StaffRow]:
    """The period's figures per staff member, as the API orders them; the flags are the database's."""
    staff = staff or {}
    factor = staff.get("flag_factor", 3)
    rows = []
    for s in staff.get("members") or []:
        name = s.get("email") or str(s.get("user_id"))
        if s.get("role") is None:
            name = f"{name} ({t('staff_former', lang)})"
        flags = [t(f"staff_{f}", lang).lower() for f in s.get("flags") or []]
        rows.append(
            StaffRow(
                s.get("email") or str(s.get("user_id")),
                name,
                [(t(f"staff_{f}", lang), number(s.get(f, 0), lang)) for f in STAFF_FIGURES],
                t("staff_unusual", lang, what=", ".join(flags), factor=factor) if flags else None,
            )
        )
    return rows


def spend_by_tier(kpis: dict, lang: str, currency: str = "EUR") -> list[TierSpend]:
    """The average purchase by the tier held when buying, in the order the API gives (the program's)."""
    return [
        TierSpend(
            row["tier"] if row["tier"] != "none" else "—",
            money(row["average_cents"], currency, lang),
            t("purchases_n", lang, n=number(row["purchases"], lang)),
        )
        for row in kpis.get("spend_by_tier") or []
    ]


@dataclasses.dataclass(frozen=True)
class Series:
    metric: str
    title: str
    points: list[tuple[int, float]]  # (x, y)
    labels: list[str]  # one per x
    max_y: float


def series(metric: str, points: list[dict], bucket: str, lang: str) -> Series:
    """A chart's points: x is the bucket's position, y the value (euros for revenue, % for shares)."""
    from babel.dates import format_date

    pattern = {"day": "d.M.", "week": "d.M.", "month": "LLL yy"}[bucket] if lang == "fi" else "d MMM"
    if bucket == "month" and lang != "fi":
        pattern = "MMM yy"
    xs, labels = [], []
    for i, p in enumerate(points):
        value = float(p["value"] or 0)
        if metric == "revenue":
            value /= 100
        elif metric == "member_revenue_share":
            value *= 100
        xs.append((i, round(value, 2)))
        labels.append(format_date(dt.date.fromisoformat(p["bucket"]), pattern, locale=locale(lang)))
    top = max((y for _, y in xs), default=0)
    return Series(metric, t(f"chart_{metric}", lang), xs, labels, max_y=nice_ceiling(top * 1.1))


def nice_ceiling(value: float) -> float:
    """The axis's top: the next 1, 2, 2.5 or 5 times a power of ten (a label reads 600, not 618.3)."""
    import math

    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def period(days: int, now: dt.datetime, tz: str = "Europe/Helsinki") -> tuple[str, str]:
    """The last `days` calendar days on the café's clock, today included, as the API's from and to
    (the KPIs count whole days: from midnight to midnight)."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    start = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), zone)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), zone)
    return start.isoformat(), end.isoformat()


# ---- members -----------------------------------------------------------------------------------


def segment_label(segment: str, lang: str) -> str:
    return t(f"segment_{segment}", lang)


def member_line(member: dict, lang: str, currency: str = "EUR", tz: str = "Europe/Helsinki") -> str:
    parts = [
        t("visits_n", lang, n=member.get("visits") or 0),
        money(member.get("spend_cents"), currency, lang),
    ]
    if member.get("last_visit_at"):
        parts.append(t("counter_last_visit", lang, when=when(member["last_visit_at"], lang, tz)))
    return " · ".join(parts)


def member_name(member: dict, lang: str) -> str:
    return member.get("display_name") or t("member_number", lang, number=member["member_number"])


# ---- drops -------------------------------------------------------------------------------------


def parse_local(text: str, tz: str) -> str | None:
    """'24.12.2026 9:00' or '2026-12-24 09:00' on the café's clock, as an ISO moment; None if unreadable."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = dateparser.parse(text, dayfirst="." in text)
    except (ValueError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return moment.isoformat()


def local_text(moment: dt.datetime, tz: str) -> str:
    """The form's own format for a moment on the café's clock."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")


# ---- program settings --------------------------------------------------------------------------

# The form's plain fields, in the order they are shown.
PROGRAM_FIELDS = [
    "stamps_per_card",
    "stamp_reward",
    "stamps_per_purchase",
    "stamp_min_cents",
    "points_per_euro",
    "tier_window_months",
    "voucher_valid_days",
    "stamp_cooldown_minutes",
    "max_purchases_per_day",
    "confirm_above_cents",
    "referral_welcome_reward",
    "referral_referrer_reward",
    "referral_monthly_cap",
    "birthday_reward",
]
TEXT_FIELDS = {"stamp_reward", "referral_welcome_reward", "referral_referrer_reward", "birthday_reward"}


def rewards_text(rewards: list[dict]) -> str:
    return "\n".join(f"{r['name']} = {r['cost_points']}" for r in rewards)


def tiers_text(tiers: list[dict]) -> str:
    lines = []
    for tier in tiers:
        perks = ", ".join(tier.get("perks") or [])
        lines.append(
            f"{tier['name']}; {tier['min_points']}; {tier.get('multiplier', 1)}" + (f"; {perks}" if perks else "")
        )
    return "\n".join(lines)


def _number_or_text(value: str):
    """A number when it reads as one (with a decimal comma too); else the text, for the API to refuse."""
    cleaned = value.strip().replace(",", ".")
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        return float(cleaned)
    except ValueError:
        return value.strip()


def settings_from_form(values: dict[str, str]) -> dict:
    """What the form says, as update_program's settings. Each line of the rewards is `name = points`,
    each line of the tiers `name; min points; multiplier; perks, ...`."""
    settings: dict = {}
    for key in PROGRAM_FIELDS:
        if key in values:
            settings[key] = values[key].strip() if key in TEXT_FIELDS else _number_or_text(values[key])
    if "rewards" in values:
        rewards = []
        for line in values["rewards"].splitlines():
            if not line.strip():
                continue
            name, _, cost = line.rpartition("=")
            rewards.append({"name": (name or cost).strip(), "cost_points": _number_or_text(cost) if name else None})
        settings["rewards"] = rewards
    if "tiers" in values:
        tiers = []
        for line in values["tiers"].splitlines():
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split(";")]
            tier: dict = {"name": parts[0]}
            tier["min_points"] = _number_or_text(parts[1]) if len(parts) > 1 else None
            tier["multiplier"] = _number_or_text(parts[2]) if len(parts) > 2 and parts[2] else 1
            tier["perks"] = [p.strip() for p in parts[3].split(",") if p.strip()] if len(parts) > 3 else []
            tiers.append(tier)
        settings["tiers"] = tiers
    return settings


DRAWABLE_SLOTS = 60  # the most cups the preview draws


def preview_card(settings: dict, business: dict) -> dict:
    """The customer's card as the form would make it, for the live preview (a new member with a few
    stamps). Values the form cannot show yet fall back to the saved program's."""
    per_card = settings.get("stamps_per_card")
    # Whether the number is allowed is the database's to say when saving; the preview only needs
    # one it can draw.
    if not isinstance(per_card, int) or not 1 <= per_card <= DRAWABLE_SLOTS:
        per_card = business.get("stamps_per_card", 10)
    tiers = [tr for tr in settings.get("tiers") or [] if isinstance(tr.get("min_points"), int)]
    return {
        "stamps": min(3, per_card),
        "stamps_per_card": per_card,
        "stamp_reward": settings.get("stamp_reward") or business.get("stamp_reward", ""),
        "business": {"color": business.get("color") or "#6B4F3A", "name": business.get("name", "")},
        "tiers": [tr["name"] for tr in sorted(tiers, key=lambda tr: tr["min_points"])],
    }


# ---- the audit log and feedback ------------------------------------------------------------------


def audit_line(entry: dict, lang: str, currency: str = "EUR") -> str:
    """One line of the audit log: what happened, in words."""
    detail = entry.get("detail") or {}
    action = entry["action"]
    values = {
        "amount": money(detail["amount_cents"], currency, lang) if detail.get("amount_cents") is not None else "",
        "title": detail.get("title") or detail.get("code") or "",
        "role": detail.get("role") or "",
    }
    text = t(f"audit_{action}", lang, **values)
    return action.replace("_", " ") if text == f"audit_{action}" else text


def audit_meta(entry: dict, lang: str, tz: str) -> str:
    who = entry.get("actor_email") or t("audit_system", lang)
    return f"{when(entry['created_at'], lang, tz)} · {who}"


def feedback_line(item: dict, lang: str, tz: str) -> str:
    name = item.get("member_name") or t("anonymous", lang)
    moment = parse_time(item["created_at"])
    return f"{item['score']}/10 · {name} · {when(moment, lang, tz)}"
