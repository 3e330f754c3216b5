"""`kanta bench`: figures measured side by side in one run, printed as a table and written as JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from backend.embedded import EmbeddedPostgres
from backend.migrate import migrate


def machine() -> dict:
    mem = 0
    try:
        mem = int(
            next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")).split()[1]
        )
    except (OSError, StopIteration):
        pass
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 1024 / 1024, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def bench_foundation(repeat: int = 3) -> dict:
    """Cluster start, migrations, a fresh test database, and RPC round trips through PostgresTransport."""
    from backend.transport.postgres import PostgresBackend

    scratch = Path(tempfile.mkdtemp(prefix="kanta-bench-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    scratch.chmod(0o711)  # as root, postgres runs as another user and must reach its folder
    results: dict = {}
    try:
        pg = EmbeddedPostgres(scratch / "db", fast=True)
        t0 = time.perf_counter()
        pg.start()
        results["cluster_cold_start_ms"] = _ms(time.perf_counter() - t0)  # initdb + start + bootstrap
        warm = []
        for _ in range(repeat):
            pg.stop()
            t0 = time.perf_counter()
            pg.start()
            warm.append(time.perf_counter() - t0)
        results["cluster_warm_start_ms"] = _ms(statistics.median(warm))

        pg.create_database("bench_template")
        pg.bootstrap("bench_template")
        t0 = time.perf_counter()
        applied = migrate(pg.conninfo(user="postgres", dbname="bench_template"))
        results["migrate_ms"] = _ms(time.perf_counter() - t0)
        results["migrations"] = len(applied)

        clones = []
        for _ in range(max(repeat, 5)):
            name = f"b_{uuid.uuid4().hex[:8]}"
            t0 = time.perf_counter()
            pg.create_database(name, template="bench_template")
            clones.append(time.perf_counter() - t0)
        results["test_database_from_template_ms"] = _ms(statistics.median(clones))

        backend = PostgresBackend(
            pg.conninfo(user="authenticator", dbname=name), pg.conninfo(dbname=name), bcrypt_rounds=4
        )
        try:
            backend.auth.create_user("bench@kanta.example", "bench password")
            t = backend.transport()
            t.sign_in("bench@kanta.example", "bench password")
            t.rpc("create_business", {"p_name": "Bench", "p_slug": "bench"})
            t.rpc("join_business", {"p_slug": "bench"})
            t.rpc("my_wallet")
            n = 1000
            t0 = time.perf_counter()
            for _ in range(n):
                t.rpc("my_wallet")
            results["rpc_1000_my_wallet_s"] = round(time.perf_counter() - t0, 3)
        finally:
            backend.close()
        pg.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return results


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def pick(q):
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50_ms": pick(0.5), "p95_ms": pick(0.95), "p99_ms": pick(0.99), "n": len(ordered)}


@dataclasses.dataclass
class Dataset:
    pg: EmbeddedPostgres
    business: str
    owner: str
    facts: dict


def prepare_dataset(data_dir: Path, members: int, months: int) -> Dataset:
    """Seed (or reuse) a café with `members` members and `months` of history, vacuumed."""
    import psycopg

    from devtools.seed import seed

    pg = EmbeddedPostgres(data_dir)
    pg.start()
    migrate(pg.conninfo(user="postgres"))
    facts: dict = {}
    with psycopg.connect(pg.conninfo()) as conn:
        found = conn.execute(
            "select b.id, count(m.id) from kanta.businesses b join kanta.members m on m.business_id = b.id"
            " where b.slug like 'seed-%%' group by b.id order by 2 desc limit 1"
        ).fetchone()
    if not found or found[1] < members:
        t0 = time.perf_counter()
        # 12 planned visits a member (fewer happen: churn, quiet days) gives > 2M ledger rows at 100k.
        report = seed(pg.conninfo(), businesses=1, members=members, months=months, visits_per_member=12, progress=print)
        facts["seed_seconds"] = round(time.perf_counter() - t0, 1)
        facts["seed_purchases"] = report.purchases
    with psycopg.connect(pg.conninfo()) as conn:
        business, owner = conn.execute(
            "select b.id::text, s.user_id::text from kanta.businesses b join kanta.staff s on s.business_id = b.id"
            " and s.role = 'owner' where b.slug like 'seed-%%'"
            " order by (select count(*) from kanta.members m where m.business_id = b.id) desc limit 1"
        ).fetchone()
        # Steady state, as autovacuum keeps it in production: statistics, and visibility maps set so
        # index-only scans skip the heap (the seed writes faster than autovacuum catches up).
        conn.commit()
        conn.autocommit = True
        conn.execute("vacuum (analyze)")
        conn.autocommit = False
        facts["members"], facts["ledger_rows"], facts["purchases"] = conn.execute(
            "select (select count(*) from kanta.members where business_id = %s),"
            " (select count(*) from kanta.ledger where business_id = %s),"
            " (select count(*) from kanta.purchases where business_id = %s)",
            (business, business, business),
        ).fetchone()
    return Dataset(pg, business, owner, facts)


def bench_insights(ds: Dataset, repeat: int = 20) -> dict:
    """Time the owner's insights and my_card on the dataset's café."""
    import datetime as dt

    import psycopg

    from backend.transport.postgres import PostgresBackend
    from shared.transport import User

    pg, business, owner = ds.pg, ds.business, ds.owner
    results: dict = {}
    with psycopg.connect(pg.conninfo()) as conn:
        member_ids = [
            r[0]
            for r in conn.execute(
                "select id::text from kanta.members where business_id = %s order by random() limit 200", (business,)
            )
        ]
        member_users = dict(
            conn.execute(
                "select id::text, user_id::text from kanta.members where id = any(%s::uuid[])", (member_ids,)
            ).fetchall()
        )
    results["explain"] = explain_insights(pg.conninfo(), business, member_ids[0])
    backend = PostgresBackend(pg.conninfo(user="authenticator"), pg.conninfo(), max_size=2)
    try:
        t = backend.transport()
        t.user = User(id=owner, email="", role="authenticated")
        now = dt.datetime.now(dt.UTC)
        calls = [  # (label, function, params)
            ("member_segments", "member_segments", {"p_business_id": business}),
            ("churn_risk", "churn_risk", {"p_business_id": business}),
            (
                "business_kpis (90 days)",
                "business_kpis",
                {"p_business_id": business, "p_from": now - dt.timedelta(days=90), "p_to": now},
            ),
            # The dashboard opens on 30 days; it calls the KPIs and the six series in one go.
            (
                "business_kpis (30 days)",
                "business_kpis",
                {"p_business_id": business, "p_from": now - dt.timedelta(days=30), "p_to": now},
            ),
            (
                "owner_dashboard (30 days, daily series)",
                "owner_dashboard",
                {"p_business_id": business, "p_from": now - dt.timedelta(days=30), "p_to": now, "p_bucket": "day"},
            ),
            (
                "kpi_timeseries (revenue, weekly, 6 months)",
                "kpi_timeseries",
                {
                    "p_business_id": business,
                    "p_metric": "revenue",
                    "p_bucket": "week",
                    "p_from": now - dt.timedelta(days=182),
                    "p_to": now,
                },
            ),
        ]
        # The day's first look scores every member (run_automations does it nightly); timed apart,
        # after forgetting any scores already made today.
        with psycopg.connect(pg.conninfo()) as conn:
            conn.execute("delete from kanta.score_runs where business_id = %s", (business,))
        t0 = time.perf_counter()
        t.rpc("member_segments", {"p_business_id": business})
        results["member scores (once a café-day)"] = {"ms": _ms(time.perf_counter() - t0)}
        for label, fn, params in calls:
            samples = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                t.rpc(fn, params)
                samples.append(time.perf_counter() - t0)
            results[label] = _percentiles(samples)
        samples = []
        for member_id in member_ids:
            t.user = User(id=member_users[member_id], email="", role="authenticated")
            t0 = time.perf_counter()
            t.rpc("my_card", {"p_member_id": member_id})
            samples.append(time.perf_counter() - t0)
        results["my_card"] = _percentiles(samples)
    finally:
        backend.close()
    return results


# The statements the insights and my_card stand on, explained against the seeded café: each line
# says which index or aggregate does the work.
EXPLAINED = {
    "members of a business by last visit (active_30/90, churn)": "select count(*) from kanta.members where business_id = %(b)s and last_visit_at > now() - interval '30 days'",
    "churn candidates: kanta.is_at_risk inlined into one members scan (churn_risk)": "select count(*)"
    " from kanta.members where business_id = %(b)s and visits >= 3"
    " and kanta.is_at_risk(visits, first_visit_at, last_visit_at, now(), 2)",
    "members of a business by join date (new members)": "select count(*) from kanta.members where business_id = %(b)s and joined_at >= now() - interval '90 days'",
    "buying members, repeaters and spend by tier in 90 days, from the purchases' links (business_kpis)": "select"
    " tier, count(*), count(*) filter (where prev_at is null or prev_at < now() - interval '90 days'),"
    " count(*) filter (where prev_at >= now() - interval '90 days' and (prev2_at is null"
    " or prev2_at < now() - interval '90 days')), sum(amount_cents) from kanta.purchases"
    " where business_id = %(b)s and refunded_at is null and member_id is not null"
    " and created_at >= now() - interval '90 days' and created_at < now() group by 1",
    "revenue of a period from the daily rollup (business_kpis, kpi_timeseries)": "select sum(revenue_cents)"
    " from kanta.daily_sales where business_id = %(b)s and day >= current_date - 90",
    "a member's purchases in the tier window (my_card, record_purchase)": "select sum(points) from kanta.purchases where member_id = %(m)s and refunded_at is null"
    " and created_at > now() - interval '12 months' and created_at <= now()",
    "a member's active vouchers (my_card)": "select count(*) from kanta.vouchers where member_id = %(m)s and status = 'active'",
    "a member's history page (my_history)": "select id from kanta.ledger where member_id = %(m)s order by id desc limit 20",
}


def explain_insights(conninfo: str, business: str, member: str) -> dict:
    import psycopg

    plans = {}
    with psycopg.connect(conninfo) as conn:
        for label, query in EXPLAINED.items():
            rows = conn.execute(
                "explain (analyze, costs off, timing on, summary on) " + query, {"b": business, "m": member}
            ).fetchall()
            plans[label] = [r[0] for r in rows if "Scan" in r[0] or "Aggregate" in r[0] or "Execution" in r[0]]
    return plans


def bench_ui(rounds: int = 3) -> dict:
    """Time to the first rendered card in Debian's chromium: cold (a new server on a new database)
    and warm (the same server, a new browser page). Typing is not counted: the figures are the
    server's start, the app's first screen, and sign-in to the card on screen."""
    import urllib.request

    from playwright.sync_api import sync_playwright

    from devtools.browser import CHROMIUM, CHROMIUM_ARGS, fill, open_app, served_demo

    def first_card(browser, url: str) -> dict:
        t0 = time.perf_counter()
        page = open_app(browser, url, 390, 844)
        page.get_by_text("Kanta-asiakkaan lompakko").wait_for(timeout=120_000)
        shown = time.perf_counter() - t0
        fill(page, "Sähköposti", "asiakas@kanta.demo")
        fill(page, "Salasana", "kanta-demo")
        t1 = time.perf_counter()
        page.get_by_role("button", name="Kirjaudu sisään").click()
        page.get_by_text("Korttini").wait_for(timeout=60_000)
        page.get_by_text("Kahvila Kanta").first.click()
        page.get_by_text("Leimakortti").wait_for(timeout=60_000)
        signed_in = time.perf_counter() - t1
        page.close()
        return {"first_screen_ms": _ms(shown), "sign_in_to_card_ms": _ms(signed_in)}

    results: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        t0 = time.perf_counter()
        with served_demo() as url:
            results["cold: server start to ready (new database, demo seeded)"] = {"ms": _ms(time.perf_counter() - t0)}
            # A returning customer's browser keeps the app's files cached: one context for all pages.
            context = browser.new_context()
            results["cold: first page (empty browser cache)"] = first_card(context, url)
            warm = [first_card(context, url) for _ in range(rounds)]
            results[f"warm: first page, cached app files (median of {rounds})"] = {
                k: round(statistics.median(w[k] for w in warm), 1) for k in warm[0]
            }
            results["server resident memory"] = _rss_mb(url, browser, urllib.request)
        browser.close()
    return results


def _rss_mb(url: str, browser, urllib_request) -> dict:
    """The server's resident memory with 1 and with 20 open sessions (pages on the wallet)."""
    import json as _json

    from devtools.browser import open_app

    pid = _json.loads(urllib_request.urlopen(f"{url}/healthz", timeout=5).read()).get("pid")
    if not pid:
        return {}

    def rss() -> float:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    pages = []
    out = {}
    for n in (1, 20):
        while len(pages) < n:
            page = open_app(browser, url, 390, 844)
            page.get_by_text("Kanta-asiakkaan lompakko").wait_for(timeout=120_000)
            pages.append(page)
        time.sleep(1)
        out[f"{n} sessions_mb"] = rss()
    for page in pages:
        page.close()
    return out


