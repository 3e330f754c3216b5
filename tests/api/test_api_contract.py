"""The API contract, run through both transports: an owner opens a café, a customer joins, strangers are refused."""

import pytest

from shared.errors import Conflict, InvalidInput, NotFound, PermissionDenied


def test_owner_opens_a_business_and_a_customer_joins(api):
    owner = api.user("owner@cafe.example")
    business = owner.rpc("create_business", {"p_name": "Café Aalto", "p_slug": "cafe-aalto"})
    assert business["slug"] == "cafe-aalto"
    assert business["role"] == "owner"
    assert business["timezone"] == "Europe/Helsinki"
    assert business["currency"] == "EUR"

    customer = api.user("aino@example.com")
    card = customer.rpc("join_business", {"p_slug": "cafe-aalto", "p_display_name": "Aino"})
    assert card["business_name"] == "Café Aalto"
    assert card["new"] is True
    again = customer.rpc("join_business", {"p_slug": "cafe-aalto"})
    assert again["member_id"] == card["member_id"] and again["new"] is False

    wallet = customer.rpc("my_wallet")
    assert [c["business_slug"] for c in wallet] == ["cafe-aalto"]


def test_customers_see_only_their_own_cards(api):
    owner = api.user("owner@cafe.example")
    owner.rpc("create_business", {"p_name": "Café Aalto", "p_slug": "cafe-aalto"})
    owner.rpc("create_business", {"p_name": "Leipomo Kuu", "p_slug": "leipomo-kuu"})
    a = api.user("a@example.com")
    b = api.user("b@example.com")
    a.rpc("join_business", {"p_slug": "cafe-aalto"})
    b.rpc("join_business", {"p_slug": "leipomo-kuu"})
    assert [c["business_slug"] for c in a.rpc("my_wallet")] == ["cafe-aalto"]
    assert [c["business_slug"] for c in b.rpc("my_wallet")] == ["leipomo-kuu"]


def test_anon_cannot_call_customer_or_owner_functions(api):
    anon = api.anon()
    with pytest.raises(PermissionDenied):
        anon.rpc("my_wallet")
    with pytest.raises(PermissionDenied):
        anon.rpc("create_business", {"p_name": "X", "p_slug": "xxx"})
    with pytest.raises(PermissionDenied):
        anon.rpc("add_staff", {"p_business_id": "00000000-0000-0000-0000-000000000000", "p_email": "x@y.fi"})


def test_staff_only_function_refuses_customers_with_a_stable_code(api):
    owner = api.user("owner@cafe.example")
    biz = owner.rpc("create_business", {"p_name": "Café Aalto", "p_slug": "cafe-aalto"})
    api.user("barista@cafe.example")
    mallory = api.user("mallory@example.com")
    with pytest.raises(PermissionDenied) as err:
        mallory.rpc("add_staff", {"p_business_id": biz["id"], "p_email": "mallory@example.com", "p_role": "owner"})
    assert err.value.code == "owner_only"
    added = owner.rpc("add_staff", {"p_business_id": biz["id"], "p_email": "barista@cafe.example"})
    assert added["role"] == "staff"


@pytest.mark.parametrize(
    ("params", "error", "code"),
    [
        ({"p_name": "", "p_slug": "cafe-x"}, InvalidInput, "invalid_business_name"),
        ({"p_name": "X", "p_slug": "Not A Slug!"}, InvalidInput, "invalid_slug"),
        ({"p_name": "X", "p_slug": "cafe-x", "p_timezone": "Mars/Olympus"}, InvalidInput, "invalid_timezone"),
        ({"p_name": "X", "p_slug": "cafe-x", "p_currency": "euro"}, InvalidInput, "invalid_currency"),
        # PostgREST answers an unknown argument name as "no such function" (PGRST202); so do we.
        ({"p_name": "X", "p_slug": "cafe-x", "p_bogus": 1}, NotFound, None),
    ],
)
def test_bad_input_gets_a_typed_error_and_writes_nothing(api, db, params, error, code):
    import psycopg

    owner = api.user("owner@cafe.example")
    with pytest.raises(error) as err:
        owner.rpc("create_business", params)
    if code:
        assert err.value.code == code
    with psycopg.connect(db.admin) as conn:
        assert conn.execute("select count(*) from kanta.businesses").fetchone()[0] == 0
        assert conn.execute("select count(*) from kanta.staff").fetchone()[0] == 0


def test_conflict_and_not_found_are_typed(api):
    owner = api.user("owner@cafe.example")
    owner.rpc("create_business", {"p_name": "Café Aalto", "p_slug": "cafe-aalto"})
    with pytest.raises(Conflict) as err:
        owner.rpc("create_business", {"p_name": "Toinen", "p_slug": "cafe-aalto"})
    assert err.value.code == "slug_taken"
    with pytest.raises(NotFound) as err:
        owner.rpc("join_business", {"p_slug": "no-such-cafe"})
    assert err.value.code == "business_not_found"


def test_unknown_function_is_not_found(api):
    with pytest.raises(NotFound):
        api.user("a@example.com").rpc("drop_all_tables")


def test_wrong_password_is_refused(api):
    api.user("a@example.com", "right password")
    t = api.anon()
    with pytest.raises(PermissionDenied) as err:
        t.sign_in("a@example.com", "wrong password")
    assert err.value.code == "invalid_credentials"
    assert t.user is None


def test_staff_see_a_new_member_live_and_customers_may_not_listen(api):
    import threading

    owner = api.user("owner@cafe.example")
    biz = owner.rpc("create_business", {"p_name": "Café Aalto", "p_slug": "cafe-aalto"})
    arrived, got = threading.Event(), []

    def on_event(event):
        got.append(event)
        arrived.set()

    sub = owner.subscribe(f"business:{biz['id']}", on_event)
    customer = api.user("a@example.com")
    card = customer.rpc("join_business", {"p_slug": "cafe-aalto"})
    assert arrived.wait(5), "no live event within 5 s"
    assert got[0]["event"] == "member_joined"
    assert got[0]["payload"] == {"member_id": card["member_id"]}
    sub.close()

    with pytest.raises(PermissionDenied) as err:
        customer.subscribe(f"business:{biz['id']}", on_event)
    assert err.value.code in ("not_allowed_to_listen", "permission_denied")
    mine = customer.subscribe(f"member:{card['member_id']}", on_event)  # their own card: allowed
    mine.close()
