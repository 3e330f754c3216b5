"""The `kanta` command: run the embedded database, apply migrations, manage users, serve the app."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import secrets
import signal
import sys
import time
from pathlib import Path

from backend.config import Settings
from backend.embedded import DatabaseError, EmbeddedPostgres
from backend.migrate import MigrationError, migrate
from shared.errors import KantaError
from shared.i18n import error_text

DEMO_PASSWORD = "kanta-demo"
DEMO_USERS = {
    "owner": "omistaja@kanta.demo",
    "staff": "barista@kanta.demo",
    "customer": "asiakas@kanta.demo",
}
DEMO_BUSINESS = {"p_name": "Kahvila Kanta", "p_slug": "kahvila-kanta"}


def _db(args) -> EmbeddedPostgres:
    data_dir = args.data_dir or Settings.from_env().data_dir
    return EmbeddedPostgres(data_dir, port=getattr(args, "port", None))


def _backend(pg: EmbeddedPostgres):
    from backend.transport.postgres import PostgresBackend

    return PostgresBackend(pg.conninfo(user="authenticator"), pg.conninfo())


# ---- kanta db ... -----------------------------------------------------------------------------


def cmd_db_start(args) -> int:
    pg = _db(args)
    t0 = time.perf_counter()
    started = pg.start()
    print(f"{'started' if started else 'already running'} in {time.perf_counter() - t0:.2f} s: {pg.data_dir}")
    return 0


def cmd_db_stop(args) -> int:
    print("stopped" if _db(args).stop() else "not running")
    return 0


def cmd_db_status(args) -> int:
    pg = _db(args)
    state = pg.state
    status = {
        "running": pg.running(),
        "data_dir": str(pg.data_dir),
        "port": state.port if state else None,
        "pid": pg.postmaster_pid() if pg.running() else None,
    }
    print(json.dumps(status, indent=2))
    return 0 if status["running"] else 3


def cmd_db_url(args) -> int:
    print(_db(args).url(user=args.user))
    return 0


def cmd_db_reset(args) -> int:
    pg = _db(args)
    if not args.yes:
        print(f"This deletes every card and purchase in {pg.data_dir}. Run again with --yes.", file=sys.stderr)
        return 2
    pg.reset()
    pg.start()
    applied = migrate(pg.conninfo(user="postgres"))
    print(f"reset; applied {len(applied)} migrations")
    return 0


def cmd_db_migrate(args) -> int:
    pg = _db(args)
    if not pg.running():
        pg.start()
    t0 = time.perf_counter()
    applied = migrate(pg.conninfo(user="postgres"))
    for m in applied:
        print(f"applied {m.path.name}")
    print(f"{len(applied)} applied in {(time.perf_counter() - t0) * 1000:.0f} ms" if applied else "up to date")
    return 0


# ---- kanta user add ---------------------------------------------------------------------------


def cmd_user_add(args) -> int:
    pg = _db(args)
    if not pg.running():
        pg.start()
    migrate(pg.conninfo(user="postgres"))
    password = args.password or os.environ.get("KANTA_PASSWORD")
    generated = False
    if not password:
        if sys.stdin.isatty():
            password = getpass.getpass("Password (8+ characters): ")
        else:
            password, generated = secrets.token_urlsafe(12), True
    backend = _backend(pg)
    try:
        user = backend.auth.create_user(args.email, password, role_hint=args.role)
        session = backend.transport()
        session.sign_in(args.email, password)
        if args.business and args.role == "owner":
            session.rpc("create_business", {"p_name": args.business_name or args.business, "p_slug": args.business})
        elif args.business and args.role == "staff":
            biz = _business_id(pg, args.business)
            _as_service(backend).rpc("add_staff", {"p_business_id": biz, "p_email": args.email, "p_role": "staff"})
    finally:
        backend.close()
    print(f"created {args.role} {user.email} ({user.id})")
    if generated:
        print(f"password: {password}")
    return 0


def _business_id(pg: EmbeddedPostgres, slug: str) -> str:
    import psycopg

    with psycopg.connect(pg.conninfo()) as conn:
        row = conn.execute("select id from kanta.businesses where slug = %s", (slug,)).fetchone()
    if row is None:
        raise KantaError("business_not_found")
    return str(row[0])


def _as_service(backend):
    """A transport acting as the trusted service role (the CLI runs on the server)."""
    from shared.transport import User

    t = backend.transport()
    t.user = User(id="00000000-0000-0000-0000-000000000000", email="", role="service_role")
    return t


# ---- kanta demo / serve -----------------------------------------------------------------------


DEMO_PROGRAM = {
    "stamps_per_card": 10,
    "stamp_reward": "Kahvi talon piikkiin",
    "points_per_euro": 1,
    "tiers": [
        {"name": "Bronze", "min_points": 0, "multiplier": 1.0, "perks": []},
        {"name": "Silver", "min_points": 250, "multiplier": 1.25, "perks": ["free_refill"]},
        {"name": "Gold", "min_points": 750, "multiplier": 1.5, "perks": ["early_access"]},
    ],
    "rewards": [{"name": "Korvapuusti", "cost_points": 60}, {"name": "Kahvipussi 250 g", "cost_points": 300}],
    "referral_welcome_reward": "Tervetuliaiskahvi",
    "referral_referrer_reward": "Kahvi ystävän tuomisesta",
    "birthday_reward": "Synttärileivos",
}
# Aino's last weeks at the café: (days ago, cents). Twelve visits: one full card and two stamps.
DEMO_VISITS = [
    (75, 390), (68, 840), (61, 420), (54, 1250), (47, 380), (40, 2290),
    (33, 450), (26, 980), (19, 560), (12, 1180), (5, 420), (1, 560),
]  # fmt: skip
DEMO_REGULARS = 120
DEMO_REVIEW_URL = "https://g.page/r/kahvila-kanta/review"


def seed_demo(backend) -> dict:
    """The demo café with an owner, a barista, a customer and her recent visits. Safe to run again."""
    import datetime as dt
    import uuid

    from shared.errors import Conflict

    sessions = {}
    for role, email in DEMO_USERS.items():
        try:
            backend.auth.create_user(email, DEMO_PASSWORD, role_hint=role)
        except Conflict:
            pass
        sessions[role] = backend.transport()
        sessions[role].sign_in(email, DEMO_PASSWORD)
    try:
        business = sessions["owner"].rpc("create_business", DEMO_BUSINESS)
    except Conflict:
        business = None
    card = sessions["customer"].rpc("join_business", {"p_slug": DEMO_BUSINESS["p_slug"], "p_display_name": "Aino"})
    if business:
        owner, staff = sessions["owner"], sessions["staff"]
        owner.rpc("add_staff", {"p_business_id": business["id"], "p_email": DEMO_USERS["staff"]})
        owner.rpc("update_program", {"p_business_id": business["id"], "p_settings": DEMO_PROGRAM})
        # Regulars of the last half year, so the owner's dashboard, segments and churn list have
        # something to show: the same seed as `kanta seed`, through the same API.
        from backend.seed import seed

        seed(
            backend.auth.admin_conninfo,
            members=DEMO_REGULARS,
            months=6,
            visits_per_member=9,
            cafe=business,
            progress=lambda _m: None,
        )
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        for days_ago, cents in DEMO_VISITS:
            # Backdated through the server-side clock: the same record_purchase the counter uses.
            staff.clock = now - dt.timedelta(days=days_ago, hours=2)
            staff.rpc(
                "record_purchase",
                {
                    "p_business_id": business["id"],
                    "p_member_id": card["member_id"],
                    "p_amount_cents": cents,
                    "p_idempotency_key": f"demo-{uuid.uuid4()}",
                },
            )
        staff.clock = None
        owner.rpc("update_program", {"p_business_id": business["id"], "p_settings": {"review_url": DEMO_REVIEW_URL}})
        drop = owner.rpc(
            "create_drop",
            {
                "p_business_id": business["id"],
                "p_title": "Joulublend 250 g",
                "p_description": "Paahtimon joulukahvi, vain 24 pussia.",
                "p_vip_starts_at": (now - dt.timedelta(hours=1)).isoformat(),
                "p_public_starts_at": (now + dt.timedelta(days=2)).isoformat(),
                "p_ends_at": (now + dt.timedelta(days=9)).isoformat(),
                "p_stock": 24,
            },
        )
        customer = sessions["customer"]
        customer.rpc("update_my_profile", {"p_member_id": card["member_id"], "p_changes": {"marketing_consent": True}})
        # Aino is a VIP, so she has reserved from the drop's early window.
        owner.rpc(
            "grant_vip",
            {
                "p_business_id": business["id"],
                "p_member_id": card["member_id"],
                "p_until": (now + dt.timedelta(days=90)).isoformat(),
            },
        )
        customer.rpc("reserve_drop", {"p_drop_id": drop["id"]})
        _as_service(backend).rpc("run_automations", {})
        owner.rpc(
            "send_message",
            {
                "p_business_id": business["id"],
                "p_target": "all",
                "p_title": "Joulun aukioloajat",
                "p_body": "Olemme auki jouluaattona klo 8–13. Hyvää joulua!",
            },
        )
    return {"business": DEMO_BUSINESS["p_slug"], "users": DEMO_USERS, "password": DEMO_PASSWORD}


def default_transport_factory():
    """Supabase when SUPABASE_URL and SUPABASE_ANON_KEY are set, else the embedded database (started if needed)."""
    settings = Settings.from_env()
    if settings.hosted:
        from backend.transport.supabase import SupabaseTransport

        return lambda: SupabaseTransport(settings.supabase_url, settings.supabase_anon_key)
    pg = EmbeddedPostgres(settings.data_dir)
    pg.start()
    migrate(pg.conninfo(user="postgres"))
    return _backend(pg).transport


def cmd_serve(args, *, demo: bool = False) -> int:
    import uvicorn

    from backend.server import build_app

    settings = Settings.from_env()
    port = args.port or settings.port
    pg = None
    started_here = False
    if settings.hosted:
        from backend.transport.supabase import SupabaseTransport

        def new_transport():
            return SupabaseTransport(settings.supabase_url, settings.supabase_anon_key)

        backend = None
        describe = {"backend": "supabase", "pid": os.getpid()}
    else:
        pg = EmbeddedPostgres(args.data_dir or settings.data_dir)
        t0 = time.perf_counter()
        started_here = pg.start(owner_pid=os.getpid())
        print(f"database ready in {time.perf_counter() - t0:.2f} s ({pg.data_dir})", flush=True)
        migrate(pg.conninfo(user="postgres"))
        backend = _backend(pg)
        if demo:
            info = seed_demo(backend)
            print(
                f"demo café '{info['business']}': sign in as {info['users']['owner']} or "
                f"{info['users']['customer']}, password {info['password']}",
                flush=True,
            )
        new_transport = backend.transport
        describe = {"backend": "embedded", "pid": os.getpid()}
    app = build_app(new_transport, describe=lambda: describe, public_url=settings.public_url)
    print(f"Kanta is at http://{settings.host}:{port}  (Ctrl-C stops it)", flush=True)
    # uvicorn re-raises the signal that stopped it once it has shut down; for SIGTERM the default
    # action would end the process before the database is stopped, so exit through Python instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        uvicorn.run(app, host=settings.host, port=port, log_level="warning")
    finally:
        if backend is not None:
            backend.close()
        if pg is not None and started_here:
            pg.stop()
            print("database stopped", flush=True)
    return 0


def cmd_seed(args) -> int:
    from backend.seed import seed

    pg = _db(args)
    if not pg.running():
        pg.start()
    migrate(pg.conninfo(user="postgres"))
    report = seed(
        pg.conninfo(), businesses=args.businesses, members=args.members, months=args.months, rng_seed=args.seed
    )
    print(json.dumps(dataclasses.asdict(report), indent=2))
    return 0


def cmd_export_members(args) -> int:
    """The members who gave marketing consent, laid out for Mailchimp, Brevo or as plain CSV."""
    if Settings.from_env().hosted:
        print("kanta export: on Supabase, export from the owner app (Members → Export).", file=sys.stderr)
        return 2
    pg = _db(args)
    if not pg.running():
        pg.start()
    migrate(pg.conninfo(user="postgres"))
    business = _business_id(pg, args.business)
    backend = _backend(pg)
    try:
        text = _as_service(backend).rpc("export_marketing", {"p_business_id": business, "p_format": args.format})
    finally:
        backend.close()
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"{text.count(chr(10)) - 1} members written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_bench(args) -> int:
    from backend.bench import run

    known = ["foundation", "throughput", "latency", "insights", "ui"]
    unknown = [s for s in args.sections if s not in known]
    if unknown:
        print(f"kanta bench: unknown section {unknown[0]!r}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    from backend.bench import DEFAULT_SECTIONS

    run(args.sections or DEFAULT_SECTIONS, args.json, data_dir=args.data_dir, members=args.members, months=args.months)
    return 0


# ---- argument parsing ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kanta", description="Kanta loyalty wallet")
    parser.add_argument("--data-dir", type=Path, help="where the embedded database lives")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the embedded database").add_subparsers(dest="db_command", required=True)
    start = db.add_parser("start", help="start (and create on first use)")
    start.add_argument("--port", type=int)
    start.set_defaults(func=cmd_db_start)
    db.add_parser("stop", help="stop").set_defaults(func=cmd_db_stop)
    db.add_parser("status", help="show whether it runs").set_defaults(func=cmd_db_status)
    url = db.add_parser("url", help="print the connection URL (contains the local password)")
    url.add_argument("--user", default="postgres")
    url.set_defaults(func=cmd_db_url)
    reset = db.add_parser("reset", help="delete all data and start afresh")
    reset.add_argument("--yes", action="store_true")
    reset.set_defaults(func=cmd_db_reset)
    db.add_parser("migrate", help="apply backend/supabase/migrations").set_defaults(func=cmd_db_migrate)

    user = sub.add_parser("user", help="local accounts").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="create a local account")
    add.add_argument("--email", required=True)
    add.add_argument("--role", choices=["owner", "staff", "customer"], default="customer")
    add.add_argument("--password", help="default: $KANTA_PASSWORD, a prompt, or a generated one")
    add.add_argument("--business", help="slug: the owner's new business, or the business a staff member joins")
    add.add_argument("--business-name")
    add.set_defaults(func=cmd_user_add)

    seed_p = sub.add_parser("seed", help="write a realistic, deterministic history through the API")
    seed_p.add_argument("--businesses", type=int, default=1)
    seed_p.add_argument("--members", type=int, default=1000)
    seed_p.add_argument("--months", type=int, default=12)
    seed_p.add_argument("--seed", type=int, default=42)
    seed_p.set_defaults(func=cmd_seed)

    export = sub.add_parser("export", help="export data for other tools").add_subparsers(
        dest="export_command", required=True
    )
    members = export.add_parser("members", help="members with marketing consent, for an e-mail tool")
    members.add_argument("--business", required=True, help="the business's slug")
    members.add_argument("--format", choices=["mailchimp", "brevo", "csv"], default="csv")
    members.add_argument("--out", type=Path, help="file to write (default: standard output)")
    members.set_defaults(func=cmd_export_members)

    bench = sub.add_parser("bench", help="measure and print figures (see the issues for targets)")
    bench.add_argument(
        "sections", nargs="*", help="throughput, latency, insights, ui (the default: all four), foundation"
    )
    bench.add_argument("--members", type=int, default=100000, help="insights: members in the seeded café")
    bench.add_argument("--months", type=int, default=18, help="insights: months of history")
    bench.add_argument("--json", type=Path, default=Path("bench-results.json"))
    bench.set_defaults(func=cmd_bench)

    for name, demo in (("serve", False), ("demo", True)):
        p = sub.add_parser(name, help="serve the app" + (" with a demo café" if demo else ""))
        p.add_argument("--port", type=int)
        p.set_defaults(func=lambda a, demo=demo: cmd_serve(a, demo=demo))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DatabaseError, MigrationError) as exc:
        print(f"kanta: {exc}", file=sys.stderr)
        return 1
    except KantaError as exc:
        print(f"kanta: {error_text(exc, 'en')} ({exc.code})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