# ---- throughput and latency -------------------------------------------------------------------

# The baseline: pgbench's TPC-B-like transaction (three updates, one select, one insert) as one
# function, called through the same pool, request preamble and round trip as the API. It lives in
# a `bench` schema of the bench database only; it is a yardstick, not part of Kanta.
BASELINE_SQL = """
create schema if not exists bench;
create table if not exists bench.branches (bid int primary key, bbalance int not null default 0);
create table if not exists bench.tellers (tid int primary key, bid int not null, tbalance int not null default 0);
create table if not exists bench.accounts (aid int primary key, bid int not null, abalance int not null default 0,
                                           filler char(84));
create table if not exists bench.history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));
insert into bench.branches (bid) select g from generate_series(1, 16) g on conflict do nothing;
insert into bench.tellers (tid, bid) select g, 1 + (g - 1) / 10 from generate_series(1, 160) g on conflict do nothing;
insert into bench.accounts (aid, bid) select g, 1 + (g - 1) / 100000 from generate_series(1, 1600000) g
  on conflict do nothing;
create or replace function bench.tpcb(p_aid int, p_tid int, p_bid int, p_delta int) returns int
language plpgsql security definer set search_path = '' as $$
declare
  v_balance int;
begin
  update bench.accounts set abalance = abalance + p_delta where aid = p_aid;
  select abalance into v_balance from bench.accounts where aid = p_aid;
  update bench.tellers set tbalance = tbalance + p_delta where tid = p_tid;
  update bench.branches set bbalance = bbalance + p_delta where bid = p_bid;
  insert into bench.history (tid, bid, aid, delta, mtime) values (p_tid, p_bid, p_aid, p_delta, now());
  return v_balance;
end $$;
grant usage on schema bench to service_role;
grant execute on function bench.tpcb(int, int, int, int) to service_role;
"""

