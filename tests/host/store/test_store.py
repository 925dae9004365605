"""The stores: SQLite transactions and versions, DB-less persistence, start-up seeding."""

from __future__ import annotations

import pytest

from host.config import ConfigError
from host.gateway import build_registry
from host.settings import Settings
from host.store import DeclarativeStore, SqliteStore, StaleVersion, Write, document
from host.store.boot import boot


def _doc(*names: str) -> dict:
    return document({"services": [{"id": f"id-{n}", "name": n, "host": "example.com"} for n in names]})


def test_sqlite_write_replace_and_stale_versions(tmp_path) -> None:
    store = SqliteStore(tmp_path / "m.db")
    assert store.is_empty()
    v1 = store.replace(_doc("a", "b"))
    v2 = store.write(
        Write(upserts=[("services", {"id": "id-a", "name": "a2"})], deletes=[("services", "id-b")]), v1
    )
    assert v2 != v1
    assert store.load().data["services"] == [{"id": "id-a", "name": "a2"}]
    with pytest.raises(StaleVersion):
        store.write(Write(deletes=[("services", "id-a")]), expect=v1)
    assert store.load().data["services"] == [{"id": "id-a", "name": "a2"}]  # the stale write changed nothing
    other = SqliteStore(tmp_path / "m.db")  # another worker's connection sees the same
    assert other.version() == v2 and other.load().data == store.load().data
    assert store.integrity_check() == "ok"
    store.close()
    other.close()


def test_declarative_store_persists_atomically(tmp_path) -> None:
    path = tmp_path / "declarative.json"
    store = DeclarativeStore(path)
    assert store.load().data == document({})
    before = store.version()
    after = store.replace(_doc("a"))
    assert after != before and DeclarativeStore(path).load().data == _doc("a")
    assert not list(tmp_path.glob(".*.tmp"))  # written then renamed
    memory = DeclarativeStore()
    v = memory.replace(_doc("x"))
    assert memory.load().data == _doc("x") and memory.version() == v


def test_boot_seeds_sqlite_once_and_dbless_follows_the_file(tmp_path) -> None:
    first = tmp_path / "one.yml"
    first.write_text('_format_version: "3.0"\nservices: [{name: one, host: example.com}]\n')
    second = tmp_path / "two.yml"
    second.write_text('_format_version: "3.0"\nservices: [{name: two, host: example.com}]\n')
    settings = Settings(database="sqlite", prefix=str(tmp_path / "p"), plugins_dirs=[])
    registry = build_registry(settings)
    store, config = boot(settings, registry, str(first))
    assert [s["name"] for s in config.services] == ["one"] and config.services[0]["created_at"] > 0
    store.close()
    store, config = boot(settings, registry, str(second))  # not empty: the store wins
    assert [s["name"] for s in config.services] == ["one"]
    store.close()
    dbless = Settings(database="off", prefix=str(tmp_path / "q"), plugins_dirs=[])
    store, config = boot(dbless, registry, str(second))
    assert [s["name"] for s in config.services] == ["two"]
    store, config = boot(dbless, registry, None)  # a restart without -c: what was accepted last
    assert [s["name"] for s in config.services] == ["two"]
    bad = tmp_path / "bad.yml"
    bad.write_text('_format_version: "3.0"\nservices: [{name: x}]\n')
    with pytest.raises(ConfigError):
        boot(dbless, registry, str(bad))
