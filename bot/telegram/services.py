"""What the Telegram handlers need, injected through the dispatcher (``svc``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiogram import Bot

from bot.core.services import Core
from bot.feedback_drafts import Drafts
from bot.telegram.metrics import Metrics

if TYPE_CHECKING:
    from bot.couriers import Courier
    from bot.rate_limits import RateLimiter


@dataclass
class Services(Core):
    """The core (:class:`bot.core.services.Core`) and what the Telegram bot adds."""

    #: the bot the round sender uses (no automatic retries: it handles 429 itself)
    sender_bot: Bot | None = None
    send_rate: float = 25.0
    background: set[asyncio.Task[None]] = field(default_factory=set)
    metrics: Metrics = field(default_factory=Metrics)
    #: feedback being prepared (its choices only; in Redis when several workers run)
    drafts: Drafts = field(default_factory=Drafts)
    #: the other channels' reminder senders (WhatsApp), for rounds started in the chat
    couriers: list[Courier] = field(default_factory=list)
    #: makes the round sender's rate limiter (shared through Redis when several workers run)
    limiter_factory: Callable[[float | None], RateLimiter] | None = None

    def limiter(self) -> RateLimiter:
        from bot.rate_limits import RateLimiter

        rate = self.send_rate or None
        return self.limiter_factory(rate) if self.limiter_factory else RateLimiter(rate=rate)
