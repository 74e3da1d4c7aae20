"""State shared by several workers through Redis (when REDIS_URL is set).

Only coordination lives here: FSM step names (aiogram's Redis storage), per-chat locks,
update claims and the send-rate budget. Answers, feedback and chat text never do.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from bot.sender import RateLimiter


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


# One round trip: the next free global slot, the shared pause and this chat's last send.
_ACQUIRE = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local per_chat = tonumber(ARGV[3])
local start = now
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > start then start = paused end
if interval > 0 then
  local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
  if slot > start then start = slot end
  redis.call('SET', KEYS[1], tostring(start + interval), 'PX', 60000)
end
local last = tonumber(redis.call('GET', KEYS[3]) or '-1')
if last >= 0 and last + per_chat > start then start = last + per_chat end
redis.call('SET', KEYS[3], tostring(start), 'PX', math.floor(per_chat * 1000) + 1000)
return tostring(start)
"""
_PAUSE = """
local until = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until > current then redis.call('SET', KEYS[1], tostring(until), 'PX', 3600000) end
return 1
"""


class RedisRateLimiter(RateLimiter):
    """The same limits as :class:`RateLimiter`, shared by every worker: one global budget
    of messages per second, one pause after a 429. Uses wall-clock time (all workers run
    on hosts with synchronised clocks)."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        rate: float | None = 25.0,
        per_chat_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        import asyncio

        super().__init__(rate, per_chat_interval, clock, sleep or asyncio.sleep)
        self.redis, self.prefix = redis, prefix

    async def pause(self, seconds: float) -> None:
        await super().pause(seconds)
        until = str(self.clock() + seconds)
        await self.redis.eval(_PAUSE, 1, f"{self.prefix}:send:pause", until)  # type: ignore[misc]

    async def acquire(self, chat_id: int) -> None:
        interval = 1.0 / self.rate if self.rate else 0.0
        start = float(
            await self.redis.eval(  # type: ignore[misc]
                _ACQUIRE,
                3,
                f"{self.prefix}:send:slot",
                f"{self.prefix}:send:pause",
                f"{self.prefix}:send:chat:{chat_id}",
                str(self.clock()),
                str(interval),
                str(self.per_chat_interval),
            )
        )
        delay = start - self.clock()
        if delay > 0:
            await self.sleep(delay)
        paused = float(await self.redis.get(f"{self.prefix}:send:pause") or 0)
        while paused > self.clock():  # another worker got a 429 meanwhile
            await self.sleep(paused - self.clock())
            paused = float(await self.redis.get(f"{self.prefix}:send:pause") or 0)
