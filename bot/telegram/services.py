"""What the Telegram handlers need, injected through the dispatcher (``svc``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from aiogram import Bot

from bot.consent import DataPolicy
from bot.core.entry import Entry
from bot.core.feedback import FeedbackDesk
from bot.core.rights import Rights
from bot.core.survey import SurveyService
from bot.telegram.metrics import Metrics

if TYPE_CHECKING:
    from bot.rate_limits import RateLimiter
    from bot.telegram.shared import UpdateClaims

from flows.model import FlowDefinition
from scoring import WeightTable
from storage.store import Store
from storage.waves import WaveWindows, today_utc


@dataclass
class Services:
    store: Store
    definition: FlowDefinition
    table: WeightTable
    windows: WaveWindows = field(default_factory=WaveWindows)
    #: show returnees their scores at the end (off by default: staff read them)
    show_scores: bool = False
    today: Callable[[], date] = today_utc
    #: the bot the round sender uses (no automatic retries: it handles 429 itself)
    sender_bot: Bot | None = None
    send_rate: float = 25.0
    background: set[asyncio.Task[None]] = field(default_factory=set)
    metrics: Metrics = field(default_factory=Metrics)
    #: update claims shared by workers (Redis); None with one process
    claims: UpdateClaims | None = None
    #: retention period and contact point, shown on the consent screen
    policy: DataPolicy = field(default_factory=DataPolicy)
    #: makes the round sender's rate limiter (shared through Redis when several workers run)
    limiter_factory: Callable[[float | None], RateLimiter] | None = None

    @property
    def survey(self) -> SurveyService:
        """The survey use cases over this bot's store, survey and weight table."""
        return SurveyService(self.store, self.definition, self.table, self.windows, self.today)

    @property
    def entry(self) -> Entry:
        """Invitation, language and consent."""
        return Entry(self.store, self.policy)

    @property
    def feedback(self) -> FeedbackDesk:
        """Confidential feedback."""
        return FeedbackDesk(self.store)

    @property
    def rights(self) -> Rights:
        """Stop, see what is kept, erase."""
        return Rights(self.store, self.definition, self.table)

    def limiter(self) -> RateLimiter:
        from bot.rate_limits import RateLimiter

        rate = self.send_rate or None
        return self.limiter_factory(rate) if self.limiter_factory else RateLimiter(rate=rate)
