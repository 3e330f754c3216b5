"""Real browser, the customer's journey: a friend's referral link, join, the card, the QR, and a
stamp recorded by staff through the API appearing on the open page with no reload."""

import re
import time

import psycopg
import pytest

from backend.embedded import EmbeddedPostgres
from backend.transport.postgres import PostgresBackend
from tests.browser.journey import accessible, fill, served_demo
from tests.engine import key

pytestmark = pytest.mark.browser


def test_referral_link_to_a_live_stamp(browser):
    with served_demo(with_data_dir=True) as (url, data_dir):
        pg = EmbeddedPostgres(data_dir)
        with psycopg.connect(pg.conninfo()) as conn:
            code = conn.execute(
                "select m.referral_code from kanta.members m join auth.users u on u.id = m.user_id"
                " where u.email = 'asiakas@kanta.demo'"
            ).fetchone()[0]
        page = browser.new_page(viewport={"width": 390, "height": 844}, locale="fi-FI")
        # The landing page previews the offer, then forwards into the app.
        page.goto(f"{url}/r/{code}")
        assert page.locator('meta[property="og:title"]').get_attribute("content").startswith("Aino kutsuu sinut")
        page.locator("#join").click()
        page.wait_for_url(re.compile(rf"/join/kahvila-kanta\?ref={code}$"))
        accessible(page)
        page.get_by_text("Liity: Kahvila Kanta").wait_for(timeout=60_000)
        fill(page, "Sähköposti", "ystava@example.com")
        fill(page, "Salasana", "hyvä salasana 123")
        page.get_by_role("button", name="Luo tili").click()
        page.get_by_role("button", name="Liity kanta-asiakkaaksi").click()
        page.get_by_text("0/10 leimaa").first.wait_for(timeout=20_000)
        page.get_by_role("button", name="Näytä QR-koodi").click()
        page.get_by_text("Näytä tämä kassalla").wait_for(timeout=10_000)
        page.get_by_text(re.compile(r"Uusi koodi \d+ s päästä")).wait_for(timeout=10_000)

        # Staff record a purchase through the API, as the counter tablet does.
        backend = PostgresBackend(pg.conninfo(user="authenticator"), pg.conninfo(), max_size=1)
        try:
            staff = backend.transport()
            staff.sign_in("barista@kanta.demo", "kanta-demo")
            with psycopg.connect(pg.conninfo()) as conn:
                business, member = conn.execute(
                    "select m.business_id::text, m.id::text from kanta.members m join auth.users u on u.id = m.user_id"
                    " where u.email = 'ystava@example.com'"
                ).fetchone()
            recorded = time.perf_counter()
            staff.rpc(
                "record_purchase",
                {"p_business_id": business, "p_member_id": member, "p_amount_cents": 1250, "p_idempotency_key": key()},
            )
        finally:
            backend.close()
        # No reload: the page leaves the QR for the card, where the stamp animates in.
        page.get_by_text("1/10 leimaa").first.wait_for(timeout=5_000)
        print(f"stamp on screen {time.perf_counter() - recorded:.2f} s after record_purchase was sent")
        page.get_by_text("Uusi leima!").first.wait_for(timeout=5_000)
