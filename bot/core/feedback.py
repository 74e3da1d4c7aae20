"""Confidential feedback on the assistance received: who may send it, how much a day, and
sending it (with the returnee's name or anonymously, with an optional rating)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storage.store import (
    FEEDBACK_PER_DAY,
    ConsentRequired,
    FeedbackLimitReached,
    ReturneeInfo,
    Store,
)

#: the longest feedback message kept
MAX_FEEDBACK = 2000
#: a day's feedback messages per returnee
PER_DAY = FEEDBACK_PER_DAY

Refusal = Literal["not_registered", "no_consent", "limit_reached"]
TextProblem = Literal["empty", "too_long"]


@dataclass(frozen=True)
class Sent:
    """Feedback stored (``receipt``: the code the returnee keeps), or why not."""

    receipt: str | None = None
    refused: Refusal | TextProblem | None = None


@dataclass
class FeedbackDesk:
    store: Store

    @staticmethod
    def may_send(returnee: ReturneeInfo | None) -> Refusal | None:
        """Feedback is stored only from an enrolled returnee who consented."""
        if returnee is None:
            return "not_registered"
        return None if returnee.status == "active" else "no_consent"

    async def may_start(self, returnee: ReturneeInfo | None) -> Refusal | None:
        """Why a returnee may not begin a feedback message now (None: they may)."""
        refused = self.may_send(returnee)
        if refused is None and returnee is not None:
            left = await self.store.feedback_left_today(returnee.id)
            return "limit_reached" if left == 0 else None
        return refused

    @staticmethod
    def check_text(text: str) -> TextProblem | None:
        text = text.strip()
        if not text or text.startswith("/"):
            return "empty"
        return "too_long" if len(text) > MAX_FEEDBACK else None

    async def send(
        self, returnee: ReturneeInfo | None, text: str, *, rating: int | None, anonymous: bool
    ) -> Sent:
        refused = self.may_send(returnee) or self.check_text(text)
        if refused is not None or returnee is None:
            return Sent(refused=refused)
        try:
            receipt = await self.store.add_feedback(
                returnee.id, text.strip(), rating=rating, anonymous=anonymous
            )
        except FeedbackLimitReached:
            return Sent(refused="limit_reached")
        except ConsentRequired:  # (withdrew meanwhile, from another device)
            return Sent(refused="no_consent")
        return Sent(receipt=receipt)
