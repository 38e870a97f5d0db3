"""The translation cache: a sqlite file mapping (system fingerprint, source text) to output.

A rerun of a finished run does no translation work, and a run killed midway
(even with ``kill -9``) resumes where it stopped, because ``evalmt.translate``
writes every finished batch in its own transaction. The file is opened in WAL
mode with a busy timeout, so two runs (two processes) can share one cache.

Rows are keyed by the sha256 of the source text; the source itself is stored
too. Systems that report more than text (an API's finish reason, token usage,
returned model name, latency) keep it as JSON in the ``details`` table under
the same key, written in the same transaction as the output. Both tables are
readable so the cache can be inspected with any sqlite client::

    sqlite3 cache.sqlite "select source, hypothesis from translations limit 5"
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from evalmt.errors import DataError

#: Bumped when the table layout changes; an older file is refused, not misread.
SCHEMA_VERSION = 1
#: How long a writer waits for another process's transaction (milliseconds).
BUSY_TIMEOUT_MS = 60_000
#: sqlite's default limit on bound parameters is 999 in old builds; stay under it.
_QUERY_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS translations (
    fingerprint TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    hypothesis TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (fingerprint, source_sha256)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS details (
    fingerprint TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    details TEXT NOT NULL,
    PRIMARY KEY (fingerprint, source_sha256)
) WITHOUT ROWID;
"""


def _create_tables(conn: sqlite3.Connection) -> None:
    # One statement at a time: executescript() would commit our transaction.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def source_key(source: str) -> str:
    """Return the cache key of a source text: sha256 hex digest of its UTF-8 bytes."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


class TranslationCache:
    """A sqlite-backed store of translations keyed by (fingerprint, source text).

    Use as a context manager or call ``close()``. Every ``put_many`` is one
    atomic transaction: after a crash either all of its rows are there or none.
    A file that is not a readable evalmt cache raises ``DataError`` naming it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"{self.path}: cannot create cache folder: {exc.strerror}") from exc
        self._conn: sqlite3.Connection | None = None
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves.
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None)
            self._conn = conn
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._write(_create_tables)
            self._check_schema()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise DataError(
                f"{self.path}: not a usable translation cache ({exc}); "
                "delete it or point `cache:` elsewhere"
            ) from exc

    # -- public API -------------------------------------------------------------

    def get_many(self, fingerprint: str, sources: Iterable[str]) -> dict[str, str]:
        """Return cached outputs of ``fingerprint`` for those ``sources`` that have one.

        The result maps source text to output; misses are simply absent.
        """
        return dict(self._lookup("SELECT source_sha256, hypothesis FROM translations",
                                 fingerprint, sources))

    def put_many(self, fingerprint: str, items: Iterable[tuple[str, str]], *,
                 details: Mapping[str, Mapping[str, Any]] | None = None) -> int:
        """Store (source, output) pairs for ``fingerprint`` in one transaction; return the count.

        ``details`` maps a source to JSON-ready details stored with it. An
        existing row for the same key is replaced.
        """
        now = time.time()
        rows = [(fingerprint, source_key(src), src, hyp, now) for src, hyp in items]
        for _, _, src, hyp, _ in rows:
            if not isinstance(hyp, str):
                raise DataError(f"{self.path}: cache values must be strings, got "
                                f"{type(hyp).__name__} for {src[:40]!r}")
        extra = [(fingerprint, source_key(src), json.dumps(dict(d), sort_keys=True,
                                                           ensure_ascii=False))
                 for src, d in (details or {}).items()]

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR REPLACE INTO translations "
                "(fingerprint, source_sha256, source, hypothesis, created) VALUES (?, ?, ?, ?, ?)",
                rows)
            conn.executemany("INSERT OR REPLACE INTO details (fingerprint, source_sha256, "
                             "details) VALUES (?, ?, ?)", extra)

        if rows or extra:
            self._write(write)
        return len(rows)

    def get_details(self, fingerprint: str, sources: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Return the stored details of ``fingerprint`` for those ``sources`` that have some."""
        return {source: json.loads(blob) for source, blob in
                self._lookup("SELECT source_sha256, details FROM details", fingerprint, sources)}

    def count(self, fingerprint: str | None = None) -> int:
        """Count cached rows, for one fingerprint or (``None``) in total."""
        if fingerprint is None:
            rows = self._read("SELECT COUNT(*) FROM translations", ())
        else:
            rows = self._read("SELECT COUNT(*) FROM translations WHERE fingerprint = ?",
                              (fingerprint,))
        return int(rows[0][0])

    def fingerprints(self) -> list[str]:
        """Every fingerprint with at least one cached row, sorted."""
        return [r[0] for r in self._read(
            "SELECT DISTINCT fingerprint FROM translations ORDER BY fingerprint", ())]

    def items(self, fingerprint: str) -> Iterator[tuple[str, str]]:
        """All cached (source, output) pairs of ``fingerprint`` (for inspection and export)."""
        yield from self._read(
            "SELECT source, hypothesis FROM translations WHERE fingerprint = ? ORDER BY source",
            (fingerprint,))

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> TranslationCache:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TranslationCache({str(self.path)!r})"

    # -- internals --------------------------------------------------------------

    def _lookup(self, select: str, fingerprint: str,
                sources: Iterable[str]) -> Iterator[tuple[str, Any]]:
        """Yield (source, value) for ``select`` (key, value) rows of ``fingerprint``'s sources."""
        wanted = {source_key(s): s for s in sources}
        keys = list(wanted)
        for start in range(0, len(keys), _QUERY_CHUNK):
            chunk = keys[start:start + _QUERY_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._read(
                f"{select} WHERE fingerprint = ? AND source_sha256 IN ({marks})",  # noqa: S608
                (fingerprint, *chunk),  # (only constant SQL and ? marks)
            )
            for key, value in rows:
                yield wanted[key], value

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise DataError(f"{self.path}: translation cache is closed")
        return self._conn

    def _read(self, sql: str, params: Sequence[object]) -> list[tuple]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{self.path}: cannot read translation cache: {exc}") from exc

    def _write(self, action: Callable[[sqlite3.Connection], object]) -> None:
        conn = self._connection()
        try:
            # IMMEDIATE takes the write lock up front, so two writers queue on the
            # busy timeout instead of failing on a lock upgrade mid-transaction.
            conn.execute("BEGIN IMMEDIATE")
            try:
                action(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{self.path}: cannot write translation cache: {exc}") from exc

    def _check_schema(self) -> None:
        rows = self._read("SELECT value FROM meta WHERE key = 'schema_version'", ())
        if not rows:
            self._write(lambda c: c.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),)))
            rows = self._read("SELECT value FROM meta WHERE key = 'schema_version'", ())
        if rows[0][0] != str(SCHEMA_VERSION):
            raise DataError(f"{self.path}: translation cache schema version {rows[0][0]}, "
                            f"this evalmt reads version {SCHEMA_VERSION}")
