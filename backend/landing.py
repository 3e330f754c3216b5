"""The referral landing page, GET /r/{code}: a small HTML page whose Open Graph tags make a shared
link preview well on social media, with a button that forwards into the app to join.

Everything it shows comes from `referral_preview`; this module only words and escapes it.
"""

from __future__ import annotations

import io
from html import escape
from urllib.parse import quote

import qrcode

from shared.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from shared.links import referral_link


def pick_language(accept_language: str | None) -> str:
    """The first of our languages the browser asks for (Accept-Language, by q), else Finnish."""
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, position, tag.strip().lower().split("-")[0]))
    for _, _, lang in sorted(ranked):
        if lang in LANGUAGES:
            return lang
    return DEFAULT_LANGUAGE


def join_path(preview: dict) -> str:
    return f"/join/{quote(preview['business_slug'], safe='')}?ref={quote(preview['code'], safe='')}"


def qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(text, border=2, box_size=12).save(buffer)
    return buffer.getvalue()


def _page(lang: str, title: str, body: str, head: str = "", color: str = "#6F4E37") -> str:
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
{head}
<style>
  body {{ margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f6f2ee;
         color: #2b2118; display: flex; min-height: 100vh; align-items: center; justify-content: center; }}
  main {{ max-width: 400px; margin: 24px; padding: 32px 28px; background: #fff; border-radius: 24px;
          box-shadow: 0 8px 30px rgba(0,0,0,.08); text-align: center; border-top: 10px solid {escape(color)}; }}
  h1 {{ font-size: 1.5rem; margin: 0 0 12px; }}
  p {{ line-height: 1.5; margin: 0 0 20px; }}
  .offer {{ font-size: 1.15rem; font-weight: 600; color: {escape(color)}; }}
  a.button {{ display: inline-block; padding: 14px 28px; border-radius: 999px; background: {escape(color)};
              color: #fff; text-decoration: none; font-weight: 600; font-size: 1.05rem; }}
  img {{ width: 160px; height: 160px; margin: 8px auto 20px; display: block; }}
</style>
</head>
<body><main>
{body}
</main></body>
</html>
"""


def referral_page(preview: dict, public_url: str, lang: str) -> str:
    business = preview["business_name"]
    inviter = preview.get("inviter_first_name")
    title = (
        t("landing_title_from", lang, inviter=inviter, business=business)
        if inviter
        else t("landing_title", lang, business=business)
    )
    offer = t("landing_offer", lang, reward=preview["welcome_reward"])
    link = referral_link(public_url, preview["code"])
    image = f"{link}/qr.png"
    og = {
        "og:type": "website",
        "og:site_name": "Kanta",
        "og:title": title,
        "og:description": offer,
        "og:url": link,
        "og:image": image,
        "og:image:alt": t("landing_image_alt", lang, business=business),
        "og:locale": "fi_FI" if lang == "fi" else "en_GB",
    }
    head = "\n".join(f'<meta property="{k}" content="{escape(v)}">' for k, v in og.items())
    head += f'\n<meta name="twitter:card" content="summary">\n<meta name="description" content="{escape(offer)}">'
    body = (
        f"<h1>{escape(title)}</h1>\n"
        f'<p class="offer">{escape(offer)}</p>\n'
        f'<img src="{escape(image)}" alt="{escape(og["og:image:alt"])}">\n'
        f"<p>{escape(t('landing_explain', lang))}</p>\n"
        f'<a class="button" id="join" href="{escape(join_path(preview))}">{escape(t("landing_join", lang))}</a>'
    )
    return _page(lang, title, body, head, preview.get("color") or "#6F4E37")


def not_found_page(lang: str) -> str:
    title = t("landing_unknown_title", lang)
    body = (
        f"<h1>{escape(title)}</h1>\n<p>{escape(t('landing_unknown_text', lang))}</p>\n"
        f'<a class="button" href="/">{escape(t("landing_open_app", lang))}</a>'
    )
    return _page(lang, title, body)
