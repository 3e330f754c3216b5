"""SupabaseTransport specifics: customers sign in with an e-mail code; tables are out of reach over REST."""

import pytest

from backend.transport.supabase import SupabaseTransport
from shared.errors import NotFound, PermissionDenied, Unavailable, from_postgrest
from tests.doubles.supabase_double import running_double


@pytest.fixture
def double(db):
    with running_double(db.authenticator, db.admin) as d:
        yield d


def test_customer_signs_in_with_an_emailed_code_and_joins(double, backend):
    owner = backend.transport()
    backend.auth.create_user("owner@cafe.example", "correct horse battery")
    owner.sign_in("owner@cafe.example", "correct horse battery")
    owner.rpc("create_business", {"p_name": "Café Aalto", "p_slug": "cafe-aalto"})

    phone = SupabaseTransport(double.url, double.anon_key)
    phone.send_otp("Aino@Example.com")
    code = double.outbox["aino@example.com"]
    user = phone.verify_otp("aino@example.com", code)
    assert user.email == "aino@example.com"
    card = phone.rpc("join_business", {"p_slug": "cafe-aalto"})
    assert card["business_name"] == "Café Aalto"
    phone.sign_out()
    with pytest.raises(PermissionDenied):
        phone.rpc("my_wallet")


def test_a_wrong_or_reused_code_is_refused(double):
    phone = SupabaseTransport(double.url, double.anon_key)
    phone.send_otp("aino@example.com")
    code = double.outbox["aino@example.com"]
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    with pytest.raises(PermissionDenied) as err:
        phone.verify_otp("aino@example.com", wrong)
    assert err.value.code == "invalid_otp"
    phone.verify_otp("aino@example.com", code)
    with pytest.raises(PermissionDenied):
        SupabaseTransport(double.url, double.anon_key).verify_otp("aino@example.com", code)


def test_tables_are_not_reachable_over_rest(double):
    phone = SupabaseTransport(double.url, double.anon_key)
    from postgrest.exceptions import APIError

    with pytest.raises(APIError) as err:
        phone.client.table("members").select("*").execute()
    assert isinstance(from_postgrest(err.value.code), NotFound)


def test_a_forged_token_is_refused(double):
    import jwt

    forged = jwt.encode(
        {"sub": "00000000-0000-0000-0000-000000000001", "role": "service_role"},
        "a guessed secret that is long enough for hs256",
        algorithm="HS256",
    )
    phone = SupabaseTransport(double.url, double.anon_key)
    phone.client.options.headers["Authorization"] = f"Bearer {forged}"
    with pytest.raises(PermissionDenied):
        phone.rpc("my_wallet")


def test_an_unreachable_project_is_unavailable():
    phone = SupabaseTransport("http://127.0.0.1:9", "anon-key")
    with pytest.raises(Unavailable) as err:
        phone.rpc("my_wallet")
    assert err.value.retryable
