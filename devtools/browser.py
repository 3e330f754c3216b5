"""Serve the demo and drive Debian's chromium with Playwright: for the browser tests, the
screenshots and `kanta bench ui`. Playwright is a development dependency, imported by the callers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags chromium keeps dialling out on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served_demo(renderer: str | None = None, *, with_data_dir: bool = False):
    """`kanta demo` on a free port with a throwaway database; yields the base URL (and the data dir)."""
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="kanta-web-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    tmp.chmod(0o711)  # as root, postgres runs as another user and must reach its folder
    env = {
        **os.environ,
        "KANTA_PORT": str(port),
        "KANTA_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("SUPABASE_URL", None)
    env.pop("FLET_WEB_RENDERER", None)
    if renderer:  # else the server's own choice
        env["FLET_WEB_RENDERER"] = renderer
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "--data-dir", str(tmp / "db"), "demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"the demo exited: {proc.stderr.read()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        yield (base, tmp / "db") if with_data_dir else base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def open_app(browser, url: str, width: int, height: int, network: list | None = None):
    """A page with Flutter's accessibility tree switched on, so text and roles are in the DOM.

    When `network` is given, each request the page makes is appended as (url, outcome), where
    outcome is "ok" or the browser's failure reason (e.g. "csp" when our policy blocked it).
    """
    if hasattr(browser, "new_context"):
        page = browser.new_page(viewport={"width": width, "height": height})
    else:  # a BrowserContext: its pages share the HTTP cache
        page = browser.new_page()
        page.set_viewport_size({"width": width, "height": height})
    if network is not None:
        page.on("requestfinished", lambda r: network.append((r.url, "ok")))
        page.on("requestfailed", lambda r: network.append((r.url, r.failure)))
    page.goto(url)
    accessible(page)
    return page


def accessible(page) -> None:
    """Switch Flutter's accessibility tree on in a page that has just loaded the app."""
    placeholder = page.locator("flt-semantics-placeholder")
    placeholder.wait_for(state="attached", timeout=60_000)
    # Flutter keeps this button off-screen; a click from script turns accessibility on.
    placeholder.evaluate("el => el.click()")


def fill(page, name: str, text: str) -> None:
    """Type into the Flutter text field labelled `name`: focus it, wait until the browser's focus is
    in its input, type, and check the input holds the text (a busy machine can drop early keys)."""
    box = page.get_by_role("textbox", name=name)
    for _ in range(3):
        box.click()
        page.wait_for_function("document.activeElement && document.activeElement.tagName === 'INPUT'", timeout=10_000)
        page.keyboard.press("Control+A")
        page.keyboard.type(text, delay=5)
        if page.evaluate("document.activeElement.value") == text:
            return
    raise AssertionError(f"could not type into {name!r}")
