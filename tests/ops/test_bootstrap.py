"""The one wiring point: backend/bootstrap.py alone picks hosted Supabase or the embedded database."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from pathlib import Path

import pytest

from backend.bootstrap import wire
from backend.config import Settings
from backend.transport.postgres import PostgresTransport
from backend.transport.supabase import SupabaseTransport
from shared.errors import NotFound

ROOT = Path(__file__).resolve().parents[2]


def test_supabase_url_and_anon_key_choose_the_hosted_project(tmp_path):
    settings = Settings.from_env(
        {
            "SUPABASE_URL": "https://project.supabase.example",
            "SUPABASE_ANON_KEY": "anon",
            "KANTA_DATA_DIR": str(tmp_path),
        }
    )
    wiring = wire(settings)
    transport = wiring.new_transport()
    assert isinstance(transport, SupabaseTransport)
    assert transport.url == "https://project.supabase.example"
    assert wiring.hosted and wiring.pg is None and wiring.describe()["backend"] == "supabase"
    assert not any(tmp_path.iterdir()), "hosted mode must not create an embedded database"
    assert wiring.close() is False


def test_without_them_the_embedded_database_is_started_migrated_and_stopped():
    root = Path("/dev/shm" if Path("/dev/shm").is_dir() else "/tmp") / f"kanta-wire-{os.getpid()}"
    settings = dataclasses.replace(Settings.from_env({}), data_dir=root / "db")
    try:
        wiring = wire(settings)
        assert not wiring.hosted and wiring.describe()["backend"] == "embedded"
        assert wiring.started_here and wiring.pg.running()
        transport = wiring.new_transport()
        assert isinstance(transport, PostgresTransport)
        # anon may call referral_preview: the API is migrated and reachable through the factory
        with pytest.raises(NotFound) as err:
            transport.rpc("referral_preview", {"p_code": "RNOSUCH1"})
        assert err.value.code == "referral_code_unknown"
        transport.close()
        assert wiring.close() is True
        assert not wiring.pg.running()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_no_other_runtime_module_builds_a_supabase_transport():
    """The choice is written once: only the bootstrap constructs the hosted adapter."""
    builders = []
    for path in sorted((ROOT / "backend").rglob("*.py")) + sorted((ROOT / "mobile").rglob("*.py")):
        if re.search(r"(?<!class )SupabaseTransport\(", path.read_text(encoding="utf-8")):
            builders.append(path.relative_to(ROOT).as_posix())
    assert builders == ["backend/bootstrap.py"]
