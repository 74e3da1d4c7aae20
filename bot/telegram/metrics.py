"""Prometheus metrics (prometheus_client) for the bot and the round sender."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, Update
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """One registry per process (tests can make their own)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.updates = Counter(
            "rssbot_updates_handled_total",
            "Telegram updates handled, by type and outcome",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rssbot_update_latency_seconds",
            "Time to handle one update (storage and replies included)",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.sent = Counter(
            "rssbot_messages_sent_total",
            "Calls to the Bot API that send or edit a message, by method",
            ["method"],
            registry=self.registry,
        )
        self.throttled = Counter(
            "rssbot_telegram_429_total",
            "429 Too Many Requests from Telegram",
            registry=self.registry,
        )
        self.rounds = Gauge(
            "rssbot_rounds_in_progress", "Reminder rounds being sent", registry=self.registry
        )


SENDING = {"sendmessage", "editmessagetext", "editmessagereplymarkup", "sendphoto", "senddocument"}


class UpdateMetricsMiddleware(BaseMiddleware):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = event.event_type if isinstance(event, Update) else "unknown"
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "ok"
            return result
        finally:
            self.metrics.latency.observe(time.perf_counter() - started)
            self.metrics.updates.labels(kind, outcome).inc()


class RequestMetricsMiddleware(BaseRequestMiddleware):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__.lower()
        try:
            response = await make_request(bot, method)
        except TelegramRetryAfter:
            self.metrics.throttled.inc()
            raise
        if name in SENDING:
            self.metrics.sent.labels(name).inc()
        return response
