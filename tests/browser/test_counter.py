"""Real browser, the counter's journey: the barista types a member's rotating token into the counter
input (as a scanner does), records 12,50 €, sees the stamp and the points, redeems a voucher; then
the owner's audit log lists both."""

import re
import time

import psycopg
import pytest

from backend.embedded import EmbeddedPostgres
from backend.transport.postgres import PostgresBackend
from tests.browser.journey import accessible, fill, served_demo

pytestmark = pytest.mark.browser
TABLET = {"width": 1280, "height": 800}


def sign_in(page, email: str) -> None:
    accessible(page)
    page.get_by_text("Kanta-asiakkaan lompakko").wait_for(timeout=60_000)
    fill(page, "Sähköposti", email)
    fill(page, "Salasana", "kanta-demo")
    page.get_by_role("button", name="Kirjaudu sisään").click()


def test_scan_record_redeem_and_the_audit_log(browser):
    with served_demo(with_data_dir=True) as (url, data_dir):
        pg = EmbeddedPostgres(data_dir)
        backend = PostgresBackend(pg.conninfo(user="authenticator"), pg.conninfo(), max_size=1)
        try:
            phone = backend.transport()
            phone.sign_in("asiakas@kanta.demo", "kanta-demo")
            member = phone.rpc("my_wallet", {})[0]["member_id"]
            voucher = phone.rpc("my_card", {"p_member_id": member})["vouchers"][0]
            token = phone.rpc("member_qr_token", {"p_member_id": member})["token"]
        finally:
            backend.close()

        page = browser.new_page(viewport=TABLET, locale="fi-FI")
        page.goto(url)
        sign_in(page, "barista@kanta.demo")
        page.get_by_role("textbox", name="Skannaa tai kirjoita koodi").wait_for(timeout=60_000)
        assert page.get_by_role("button", name="Omistajan työkalut").count() == 0  # staff: no owner tools

        # 1: the scan (a scanner types the payload and Enter), 2: the amount, 3: Enter.
        fill(page, "Skannaa tai kirjoita koodi", token)
        scanned = time.perf_counter()
        page.keyboard.press("Enter")
        page.get_by_text("Aino").first.wait_for(timeout=10_000)
        fill(page, "Summa", "12,50")
        page.keyboard.press("Enter")
        page.get_by_text("Kirjattu 12,50 €").wait_for(timeout=10_000)
        print(f"scan to result {time.perf_counter() - scanned:.2f} s (typing the amount included)")
        page.get_by_text(re.compile(r"^\+1 leima \(\d+/10\)$")).wait_for()
        page.get_by_text(re.compile(r"^\+12 pistettä \(\d+ yhteensä\)$")).wait_for()

        page.get_by_role("button", name=f"Lunasta: {voucher['title']}").first.click()
        page.get_by_text(f"Lunastettu: {voucher['title']}").first.wait_for(timeout=10_000)
        with psycopg.connect(pg.conninfo()) as conn:
            status = conn.execute("select status from kanta.vouchers where code = %s", (voucher["code"],)).fetchone()
        assert status == ("redeemed",)

        owner = browser.new_page(viewport=TABLET, locale="fi-FI")
        owner.goto(url)
        sign_in(owner, "omistaja@kanta.demo")
        owner.get_by_role("button", name="Omistajan työkalut").click()
        owner.get_by_role("button", name="Tapahtumaloki").click()
        # Both lines, by the barista (the seeded history has redemptions of its own).
        by_barista = r"\s+[\d.]+ [\d.]+ · barista@kanta\.demo"
        redeemed = re.compile(re.escape(f"Etuseteli lunastettu: {voucher['title']}") + by_barista)
        owner.get_by_text(redeemed).wait_for(timeout=10_000)
        owner.get_by_text(re.compile(re.escape("Ostos kirjattu 12,50\xa0€") + by_barista)).wait_for()
