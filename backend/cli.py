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

from backend.bootstrap import embedded_backend, service_transport
from backend.config import Settings
from backend.embedded import DatabaseError, EmbeddedPostgres
from backend.migrate import MigrationError, migrate
from shared.errors import KantaError
from shared.i18n import error_text


def _db(args) -> EmbeddedPostgres:
    data_dir = args.data_dir or Settings.from_env().data_dir
    return EmbeddedPostgres(data_dir, port=getattr(args, "port", None))


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
    backend = embedded_backend(pg)
    try:
        user = backend.auth.create_user(args.email, password, role_hint=args.role)
        session = backend.transport()
        session.sign_in(args.email, password)
        if args.business and args.role == "owner":
            session.rpc("create_business", {"p_name": args.business_name or args.business, "p_slug": args.business})
        elif args.business and args.role == "staff":
            biz = _business_id(pg, args.business)
            service_transport(backend).rpc(
                "add_staff", {"p_business_id": biz, "p_email": args.email, "p_role": "staff"}
            )
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


# ---- kanta demo / serve -----------------------------------------------------------------------


def cmd_serve(args, *, demo: bool = False) -> int:
    import uvicorn

    from backend.bootstrap import wire
    from backend.server import build_app

    settings = Settings.from_env()
    port = args.port or settings.port
    wiring = wire(settings, data_dir=args.data_dir, owner_pid=os.getpid())
    try:
        if wiring.pg is not None:
            print(f"database ready in {wiring.startup_seconds:.2f} s ({wiring.pg.data_dir})", flush=True)
        if demo:
            if wiring.hosted:
                print("kanta demo: the demo café is for the embedded database; unset SUPABASE_URL", file=sys.stderr)
                return 2
            info = _devtools("demo_cafe").seed_demo(wiring.backend)
            print(
                f"demo café '{info['business']}': sign in as {info['users']['owner']} or "
                f"{info['users']['customer']}, password {info['password']}",
                flush=True,
            )
        app = build_app(wiring.new_transport, describe=wiring.describe, public_url=settings.public_url)
        print(f"Kanta is at http://{settings.host}:{port}  (Ctrl-C stops it)", flush=True)
        # uvicorn re-raises the signal that stopped it once it has shut down; for SIGTERM the default
        # action would end the process before the database is stopped, so exit through Python instead.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        uvicorn.run(app, host=settings.host, port=port, log_level="warning")
    finally:
        if wiring.close():
            print("database stopped", flush=True)
    return 0


def _devtools(module: str):
    """A developer tool (`kanta demo`, `seed`, `bench`): in a clone's environment, not in the wheel."""
    import importlib

    try:
        return importlib.import_module(f"devtools.{module}")
    except ModuleNotFoundError as exc:
        if exc.name not in ("devtools", f"devtools.{module}"):
            raise
        print(
            "kanta: the developer tools (demo, seed, bench) come with a clone of the repository: run `make demo`",
            file=sys.stderr,
        )
        raise SystemExit(2) from exc


def cmd_seed(args) -> int:
    seed = _devtools("seed").seed
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
    backend = embedded_backend(pg)
    try:
        text = service_transport(backend).rpc("export_marketing", {"p_business_id": business, "p_format": args.format})
    finally:
        backend.close()
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"{text.count(chr(10)) - 1} members written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_bench(args) -> int:
    bench = _devtools("bench")

    known = ["foundation", "throughput", "latency", "insights", "ui"]
    unknown = [s for s in args.sections if s not in known]
    if unknown:
        print(f"kanta bench: unknown section {unknown[0]!r}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    bench.run(
        args.sections or bench.DEFAULT_SECTIONS,
        args.json,
        data_dir=args.data_dir,
        members=args.members,
        months=args.months,
    )
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
