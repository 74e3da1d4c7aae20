"""The audio prompts a channel already holds: a media id per channel and clip digest, so
each clip is uploaded once (by any worker) and sent again by its id."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import MediaUpload


class MediaUploads:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self.sessions, self.clock = sessions, clock

    async def media_id(
        self, channel: str, digest: str, *, max_age: timedelta | None = None
    ) -> str | None:
        """The id ``channel`` gave the clip with this digest, unless older than
        ``max_age`` (WhatsApp keeps uploaded media 30 days)."""
        async with self.sessions() as session:
            row = await session.get(MediaUpload, (channel, digest))
        if row is None or (max_age is not None and row.uploaded_at < self.clock() - max_age):
            return None
        return row.media_id

    async def remember(self, channel: str, digest: str, media_id: str) -> None:
        """The clip with this digest is ``media_id`` on ``channel`` from now on."""
        async with self.sessions.begin() as session:
            await session.execute(
                delete(MediaUpload).where(
                    MediaUpload.channel == channel, MediaUpload.digest == digest
                )
            )
            session.add(
                MediaUpload(
                    channel=channel, digest=digest, media_id=media_id, uploaded_at=self.clock()
                )
            )

    async def forget(self, channel: str, digest: str) -> None:
        """The channel no longer has it (an expired or refused id): upload it again."""
        async with self.sessions.begin() as session:
            await session.execute(
                delete(MediaUpload).where(
                    MediaUpload.channel == channel, MediaUpload.digest == digest
                )
            )

    async def listing(self) -> list[tuple[str, str, str]]:
        """Every (channel, digest, media id) held."""
        async with self.sessions() as session:
            rows = await session.scalars(select(MediaUpload))
            return [(r.channel, r.digest, r.media_id) for r in rows]
