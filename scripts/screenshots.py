"""Make the README screenshots: serve the demo, walk every screen in Debian's chromium, save PNGs.

make screenshots        # docs/screenshots/{fi,en}-wallet-*.png at 390x844, {fi,en}-owner-*.png at 1280x800,
                        # plus docs/welcome-phone.png
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.journey import CHROMIUM, CHROMIUM_ARGS, ROOT, fill, open_app, served_demo  # noqa: E402

PHONE = (390, 844)
TABLET = (1280, 800)
OWNER_WORDS = {
    "fi": {
        "code": "Skannaa tai kirjoita koodi",
        "member": "Aino",
        "amount": "Summa",
        "recorded": "Kirjattu 12,50 €",
        "tools": "Omistajan työkalut",
        "kpi": "Aktiiviset (30 pv)",
        "sections": [
            "Asiakkaat",
            "Uutuudet",
            "Kanta-asiakasohjelma",
            "Henkilökunta",
            "Palaute",
            "Tapahtumaloki",
            "Vienti",
        ],
        "grant_vip": "Anna VIP",
        "pickup": "Noudettu",
    },
    "en": {
        "code": "Scan or type a code",
        "member": "Helmi A.",
        "amount": "Amount",
        "recorded": "Recorded €12.50",
        "tools": "Owner tools",
        "kpi": "Active (30 days)",
        "sections": ["Members", "Drops", "Program", "Staff", "Feedback", "Audit log", "Export"],
        "grant_vip": "Grant VIP",
        "pickup": "Picked up",
    },
}
SECTION_FILES = ["members", "drops", "program", "staff", "feedback", "audit-log", "export"]
WORDS = {
    "fi": {
        "tagline": "Kanta-asiakkaan lompakko",
        "email": "Sähköposti",
        "password": "Salasana",
        "sign_in": "Kirjaudu sisään",
        "cards": "Korttini",
        "qr": "Näytä QR-koodi",
        "qr_title": "Näytä tämä kassalla",
        "back": "Takaisin",
        "refer": "Kutsu ystävä",
        "drops": "Uutuudet",
        "history": "Historia",
        "inbox": "Viestit",
        "feedback": "Anna palautetta",
        "send": "Lähetä",
        "thanks": "Kiitos palautteestasi!",
        "profile": "Profiili",
        "delete": "Poista tilini",
        "cancel": "Peruuta",
        "voucher": "Kahvi talon piikkiin",
        "close": "Sulje",
        "join_title": "Liity: Kahvila Kanta",
    },
    "en": {
        "tagline": "The regular customer's wallet",
        "email": "E-mail",
        "password": "Password",
        "sign_in": "Sign in",
        "cards": "My cards",
        "qr": "Show my QR",
        "qr_title": "Show this at the counter",
        "back": "Back",
        "refer": "Invite a friend",
        "drops": "Drops",
        "history": "History",
        "inbox": "Inbox",
        "feedback": "Give feedback",
        "send": "Send",
        "thanks": "Thank you for your feedback!",
        "profile": "Profile",
        "delete": "Delete my account",
        "cancel": "Cancel",
        "voucher": "Kahvi talon piikkiin",
        "close": "Close",
        "join_title": "Join Kahvila Kanta",
    },
}


class Shooter:
    def __init__(self, out: Path, lang: str, part: str = "wallet"):
        self.out, self.lang, self.part, self.n = out, lang, part, 0

    def shot(self, page, name: str) -> None:
        page.wait_for_timeout(700)  # let animations settle before the picture
        self.n += 1
        path = self.out / f"{self.lang}-{self.part}-{self.n:02d}-{name}.png"
        page.screenshot(path=path)
        print(f"wrote {path.relative_to(ROOT)}")


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def wallet_tour(browser, url: str, lang: str, out: Path) -> None:
    w = WORDS[lang]
    s = Shooter(out, lang)
    page = open_app(browser, url, *PHONE)
    page.get_by_text(WORDS["fi"]["tagline"]).wait_for(timeout=60_000)
    if lang == "en":
        button(page, "English").click()
        page.get_by_text(w["tagline"]).wait_for()
    s.shot(page, "sign-in")
    fill(page, w["email"], "asiakas@kanta.demo")
    fill(page, w["password"], "kanta-demo")
    button(page, w["sign_in"]).click()
    page.get_by_text(w["cards"]).wait_for()
    s.shot(page, "cards")
    page.get_by_text("Kahvila Kanta").first.click()
    button(page, w["qr"]).wait_for()
    s.shot(page, "card")
    page.mouse.move(195, 500)
    page.mouse.wheel(0, 600)
    s.shot(page, "card-more")
    page.get_by_text(w["voucher"]).last.click()
    button(page, w["close"]).wait_for()
    s.shot(page, "voucher-qr")
    button(page, w["close"]).click()
    page.wait_for_timeout(600)
    page.mouse.move(195, 500)
    page.mouse.wheel(0, -2000)
    page.wait_for_timeout(600)
    button(page, w["qr"]).click()
    page.get_by_text(w["qr_title"]).wait_for()
    s.shot(page, "member-qr")
    for screen, marker in (
        ("refer", None),
        ("drops", None),
        ("history", None),
        ("inbox", None),
    ):
        button(page, w["back"]).click()
        button(page, w[screen]).click()
        if marker:
            page.get_by_text(marker).first.wait_for()
        s.shot(page, screen)
    button(page, w["back"]).click()
    button(page, w["feedback"]).click()
    page.get_by_role("radio", name="9").click()
    s.shot(page, "feedback")
    button(page, w["send"]).click()
    page.get_by_text(w["thanks"]).wait_for()
    s.shot(page, "feedback-sent")
    button(page, w["back"]).click()
    button(page, w["back"]).click()
    button(page, w["profile"]).click()
    button(page, w["delete"]).wait_for()
    s.shot(page, "profile")
    button(page, w["delete"]).click()
    button(page, w["cancel"]).wait_for()
    s.shot(page, "delete-confirm")
    page.close()


def owner_tour(browser, url: str, lang: str, out: Path) -> None:
    """The counter and every owner screen at 1280x800."""
    w, o = WORDS[lang], OWNER_WORDS[lang]
    s = Shooter(out, lang, "owner")
    page = open_app(browser, url, *TABLET)
    page.get_by_text(WORDS["fi"]["tagline"]).wait_for(timeout=60_000)
    if lang == "en":
        button(page, "English").click()
        page.get_by_text(w["tagline"]).wait_for()
    fill(page, w["email"], "omistaja@kanta.demo")
    fill(page, w["password"], "kanta-demo")
    button(page, w["sign_in"]).click()
    page.get_by_role("textbox", name=o["code"]).wait_for()
    s.shot(page, "counter")
    # A member found by name (each language its own: a second stamp within 10 minutes is refused).
    fill(page, o["code"], o["member"])
    page.keyboard.press("Enter")
    page.get_by_role("button", name=re.compile("^" + re.escape(o["member"]))).first.click()
    page.get_by_text(re.compile(r"^(Taso|Tier): ")).first.wait_for()
    fill(page, o["amount"], "12,50" if lang == "fi" else "12.50")
    page.keyboard.press("Enter")
    page.get_by_text(o["recorded"]).wait_for()
    s.shot(page, "counter-recorded")
    button(page, o["tools"]).click()
    page.get_by_text(o["kpi"]).wait_for(timeout=30_000)
    page.wait_for_timeout(1200)  # the charts animate in
    s.shot(page, "dashboard")
    for section, name in zip(o["sections"], SECTION_FILES, strict=True):
        button(page, section).click()
        page.wait_for_timeout(1200)
        if name == "drops":
            page.get_by_text("Joulublend 250 g").first.click()
            button(page, o["pickup"]).wait_for()
        s.shot(page, name)
        if name == "members":
            page.get_by_role("textbox").first.click()
            page.keyboard.type("Aino", delay=5)
            page.keyboard.press("Enter")
            page.wait_for_timeout(800)
            page.get_by_role("button", name=re.compile(r"^Aino asiakas@kanta\.demo")).first.click()
            button(page, o["grant_vip"]).wait_for()
            s.shot(page, "member")
            button(page, w["close"]).click()
    page.close()


def landing(browser, url: str, lang: str, out: Path, code: str) -> None:
    page = browser.new_page(
        viewport={"width": PHONE[0], "height": PHONE[1]}, locale="fi-FI" if lang == "fi" else "en-GB"
    )
    page.goto(f"{url}/r/{code}")
    page.wait_for_timeout(300)
    page.screenshot(path=out / f"{lang}-wallet-00-referral-landing.png")
    print(f"wrote {(out / f'{lang}-wallet-00-referral-landing.png').relative_to(ROOT)}")
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    import psycopg

    from backend.embedded import EmbeddedPostgres

    with served_demo("canvaskit", with_data_dir=True) as (url, data_dir), sync_playwright() as p:
        with psycopg.connect(EmbeddedPostgres(data_dir).conninfo()) as conn:
            code = conn.execute(
                "select m.referral_code from kanta.members m join auth.users u on u.id = m.user_id"
                " where u.email = 'asiakas@kanta.demo'"
            ).fetchone()[0]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for lang in ("fi", "en"):
            with psycopg.connect(EmbeddedPostgres(data_dir).conninfo(), autocommit=True) as conn:
                # Feedback is once a day: Aino's is cleared so that each tour gives its own.
                conn.execute(
                    "delete from kanta.feedback where member_id in (select m.id from kanta.members m"
                    " join auth.users u on u.id = m.user_id where u.email = 'asiakas@kanta.demo')"
                )
            landing(browser, url, lang, args.out, code)
            wallet_tour(browser, url, lang, args.out)
            owner_tour(browser, url, lang, args.out)
        page = open_app(browser, url, *PHONE)
        page.get_by_text(WORDS["fi"]["tagline"]).wait_for(timeout=60_000)
        page.wait_for_timeout(500)
        page.screenshot(path=ROOT / "docs" / "welcome-phone.png")
        browser.close()


if __name__ == "__main__":
    main()
