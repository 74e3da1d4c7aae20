"""Per-chat locks in Redis (several workers): one holder at a time, a dead holder's lock
lapses, a lapsed lock is never freed by its old holder, and the chat's FSM state comes
with the lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import StorageKey
from redis.asyncio import Redis

from bot.telegram.app import redis_state
from bot.telegram.shared import ChatLocks, ChatLockTimeout, ChatStateStorage

KEY = StorageKey(bot_id=42, chat_id=1001, user_id=1001)
OTHER = StorageKey(bot_id=42, chat_id=1002, user_id=1002)
Locks = tuple[ChatStateStorage, ChatLocks]
Prefix = tuple[Redis, str]


@pytest.fixture
async def locks(
    redis_prefix: tuple[Redis, str],
) -> AsyncIterator[tuple[ChatStateStorage, ChatLocks]]:
    redis, prefix = redis_prefix
    storage, isolation, _ = redis_state(redis, prefix, claim_ttl=1)
    isolation.wait = 3
    yield storage, isolation


async def test_a_chat_is_handled_by_one_holder_at_a_time(locks: Locks) -> None:
    _, isolation = locks
    timeline: list[str] = []

    async def hold(name: str, key: StorageKey) -> None:
        async with isolation.lock(key):
            timeline.append(f"{name} in")
            await asyncio.sleep(0.2)
            timeline.append(f"{name} out")

    first = asyncio.create_task(hold("a", KEY))
    await asyncio.sleep(0.05)
    await asyncio.gather(hold("b", KEY), hold("other chat", OTHER), first)
    assert timeline.index("b in") > timeline.index("a out")
    assert timeline.index("other chat in") < timeline.index("a out")  # (not blocked by a)


async def test_the_lock_of_a_holder_that_died_lapses(locks: Locks, redis_prefix: Prefix) -> None:
    _, isolation = locks
    redis, _ = redis_prefix
    name = isolation.key_builder.build(KEY, "lock")
    await redis.set(name, "a worker that died", px=400)
    started = asyncio.get_running_loop().time()
    async with isolation.lock(KEY):
        waited = asyncio.get_running_loop().time() - started
    assert 0.2 < waited < 2
    assert await redis.get(name) is None  # freed


async def test_a_lapsed_lock_taken_by_another_is_not_freed_by_its_old_holder(
    locks: Locks, redis_prefix: Prefix, caplog: pytest.LogCaptureFixture
) -> None:
    _, isolation = locks
    redis, _ = redis_prefix
    name = isolation.key_builder.build(KEY, "lock")
    async with isolation.lock(KEY):
        await redis.delete(name)  # (lapsed)
        await redis.set(name, "another worker")
    assert await redis.get(name) == b"another worker"
    assert "had lapsed" in caplog.text


async def test_waiting_too_long_fails_the_update(locks: Locks, redis_prefix: Prefix) -> None:
    _, isolation = locks
    redis, _ = redis_prefix
    isolation.wait = 0.2
    await redis.set(isolation.key_builder.build(KEY, "lock"), "busy", px=5000)
    with pytest.raises(ChatLockTimeout):
        async with isolation.lock(KEY):
            pass


async def test_the_chat_state_comes_with_the_lock_and_follows_changes(
    locks: Locks, redis_prefix: Prefix
) -> None:
    storage, isolation = locks
    redis, _ = redis_prefix
    await storage.set_state(KEY, "Feedback:text")
    state_key = storage.key_builder.build(KEY, "state")
    async with isolation.lock(KEY):
        # read with the lock: changing Redis behind the holder's back is not seen (nobody
        # may while the lock is held), which shows no second read happens
        await redis.set(state_key, "changed behind the lock")
        assert await storage.get_state(KEY) == "Feedback:text"
        assert await storage.get_state(OTHER) is None  # another chat: read from Redis
        await storage.set_state(KEY, State("rating", group_name="Feedback"))
        assert await storage.get_state(KEY) == "Feedback:rating"
        await storage.set_state(KEY, None)
        assert await storage.get_state(KEY) is None
        assert await redis.get(state_key) is None
    await storage.set_state(KEY, "Feedback:text")
    await redis.set(state_key, "set by another worker")
    assert await storage.get_state(KEY) == "set by another worker"  # no lock: from Redis


async def test_a_lock_redis_lost_before_its_release_is_freed_when_redis_is_back(
    redis_prefix: Prefix,
) -> None:
    """Redis goes away while a chat's update is handled: the update ends normally, and the
    lock is freed as soon as Redis is back, not after its expiry (60 s in production)."""
    from tests.support.tcp_proxy import TcpProxy

    direct, prefix = redis_prefix
    kwargs = direct.connection_pool.connection_kwargs
    proxy = await TcpProxy(kwargs["host"], int(kwargs["port"])).start()
    redis = Redis(host="127.0.0.1", port=proxy.port, socket_connect_timeout=1)
    try:
        _, isolation, _claims = redis_state(redis, prefix, claim_ttl=60)
        isolation.wait = 1
        async with isolation.lock(KEY):
            await proxy.cut()
        held = [k async for k in direct.scan_iter(match=f"{prefix}:lock:*")]
        assert len(held) == 1  # left behind by the outage
        await proxy.restore()
        async with asyncio.timeout(10):
            while [k async for k in direct.scan_iter(match=f"{prefix}:lock:*")]:
                await asyncio.sleep(0.05)
        async with isolation.lock(KEY):  # the chat goes on
            pass
        await isolation.close()
    finally:
        await proxy.close()
        await redis.aclose()


async def test_a_lock_taken_as_redis_went_away_is_freed_when_redis_is_back(
    redis_prefix: Prefix,
) -> None:
    """The lock's SET reached Redis but its reply was lost with the connection: the
    update fails (and is delivered again), and the lock it may hold is freed as soon as
    Redis answers again, so the chat is not frozen until the lock's expiry."""
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from tests.support.tcp_proxy import TcpProxy

    direct, prefix = redis_prefix
    kwargs = direct.connection_pool.connection_kwargs
    proxy = await TcpProxy(kwargs["host"], int(kwargs["port"])).start()
    redis = Redis(
        host="127.0.0.1", port=proxy.port, socket_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    try:
        _, isolation, _claims = redis_state(redis, prefix, claim_ttl=60)
        async with isolation.lock(KEY):  # (Redis has the lock's script from now on)
            pass
        proxy.drop_replies = True
        with pytest.raises((RedisTimeoutError, RedisConnectionError)):
            async with isolation.lock(KEY):
                raise AssertionError("the lock's reply never came: not entered")
        await proxy.cut()  # (the connection is gone; Redis comes back on new ones)
        proxy.drop_replies = False
        await proxy.restore()
        async with asyncio.timeout(10):
            while [k async for k in direct.scan_iter(match=f"{prefix}:lock:*")]:
                await asyncio.sleep(0.05)
        isolation.wait = 1
        async with isolation.lock(KEY):
            pass
        await isolation.close()
    finally:
        await proxy.close()
        await redis.aclose()
