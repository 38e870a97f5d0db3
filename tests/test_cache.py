"""Tests for evalmt.cache.TranslationCache: round trips, isolation, corruption, concurrency."""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3

import pytest

from evalmt.cache import TranslationCache, source_key
from evalmt.errors import DataError

ITEMS = [("你好", "hello"), ("再見。", "Goodbye."), ("", ""), ("a\nb", "A\nB"), ("𠀀字", "char")]


def test_round_trip_and_misses(tmp_path):
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        assert cache.put_many("fp1", ITEMS) == len(ITEMS)
        got = cache.get_many("fp1", [s for s, _ in ITEMS] + ["not there"])
    assert got == dict(ITEMS)


def test_fingerprints_are_separate_key_spaces(tmp_path):
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        cache.put_many("fp1", [("x", "one")])
        cache.put_many("fp2", [("x", "two"), ("y", "why")])
        assert cache.get_many("fp1", ["x", "y"]) == {"x": "one"}
        assert cache.get_many("fp2", ["x"]) == {"x": "two"}
        assert (cache.count("fp1"), cache.count("fp2"), cache.count()) == (1, 2, 3)
        assert cache.fingerprints() == ["fp1", "fp2"]
        assert sorted(cache.items("fp2")) == [("x", "two"), ("y", "why")]


def test_put_replaces_and_survives_reopening(tmp_path):
    path = tmp_path / "nested" / "c.sqlite"
    with TranslationCache(path) as cache:
        cache.put_many("fp", [("x", "old")])
        cache.put_many("fp", [("x", "new")])
    with TranslationCache(path) as cache:
        assert cache.get_many("fp", ["x"]) == {"x": "new"}
        assert cache.count("fp") == 1


def test_key_is_sha256_of_source_and_source_is_stored(tmp_path):
    path = tmp_path / "c.sqlite"
    with TranslationCache(path) as cache:
        cache.put_many("fp", [("你好", "hello")])
    row = sqlite3.connect(path).execute(
        "SELECT source_sha256, source, hypothesis FROM translations").fetchone()
    assert row == (hashlib.sha256("你好".encode()).hexdigest(), "你好", "hello")
    assert source_key("你好") == row[0]


def test_many_keys_in_one_lookup(tmp_path):
    items = [(f"source {i}", f"output {i}") for i in range(1234)]  # more than one query chunk
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        cache.put_many("fp", items)
        assert cache.get_many("fp", [s for s, _ in items]) == dict(items)


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, b"\x00" * 4096])
def test_corrupt_file_names_the_path(tmp_path, content):
    path = tmp_path / "broken.sqlite"
    path.write_bytes(content)
    with pytest.raises(DataError, match="broken.sqlite"):
        TranslationCache(path)


def test_other_schema_version_is_refused(tmp_path):
    path = tmp_path / "c.sqlite"
    TranslationCache(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(DataError, match="schema version 99"):
        TranslationCache(path)


def test_closed_cache_is_an_error(tmp_path):
    cache = TranslationCache(tmp_path / "c.sqlite")
    cache.close()
    cache.close()  # twice is fine
    with pytest.raises(DataError, match="closed"):
        cache.get_many("fp", ["x"])


def test_failed_write_leaves_nothing(tmp_path):
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        with pytest.raises(DataError):
            cache.put_many("fp", [("a", "A"), ("b", None)])  # type: ignore[list-item]
        assert cache.count() == 0


def test_two_handles_in_one_process(tmp_path):
    path = tmp_path / "c.sqlite"
    with TranslationCache(path) as one, TranslationCache(path) as two:
        one.put_many("fp", [("a", "A")])
        two.put_many("fp", [("b", "B")])
        assert one.get_many("fp", ["a", "b"]) == two.get_many("fp", ["a", "b"]) == {"a": "A",
                                                                                  "b": "B"}


def _writer(path: str, worker: int, rounds: int) -> None:
    with TranslationCache(path) as cache:
        for r in range(rounds):
            cache.put_many("fp", [(f"w{worker} r{r} i{i}", f"out {worker} {r} {i}")
                                  for i in range(5)])
            cache.get_many("fp", [f"w{1 - worker} r{r} i0"])  # read the other writer's rows


def test_two_processes_share_one_file_without_lost_writes(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    TranslationCache(path).close()
    ctx = multiprocessing.get_context("spawn")
    rounds = 60
    procs = [ctx.Process(target=_writer, args=(path, w, rounds)) for w in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    with TranslationCache(path) as cache:
        assert cache.count("fp") == 2 * rounds * 5
        assert cache.get_many("fp", ["w1 r59 i4"]) == {"w1 r59 i4": "out 1 59 4"}
