"""`kanta bench`: figures measured side by side in one run, printed as a table and written as JSON."""

from __future__ import annotations

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


def run(sections: list[str], out: Path | None) -> dict:
    report = {"machine": machine(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if "foundation" in sections:
        report["foundation"] = bench_foundation()
    print(
        f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
        f"{report['machine']['memory_gib']} GiB, Python {report['machine']['python']}"
    )
    for section in sections:
        print(f"\n{section}")
        for key, value in report[section].items():
            print(f"  {key:<34} {value}")
    if out:
        out.write_text(json.dumps(report, indent=2))
        print(f"\nwritten to {out}")
    return report
