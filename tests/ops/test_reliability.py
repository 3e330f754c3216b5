"""Exactly-once under faults: duplicate retries from 16 clients, a database restart mid-load, a
client killed with -9 mid-call. Every check reads the ledger itself."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from backend.transport.postgres import PostgresBackend
from shared.errors import KantaError, Unavailable
from tests.engine import Cafe
from tests.exactly_once import RELAXED, assert_exactly_once, ledger_state

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


def recorder(backend: PostgresBackend, email: str):
    t = backend.transport()
    t.sign_in(email, PASSWORD)
    return t


def record(t, business: str, member: str, cents: int, key: str, *, retries: int = 200) -> tuple[dict, int]:
    """record_purchase, retried with the same key while the backend is unavailable."""
    unavailable = 0
    for _ in range(retries):
        try:
            return (
                t.rpc(
                    "record_purchase",
                    {
                        "p_business_id": business,
                        "p_member_id": member,
                        "p_amount_cents": cents,
                        "p_idempotency_key": key,
                    },
                ),
                unavailable,
            )
        except Unavailable:
            unavailable += 1
            time.sleep(0.05)
    raise AssertionError(f"{key} never got through")


# ---- retries ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_sixteen_clients_retrying_duplicates_record_each_purchase_once(users, db):
    cafe = Cafe(users, settings=RELAXED)
    members = [cafe.customer(f"m{i}@example.com")[1] for i in range(24)]
    rng = random.Random(7)
    plan = {f"r-{c:02d}-{i:03d}": (rng.choice(members), rng.randint(100, 5000)) for c in range(16) for i in range(20)}
    keys = list(plan)
    backend = PostgresBackend(db.authenticator, db.admin, min_size=1, max_size=16, bcrypt_rounds=4)
    answers: dict[str, list[str]] = {k: [] for k in keys}
    lock = threading.Lock()
    errors: list[BaseException] = []
    sent = [0]

    def client(n: int) -> None:
        try:
            t = recorder(backend, "barista@cafe-aroma.example")
            mine = [k for k in keys if k.startswith(f"r-{n:02d}-")]
            # Each client also re-sends 8 keys of other clients, racing them.
            work = mine + rng.sample(keys, 8)
            random.Random(n).shuffle(work)
            for key in work:
                for _ in range(1 + (random.Random(key + str(n)).random() < 0.3)):  # 30 %: a retry
                    member, cents = plan[key]
                    answer, _ = record(t, cafe.id, member, cents, key)
                    with lock:
                        answers[key].append(answer["purchase_id"])
                        sent[0] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    backend.close()
    assert errors == []
    assert sent[0] > len(keys) + 100  # duplicates really were sent (320 keys)
    assert all(len(set(ids)) == 1 for ids in answers.values())  # every retry got the first answer
    assert_exactly_once(ledger_state(db.admin, cafe.id), {k: cents for k, (_, cents) in plan.items()})


# ---- a database restart mid-load --------------------------------------------------------------


@pytest.mark.slow
def test_a_database_restart_mid_load_loses_and_doubles_nothing(own_cluster):
    pg = own_cluster
    backend = PostgresBackend(pg.conninfo(user="authenticator"), pg.conninfo(), max_size=8, bcrypt_rounds=4)

    def users(email):
        backend.auth.create_user(email, PASSWORD)
        return recorder(backend, email)

    cafe = Cafe(users, settings=RELAXED)
    members = [cafe.customer(f"m{i}@example.com")[1] for i in range(8)]
    plan = {f"restart-{c}-{i:03d}": (members[(c + i) % 8], 100 + i) for c in range(4) for i in range(60)}
    unavailable = [0]
    errors: list[BaseException] = []
    started = threading.Event()

    def client(c: int) -> None:
        try:
            t = recorder(backend, "barista@cafe-aroma.example")
            for i in range(60):
                key = f"restart-{c}-{i:03d}"
                _, failures = record(t, cafe.id, *plan[key], key)
                unavailable[0] += failures
                if i == 10:
                    started.set()
                time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(4)]
    for th in threads:
        th.start()
    assert started.wait(30)
    pg.stop()  # fast shutdown: open transactions are rolled back, clients see their connection drop
    time.sleep(0.3)
    pg.start()
    for th in threads:
        th.join(120)
    backend.close()
    assert errors == []
    assert unavailable[0] >= 1  # the clients saw the outage as Unavailable and retried
    assert_exactly_once(ledger_state(pg.conninfo(), cafe.id), {k: cents for k, (_, cents) in plan.items()})


# ---- a client killed mid-call -----------------------------------------------------------------

CHILD = """
import sys
from backend.transport.postgres import PostgresBackend
backend = PostgresBackend(sys.argv[1], sys.argv[2], max_size=1)
t = backend.transport()
t.sign_in("barista@cafe-aroma.example", "correct horse battery")
business, members = sys.argv[3], sys.argv[4].split(",")
for i in range(100000):
    key = f"kill-{i:06d}"
    t.rpc("record_purchase", {"p_business_id": business, "p_member_id": members[i % len(members)],
                              "p_amount_cents": 100 + i % 900, "p_idempotency_key": key})
    print(key, flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_a_client_killed_mid_call_leaves_no_partial_write(users, db, round_):
    cafe = Cafe(users, settings=RELAXED)
    members = [cafe.customer(f"k{i}@example.com")[1] for i in range(6)]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db.authenticator, db.admin, cafe.id, ",".join(members)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    done = []
    target = 20 + 15 * round_
    while len(done) < target:
        line = child.stdout.readline()
        assert line, "the client stopped early"
        done.append(line.strip())
    time.sleep(random.Random(round_).uniform(0, 0.01))  # somewhere inside the next call
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    done += child.stdout.read().split()  # answers the client printed before it died
    # The server ends the dead client's session (and rolls back what it had not committed).
    with psycopg.connect(db.admin, autocommit=True) as conn:
        for _ in range(100):
            busy = conn.execute(
                "select count(*) from pg_stat_activity where datname = current_database()"
                " and usename = 'authenticator' and state <> 'idle'"
            ).fetchone()[0]
            if not busy:
                break
            time.sleep(0.05)
    state = ledger_state(db.admin, cafe.id)
    recorded = set(state["keys"])
    assert set(done) <= recorded  # everything the client saw answered is there
    assert len(recorded - set(done)) <= 1  # at most the call in flight, and only if it committed whole
    expected = {k: 100 + int(k.split("-")[1]) % 900 for k in recorded}
    assert_exactly_once(state, expected)


def test_a_retry_after_a_lost_answer_is_the_same_purchase(users, db):
    """The client never heard back (killed, timed out): the same key later returns the first answer."""
    cafe = Cafe(users, settings=RELAXED)
    _, member = cafe.customer("lost@example.com")
    first = cafe.buy(member, 450, idempotency_key="lost-answer-1")
    again = cafe.buy(member, 450, idempotency_key="lost-answer-1")
    assert again == first
    with pytest.raises(KantaError) as refused:  # the same key for another kind of write
        cafe.staff.rpc(
            "redeem_voucher", {"p_business_id": cafe.id, "p_code": "NOPE", "p_idempotency_key": "lost-answer-1"}
        )
    assert refused.value.code in ("idempotency_key_reused", "voucher_not_found")


def test_two_tablets_record_at_once_without_waiting_for_each_other(users, db):
    """A purchase in flight holds no lock another purchase of the café needs (different members)."""
    from backend.transport.postgres import begin_request, claims_for

    cafe = Cafe(users, settings=RELAXED)
    _, first = cafe.customer("first@example.com")
    _, second = cafe.customer("second@example.com")
    call = "select public.record_purchase(%s, %s, 450, %s)"
    a = psycopg.connect(db.authenticator)
    begin_request(a, claims_for(cafe.staff.user))
    a.execute(call, (cafe.id, first, "tablet-a-1"))  # not committed yet
    a_shard = a.execute("select pg_backend_pid() % 8").fetchone()[0]
    others = []
    while True:  # a session of the other tablet that writes another shard of the day's rollup
        b = psycopg.connect(db.authenticator)
        if b.execute("select pg_backend_pid() % 8").fetchone()[0] != a_shard:
            break
        others.append(b)
    try:
        begin_request(b, claims_for(cafe.staff.user))
        b.execute("set local lock_timeout = '2s'")
        b.execute(call, (cafe.id, second, "tablet-b-1"))  # would time out if it queued behind a
        b.commit()
        a.commit()
    finally:
        for conn in (a, b, *others):
            conn.close()
    kpis = cafe.owner.rpc("business_kpis", {"p_business_id": cafe.id, "p_from": "2000-01-01", "p_to": "2100-01-01"})
    assert kpis["revenue_cents"] == 900
