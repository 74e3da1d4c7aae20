"""What WhatsApp's webhook workers share (through Redis when there are several): the
feedback being prepared; and, in each process, a returnee's messages in their order. Keys
carry a returnee's internal id, never their number; values never an answer or a feedback
text."""

from __future__ import annotations

import asyncio
import json
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
    """One message at a time per sender (their pseudonym), in this process, in the order
    they arrived (asyncio's locks are fair).

    Only message order needs this: a returnee who types "2" then "3" means the first for
    the question on screen. Correctness needs no lock (a survey step is stored only if the
    survey is still where it was read, :meth:`storage.store.Store.save_step`), so nothing
    is shared between workers: a worker that dies holds nothing that delays the next
    message, and no message costs a Redis round trip for a lock."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, sender: str) -> AsyncIterator[None]:
        lock = self._locks.get(sender)
        if lock is None:
            lock = self._locks[sender] = asyncio.Lock()
        async with lock:
            yield
