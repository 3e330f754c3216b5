"""Shared links follow KANTA_PUBLIC_URL."""

from backend.config import Settings
from shared.links import join_link, referral_link


def test_links_use_the_configured_public_url():
    settings = Settings.from_env({"KANTA_PUBLIC_URL": "https://kanta.example.fi/"})
    assert referral_link(settings.public_url, " rab2cd3e ") == "https://kanta.example.fi/r/RAB2CD3E"
    assert join_link(settings.public_url, "cafe-aroma") == "https://kanta.example.fi/join/cafe-aroma"


def test_the_default_public_url_is_the_local_server():
    assert Settings.from_env({}).public_url == "http://127.0.0.1:8550"
    assert referral_link(Settings.from_env({"KANTA_PORT": "9000"}).public_url, "R1") == "http://127.0.0.1:9000/r/R1"
