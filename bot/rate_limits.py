"""Rate limits for proactive messages, one per channel: a global budget of messages per
second, a minimum interval per recipient, and a pause after the platform says "too many"
(:class:`RateLimiter` in one process; :class:`RedisRateLimiter` shared by every worker).

Recipients are keyed by the returnee's internal id, never by a chat id or phone number."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis


class RateLimiter:
    """Spaces sends: a global rate, a minimum interval per recipient, and a shared pause."""

    def __init__(
        self,
        rate: float | None = 25.0,
        per_chat_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate, self.per_chat_interval = rate, per_chat_interval
        self.clock, self.sleep = clock, sleep
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._last_by_chat: dict[str | int, float] = {}
        self._lock = asyncio.Lock()

    async def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    async def acquire(self, recipient: str | int) -> None:
        async with self._lock:
            now = self.clock()
            start = max(now, self._paused_until)
            if self.rate:
                start = max(start, self._next_slot)
                self._next_slot = start + 1.0 / self.rate
            last = self._last_by_chat.get(recipient)
            if last is not None:
                start = max(start, last + self.per_chat_interval)
            self._last_by_chat[recipient] = start
        delay = start - self.clock()
        if delay > 0:
            await self.sleep(delay)
        while self._paused_until > self.clock():  # a 429 arrived while we waited
            await self.sleep(self._paused_until - self.clock())


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
        super().__init__(rate, per_chat_interval, clock, sleep or asyncio.sleep)
        self.redis, self.prefix = redis, prefix

    async def pause(self, seconds: float) -> None:
        await super().pause(seconds)
        until = str(self.clock() + seconds)
        await self.redis.eval(_PAUSE, 1, f"{self.prefix}:send:pause", until)  # type: ignore[misc]

    async def acquire(self, recipient: str | int) -> None:
        interval = 1.0 / self.rate if self.rate else 0.0
        start = float(
            await self.redis.eval(  # type: ignore[misc]
                _ACQUIRE,
                3,
                f"{self.prefix}:send:slot",
                f"{self.prefix}:send:pause",
                f"{self.prefix}:send:to:{recipient}",
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


# One round trip: the next free global slot, the shared pause and this recipient's last send.
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
