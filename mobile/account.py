"""The shell's state object: who is signed in, and where they land. Plain Python, no Flet; the
only shell code that calls the Transport."""

from __future__ import annotations

from shared.transport import Transport


class Account:
    def __init__(self, api: Transport):
        self.api = api
        self.otp_email: str | None = None  # where a sign-in code was sent (Supabase mode)

    @property
    def signed_in(self) -> bool:
        return self.api.user is not None

    @property
    def email(self) -> str:
        return self.api.user.email if self.api.user else ""

    @property
    def by_code(self) -> bool:
        """Supabase signs customers in with an e-mailed code; the embedded database with a password."""
        return hasattr(self.api, "send_otp")

    def sign_in(self, email: str, password: str) -> None:
        self.api.sign_in(email.strip(), password)

    def sign_up(self, email: str, password: str) -> None:
        self.api.sign_up(email.strip(), password)

    def send_code(self, email: str) -> None:
        self.api.send_otp(email.strip())
        self.otp_email = email.strip()

    def verify_code(self, code: str) -> None:
        self.api.verify_otp(self.otp_email, code.strip())

    def workplaces(self) -> list[dict]:
        """The cafés where this user is staff or owner (none for a customer)."""
        return self.api.rpc("my_workplaces", {})

    def sign_out(self) -> None:
        self.api.sign_out()

    def close(self) -> None:
        self.api.close()
