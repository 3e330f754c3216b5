"""Local e-mail and password accounts in auth.users, hashed with bcrypt as Supabase Auth stores them."""

from __future__ import annotations

import re

import bcrypt
import psycopg

from shared.errors import Conflict, InvalidInput, PermissionDenied
from shared.transport import User

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
MIN_PASSWORD = 8
# A hash that no password matches, so an unknown e-mail costs as long as a wrong password.
_DUMMY_HASH = bcrypt.hashpw(b"kanta-dummy-password", bcrypt.gensalt(rounds=10))


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL_RE.match(email):
        raise InvalidInput("invalid_email")
    return email


def hash_password(password: str, rounds: int = 10) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput("weak_password")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


class LocalAuth:
    """Reads and writes auth.users with the admin connection; runs only on the server side."""

    def __init__(self, admin_conninfo: str, *, bcrypt_rounds: int = 10):
        self.admin_conninfo = admin_conninfo
        self.bcrypt_rounds = bcrypt_rounds

    def create_user(self, email: str, password: str, *, role_hint: str = "customer") -> User:
        email = normalise_email(email)
        hashed = hash_password(password, self.bcrypt_rounds)
        with psycopg.connect(self.admin_conninfo) as conn:
            try:
                row = conn.execute(
                    "insert into auth.users (email, encrypted_password, email_confirmed_at, raw_app_meta_data)"
                    " values (%s, %s, now(), jsonb_build_object('provider', 'email', 'kanta_role', %s::text))"
                    " returning id",
                    (email, hashed, role_hint),
                ).fetchone()
            except psycopg.errors.UniqueViolation as exc:
                raise Conflict("email_taken") from exc
        return User(id=str(row[0]), email=email)

    def verify(self, email: str, password: str) -> User:
        try:
            email = normalise_email(email)
        except InvalidInput:
            raise PermissionDenied("invalid_credentials") from None
        with psycopg.connect(self.admin_conninfo) as conn:
            row = conn.execute(
                "select id, encrypted_password from auth.users where lower(email) = %s and deleted_at is null",
                (email,),
            ).fetchone()
            stored = row[1].encode() if row and row[1] else _DUMMY_HASH
            if not bcrypt.checkpw((password or "").encode(), stored) or row is None:
                raise PermissionDenied("invalid_credentials")
            conn.execute("update auth.users set last_sign_in_at = now() where id = %s", (row[0],))
        return User(id=str(row[0]), email=email)
