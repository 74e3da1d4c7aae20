"""Reminders on WhatsApp: inside the 24-hour window a message with a "start the survey"
button; outside it (or when WhatsApp says the window has closed) the approved template,
whose quick-reply button starts the survey the same way."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp

from bot.couriers import Delivery
from bot.i18n import Translator
from bot.rate_limits import RateLimiter
from bot.texts import reminder_text, wave_label
from bot.whatsapp.client import (
    CloudClient,
    CloudError,
    InvalidToken,
    RateLimited,
    Undeliverable,
    WindowClosed,
)
from bot.whatsapp.conversation import RESUME
from bot.whatsapp.render import choices
from storage.outbox import Claimed

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
        clock: Callable[[], datetime],
        backoff: float = BACKOFF,
    ) -> None:
        self.client, self.limiter, self.clock = client, limiter, clock
        self.backoff = backoff
        self.template, self.template_language = template, template_language
        #: how each reminder went out (tests and reports): "message" or "template"
        self.sent_as: list[str] = []

    def window_open(self, item: Claimed) -> bool:
        last = item.last_message_at
        return last is not None and self.clock() - last < FREE_FORM_WITHIN

    async def remind(self, item: Claimed) -> Delivery:
        _ = Translator(item.language)
        to = str(item.chat_id)
        try:
            if self.window_open(item):
                text, label = reminder_text(_, item.wave, item.started)
                try:
                    await self.client.send_messages(to, choices(text, [(RESUME, label)], _))
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
