"""Issue 15 under concurrency: eight tablets on separate connections, many rounds.

* one member recorded by all eight at once gets at most one stamp per cooldown (and the daily cap holds);
* one idempotency key sent by all eight at once executes once: identical requests get its answer,
  different ones get `idempotency_key_reused`.
"""

import json
import threading

import psycopg
import pytest

from backend.transport.postgres import PostgresBackend
from shared.errors import Conflict
from tests.engine import Cafe, key

TABLETS = 8
ROUNDS = 30


@pytest.fixture
def tablets(db, users):
    cafe = Cafe(users, settings={"stamps_per_card": 30, "max_purchases_per_day": 100})
    # A pool wide enough that all eight calls are really in flight together.
    wide = PostgresBackend(db.authenticator, db.admin, min_size=TABLETS, max_size=TABLETS, bcrypt_rounds=4)
    made = []
    for _ in range(TABLETS):
        t = wide.transport()
        t.user = cafe.staff.user
        made.append(t)
    try:
        yield cafe, made
    finally:
        wide.close()


def _run(tablets, call):
    start = threading.Barrier(len(tablets))
    outcomes = [None] * len(tablets)

    def go(i, tablet):
        start.wait()
        try:
            outcomes[i] = ("ok", call(i, tablet))
        except Conflict as exc:
            outcomes[i] = (exc.code, None)

    threads = [threading.Thread(target=go, args=(i, t)) for i, t in enumerate(tablets)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    return outcomes


@pytest.mark.slow
def test_eight_tablets_at_once_give_one_member_at_most_one_stamp_per_cooldown(db, tablets):
    cafe, made = tablets
    for round_no in range(ROUNDS):
        _, member = cafe.customer(f"r{round_no}@example.com")

        def buy(_i, tablet, member=member):
            return tablet.rpc(
                "record_purchase",
                {"p_business_id": cafe.id, "p_member_id": member, "p_amount_cents": 450, "p_idempotency_key": key()},
            )

        outcomes = _run(made, buy)
        answers = [a for code, a in outcomes if code == "ok"]
        # Every purchase is real: all eight are recorded, one of them with the stamp.
        assert sum(a["stamps_added"] for a in answers) == 1, (round_no, outcomes)
        assert len(answers) == TABLETS, (round_no, outcomes)
        assert sorted(str(a["stamp_withheld"]) for a in answers) == ["None"] + ["cooldown"] * (TABLETS - 1)
    with psycopg.connect(db.admin) as conn:
        worst = conn.execute(
            "select coalesce(max(n), 0) from (select count(*) n from kanta.ledger where kind = 'stamp'"
            " group by member_id) x"
        ).fetchone()[0]
        assert worst == 1
        assert conn.execute(
            "select count(*) from kanta.members m where m.stamps <> "
            "(select coalesce(sum(stamps), 0) from kanta.ledger l where l.member_id = m.id)"
        ).fetchone() == (0,)


@pytest.mark.slow
def test_eight_tablets_at_once_never_pass_the_daily_cap(db, tablets):
    cafe, made = tablets
    cafe.owner.rpc(
        "update_program",
        {"p_business_id": cafe.id, "p_settings": {"max_purchases_per_day": 5, "stamp_cooldown_minutes": 0}},
    )
    for round_no in range(ROUNDS // 3):
        _, member = cafe.customer(f"d{round_no}@example.com")

        def buy(_i, tablet, member=member):
            return tablet.rpc(
                "record_purchase",
                {"p_business_id": cafe.id, "p_member_id": member, "p_amount_cents": 450, "p_idempotency_key": key()},
            )

        outcomes = sorted(code for code, _ in _run(made, buy))
        assert outcomes == ["ok"] * 5 + ["velocity_limit"] * (TABLETS - 5), (round_no, outcomes)


@pytest.mark.slow
def test_one_key_from_eight_tablets_executes_once(db, tablets):
    cafe, made = tablets
    _, member = cafe.customer("k@example.com")
    _, other = cafe.customer("o@example.com")
    refunds = 0
    for round_no in range(ROUNDS):
        k = key()
        earlier = cafe.buy(other, 300)["purchase_id"]  # what a refund with the same key would undo
        # Three tablets send one request; the others the same key with another amount, another
        # member, or another operation (a refund).
        requests = [
            ("record_purchase", {"p_member_id": member, "p_amount_cents": 450}),
            ("record_purchase", {"p_member_id": member, "p_amount_cents": 900}),
            ("record_purchase", {"p_member_id": other, "p_amount_cents": 450}),
            ("record_purchase", {"p_member_id": member, "p_amount_cents": 450}),
            ("refund_purchase", {"p_purchase_id": earlier}),
            ("record_purchase", {"p_member_id": member, "p_amount_cents": 450}),
            ("record_purchase", {"p_member_id": member, "p_amount_cents": 900}),
            ("refund_purchase", {"p_purchase_id": earlier}),
        ]

        def send(i, tablet, k=k, requests=requests):
            name, params = requests[i]
            return tablet.rpc(name, {"p_business_id": cafe.id, "p_idempotency_key": k} | params)

        outcomes = _run(made, send)
        request_of = [json.dumps(r, sort_keys=True) for r in requests]
        winners = {request_of[i] for i, (c, _) in enumerate(outcomes) if c == "ok"}
        assert len(winners) == 1, (round_no, outcomes)
        answers = {json.dumps(a, sort_keys=True) for c, a in outcomes if c == "ok"}
        assert len(answers) == 1, (round_no, outcomes)  # identical requests got the one answer
        for i, (code, _) in enumerate(outcomes):
            assert code == ("ok" if request_of[i] in winners else "idempotency_key_reused"), (round_no, i, outcomes)
        refunds += "refund_purchase" in next(iter(winners))
    with psycopg.connect(db.admin) as conn:
        executed = conn.execute(
            "select count(*) filter (where kind = 'record_purchase'), count(*) filter (where kind = 'refund_purchase')"
            " from kanta.operations where idempotency_key like 'test-%'"
        ).fetchone()
        # Each round's key executed once: ROUNDS earlier purchases (their own keys) plus one per round.
        assert executed == (ROUNDS + ROUNDS - refunds, refunds)
        assert conn.execute("select count(*) from kanta.purchases where refunded_at is not null").fetchone() == (
            refunds,
        )
