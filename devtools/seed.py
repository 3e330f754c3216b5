"""`kanta seed`: a deterministic, realistic history of cafés, members and visits, written through the real API.

Every effect goes through the SQL functions (join_business, record_purchase, redeem_voucher,
submit_feedback) with the clock pinned to the event's moment, so the data obeys exactly the rules
the counter does. Python only decides who comes when and buys what.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import itertools
import json
import math
import random
import threading
import time
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from backend.auth_local import LocalAuth
from backend.transport.postgres import function_call

TZ = ZoneInfo("Europe/Helsinki")
SERVICE = json.dumps({"role": "service_role", "sub": "00000000-0000-0000-0000-000000000000"})
# Busier on Fridays and Saturdays, in December; quieter in July (the Finnish holiday month).
WEEKDAY = [0.8, 0.9, 0.9, 1.0, 1.2, 1.4, 1.0]
MONTH = [1.0, 0.9, 0.95, 1.0, 1.05, 1.0, 0.75, 0.9, 1.05, 1.05, 1.1, 1.3]
HOURS = [7, 8, 8, 9, 9, 10, 11, 12, 12, 13, 13, 14, 15, 16, 17, 18]
PROGRAM = {
    "stamps_per_card": 10,
    "points_per_euro": 1,
    "tiers": [
        {"name": "Bronze", "min_points": 0, "multiplier": 1.0, "perks": []},
        {"name": "Silver", "min_points": 250, "multiplier": 1.25, "perks": ["free_refill"]},
        {"name": "Gold", "min_points": 750, "multiplier": 1.5, "perks": ["early_access"]},
    ],
    "rewards": [{"name": "Pastry", "cost_points": 60}, {"name": "Coffee beans", "cost_points": 300}],
}


@dataclasses.dataclass
class SeedReport:
    businesses: int = 0
    members: int = 0
    purchases: int = 0
    sales_without_member: int = 0
    vouchers_redeemed: int = 0
    feedback: int = 0
    referrals: int = 0
    refused: int = 0
    seconds: float = 0.0


class _Writer:
    """One connection that runs API calls as a given role and moment, committing in batches."""

    def __init__(self, conninfo: str, batch: int = 2000):
        self.conn = psycopg.connect(conninfo)
        self.conn.execute("set synchronous_commit = off")
        self.batch, self.pending = batch, 0

    def call(self, fn: str, params: dict, *, claims: str, at: dt.datetime, role: str, batch_commit: bool = True):
        call, values = function_call(fn, params)
        # The settings are made in FROM, so they are in force when the function runs.
        row = self.conn.execute(
            sql.SQL(
                "select {} from (select set_config('role', %s, false), set_config('request.jwt.claims', %s, false),"
                " set_config('kanta.clock', %s, false)) s"
            ).format(call),
            [*values, role, claims, at.isoformat()],
        ).fetchone()
        self.pending += 1
        if batch_commit and self.pending >= self.batch:
            self.commit()
        return row[0]

    def try_call(self, fn: str, params: dict, **kwargs):
        """A call that the rules may refuse (e.g. a referral cap): refused calls leave nothing."""
        self.conn.execute("savepoint seed_try")
        try:
            result = self.call(fn, params, batch_commit=False, **kwargs)
        except psycopg.errors.RaiseException:
            self.conn.execute("rollback to savepoint seed_try")
            return None
        except psycopg.Error as exc:
            if exc.sqlstate and exc.sqlstate.startswith("KA"):
                self.conn.execute("rollback to savepoint seed_try")
                return None
            raise
        self.conn.execute("release savepoint seed_try")
        return result

    def commit(self):
        self.conn.execute("reset role")
        self.conn.commit()
        self.pending = 0

    def close(self):
        self.commit()
        self.conn.close()


def seed(
    admin_conninfo: str,
    *,
    businesses: int = 1,
    members: int = 1000,
    months: int = 12,
    rng_seed: int = 42,
    end: dt.datetime | None = None,
    visits_per_member: float = 10.5,
    progress: Callable[[str], None] = print,
    cafe: dict | None = None,
) -> SeedReport:
    """`cafe` ({"id", "slug"}): give the history to this existing café (the demo's) instead of new ones."""
    rng = random.Random(rng_seed)
    end = end or dt.datetime.now(TZ).replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=round(months * 30.44))
    report = SeedReport()
    t0 = time.perf_counter()
    writer = _Writer(admin_conninfo)
    auth = LocalAuth(admin_conninfo, bcrypt_rounds=4)
    run = uuid.uuid4().hex[:8]

    # Businesses, each opened by its owner before the history starts.
    cafes = [cafe] if cafe else []
    for b in range(0 if cafe else businesses):
        owner = auth.create_user(f"owner{b}-{run}@seed.kanta.invalid", f"seed-owner-{run}", role_hint="owner")
        claims = json.dumps({"role": "authenticated", "sub": owner.id, "email": owner.email})
        created = writer.call(
            "create_business",
            {"p_name": f"Kahvila {b + 1}", "p_slug": f"seed-{run}-{b}"},
            claims=claims,
            at=start - dt.timedelta(days=1),
            role="authenticated",
        )
        writer.call(
            "update_program",
            {"p_business_id": created["id"], "p_settings": json.dumps(PROGRAM)},
            claims=claims,
            at=start - dt.timedelta(days=1),
            role="authenticated",
        )
        cafes.append(created)
    report.businesses = len(cafes)

    # Members' accounts (no password: a seed account never signs in).
    with psycopg.connect(admin_conninfo) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "insert into auth.users (email, raw_app_meta_data) select format('m%%s-%%s@seed.kanta.invalid', %s::text, n),"
                ' \'{"provider": "email"}\' from generate_series(1, %s) n returning id::text',
                (run, members),
            )
        ]

    # Each member: a café, a join moment, a visit rate, and maybe a moment they stop coming.
    people = []
    weeks_total = (end - start).days / 7
    for i, user_id in enumerate(ids):
        joined = start + dt.timedelta(seconds=rng.random() ** 1.3 * (end - start).total_seconds())
        churn_at = joined + dt.timedelta(days=rng.expovariate(1 / 120)) if rng.random() < 0.35 else end
        rate = rng.lognormvariate(0, 0.8)  # relative visits per week; scaled below
        people.append(
            {
                "i": i,
                "user": user_id,
                "cafe": cafes[i % len(cafes)],
                "joined": joined,
                "until": min(churn_at, end),
                "rate": rate,
            }
        )
    # Scale the rates so that the expected visits per member come out as asked.
    exposure = sum(p["rate"] * max((p["until"] - p["joined"]).days, 0) / 7 for p in people) or 1
    kept = (sum(WEEKDAY) / 7) * (sum(MONTH) / 12) / (max(WEEKDAY) * max(MONTH))  # what _busy lets through
    scale = visits_per_member * len(people) / exposure / kept
    progress(
        f"seed: {len(cafes)} cafés, {len(people)} members over {months} months "
        f"({weeks_total:.0f} weeks); visits/week scale {scale:.2f}"
    )

    writer.close()
    # Two shards of members, each its own time-ordered stream on its own connection (this machine
    # has two cores). Referrers come from the same shard, so each shard is deterministic.
    shards = [people[k::2] for k in range(2)]
    reports = [SeedReport() for _ in shards]
    failures: list[BaseException] = []

    def play(k, shard):
        try:
            _simulate(admin_conninfo, shard, cafes, end, scale, rng_seed * 10 + k, f"{run}-{k}", reports[k], progress)
        except BaseException as exc:  # re-raised below: a shard must not fail silently
            failures.append(exc)

    threads = [threading.Thread(target=play, args=(k, shard)) for k, shard in enumerate(shards)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if failures:
        raise failures[0]
    for r in reports:
        for field in ("members", "purchases", "sales_without_member", "vouchers_redeemed", "feedback", "referrals"):
            setattr(report, field, getattr(report, field) + getattr(r, field))
    report.seconds = round(time.perf_counter() - t0, 1)
    return report


def _simulate(
    conninfo: str,
    people: list[dict],
    cafes: list[dict],
    end: dt.datetime,
    scale: float,
    rng_seed: int,
    run: str,
    report: SeedReport,
    progress: Callable[[str], None],
) -> None:
    """Play one shard's events in time order through the API."""
    rng = random.Random(rng_seed)
    writer = _Writer(conninfo, batch=500)
    t0 = time.perf_counter()
    events: list[tuple[dt.datetime, int, str, dict]] = []
    seq = 0
    keys = itertools.count()
    shown = 0

    def push(at, kind, data):
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, seq, kind, data))

    for p in people:
        push(p["joined"], "join", p)
    members_by_cafe: dict[str, list[dict]] = {c["id"]: [] for c in cafes}

    while events:
        at, _, kind, data = heapq.heappop(events)
        if at >= end:
            continue
        if kind == "join":
            p = data
            claims = json.dumps({"role": "authenticated", "sub": p["user"]})
            mates = members_by_cafe[p["cafe"]["id"]]
            code = None
            if mates and rng.random() < 0.08:
                code = rng.choice(mates[-500:]).get("code")
            params = {"p_slug": p["cafe"]["slug"], "p_display_name": _name(p["i"])}
            joined = None
            if code:
                joined = writer.try_call(
                    "join_business", {**params, "p_referral_code": code}, claims=claims, at=at, role="authenticated"
                )
                report.referrals += joined is not None
            if joined is None:
                joined = writer.call("join_business", params, claims=claims, at=at, role="authenticated")
            p["member"] = joined["member_id"]
            p["claims"] = claims
            if rng.random() < 0.2:  # some become referrers; their code is read once
                p["code"] = writer.conn.execute(
                    "select referral_code from kanta.members where id = %s", (p["member"],)
                ).fetchone()[0]
            mates.append(p)
            report.members += 1
            push(_next_visit(rng, at, p["rate"] * scale), "visit", p)
        elif kind == "visit":
            p = data
            if at > p["until"]:
                continue
            if rng.random() < _busy(at):
                cents = _amount(rng)
                bought = writer.call(
                    "record_purchase",
                    {
                        "p_business_id": p["cafe"]["id"],
                        "p_member_id": p["member"],
                        "p_amount_cents": cents,
                        "p_idempotency_key": f"seed-{run}-{next(keys)}",
                    },
                    claims=SERVICE,
                    at=at,
                    role="service_role",
                )
                report.purchases += 1
                for v in bought["vouchers_issued"]:
                    if rng.random() < 0.7:
                        push(
                            at + dt.timedelta(days=rng.uniform(1, 40)), "redeem", {"cafe": p["cafe"], "code": v["code"]}
                        )
                if rng.random() < 0.04:
                    push(at + dt.timedelta(hours=1), "feedback", p)
                if rng.random() < 0.5:  # someone else buys without a card around the same time
                    writer.call(
                        "record_purchase",
                        {
                            "p_business_id": p["cafe"]["id"],
                            "p_member_id": None,
                            "p_amount_cents": _amount(rng),
                            "p_idempotency_key": f"seed-{run}-{next(keys)}",
                        },
                        claims=SERVICE,
                        at=at + dt.timedelta(minutes=3),
                        role="service_role",
                    )
                    report.sales_without_member += 1
            push(_next_visit(rng, at, p["rate"] * scale), "visit", p)
        elif kind == "redeem":
            if (
                writer.try_call(
                    "redeem_voucher",
                    {
                        "p_business_id": data["cafe"]["id"],
                        "p_code": data["code"],
                        "p_idempotency_key": f"seed-{run}-{next(keys)}",
                    },
                    claims=SERVICE,
                    at=at,
                    role="service_role",
                )
                is not None
            ):
                report.vouchers_redeemed += 1
        elif kind == "feedback":
            score = rng.choices(range(11), weights=[1, 1, 1, 1, 1, 2, 3, 6, 10, 14, 16])[0]
            if (
                writer.try_call(
                    "submit_feedback",
                    {"p_member_id": data["member"], "p_score": score, "p_comment": _comment(rng, score)},
                    claims=data["claims"],
                    at=at,
                    role="authenticated",
                )
                is not None
            ):
                report.feedback += 1
        if report.purchases >= shown + 50000:
            shown = report.purchases
            progress(f"seed: {run}: {report.purchases} purchases, {time.perf_counter() - t0:.0f} s")
    writer.close()


