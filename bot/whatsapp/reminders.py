"""Reminders on WhatsApp: inside the 24-hour window a message with a "start the survey"
button; outside it (or when WhatsApp says the window has closed) the approved template,
whose quick-reply button starts the survey the same way. A reminder's messages carry its
id back in their statuses, so a failure WhatsApp reports later reaches the round."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp
from redis.asyncio import Redis

from bot.couriers import Delivery
from bot.i18n import Translator
from bot.keywords import spelled_as_keywords
from bot.rate_limits import RateLimiter, RedisRateLimiter
from bot.settings import WhatsAppSettings
from bot.texts import reminder_text, wave_label
from bot.whatsapp.client import (
    CloudClient,
    CloudError,
    InvalidToken,
    RateLimited,
    Undeliverable,
    WindowClosed,
)
from bot.whatsapp.conversation import INVITATION_REPLY, REMINDER_CALLBACK, RESUME
from bot.whatsapp.render import BUTTON_TITLE_MAX, choices
from storage.outbox import Claimed
from storage.store import Store

log = logging.getLogger(__name__)

#: a free-form message only well inside the window (the last message is kept to the
#: half hour, and a reminder may wait for its turn)
FREE_FORM_WITHIN = timedelta(hours=23)
#: WhatsApp gives no retry-after: everything waits this long after "too many messages"
BACKOFF = 5.0


class WhatsAppCourier:
    channel = "whatsapp"

    def __init__(
        self,
        client: CloudClient,
        limiter: RateLimiter,
        *,
        template: str,
        template_language: Callable[[str], str] = lambda language: language,
        invitation_template: str = "rss_invitation",
        clock: Callable[[], datetime],
        backoff: float = BACKOFF,
    ) -> None:
        self.client, self.limiter, self.clock = client, limiter, clock
        self.backoff = backoff
        self.template, self.template_language = template, template_language
        self.invitation_template = invitation_template
        #: how each reminder went out (tests and reports): "message" or "template"
        self.sent_as: list[str] = []

    def window_open(self, item: Claimed) -> bool:
        last = item.last_message_at
        return last is not None and self.clock() - last < FREE_FORM_WITHIN

    async def remind(self, item: Claimed) -> Delivery:
        _ = Translator(item.language, commands=spelled_as_keywords)
        to, callback = str(item.chat_id), REMINDER_CALLBACK + item.reminder_id
        try:
            if self.window_open(item):
                text, label = reminder_text(_, item.wave, item.started, button_max=BUTTON_TITLE_MAX)
                try:  # (a label within a button's limit: a reply button, one tap)
                    await self.client.send_messages(
                        to, choices(text, [(RESUME, label)], _), callback=callback
                    )
                    self.sent_as.append("message")
                    return Delivery("sent")
                except WindowClosed:
                    log.info("reminder to %s: window closed, sent as a template", item.public_id)
            await self.client.send_template(
                to,
                self.template,
                self.template_language(item.language),
                body=[wave_label(_, item.wave)],
                quick_reply=RESUME,
                callback=callback,
            )
            self.sent_as.append("template")
        except RateLimited:
            return Delivery("throttled", "throttled", retry_after=self.backoff)
        except Undeliverable:
            return Delivery("unreachable", "undeliverable")
        except InvalidToken as exc:
            return Delivery("failed", exc.reason)
        except CloudError as exc:
            return Delivery("failed", exc.reason)
        except (aiohttp.ClientError, TimeoutError):
            return Delivery("failed", "network")
        return Delivery("sent")

    async def invite(self, number: str, language: str, token: str) -> Delivery:
        """An invitation as the approved template (someone who never wrote to the
        business can only be sent a template); its quick reply opens the invitation."""
        await self.limiter.acquire(number)
        try:
            await self.client.send_template(
                number,
                self.invitation_template,
                self.template_language(language),
                quick_reply=INVITATION_REPLY + token,
            )
        except RateLimited:
            return Delivery("throttled", "throttled", retry_after=self.backoff)
        except Undeliverable:
            return Delivery("unreachable", "undeliverable")
        except CloudError as exc:
            return Delivery("failed", exc.reason)
        except (aiohttp.ClientError, TimeoutError):
            return Delivery("failed", "network")
        return Delivery("sent")


def courier_from_settings(
    config: WhatsAppSettings,
    store: Store,
    *,
    redis: Redis | None = None,
    prefix: str = "rssbot",
) -> WhatsAppCourier | None:
    """The WhatsApp courier the settings describe (None when WhatsApp is not set up); its
    rate limit is shared through Redis when there is one. Close its ``client`` after."""
    if not config.enabled:
        return None
    assert config.token is not None and config.phone_number_id is not None
    client = CloudClient(
        config.token.get_secret_value().strip(),
        config.phone_number_id,
        base_url=config.api_base,
        version=config.api_version,
    )
    rate = config.send_rate or None
    limiter = (
        RedisRateLimiter(redis, f"{prefix}:whatsapp", rate=rate)
        if redis is not None
        else RateLimiter(rate=rate)
    )
    return WhatsAppCourier(
        client,
        limiter,
        template=config.reminder_template,
        template_language=config.template_language,
        invitation_template=config.invitation_template,
        clock=store.clock,
    )
