"""The real-browser helpers, re-exported for the journeys: they live in devtools/browser.py (the bench and the screenshots use them too)."""

from devtools.browser import (  # noqa: F401
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    accessible,
    chromium_available,
    fill,
    free_port,
    open_app,
    served_demo,
)