def _next_visit(rng: random.Random, at: dt.datetime, per_week: float) -> dt.datetime:
    """The next day the member may come (at most once a day), at a café-like hour."""
    gap_days = max(1, math.ceil(rng.expovariate(max(per_week, 1e-6) / 7)))
    day = (at.astimezone(TZ) + dt.timedelta(days=gap_days)).date()
    hour = rng.choice(HOURS)
    return dt.datetime(day.year, day.month, day.day, hour, rng.randrange(60), tzinfo=TZ)


def _busy(at: dt.datetime) -> float:
    """How likely a planned visit happens: the weekday and seasonal rhythm (thinning)."""
    local = at.astimezone(TZ)
    return WEEKDAY[local.weekday()] * MONTH[local.month - 1] / (max(WEEKDAY) * max(MONTH))


def _amount(rng: random.Random) -> int:
    if rng.random() < 0.03:
        return rng.randrange(5000, 20000)  # a cake for a party, a bag of beans
    return max(150, min(15000, int(rng.lognormvariate(math.log(700), 0.6))))


FIRST_NAMES = ["Aino", "Eetu", "Helmi", "Juho", "Venla", "Onni", "Ella", "Leevi", "Sofia", "Elias", "Iida", "Niilo",
               "Emma", "Väinö", "Lilja", "Oskari", "Kerttu", "Aatu", "Siiri", "Toivo", "Hilla", "Mikael", "Aada"]  # fmt: skip


def _name(i: int) -> str:
    """A member's name as the counter shows it: a first name and an initial ("Helmi K.")."""
    return f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {chr(65 + (i // len(FIRST_NAMES)) % 26)}."


COMMENTS = {
    "low": ["Kahvi oli kylmää.", "Jono oli tosi pitkä.", "Pulla loppui kesken."],
    "mid": ["Ihan ok.", "Hyvää mutta vähän kallista."],
    "high": ["Paras korvapuusti!", "Ihana palvelu, kiitos!", "Lempikahvilani."],
}


def _comment(rng: random.Random, score: int) -> str | None:
    """Half of the feedback comes with a few words that fit the score."""
    if rng.random() < 0.5:
        return None
    return rng.choice(COMMENTS["low" if score <= 6 else "mid" if score <= 8 else "high"])
