"""Confidential feedback on the assistance received: who may send it, how much a day, and
sending it (with the returnee's name or anonymously, with an optional rating), written
or, with the returnee's name, as a voice note."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flows.audio import recording
from storage.store import (
    FEEDBACK_PER_DAY,
    ConsentRequired,
    FeedbackLimitReached,
    ReturneeInfo,
    Store,
    Voice,
)

#: the longest feedback message kept
MAX_FEEDBACK = 2000
#: a day's feedback messages per returnee
PER_DAY = FEEDBACK_PER_DAY

#: the largest voice note kept as feedback, and the longest (a few minutes of speech
#: in the codecs phones record is well under a megabyte)
MAX_VOICE_BYTES = 5 * 1024 * 1024
MAX_VOICE_SECONDS = 300
#: what phones record voice notes as (Telegram: OGG Opus; WhatsApp: OGG Opus, AMR, AAC)
VOICE_TYPES = frozenset({"audio/ogg", "audio/opus", "audio/mpeg", "audio/mp4", "audio/aac",
                         "audio/amr"})  # fmt: skip

Refusal = Literal["not_registered", "no_consent", "limit_reached"]
TextProblem = Literal["empty", "too_long"]
VoiceProblem = Literal["voice_anonymous", "voice_format", "voice_too_large", "voice_too_long"]


@dataclass(frozen=True)
class Sent:
    """Feedback stored (``receipt``: the code the returnee keeps), or why not."""

    receipt: str | None = None
    refused: Refusal | TextProblem | VoiceProblem | None = None


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

    @staticmethod
    def check_voice(
        mime_type: str, size: int, seconds: int | None, *, anonymous: bool
    ) -> VoiceProblem | None:
        """Why a voice note cannot be kept as feedback (None: it can). A voice can be
        recognised: anonymous feedback is written only."""
        if anonymous:
            return "voice_anonymous"
        if mime_type.split(";")[0].strip().lower() not in VOICE_TYPES:
            return "voice_format"
        if size > MAX_VOICE_BYTES:
            return "voice_too_large"
        return "voice_too_long" if (seconds or 0) > MAX_VOICE_SECONDS else None

    async def send_voice(
        self, returnee: ReturneeInfo | None, voice: Voice, *, rating: int | None, anonymous: bool
    ) -> Sent:
        """Keep a voice note as named feedback (encrypted like a text, erased with the
        returnee); its type and length are read from its bytes."""
        found = recording(voice.data)
        refused = self.may_send(returnee) or (
            "voice_format"
            if found is None
            else self.check_voice(found[0], len(voice.data), found[1], anonymous=anonymous)
        )
        if refused is not None or returnee is None or found is None:
            return Sent(refused=refused)
        voice = Voice(voice.data, found[0], found[1] or voice.seconds)
        try:
            receipt = await self.store.add_feedback(
                returnee.id, "", rating=rating, anonymous=False, voice=voice
            )
        except FeedbackLimitReached:
            return Sent(refused="limit_reached")
        except ConsentRequired:
            return Sent(refused="no_consent")
        return Sent(receipt=receipt)

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
