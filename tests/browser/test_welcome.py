"""Real browser: the demo renders offline in Debian's chromium, Finnish first, English at a tap."""

import pytest

from tests.browser.journey import open_app, served_demo

pytestmark = pytest.mark.browser


def test_the_demo_renders_offline_and_switches_language(browser):
    with served_demo() as url:
        network = []
        page = open_app(browser, url, 390, 844, network)
        page.get_by_text("Kanta-asiakkaan lompakko").wait_for(timeout=60_000)
        page.get_by_role("button", name="English").click()
        page.get_by_text("The regular customer's wallet").wait_for(timeout=10_000)
        local = [u for u, outcome in network if u.startswith(url) and outcome == "ok"]
        assert len(local) > 5  # the app shell, flutter, canvaskit, fonts ... all from this server
        # flet-web's bundle names a CDN for the Rive runtime; our CSP must stop it in the browser.
        escaped = [
            (u, outcome) for u, outcome in network if not u.startswith((url, "data:", "blob:")) and outcome != "csp"
        ]
        assert escaped == []
