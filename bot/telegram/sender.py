"""The one rate-limited sender of proactive messages (reminder rounds).

- a global limit (default 25 messages/s) and at most one message per second per chat;
- a 429 pauses *all* sending for ``retry_after``;
- a 403 (blocked) marks the returnee unreachable and cancels their reminders, never retried;
- other errors are retried with exponential backoff, then recorded as failed;
- the returnee's consent is re-checked right before each send.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.couriers import Courier, Delivery
from bot.i18n import Translator
from bot.rate_limits import RateLimiter
from bot.telegram.keyboards import ResumeCB
from bot.telegram.metrics import Metrics
from bot.texts import reminder_text
from storage import outbox, schedules
from storage.outbox import Claimed, RoundReport
from storage.schedules import ScheduledRun
from storage.store import Store
from storage.waves import WaveWindows

log = logging.getLogger(__name__)


@dataclass
class SendStats:
    """How a sender's rounds went: reminders sent, and over how long (from the start of
    its first round to its last send)."""

    sent: int = 0
    started: float | None = None
    last_send: float | None = None
    throttled: int = 0

    @property
    def duration(self) -> float:
        """Seconds from the start of sending to the last reminder sent."""
        if self.started is None or self.last_send is None:
            return 0.0
        return max(self.last_send - self.started, 0.0)

    @property
    def rate(self) -> float:
        """Reminders sent per second over :attr:`duration` (0 when none was sent)."""
        return self.sent / self.duration if self.sent and self.duration > 0 else 0.0

    def pace(self, limit: float | None) -> str:
        """One line for staff: what was sent in how long, at what pace, against the limit
        (the same figures whatever the size of the round)."""
        ceiling = f"limit {limit:g}/s" if limit else "no limit"
        if not self.sent:
            return f"no reminder sent ({ceiling})"
        return f"{self.sent} sent in {self.duration:.2f} s: {self.rate:.1f} messages/s ({ceiling})"


Progress = Callable[[RoundReport], Awaitable[None]]


def reminder_message(claimed: Claimed) -> tuple[str, InlineKeyboardMarkup]:
    text, label = reminder_text(Translator(claimed.language), claimed.wave, claimed.started)
    button = InlineKeyboardButton(text=label, callback_data=ResumeCB().pack())
    return text, InlineKeyboardMarkup(inline_keyboard=[[button]])


class TelegramCourier:
    """Reminders on Telegram: a message with a "start the survey" button."""

    channel = "telegram"

    def __init__(self, bot: Bot, limiter: RateLimiter) -> None:
        self.bot, self.limiter = bot, limiter

    async def remind(self, item: Claimed) -> Delivery:
        text, keyboard = reminder_message(item)
        try:
            await self.bot.send_message(
                item.chat_id, text, reply_markup=keyboard, protect_content=True
            )
        except TelegramRetryAfter as exc:
            return Delivery("throttled", "throttled", retry_after=exc.retry_after)
        except TelegramForbiddenError:
            return Delivery("unreachable", "blocked")
        except (TelegramNetworkError, TelegramAPIError) as exc:
            return Delivery("failed", _reason(exc))
        return Delivery("sent")


class RoundSender:
    """Sends a round's reminders, each on its returnee's channel (Telegram through ``bot``
    and ``limiter``; other channels through ``couriers``)."""

    def __init__(
        self,
        store: Store,
        bot: Bot | None,
        limiter: RateLimiter | None = None,
        *,
        couriers: Sequence[Courier] = (),
        batch_size: int = 100,
        concurrency: int = 8,
        max_attempts: int = 5,
        backoff: float = 2.0,
        lease: timedelta = timedelta(seconds=30),
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.lease, self.metrics = lease, metrics
        self.limiter = limiter or RateLimiter()
        self.couriers: dict[str, Courier] = {c.channel: c for c in couriers}
        if bot is not None:
            self.couriers["telegram"] = TelegramCourier(bot, self.limiter)
        self.batch_size, self.concurrency = batch_size, concurrency
        self.max_attempts, self.backoff = max_attempts, backoff
        self.clock = clock
        self.stats = SendStats()

    async def run(
        self,
        round_id: str,
        *,
        progress: Progress | None = None,
        stop_after: int | None = None,
    ) -> RoundReport:
        """Send the round's pending reminders until none is left (retries included), or
        until the round is paused (it is then left open, not finished).

        ``stop_after`` stops after that many claims, as a killed process would (tests).
        """
        if self.stats.started is None:
            self.stats.started = self.clock()
        await outbox.recover_stale(self.store)
        if self.metrics is not None:
            self.metrics.rounds.inc()
        try:
            return await self._run(round_id, progress=progress, stop_after=stop_after)
        finally:
            if self.metrics is not None:
                self.metrics.rounds.dec()

    async def _run(
        self, round_id: str, *, progress: Progress | None, stop_after: int | None
    ) -> RoundReport:
        claims = 0
        semaphore = asyncio.Semaphore(self.concurrency)
        while True:
            batch = await outbox.claim(
                self.store, limit=self.batch_size, round_id=round_id, lease=self.lease
            )
            if not batch:
                upcoming = await outbox.next_attempt(self.store, round_id)
                if upcoming is None:
                    stopped = await outbox.report(self.store, round_id)
                    if stopped.paused:  # left open: resuming it sends the rest
                        if progress is not None:
                            await progress(stopped)
                        return stopped
                    break
                wait = (upcoming - self.store.clock()).total_seconds()
                await asyncio.sleep(min(max(wait, 0.01), 5.0))
                continue

            async def one(item: Claimed) -> None:
                async with semaphore:
                    await self._send(item)

            if stop_after is not None and claims + len(batch) > stop_after:
                batch = batch[: stop_after - claims]
                await asyncio.gather(*(one(item) for item in batch))
                raise SenderStopped(stop_after)
            await asyncio.gather(*(one(item) for item in batch))
            claims += len(batch)
            if progress is not None:
                await progress(await outbox.report(self.store, round_id))
        await outbox.finish_round(self.store, round_id)
        final = await outbox.report(self.store, round_id)
        if progress is not None:
            await progress(final)
        return final

    async def _send(self, item: Claimed) -> None:
        store = self.store
        status = await outbox.returnee_status(store, item.returnee_id)
        if status != "active":
            await outbox.settle(store, item.reminder_id, "skipped", reason=status or "erased")
            return
        courier = self.couriers.get(item.channel)
        if courier is None:  # (this process cannot send on that channel)
            await outbox.settle(store, item.reminder_id, "skipped", reason="channel_not_configured")
            return
        await courier.limiter.acquire(item.returnee_id)
        if not await outbox.mark_sending(store, item.reminder_id):
            # an opt-out meanwhile (its own transaction skipped the row, or does now), the
            # round was paused, or another sender took the row: nothing is sent
            status = await outbox.returnee_status(store, item.returnee_id)
            if status != "active":
                await outbox.settle_if_pending(
                    store, item.reminder_id, "skipped", reason=status or "erased"
                )
            else:  # (paused: sent when the round is resumed, without waiting for the lease)
                await outbox.release(store, item.reminder_id)
            return
        delivery = await courier.remind(item)
        if delivery.outcome == "throttled":
            self.stats.throttled += 1
            await courier.limiter.pause(delivery.retry_after)
            log.warning(
                "%s says too many messages: all sending paused for %ss",
                item.channel,
                delivery.retry_after,
            )
            await outbox.settle(
                store,
                item.reminder_id,
                "pending",
                reason="throttled",
                retry_at=store.clock() + timedelta(seconds=delivery.retry_after),
            )
        elif delivery.outcome == "unreachable":
            await store.set_status(item.returnee_id, "unreachable")
            await outbox.settle(store, item.reminder_id, "failed", reason=delivery.reason)
            log.info("reminder to %s: %s, marked unreachable", item.public_id, delivery.reason)
        elif delivery.outcome == "failed":
            reason = delivery.reason or "error"
            if item.attempts >= self.max_attempts:
                await outbox.settle(store, item.reminder_id, "failed", reason=reason)
                log.warning("reminder to %s failed for good: %s", item.public_id, reason)
            else:
                delay = self.backoff * 2 ** (item.attempts - 1)
                await outbox.settle(
                    store,
                    item.reminder_id,
                    "pending",
                    reason=reason,
                    retry_at=store.clock() + timedelta(seconds=delay),
                )
        else:
            await outbox.settle(store, item.reminder_id, "sent")
            self.stats.sent += 1
            self.stats.last_send = self.clock()


class SenderStopped(Exception):
    """Raised by ``RoundSender.run(stop_after=N)`` to simulate a killed process."""


def _reason(exc: Exception) -> str:
    if isinstance(exc, TelegramNetworkError):
        return "network"
    name = exc.__class__.__name__.removeprefix("Telegram").removesuffix("Error")
    return name.lower() or "api"


async def send_scheduled_rounds(
    store: Store,
    bot: Bot | None,
    limiter: RateLimiter,
    windows: WaveWindows,
    *,
    now: datetime | None = None,
    metrics: Metrics | None = None,
    couriers: Sequence[Courier] = (),
) -> list[ScheduledRun]:
    """Start today's scheduled rounds whose hour has come (:func:`storage.schedules.tick`)
    and send them; returns what each schedule did."""
    runs = await schedules.tick(store, windows=windows, now=now)
    for run in runs:
        if run.round_id is None:
            continue
        sender = RoundSender(store, bot, limiter, metrics=metrics, couriers=couriers)
        report = await sender.run(run.round_id)
        log.info(
            "scheduled round (%s): %s reminded, %s already reminded, %s",
            run.schedule.describe(),
            run.reminded,
            run.already_reminded,
            dict(report.counts),
        )
    return runs


async def scheduled_rounds_loop(
    store: Store,
    bot: Bot | None,
    limiter: RateLimiter,
    windows: WaveWindows,
    *,
    every: float = 60.0,
    metrics: Metrics | None = None,
    couriers: Sequence[Courier] = (),
) -> None:
    """Every minute: :func:`send_scheduled_rounds` (a database hiccup is retried)."""
    while True:
        try:
            await send_scheduled_rounds(
                store, bot, limiter, windows, metrics=metrics, couriers=couriers
            )
        except Exception as exc:  # a passing outage must not stop the bot
            log.warning("scheduled rounds failed: %s", exc.__class__.__name__)
        await asyncio.sleep(every)
