"""How a reminder reaches a returnee on one channel: a courier sends it and says what
happened, in terms the round sender (:class:`bot.telegram.sender.RoundSender`) acts on
the same way for every channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.rate_limits import RateLimiter
from storage.outbox import Claimed


@dataclass(frozen=True)
class Delivery:
    """``sent``; ``throttled`` (everything waits ``retry_after`` seconds); ``unreachable``
    (the returnee blocked the bot or has no account: never retried); ``failed`` (retried
    with backoff, ``reason`` says why)."""

    outcome: Literal["sent", "throttled", "unreachable", "failed"]
    reason: str | None = None
    retry_after: float = 0.0


class Courier(Protocol):
    """One channel's sender of reminders, with that channel's rate limits."""

    channel: str
    limiter: RateLimiter

    async def remind(self, item: Claimed) -> Delivery: ...
