"""Where the app's data and backend are: the embedded database by default, Supabase when its URL and key are set."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from backend.embedded import default_data_dir


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: Path
    supabase_url: str | None
    supabase_anon_key: str | None
    public_url: str
    host: str
    port: int

    @property
    def hosted(self) -> bool:
        return bool(self.supabase_url and self.supabase_anon_key)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        port = int(env.get("KANTA_PORT", "8550"))
        host = env.get("KANTA_HOST", "127.0.0.1")
        return cls(
            data_dir=Path(env["KANTA_DATA_DIR"]) if env.get("KANTA_DATA_DIR") else default_data_dir(),
            supabase_url=env.get("SUPABASE_URL") or None,
            supabase_anon_key=env.get("SUPABASE_ANON_KEY") or None,
            public_url=env.get("KANTA_PUBLIC_URL", f"http://{host}:{port}").rstrip("/"),
            host=host,
            port=port,
        )
