"""What WhatsApp's webhook workers share (through Redis when there are several): one
message at a time per returnee, and the feedback being prepared. Keys carry a returnee's
internal id or their HMAC pseudonym, never their number; values never an answer or a
feedback text."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass

from redis.asyncio import Redis


@dataclass
class FeedbackDraft:
    """A feedback message being prepared: only the choices, never the text."""

    anonymous: bool | None = None
    rating: int | None = None
    awaiting_text: bool = False


class Drafts:
    """Feedback being prepared, by returnee, in this process (one worker)."""

    def __init__(self) -> None:
        self._drafts: dict[str, FeedbackDraft] = {}

    async def get(self, returnee_id: str) -> FeedbackDraft | None:
        return self._drafts.get(returnee_id)

    async def put(self, returnee_id: str, draft: FeedbackDraft) -> None:
        self._drafts[returnee_id] = draft

    async def drop(self, returnee_id: str) -> None:
        self._drafts.pop(returnee_id, None)


class RedisDrafts(Drafts):
    """Feedback being prepared, shared by every worker (a returnee's next message may
    reach another one): the choices only, by internal returnee id, for an hour."""

    def __init__(self, redis: Redis, prefix: str, ttl: int = 3600) -> None:
        super().__init__()
        self.redis, self.prefix, self.ttl = redis, prefix, ttl

    def _key(self, returnee_id: str) -> str:
        return f"{self.prefix}:whatsapp:feedback:{returnee_id}"

    async def get(self, returnee_id: str) -> FeedbackDraft | None:
        raw = await self.redis.get(self._key(returnee_id))
        return None if raw is None else FeedbackDraft(**json.loads(raw))

    async def put(self, returnee_id: str, draft: FeedbackDraft) -> None:
        await self.redis.set(self._key(returnee_id), json.dumps(asdict(draft)), ex=self.ttl)

    async def drop(self, returnee_id: str) -> None:
        await self.redis.delete(self._key(returnee_id))


class SenderLocks:
    """One message at a time per sender (their pseudonym), in this process."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, sender: str) -> AsyncIterator[None]:
        lock = self._locks.get(sender)
        if lock is None:
            lock = self._locks[sender] = asyncio.Lock()
        async with lock:
            yield


class LockTimeout(Exception):
    """Another worker has held a sender's lock too long (the delivery is answered with an
    error, and Meta delivers it again)."""


#: frees a lock only if it is still this holder's (it may have lapsed and been taken)
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisSenderLocks(SenderLocks):
    """One message at a time per sender across every worker: a Redis key set if absent,
    with an expiry (a dead worker's lock lapses), freed by its holder only."""

    def __init__(self, redis: Redis, prefix: str, *, ttl: float = 30.0, wait: float = 30.0) -> None:
        super().__init__()
        self.redis, self.prefix, self.ttl, self.wait = redis, prefix, ttl, wait

    @asynccontextmanager
    async def hold(self, sender: str) -> AsyncIterator[None]:
        key, token = f"{self.prefix}:whatsapp:lock:{sender}", secrets.token_hex(8)
        deadline = time.monotonic() + self.wait
        async with super().hold(sender):  # (this process's own messages queue here)
            while not await self.redis.set(key, token, nx=True, px=int(self.ttl * 1000)):
                if time.monotonic() > deadline:
                    raise LockTimeout(sender[:8])
                await asyncio.sleep(0.02)
            try:
                yield
            finally:
                await self.redis.eval(_UNLOCK, 1, key, token)  # type: ignore[misc]
