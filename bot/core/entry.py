"""Entering the survey: opening an invitation, choosing the language, answering the
consent question, and coming back after being unreachable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.consent import DataPolicy
from storage.store import ReturneeInfo, Store

ConsentOutcome = Literal["given", "declined", "not_asked"]


@dataclass
class Entry:
    store: Store
    policy: DataPolicy

    async def open_invitation(
        self,
        token: str,
        user_id: int | str,
        chat_id: int | str,
        *,
        channel: str = "telegram",
        phone: str | None = None,
    ) -> ReturneeInfo:
        """Bind the invitation's returnee to this chat of ``channel`` (``InviteProblem``
        says why not); on WhatsApp ``phone`` is the number, when the platform shows it."""
        return await self.store.redeem_invite(token, user_id, chat_id, channel=channel, phone=phone)

    async def choose_language(self, returnee: ReturneeInfo, code: str) -> ReturneeInfo:
        await self.store.set_language(returnee.id, code)
        return await self.store.get(returnee.id)

    async def answer_consent(self, returnee: ReturneeInfo, agree: bool) -> ConsentOutcome:
        """Record the returnee's answer to the consent question of the current policy
        (nothing is stored before it); ``not_asked`` if they are taking part already."""
        if returnee.status == "active":
            return "not_asked"
        version, language = self.policy.consent_version, returnee.language
        if agree:
            await self.store.give_consent(returnee.id, version=version, language=language)
            return "given"
        await self.store.decline_consent(returnee.id, version=version, language=language)
        return "declined"

    async def come_back(self, returnee: ReturneeInfo) -> ReturneeInfo:
        """A returnee who was unreachable (had blocked the bot) writes again: active again
        if they had consented, else invited (asked for consent)."""
        if returnee.status == "unreachable":
            await self.store.set_status(
                returnee.id, "active" if returnee.consent_version else "invited"
            )
            return await self.store.get(returnee.id)
        return returnee