# A member may buy many times within minutes under load; the bench café's counter limits are
# relaxed for the throughput and latency runs (the note says so).
RELAXED = {"stamp_cooldown_minutes": 0, "max_purchases_per_day": 100}


def load_cafe(ds: Dataset, members: int = 2000) -> Dataset:
    """A second café in the same database for the load runs (2,000 members, 3 months of history),
    so their purchases leave the big café, which the insights are measured on, as it was."""
    import psycopg

    from devtools.seed import seed

    query = (
        "select b.id::text, s.user_id::text from kanta.businesses b join kanta.staff s on s.business_id = b.id"
        " and s.role = 'owner' where b.slug like 'seed-%%' and b.id <> %s"
        " and (select count(*) from kanta.members m where m.business_id = b.id) between %s and %s limit 1"
    )
    with psycopg.connect(ds.pg.conninfo()) as conn:
        row = conn.execute(query, (ds.business, members // 2, members * 2)).fetchone()
    if row is None:
        seed(ds.pg.conninfo(), businesses=1, members=members, months=3, rng_seed=7, progress=lambda _m: None)
        with psycopg.connect(ds.pg.conninfo()) as conn:
            conn.autocommit = True
            conn.execute("vacuum (analyze)")
            row = conn.execute(query, (ds.business, members // 2, members * 2)).fetchone()
    return Dataset(ds.pg, row[0], row[1], {"members": members})


def _backend_for(ds: Dataset, size: int):
    from backend.transport.postgres import PostgresBackend

    return PostgresBackend(ds.pg.conninfo(user="authenticator"), ds.pg.conninfo(), min_size=size, max_size=size)


def _members(ds: Dataset, n: int) -> list[tuple[str, str]]:
    import psycopg

    with psycopg.connect(ds.pg.conninfo()) as conn:
        return [
            (r[0], r[1])
            for r in conn.execute(
                "select id::text, user_id::text from kanta.members where business_id = %s and user_id is not null"
                " order by random() limit %s",
                (ds.business, n),
            )
        ]


def _relax(ds: Dataset, backend):
    from shared.transport import User

    owner = backend.transport()
    owner.user = User(id=ds.owner, email="", role="authenticated")
    owner.rpc("update_program", {"p_business_id": ds.business, "p_settings": RELAXED})
    return owner


def bench_throughput(ds: Dataset, clients: tuple[int, ...] = (1, 4, 8, 16), seconds: float = 4.0) -> dict:
    """Transactions per second, record_purchase and the TPC-B-like baseline side by side."""
    import random
    import threading

    import psycopg

    from backend.transport.postgres import begin_request

    with psycopg.connect(ds.pg.conninfo(), autocommit=True) as conn:
        conn.execute(BASELINE_SQL)
        conn.execute("vacuum analyze bench.accounts")
    backend = _backend_for(ds, max(clients))
    owner = _relax(ds, backend)
    members = [m for m, _ in _members(ds, 20000)]
    service = {"role": "service_role"}

    def purchase(rng: random.Random, t) -> None:
        t.rpc(
            "record_purchase",
            {
                "p_business_id": ds.business,
                "p_member_id": rng.choice(members),
                "p_amount_cents": rng.randint(150, 3000),
                "p_idempotency_key": f"bench-{uuid.uuid4()}",
            },
        )

    def baseline(rng: random.Random, _t) -> None:
        with backend.pool.connection() as conn:
            begin_request(conn, service)
            conn.execute(
                "select bench.tpcb(%s, %s, %s, %s)",
                (rng.randint(1, 1600000), rng.randint(1, 160), rng.randint(1, 16), rng.randint(-5000, 5000)),
            ).fetchone()

    def load(kind, n: int) -> float:
        stop, counts, errors = threading.Event(), [0] * n, []

        def client(i: int) -> None:
            rng = random.Random(i)
            t = backend.transport()
            t.user = owner.user
            try:
                while not stop.is_set():
                    kind(rng, t)
                    counts[i] += 1
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
        for th in threads:
            th.start()
        time.sleep(0.5)  # warm-up
        start, before = time.perf_counter(), sum(counts)
        time.sleep(seconds)
        done, elapsed = sum(counts) - before, time.perf_counter() - start
        stop.set()
        for th in threads:
            th.join()
        if errors:
            raise RuntimeError(f"{len(errors)} clients failed: {errors[0]}")
        return round(done / elapsed, 1)

    results: dict = {}
    try:
        for n in clients:
            base = load(baseline, n)
            rp = load(purchase, n)
            results[f"{n:>2} clients"] = {
                "record_purchase_tps": rp,
                "baseline_tps": base,
                "ratio": round(rp / base, 3) if base else None,
            }
    finally:
        backend.close()
    return results


def bench_latency(ds: Dataset, n: int = 200) -> dict:
    """p50/p95/p99 of the counter's and the customer's calls: one client, one call at a time."""
    import random

    import psycopg

    from shared.transport import User

    backend = _backend_for(ds, 2)
    staff = _relax(ds, backend)
    customer = backend.transport()
    rng = random.Random(5)
    timings: dict[str, list[float]] = {
        k: [] for k in ("identify_member", "record_purchase", "redeem_voucher", "my_card")
    }

    def timed(label: str, t, fn: str, params: dict):
        t0 = time.perf_counter()
        answer = t.rpc(fn, params)
        timings[label].append(time.perf_counter() - t0)
        return answer

    try:
        for member, user in _members(ds, n):
            customer.user = User(id=user, email="", role="authenticated")
            token = customer.rpc("member_qr_token", {"p_member_id": member})["token"]  # the phone, untimed
            timed("identify_member", staff, "identify_member", {"p_business_id": ds.business, "p_code": token})
            timed(
                "record_purchase",
                staff,
                "record_purchase",
                {
                    "p_business_id": ds.business,
                    "p_member_id": member,
                    "p_amount_cents": rng.randint(150, 3000),
                    "p_idempotency_key": f"bench-{uuid.uuid4()}",
                },
            )
            timed("my_card", customer, "my_card", {"p_member_id": member})
        with psycopg.connect(ds.pg.conninfo()) as conn:
            codes = [
                r[0]
                for r in conn.execute(
                    "select code from kanta.vouchers where business_id = %s and status = 'active'"
                    " and (expires_at is null or expires_at > now()) order by random() limit %s",
                    (ds.business, n),
                )
            ]
        for code in codes:
            timed(
                "redeem_voucher",
                staff,
                "redeem_voucher",
                {"p_business_id": ds.business, "p_code": code, "p_idempotency_key": f"bench-{uuid.uuid4()}"},
            )
    finally:
        backend.close()
    return {label: _percentiles(samples) for label, samples in timings.items() if samples}


DEFAULT_SECTIONS = ["throughput", "latency", "insights", "ui"]


def run(
    sections: list[str], out: Path | None, *, data_dir: Path | None = None, members: int = 100000, months: int = 18
) -> dict:
    report = {"machine": machine(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if "foundation" in sections:
        report["foundation"] = bench_foundation()
    if any(s in sections for s in ("throughput", "latency", "insights")):
        from backend.embedded import default_data_dir

        ds = prepare_dataset(data_dir or default_data_dir().parent / "bench", members, months)
        report["dataset"] = ds.facts
        # The insights first, on the vacuumed dataset; the load runs add purchases after them.
        if "insights" in sections:
            report["insights"] = bench_insights(ds)
        if "throughput" in sections or "latency" in sections:
            load = load_cafe(ds)
            report["dataset"]["load café members"] = load.facts["members"]
            if "throughput" in sections:
                report["throughput"] = bench_throughput(load)
            if "latency" in sections:
                report["latency"] = bench_latency(load)
    if "ui" in sections:
        report["ui"] = bench_ui()
    sections = [s for s in ("foundation", "dataset", "insights", "throughput", "latency", "ui") if s in report]
    print(
        f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
        f"{report['machine']['memory_gib']} GiB, Python {report['machine']['python']}"
    )
    for section in sections:
        print(f"\n{section}")
        for key, value in report[section].items():
            if key == "explain":
                for label, lines in value.items():
                    print(f"  EXPLAIN {label}")
                    for line in lines:
                        print(f"      {line.strip()}")
                continue
            print(f"  {key:<34} {value}")
    if out:
        out.write_text(json.dumps(report, indent=2))
        print(f"\nwritten to {out}")
    return report
