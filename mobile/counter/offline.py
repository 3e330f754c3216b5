"""The counter's offline queue: purchases recorded while the backend is unreachable wait in a
file on the device (one JSON line each, with the idempotency key made at the tap), survive an app
restart, and are sent again when the backend answers. A purchase the API refuses on replay (a
velocity limit, say) stays in the queue, marked, for the staff to see; nothing is dropped.

No rule lives here: replaying is calling record_purchase again with the same key, which the
database answers exactly once. A code typed offline is identified on replay with only the
confirmation the staff gave; when the database asks for one (a static member number), the purchase
waits in the queue until the staff confirm or discard it.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from shared.errors import KantaError, Unavailable

NEEDS_CONFIRMATION = "member_number_needs_confirmation"
LARGE_AMOUNT = "large_amount_needs_confirmation"  # the amount is above the owner's limit: confirm it
ASKS_STAFF = (NEEDS_CONFIRMATION, LARGE_AMOUNT)


class OfflineQueue:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def entries(self) -> list[dict]:
        with self._lock:
            return self._read_unlocked()

    def _write(self, entries: list[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
        os.replace(tmp, self.path)  # all or nothing: a crash leaves the old file or the new one

    def add(self, entry: dict) -> None:
        with self._lock:
            entries = self._read_unlocked()
            entries.append({**entry, "refused": None})
            self._write(entries)

    def _read_unlocked(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def pending(self) -> int:
        return len(self.entries())

    def refused(self) -> list[dict]:
        return [e for e in self.entries() if e.get("refused")]

    def to_confirm(self) -> list[dict]:
        return [e for e in self.entries() if e.get("refused") in ASKS_STAFF]

    def confirm(self, key: str) -> None:
        """The staff confirmed what the database asked about (the member, or a large amount): the next
        replay sends the purchase with that confirmation."""
        flag = {NEEDS_CONFIRMATION: "confirmed", LARGE_AMOUNT: "confirm_large"}
        with self._lock:
            self._write(
                [
                    {**e, flag.get(e.get("refused"), "confirmed"): True, "refused": None} if e["key"] == key else e
                    for e in self._read_unlocked()
                ]
            )

    def dismiss(self, key: str) -> None:
        """The staff member has seen a refused purchase and dealt with it."""
        with self._lock:
            self._write([e for e in self._read_unlocked() if e["key"] != key])

    def replay(self, api) -> dict:
        """Send every waiting purchase again, oldest first. Stops at the first Unavailable."""
        sent, refused, to_confirm = [], [], []
        for entry in self.entries():
            if entry.get("refused"):
                continue
            try:
                member_id = entry.get("member_id")
                if member_id is None and entry.get("code"):  # scanned while offline: identify now
                    member_id = api.rpc(
                        "identify_member",
                        {
                            "p_business_id": entry["business_id"],
                            "p_code": entry["code"],
                            "p_confirmed": bool(entry.get("confirmed")),
                        },
                    )["member_id"]
                answer = api.rpc(
                    "record_purchase",
                    {
                        "p_business_id": entry["business_id"],
                        "p_member_id": member_id,
                        "p_amount_cents": entry["amount_cents"],
                        "p_idempotency_key": entry["key"],
                        "p_confirm_large": bool(entry.get("confirm_large")),
                    },
                )
            except Unavailable:
                break
            except KantaError as exc:
                (to_confirm if exc.code in ASKS_STAFF else refused).append(entry["key"])
                self._mark(entry["key"], exc.code)
                continue
            sent.append(answer)
            self.dismiss(entry["key"])
        return {"sent": sent, "refused": refused, "to_confirm": to_confirm, "waiting": self.pending()}

    def _mark(self, key: str, code: str) -> None:
        with self._lock:
            self._write([{**e, "refused": code} if e["key"] == key else e for e in self._read_unlocked()])
