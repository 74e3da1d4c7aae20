"""State shared by several workers through Redis (when REDIS_URL is set).

Only coordination lives here: FSM step names (aiogram's Redis storage), per-chat locks,
update claims and the send-rate budget. Answers, feedback and chat text never do.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, KeyBuilder, StateType, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)


class UpdateClaims:
    """A worker claims an update id before handling it, so that two workers given the
    same update (a retry, a proxy replay) do not both apply it. The claim expires, so an
    update whose worker died is handled again when Telegram redelivers it."""

    def __init__(self, redis: Redis, prefix: str, ttl_seconds: int = 60) -> None:
        self.redis, self.prefix, self.ttl = redis, prefix, ttl_seconds

    def _key(self, update_id: int) -> str:
        return f"{self.prefix}:update:{update_id}"

    async def claim(self, update_id: int) -> bool:
        return bool(await self.redis.set(self._key(update_id), "1", nx=True, ex=self.ttl))

    async def release(self, update_id: int) -> None:
        await self.redis.delete(self._key(update_id))


# Take the chat's lock if it is free (with an expiry, so a dead worker's lock lapses) and,
# in the same round trip, read the chat's FSM state, which the handler needs next.
_LOCK = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2])}
end
return {0}
"""
# Free the lock only if it is still ours (it may have lapsed and been taken by another).
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
#: the FSM state of the chat whose lock this task holds, as read with the lock:
#: (state key, state); nobody else changes it while the lock is held
_locked_state: ContextVar[tuple[str, str | None] | None] = ContextVar(
    "rssbot_locked_state", default=None
)


class ChatStateStorage(RedisStorage):
    """aiogram's Redis FSM storage, except that the state of the chat being handled was
    already read with the chat's lock (:class:`ChatLocks`): one round trip fewer per
    update."""

    async def get_state(self, key: StorageKey) -> str | None:
        held = _locked_state.get()
        if held is not None and held[0] == self.key_builder.build(key, "state"):
            return held[1]
        return await super().get_state(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await super().set_state(key, state)
        name = self.key_builder.build(key, "state")
        held = _locked_state.get()
        if held is not None and held[0] == name:
            _locked_state.set((name, state.state if isinstance(state, State) else state))


class ChatLockTimeout(Exception):
    """The chat stayed locked longer than the wait allowed (the update fails and Telegram
    delivers it again later)."""


class ChatLocks(BaseEventIsolation):
    """Per-chat locks in Redis, so that a chat's updates are handled one at a time
    whichever worker they reach. Taking a lock also reads the chat's FSM state (one round
    trip; redis-py's Lock plus aiogram's state read took three with the release), and
    freeing it is one more.

    A lock expires after ``ttl`` seconds, so the chat of a worker that died is handled
    again; a waiting update polls every ``poll`` seconds and gives up after ``wait``."""

    def __init__(
        self,
        storage: ChatStateStorage,
        key_builder: KeyBuilder,
        *,
        ttl: float,
        wait: float,
        poll: float = 0.01,
    ) -> None:
        self.storage, self.key_builder = storage, key_builder
        self.ttl_ms, self.wait, self.poll = int(ttl * 1000), wait, poll
        #: seconds between attempts to free a lock Redis was not there to free
        self.retry_free = 0.25
        self._freeing: set[asyncio.Task[None]] = set()
        self._lock = storage.redis.register_script(_LOCK)
        self._unlock = storage.redis.register_script(_UNLOCK)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        name = self.key_builder.build(key, "lock")
        state_key = self.storage.key_builder.build(key, "state")
        token = secrets.token_hex(16)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                reply = await self._lock(keys=[name, state_key], args=[token, self.ttl_ms])
            except (RedisConnectionError, RedisTimeoutError):
                # the lock may have been taken just before the connection broke, without
                # the reply reaching us: free it (if ours) as soon as Redis is back
                self._free_later(name, token)
                raise
            if reply[0] == 1:
                break
            if time.monotonic() >= deadline:
                # (no key in the message: it holds the chat's Telegram id)
                raise ChatLockTimeout(f"a chat's lock was still held after {self.wait:g} s")
            await asyncio.sleep(self.poll)
        state = reply[1]
        held = _locked_state.set((state_key, state.decode() if isinstance(state, bytes) else state))
        try:
            yield
        finally:
            _locked_state.reset(held)
            try:
                freed = await self._unlock(keys=[name], args=[token])
            except (RedisConnectionError, RedisTimeoutError):
                self._free_later(name, token)
            else:
                if not freed:
                    # the handling outlived the lock's expiry: another worker may have
                    # handled this chat meanwhile (the database still applies each update
                    # once)
                    log.warning("a chat's lock had lapsed before it was freed")

    def _free_later(self, name: str, token: str) -> None:
        """Redis went away before the lock was freed: free it as soon as Redis is back,
        rather than leaving the chat waiting for the lock's expiry."""
        if not self._freeing:
            log.warning("chat locks cannot be freed (Redis unreachable): freed when it is back")
        task = asyncio.get_running_loop().create_task(self._free_when_back(name, token))
        self._freeing.add(task)
        task.add_done_callback(self._freeing.discard)

    async def _free_when_back(self, name: str, token: str) -> None:
        deadline = time.monotonic() + self.ttl_ms / 1000
        while time.monotonic() < deadline:  # (after that the lock has lapsed anyway)
            try:
                await self._unlock(keys=[name], args=[token])
                return
            except Exception:  # (redis-py can fail otherwise on a broken connection)
                await asyncio.sleep(self.retry_free)

    async def close(self) -> None:
        for task in list(self._freeing):
            task.cancel()
