"""The first screen in a fake flet session: Finnish first, English at a tap."""

import flet as ft
import pytest

from mobile.main import make_main
from tests.ui_session import FakeSession


@pytest.fixture
def screen(backend):
    s = FakeSession(make_main(backend.transport))
    yield s
    s.close()


def test_welcome_opens_in_finnish_and_switches_to_english(screen):
    assert "Kanta-asiakkaan lompakko" in screen.texts()
    [switch] = screen.find(lambda c: isinstance(c, ft.SegmentedButton))
    screen.fire(switch, "change", patch={"selected": ["en"]})
    assert "The regular customer's wallet" in screen.texts()
    assert "Kanta-asiakkaan lompakko" not in screen.texts()
