"""Make the README screenshots in docs/: serve the demo, open it in Debian's chromium, save PNGs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, open_app, served_demo  # noqa: E402

SHOTS = {"welcome-phone": (390, 844)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    with served_demo() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, (width, height) in SHOTS.items():
            page = open_app(browser, url, width, height)
            page.get_by_text("Kanta-asiakkaan lompakko").wait_for(timeout=60_000)
            page.wait_for_timeout(500)
            page.screenshot(path=args.out / f"{name}.png")
            print(f"wrote {args.out / f'{name}.png'}")
        browser.close()


if __name__ == "__main__":
    main()
