"""Dispatcher and session middlewares: apply-once, who is talking, redaction, retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, Update, User

from bot.i18n import Translator, proposed_language
from bot.telegram.services import Services
from storage.redaction import sensitive
from storage.store import NotFound, ReturneeInfo

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


#: inside an update: the message that now shows the returnee's current question
#: (returnee, message id), recorded with the update's "replied" mark (one statement)
_prompt_shown: ContextVar[list[tuple[str, int]] | None] = ContextVar(
    "rssbot_prompt_shown", default=None
)


async def prompt_shown(svc: Services, returnee_id: str, message_id: int) -> None:
    """Remember the message showing a returnee's current question: with the update's
    "replied" mark when inside an update, at once otherwise."""
    pending = _prompt_shown.get()
    if pending is not None:
        pending.append((returnee_id, message_id))
    else:
        await svc.store.set_prompt(returnee_id, message_id)


class ApplyOnceMiddleware(BaseMiddleware):
    """An update delivered twice (retry, restart, two workers) is applied once.

    The update id is recorded as replied after the handler succeeded, so an update whose
    handling failed is handled again when Telegram redelivers it. A survey answer is
    recorded as applied together with the answer itself: if the handling failed after
    that (the worker died, Telegram was down), the redelivery is handed on with
    ``redelivered=True`` so the survey shows the current question instead of storing the
    answer twice or leaving the returnee without a question. Two copies of one update
    handled at the same time (a proxy's replay reaching two workers) need no lock or
    claim: the survey's step and the update's mark are stored together and only once
    (compare-and-set, :meth:`storage.store.Store.save_step`); the copy that loses shows
    the current question.

    The update's state and the returnee behind it are read in one statement (``returnee``
    in the handler data), since both are needed for nearly every update; on PostgreSQL
    with the returnee's survey in progress (``open_survey``).
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        svc: Services = data["svc"]
        assert isinstance(event, Update)
        user: User | None = data.get("event_from_user")
        state, data["returnee"], survey = await svc.store.update_context(
            event.update_id, user.id if user else None
        )
        if survey != "unread":  # (read with the rest on PostgreSQL: the survey handlers
            data["open_survey"] = survey  # take it instead of reading it again)
        if state == "replied" or (
            state == "applied" and await svc.store.replied_meanwhile(event.update_id)
        ):
            log.info("update %s already applied: skipped", event.update_id)
            return None
        data["redelivered"] = state == "applied"
        shown: list[tuple[str, int]] = []
        token = _prompt_shown.set(shown)
        try:
            result = await handler(event, data)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            # Telegram refused a call for good (blocked, chat gone, message not
            # modifiable...): handling the update again would fail the same way, and a
            # webhook error would have Telegram redeliver it again and again
            log.warning(
                "update %s: Telegram refused %s (%s): not retried",
                event.update_id,
                exc.method.__api_method__,
                exc.__class__.__name__,
            )
            returnee: ReturneeInfo | None = data.get("returnee")
            if isinstance(exc, TelegramForbiddenError) and returnee is not None:
                with contextlib.suppress(NotFound):  # (erased by this very update)
                    await svc.store.set_status(returnee.id, "unreachable")
            result = None
        finally:
            _prompt_shown.reset(token)
        # replied (upsert), with the message now showing the current question
        await svc.store.mark_processed(event.update_id, shown[-1] if shown else None)
        return result


class LocaleMiddleware(BaseMiddleware):
    """The translator of the update, resolved once and handed to handlers as ``_``: the
    returnee's language, else the one their Telegram app proposes."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        returnee: ReturneeInfo | None = data.get("returnee")
        code = (
            returnee.language
            if returnee
            else proposed_language(user.language_code if user else None)
        )
        data["_"] = Translator(code)
        return await handler(event, data)


class RedactionMiddleware(BaseMiddleware):
    """Keeps the returnee's words out of the logs while the update is handled (the
    returnee behind it is found by :class:`ApplyOnceMiddleware`, with the update)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        text = None
        if isinstance(event, Update) and event.message is not None:
            text = event.message.text or event.message.caption
        with sensitive(text):
            return await handler(event, data)


class RetryMiddleware(BaseRequestMiddleware):
    """Retries calls to the Bot API on network errors, 5xx and 429 (honouring retry_after),
    so a returnee's next question is not lost to a flaky connection."""

    def __init__(
        self,
        attempts: int = 4,
        base_delay: float = 0.5,
        max_retry_after: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.attempts, self.base_delay = attempts, base_delay
        self.max_retry_after, self.sleep = max_retry_after, sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ == GetUpdates.__api_method__:  # polling has its own backoff
            return await make_request(bot, method)
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or exc.retry_after > self.max_retry_after:
                    raise
                log.warning("429 on %s: waiting %ss", method.__api_method__, exc.retry_after)
                await self.sleep(exc.retry_after)
            except (TelegramNetworkError, TelegramServerError) as exc:
                if attempt == self.attempts:
                    raise
                delay = self.base_delay * 2 ** (attempt - 1)
                log.warning(
                    "%s on %s (attempt %s): retrying in %.1fs",
                    exc.__class__.__name__,
                    method.__api_method__,
                    attempt,
                    delay,
                )
                await self.sleep(delay)
        raise AssertionError("unreachable")
