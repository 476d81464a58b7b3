"""The in-process Responses store: bounded by count, bytes and age."""

from __future__ import annotations

import msgspec
import pytest

from gateway.responses_store import MemoryStore, load_settings, open_store
from providers import core
from providers.core import ConfigError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_get_set_delete():
    s = MemoryStore()
    assert await s.get("a") is None
    await s.set("a", b"one", 60)
    assert await s.get("a") == b"one"
    await s.set("a", b"three", 60)  # replacing keeps the byte count honest
    assert await s.get("a") == b"three" and s.bytes == 5
    assert await s.delete("a") is True and await s.delete("a") is False
    assert s.bytes == 0 and len(s) == 0


async def test_count_bound_drops_oldest():
    s = MemoryStore(max_count=2)
    for k in "abc":
        await s.set(k, b"x", 60)
    assert [await s.get(k) for k in "abc"] == [None, b"x", b"x"]


async def test_byte_bound_drops_oldest_and_refuses_oversize():
    s = MemoryStore(max_bytes=10)
    await s.set("a", b"12345", 60)
    await s.set("b", b"12345", 60)
    await s.set("c", b"123", 60)
    assert await s.get("a") is None and await s.get("b") == b"12345" and s.bytes == 8
    await s.set("huge", b"x" * 11, 60)
    assert await s.get("huge") is None and s.bytes == 8


async def test_ttl_expires():
    clock = Clock()
    s = MemoryStore(clock=clock)
    await s.set("a", b"x", 10)
    clock.now += 9.9
    assert await s.get("a") == b"x"
    clock.now += 0.2
    assert await s.get("a") is None and s.bytes == 0
    await s.set("b", b"x", 10)
    clock.now += 11
    await s.set("c", b"y", 10)  # writing sweeps expired records from the front
    assert len(s) == 1


def test_settings_from_env():
    s = load_settings({"AOA_RESPONSES_STORE_COUNT": "5", "AOA_RESPONSES_STORE_BYTES": "1000", "AOA_RESPONSES_STORE_TTL": "30"})
    store = open_store(s)
    assert (store.backend.max_count, store.backend.max_bytes, store.ttl) == (5, 1000, 30.0)
    with pytest.raises(ConfigError, match="AOA_RESPONSES_STORE_TTL"):
        load_settings({"AOA_RESPONSES_STORE_TTL": "soon"})


async def test_records_are_scoped_by_owner():
    from providers import responses

    store = open_store(None)
    record = responses.Stored(response=msgspec.Raw(b"{\"id\":\"resp_1\"}"), messages=msgspec.Raw(b"[]"), item_ids=[], items=[])
    await store.save("alice", "resp_1", record)
    assert bytes((await store.load("alice", "resp_1")).response) == b"{\"id\":\"resp_1\"}"
    with pytest.raises(core.Error) as exc:
        await store.load("bob", "resp_1", "previous_response_id")
    assert exc.value.status == 404 and exc.value.param == "previous_response_id"
    with pytest.raises(core.Error):
        await store.drop("bob", "resp_1")
    await store.drop("alice", "resp_1")
    assert len(store.backend) == 0
