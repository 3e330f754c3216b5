"""`kanta seed` writes a realistic history through the API, the same every time for the same seed."""

import dataclasses
import datetime as dt

import psycopg

from devtools.seed import TZ, seed

END = dt.datetime(2026, 6, 30, 18, 0, tzinfo=TZ)


def _run(cluster, name):
    cluster.create_database(name, template="kanta_template")
    try:
        report = seed(
            cluster.conninfo(dbname=name),
            businesses=2,
            members=80,
            months=4,
            rng_seed=7,
            end=END,
            progress=lambda _m: None,
        )
        with psycopg.connect(cluster.conninfo(dbname=name)) as conn:
            sums = conn.execute(
                "select count(*) filter (where m.stamps <> l.s or m.points <> l.p), sum(m.visits), count(*)"
                " from kanta.members m join (select member_id, sum(stamps) s, sum(points) p from kanta.ledger"
                " group by member_id) l on l.member_id = m.id"
            ).fetchone()
            weekday = dict(
                conn.execute(
                    "select extract(isodow from created_at at time zone 'Europe/Helsinki')::int, count(*)"
                    " from kanta.purchases group by 1"
                ).fetchall()
            )
            tiers = dict(
                conn.execute(
                    "select t.tier, count(*) from (select kanta.member_tier(id, kanta.now()) ->> 'name' as tier"
                    " from kanta.members) t where t.tier is not null group by 1"
                )
            )
        return report, sums, weekday, tiers
    finally:
        cluster.drop_database(name)


def test_the_same_seed_gives_the_same_history_through_the_rules(cluster):
    first, sums, weekday, tiers = _run(cluster, "seed_a")
    second, *_ = _run(cluster, "seed_b")
    strip = lambda r: {k: v for k, v in dataclasses.asdict(r).items() if k != "seconds"}  # noqa: E731
    assert strip(first) == strip(second)
    assert first.members == 80 and first.businesses == 2
    assert first.purchases > 300 and first.sales_without_member > 100 and first.vouchers_redeemed > 0
    mismatched, visits, members_with_ledger = sums
    assert mismatched == 0 and visits == first.purchases  # the cached aggregates agree with the ledger
    # Saturdays are busier than Mondays (the weekday rhythm), and more than one tier is in use.
    assert weekday[6] > weekday[1]
    assert len(tiers) >= 2
