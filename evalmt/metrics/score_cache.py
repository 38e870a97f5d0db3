"""The segment-score cache: sqlite rows keyed by (metric fingerprint, exact inputs).

A neural metric looks up each distinct (source, hypothesis, reference) of a
run here before starting its worker, and stores every batch the worker
returns in its own transaction, so a rerun, an added system or a run resumed
after ``kill -9`` scores only what is new. The fingerprint covers the
checkpoint (hub revision or the sha256 of its directory), the package
versions and every option that changes a score. WAL mode and a busy timeout
let two runs share one file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from evalmt.errors import DataError

BUSY_TIMEOUT_MS = 60_000
_QUERY_CHUNK = 500
_SCHEMA = ("CREATE TABLE IF NOT EXISTS segment_scores (fingerprint TEXT NOT NULL, "
           "input_sha256 TEXT NOT NULL, score REAL NOT NULL, detail TEXT, "
           "PRIMARY KEY (fingerprint, input_sha256)) WITHOUT ROWID",
           "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

Item = tuple[str, str, str | None]


def input_key(item: Item) -> str:
    """Return the sha256 of one (source, hypothesis, reference) triple (JSON-encoded)."""
    return hashlib.sha256(json.dumps(list(item), ensure_ascii=False).encode("utf-8")).hexdigest()


class ScoreCache:
    """Segment scores (with optional JSON detail) per metric fingerprint and input triple."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000,
                                         isolation_level=None)
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            for statement in _SCHEMA:
                self._conn.execute(statement)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise DataError(f"{self.path}: not a usable segment-score cache ({exc}); "
                            "delete it or point `cache:` elsewhere") from exc

    def get_many(self, fingerprint: str, items: Sequence[Item]
                 ) -> dict[Item, tuple[float, Any]]:
        """Return (score, detail) of the cached ``items``; misses are absent."""
        wanted = {input_key(it): it for it in items}
        keys = list(wanted)
        found: dict[Item, tuple[float, Any]] = {}
        for start in range(0, len(keys), _QUERY_CHUNK):
            chunk = keys[start:start + _QUERY_CHUNK]
            rows = self._conn.execute(
                "SELECT input_sha256, score, detail FROM segment_scores "  # noqa: S608 (? only)
                f"WHERE fingerprint = ? AND input_sha256 IN ({','.join('?' * len(chunk))})",
                (fingerprint, *chunk)).fetchall()
            for key, score, detail in rows:
                found[wanted[key]] = (float(score), json.loads(detail) if detail else None)
        return found

    def put_many(self, fingerprint: str, rows: Iterable[tuple[Item, float, Any]]) -> None:
        """Store (item, score, detail) rows in one transaction."""
        values = [(fingerprint, input_key(it), float(score),
                   json.dumps(detail, ensure_ascii=False) if detail is not None else None)
                  for it, score, detail in rows]
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany("INSERT OR REPLACE INTO segment_scores VALUES (?, ?, ?, ?)",
                                   values)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        """Return a remembered value (e.g. a checkpoint folder's sha256), or None."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put_meta(self, key: str, value: str) -> None:
        """Remember ``value`` under ``key``."""
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
