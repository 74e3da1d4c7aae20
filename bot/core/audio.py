"""Audio prompts, with no transport: which clips come with a question (its own, then
its choices', in the returnee's language, unless they switched audio off), switching
audio off and on, and sending a clip through a channel so that each clip is uploaded
once and sent again by the media id the channel gave it.

The Telegram and WhatsApp hosts hand :meth:`Prompts.send` their own two ways of sending
(by id, by upload); the terminal survey names the clips instead."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from flows.audio import Clip, inspect
from flows.model import FlowDefinition, Question, options_of
from storage.returnees import ReturneeInfo
from storage.store import Store


@dataclass(frozen=True)
class Prompt:
    """One voice note to send: the clip, and what it says where a caption can be shown
    (a choice's label; None for the question's own clip)."""

    clip: Clip
    caption: str | None = None


class MediaGone(Exception):
    """The channel no longer knows a media id (expired, or from another account)."""


def has_audio(definition: FlowDefinition, language: str) -> bool:
    """Whether any question or choice of the survey has a clip in ``language``."""
    return any(
        language in (q.audio or {}) or any(language in (o.audio or {}) for o in options_of(q))
        for q in definition.questions
    )


@dataclass
class Prompts:
    store: Store

    @staticmethod
    def of(question: Question, language: str, returnee: ReturneeInfo | None) -> list[Prompt]:
        """The clips that come with ``question`` in ``language``: its own, then each
        choice's (captioned with the choice); none when the returnee switched audio off."""
        if returnee is not None and not returnee.audio:
            return []
        found = []
        if question.audio and language in question.audio:
            found.append(Prompt(inspect(question.audio[language])))
        for option in options_of(question):
            if option.audio and language in option.audio:
                found.append(Prompt(inspect(option.audio[language]), option.label[language]))
        return found

    async def switch(self, returnee: ReturneeInfo, on: bool | None = None) -> bool:
        """Switch the returnee's audio ``on`` or off (None: the other way round); the new
        setting, kept."""
        wanted = (not returnee.audio) if on is None else on
        await self.store.set_audio(returnee.id, wanted)
        return wanted

    async def send(
        self,
        channel: str,
        prompt: Prompt,
        by_id: Callable[[str], Awaitable[None]],
        by_upload: Callable[[], Awaitable[str]],
        *,
        max_age: timedelta | None = None,
    ) -> None:
        """Send ``prompt`` by the media id ``channel`` holds for its clip (``by_id``);
        where it holds none, or has forgotten it (:class:`MediaGone`), upload it
        (``by_upload``, which returns the new id) and keep the id for next time."""
        media = self.store.media
        digest = prompt.clip.digest
        known = await media.media_id(channel, digest, max_age=max_age)
        if known is not None:
            try:
                await by_id(known)
                return
            except MediaGone:
                await media.forget(channel, digest)
        await media.remember(channel, digest, await by_upload())
