"""Feedback being prepared by a returnee, on any chat app: whether it is anonymous and
its rating while they write it (never the text), kept in the process, or in Redis when
several workers share the conversation. Keys carry a returnee's internal id."""

from __future__ import annotations

import json
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
        return f"{self.prefix}:feedback:{returnee_id}"

    async def get(self, returnee_id: str) -> FeedbackDraft | None:
        raw = await self.redis.get(self._key(returnee_id))
        return None if raw is None else FeedbackDraft(**json.loads(raw))

    async def put(self, returnee_id: str, draft: FeedbackDraft) -> None:
        await self.redis.set(self._key(returnee_id), json.dumps(asdict(draft)), ex=self.ttl)

    async def drop(self, returnee_id: str) -> None:
        await self.redis.delete(self._key(returnee_id))
