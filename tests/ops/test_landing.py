"""GET /r/{code}: the referral landing page's Open Graph tags, its language, and the friendly 404."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from backend.landing import pick_language
from backend.server import build_app
from tests.engine import Cafe

PUBLIC = "https://kanta.example.fi"


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.meta, self.links, self.lang = {}, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if tag == "meta" and "property" in attrs:
            self.meta[attrs["property"]] = attrs["content"]
        if tag == "a":
            self.links.append(attrs["href"])


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


@pytest.fixture
def invite(users, backend):
    cafe = Cafe(users, name="Café <Aroma> & Co")
    cafe.owner.rpc(
        "update_program", {"p_business_id": cafe.id, "p_settings": {"referral_welcome_reward": "Ilmainen latte"}}
    )
    phone, member = cafe.customer("aino@example.com", "Aino Virtanen")
    code = phone.rpc("my_card", {"p_member_id": member})["referral"]["code"]
    return code, TestClient(build_app(backend.transport, public_url=PUBLIC))


def test_open_graph_tags(invite):
    code, client = invite
    response = client.get(f"/r/{code}", headers={"Accept-Language": "en-GB,en;q=0.9,fi;q=0.5"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    tags = parse(response.text)
    assert tags.lang == "en"
    assert tags.meta["og:title"] == "Aino invites you to Café <Aroma> & Co"
    assert tags.meta["og:description"] == "Your welcome gift: Ilmainen latte"
    assert tags.meta["og:url"] == f"{PUBLIC}/r/{code}"
    assert tags.meta["og:image"] == f"{PUBLIC}/r/{code}/qr.png"
    assert {"og:type", "og:site_name", "og:image:alt", "og:locale"} <= set(tags.meta)
    assert "<Aroma>" not in response.text  # escaped, never raw markup
    assert f"/join/cafe-aroma?ref={code}" in tags.links
    image = client.get(f"/r/{code}/qr.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


def test_finnish_by_default_and_lowercase_code(invite):
    code, client = invite
    tags = parse(client.get(f"/r/{code.lower()}").text)
    assert tags.lang == "fi"
    assert tags.meta["og:title"] == "Aino kutsuu sinut kanta-asiakkaaksi: Café <Aroma> & Co"


@pytest.mark.parametrize("code", ["NOPE1234", "x" * 300, "<script>"])
def test_unknown_code_is_a_friendly_404(invite, code):
    _, client = invite
    response = client.get(f"/r/{code}", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "This invite link was not found" in response.text and "<script>" not in response.text
    assert client.get(f"/r/{code}/qr.png").status_code in (200, 404)


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "fi"),
        ("en-US,en;q=0.9", "en"),
        ("sv-FI,fi;q=0.8,en;q=0.7", "fi"),
        ("de;q=1, en;q=0.2", "en"),
        ("en;q=0.3, fi;q=0.9", "fi"),
        ("garbage;q=x", "fi"),
    ],
)
def test_language_negotiation(header, lang):
    assert pick_language(header) == lang
