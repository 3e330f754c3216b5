"""The public links Kanta shares: join a café, or join with a friend's referral code."""

from __future__ import annotations

from urllib.parse import quote


def referral_link(public_url: str, code: str) -> str:
    """{PUBLIC_URL}/r/{code}: previews the offer on social media, then joins with the referrer attached."""
    return f"{public_url.rstrip('/')}/r/{quote(code.strip().upper(), safe='')}"


def join_link(public_url: str, slug: str) -> str:
    return f"{public_url.rstrip('/')}/join/{quote(slug.strip(), safe='')}"
