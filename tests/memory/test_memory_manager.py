"""`MemoryManager` on a real SQLite file: write path, recall, forget, reloads and repairs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from llmagentos.errors import BackendError, InvalidArgument, NotFound, RequestTooLarge
from llmagentos.memory import SCHEMA, HashEmbedder, MemoryConfig, MemoryManager
from llmagentos.storage.db import Database
from llmagentos.storage.schema import CORE_SCHEMA


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "os.db").open([CORE_SCHEMA, SCHEMA])
    yield database
    database.close()


def manager(db: Database, **kw: Any) -> MemoryManager:
    return MemoryManager(db, MemoryConfig(embedder=kw.pop("embedder", "hash"), **kw))


async def remember(m: MemoryManager, ns: str, text: str, meta: dict[str, Any] | None = None) -> str:
    prepared = await m.prepare(ns, [text], [meta])
    written = await m.db.write(lambda c: m.write(c, prepared))
    await m.added(prepared, written)
    return written[0]


FACTS = [
    ("Paris is the capital of France", {"topic": "geo"}),
    ("The kettle is in the kitchen", {"topic": "home"}),
    ("Berlin is the capital of Germany", {"topic": "geo"}),
]


async def test_remember_recall_filter_forget(db: Database) -> None:
    m = manager(db)
    ids = [await remember(m, "ns", t, meta) for t, meta in FACTS]
    hits = await m.recall("ns", "capital of France", k=2)
    assert hits[0].text == FACTS[0][0] and hits[0].metadata == {"topic": "geo"}
    assert hits[0].score >= hits[1].score
    assert await m.recall("ns", "kitchen kettle", where={"topic": "geo"}) == []
    assert [h.text for h in await m.recall("ns", "kettle", where={"topic": "home"})] == [
        FACTS[1][0]
    ]
    assert await db.write(lambda c: m.write_forget(c, "ns", ids[1]))
    m.forgotten("ns", ids[1])
    assert await m.recall("ns", "kettle kitchen") == []
    assert not await db.write(lambda c: m.write_forget(c, "ns", ids[1]))


async def test_index_is_rebuilt_from_sqlite(db: Database) -> None:
    first = manager(db)
    for text, meta in FACTS:
        await remember(first, "ns", text, meta)
    again = manager(db)  # a new kernel after a crash: nothing in RAM
    assert not again.loaded("ns")
    hits = await again.recall("ns", "capital of Germany", k=1)
    assert hits[0].text == FACTS[2][0] and again.loaded("ns")


async def test_store_is_idempotent_for_given_ids(db: Database) -> None:
    m = manager(db)
    assert await m.store("ns", ["a fact about llamas"], ids=["fixed"]) == ["fixed"]
    assert await m.store("ns", ["a fact about llamas"], ids=["fixed"]) == []
    rows = db.query("SELECT count(*) FROM memories WHERE namespace = 'ns'")
    assert rows[0][0] == 1


async def test_damaged_rows_are_embedded_again_and_nothing_is_lost(db: Database) -> None:
    m = manager(db)
    ids = [await remember(m, "ns", t, meta) for t, meta in FACTS]
    await m.recall("ns", "anything")  # the load embeds and stores the vectors

    def damage(c: Any) -> None:
        c.execute("UPDATE memory_vectors SET vector = x'0102' WHERE id = ?", (ids[0],))
        c.execute("UPDATE memory_vectors SET model = 'old-model' WHERE id = ?", (ids[1],))
        c.execute("DELETE FROM memory_vectors WHERE id = ?", (ids[2],))
        c.execute("UPDATE memories SET metadata = '{not json' WHERE id = ?", (ids[2],))

    await db.write(damage)
    fresh = manager(db)
    hits = await fresh.recall("ns", "capital of France", k=3)
    assert hits[0].id == ids[0]
    assert {h.id for h in await fresh.recall("ns", "kettle kitchen")} == {ids[1]}
    assert fresh.stats["repaired"] == 2  # the bad blob and the bad metadata
    vectors = db.query("SELECT id, model, length(vector) FROM memory_vectors ORDER BY id")
    assert {(r[1], r[2]) for r in vectors} == {(fresh.embedder.name, 4 * fresh.embedder.dim)}
    assert len(vectors) == 3


async def test_writes_embed_only_once_the_namespace_is_indexed(db: Database) -> None:
    m = manager(db)
    await remember(m, "ns", "first memory about owls")
    assert db.query("SELECT count(*) FROM memory_vectors")[0][0] == 0
    await m.recall("ns", "owls")  # loads the index: embeds the stored row
    await remember(m, "ns", "second memory about owls")  # embedded at once now
    assert db.query("SELECT count(*) FROM memory_vectors")[0][0] == 2
    assert len(await m.recall("ns", "owls")) == 2


async def test_a_write_racing_a_load_is_still_read_back(db: Database) -> None:
    m = manager(db)
    prepared = await m.prepare("ns", ["prepared before the load started"])
    assert prepared.rows[0].vector is None
    loading = asyncio.ensure_future(m.space("ns"))
    await asyncio.sleep(0)
    written = await db.write(lambda c: m.write(c, prepared))
    await m.added(prepared, written)  # embeds the late row itself
    await loading
    assert [h.id for h in await m.recall("ns", "prepared before the load")] == written


async def test_commits_during_a_load_are_not_lost(db: Database) -> None:
    m = manager(db)
    await remember(m, "ns", "first memory about owls")
    loading = asyncio.ensure_future(m.space("ns"))
    await asyncio.sleep(0)  # the load has started in its thread
    late = await remember(m, "ns", "second memory about owls")
    await loading
    assert late in {h.id for h in await m.recall("ns", "owls", k=5)}


async def test_namespaces_and_bad_input(db: Database) -> None:
    m = manager(db, max_text_chars=100, max_k=10, max_metadata_bytes=64)
    await remember(m, "shared/team", "the standup is at nine")
    assert await m.recall("never/used", "anything") == []
    with pytest.raises(NotFound):
        await m.recall("never/used", "anything", must_exist=True)
    assert await m.recall("shared/team", "standup", must_exist=True)
    bad_calls = [
        (m.prepare("ns", [""]), InvalidArgument),
        (m.prepare("ns", ["x" * 101]), RequestTooLarge),
        (m.prepare("ns", ["x"], [{"big": "y" * 100}]), RequestTooLarge),
        (m.prepare("ns", ["x"], [{"bad": object()}]), InvalidArgument),
        (m.prepare("", ["x"]), InvalidArgument),
        (m.prepare("a\x00b", ["x"]), InvalidArgument),
        (m.recall("ns", "   "), InvalidArgument),
        (m.recall("ns", "x", k=0), InvalidArgument),
        (m.recall("ns", "x", k=11), InvalidArgument),
        (m.recall("ns", "x", where={"a": {"$bogus": 1}}), InvalidArgument),
    ]
    for coro, error in bad_calls:
        with pytest.raises(error):
            await coro


class BrokenEmbedder(HashEmbedder):
    def embed(self, texts: Any) -> np.ndarray:
        raise RuntimeError("model weights missing")


async def test_embedder_failure_is_a_typed_error(db: Database) -> None:
    m = MemoryManager(db, MemoryConfig(embedder=BrokenEmbedder()))
    await remember(m, "ns", "stored without a vector: nothing to embed yet")
    with pytest.raises(BackendError, match="weights missing"):
        await m.recall("ns", "x")
    assert db.query("SELECT count(*) FROM memories")[0][0] == 1  # nothing lost


async def test_large_namespaces_search_off_the_loop(db: Database) -> None:
    m = manager(db, embedder=HashEmbedder(dim=32), max_batch=5000)
    texts = [f"note {i} about topic {i % 50}" for i in range(5000)]
    prepared = await m.prepare("big", texts, [{"i": i} for i in range(5000)])
    await db.write(lambda c: m.write(c, prepared))
    hits = await m.recall("big", "note 4321 about topic 21", k=3, where={"i": {"$gte": 4000}})
    assert hits and hits[0].metadata == {"i": 4321}
