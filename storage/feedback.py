"""Confidential feedback on the assistance received: stored encrypted (under the
returnee's data key, or the feedback box's key when anonymous), limited to a few messages
a day per returnee, read only by feedback officers (every read audited)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import keys
from storage.codes import short_code
from storage.crypto import Keyring
from storage.errors import FeedbackLimitReached, StorageError
from storage.keys import DataKeys
from storage.models import Feedback, FeedbackQuota, Returnee, StaffMember
from storage.scopes import EVERYONE, Scope
from storage.staff_audit import StaffAudit

#: the owner of the data key of anonymous feedback
FEEDBACK_OWNER = "feedback"
#: feedback messages a returnee may send a day (the confidential inbox cannot be flooded)
FEEDBACK_PER_DAY = 3


#: where staff are with a feedback: nobody has looked, read, dealt with
FEEDBACK_STATES = ("new", "read", "handled")
#: the highest rating a returnee can give (1 to 5)
RATING_SCALE = 5


@dataclass(frozen=True)
class Voice:
    """A voice note: its bytes, MIME type and length in seconds."""

    data: bytes = field(repr=False)
    mime_type: str
    seconds: int


@dataclass(frozen=True)
class FeedbackItem:
    id: str
    receipt: str
    anonymous: bool
    #: the returnee's pseudonymous id, for named feedback only
    public_id: str | None
    rating: int | None
    text: str
    #: when it was sent (the day only for anonymous feedback)
    at: datetime
    state: str
    #: the staff member who set the state (their name where known)
    state_by: str | None
    state_at: datetime | None
    #: the length of a voice note sent as feedback (None: written feedback)
    voice_seconds: int | None = None


@dataclass
class FeedbackPage:
    items: list[FeedbackItem]
    #: how many match the filters (all pages)
    total: int
    #: all feedback by state
    counts: Counter[str] = field(default_factory=Counter)


class FeedbackBox:
    """The feedback aggregate. ``require_active`` raises unless the returnee consented
    (read in the feedback's own transaction)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keyring: Keyring,
        data_keys: DataKeys,
        staff: StaffAudit,
        require_active: Callable[[AsyncSession, str], Awaitable[None]],
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self.sessions, self.keyring, self.keys, self.staff = sessions, keyring, data_keys, staff
        self.require_active, self.clock, self.new_id = require_active, clock, new_id

    async def add(
        self,
        returnee_id: str,
        text: str,
        *,
        rating: int | None,
        anonymous: bool,
        per_day: int = FEEDBACK_PER_DAY,
        voice: Voice | None = None,
    ) -> str:
        """Store feedback from a returnee who consented, and return its receipt code.

        Anonymous feedback is linked to no one (its date is the day only); a voice can
        be recognised, so a voice note is only ever named feedback (erased with the
        returnee), encrypted under their data key like a text. At most
        ``per_day`` messages a day per returnee (:class:`FeedbackLimitReached`), counted
        under a pseudonym of the returnee and the day, unlinked to the feedback rows.
        """
        if rating is not None and not 1 <= rating <= 5:
            raise StorageError("a rating is between 1 and 5")
        if voice is not None and anonymous:
            raise StorageError("a voice note is never anonymous feedback")
        feedback_id = self.new_id()
        receipt = short_code("FB-")
        now = self.clock()
        today = now.date()
        async with self.sessions.begin() as session:
            await self.require_active(session, returnee_id)
            await session.execute(delete(FeedbackQuota).where(FeedbackQuota.day < today))
            key = self._quota_key(returnee_id, today)
            quota = await session.get(FeedbackQuota, key, with_for_update=True)
            if quota is None:
                session.add(FeedbackQuota(key=key, day=today, count=1))
            elif quota.count >= per_day:
                raise FeedbackLimitReached(per_day)
            else:
                quota.count += 1
            if anonymous:
                dek = await self.keys.get(session, FEEDBACK_OWNER, create=True)
                owner_id, created = None, now.replace(hour=0, minute=0, second=0, microsecond=0)
            else:
                dek = await self.keys.returnee(session, returnee_id)
                owner_id, created = returnee_id, now
            assert dek is not None
            session.add(
                Feedback(
                    id=feedback_id,
                    returnee_id=owner_id,
                    anonymous=owner_id is None,
                    text_enc=keys.encrypt(dek, "feedback", feedback_id, "text", text),
                    rating=rating,
                    receipt_code=receipt,
                    created_at=created,
                    voice_enc=None
                    if voice is None
                    else keys.encrypt_bytes(dek, "feedback", feedback_id, "voice", voice.data),
                    voice_mime=None if voice is None else voice.mime_type,
                    voice_seconds=None if voice is None else voice.seconds,
                )
            )
        return receipt

    def _quota_key(self, returnee_id: str, day: date) -> str:
        return self.keyring.pseudonym("feedback-quota", f"{returnee_id}:{day.isoformat()}")

    async def left_today(self, returnee_id: str, per_day: int = FEEDBACK_PER_DAY) -> int:
        """How many more feedback messages the returnee may send today."""
        key = self._quota_key(returnee_id, self.clock().date())
        async with self.sessions() as session:
            quota = await session.get(FeedbackQuota, key)
        return max(0, per_day - (quota.count if quota is not None else 0))

    async def inbox(
        self,
        *,
        actor: str,
        states: Sequence[str] = FEEDBACK_STATES,
        kind: str | None = None,
        receipt: str | None = None,
        since: datetime | None = None,
        before: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
        scope: Scope = EVERYONE,
    ) -> FeedbackPage:
        """One page of the feedback in ``states`` (newest first), named or anonymous
        only (``kind``), or the one with a receipt code; only that page is decrypted, and
        the read is audited. The counts by state are of all the feedback in ``scope``
        (anonymous feedback, tied to no one, is in the scope of everyone only)."""
        query = select(Feedback, Returnee.public_id, StaffMember.name).outerjoin(
            Returnee, Returnee.id == Feedback.returnee_id
        )
        query = query.outerjoin(StaffMember, "staff:" + StaffMember.id == Feedback.state_by)
        query = query.where(Feedback.state.in_(list(states)))
        if kind in ("named", "anonymous"):
            query = query.where(Feedback.anonymous.is_(kind == "anonymous"))
        if receipt:
            query = query.where(Feedback.receipt_code == receipt.strip().upper())
        if since is not None:
            query = query.where(Feedback.created_at >= since)
        if before is not None:
            query = query.where(Feedback.created_at < before)
        in_scope = _within(scope)
        query = query.where(*in_scope)
        async with self.sessions.begin() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            by_state = (
                select(Feedback.state, func.count()).where(*in_scope).group_by(Feedback.state)
            )
            counts = {state: int(n) for state, n in (await session.execute(by_state)).all()}
            rows = (
                await session.execute(
                    query.order_by(Feedback.created_at.desc(), Feedback.id.desc())
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
            self.staff.record(session, actor, "read_feedback", None, f"{len(rows)} items")
            items = []
            for row, public_id, state_by_name in rows:
                text = await self._text(session, row)
                if text is None:
                    continue
                items.append(
                    FeedbackItem(
                        id=row.id,
                        receipt=row.receipt_code,
                        anonymous=row.anonymous,
                        public_id=None if row.anonymous else public_id,
                        rating=row.rating,
                        text=text,
                        at=row.created_at,
                        state=row.state,
                        state_by=state_by_name or row.state_by,
                        state_at=row.state_at,
                        voice_seconds=row.voice_seconds if row.voice_enc else None,
                    )
                )
        return FeedbackPage(items, int(total or 0), Counter(counts))

    async def _text(self, session: AsyncSession, row: Feedback) -> str | None:
        """The feedback's text (None when its owner's data key is gone: erased)."""
        owner = keys.returnee_owner(row.returnee_id) if row.returnee_id else FEEDBACK_OWNER
        dek = await self.keys.get(session, owner, create=False)
        if dek is None:
            return None
        return keys.decrypt(dek, "feedback", row.id, "text", row.text_enc)

    async def voice(self, feedback_id: str, *, actor: str, scope: Scope = EVERYONE) -> Voice | None:
        """A voice note sent as feedback, decrypted to be played (each play audited); None
        if there is none in ``scope`` (or its returnee was erased)."""
        async with self.sessions.begin() as session:
            row = await session.scalar(
                select(Feedback).where(Feedback.id == feedback_id, *_within(scope))
            )
            if row is None or row.voice_enc is None or row.returnee_id is None:
                return None
            dek = await self.keys.get(session, keys.returnee_owner(row.returnee_id), create=False)
            if dek is None:
                return None
            self.staff.record(
                session, actor, "play_feedback_voice", row.returnee_id, row.receipt_code
            )
            data = keys.decrypt_bytes(dek, "feedback", row.id, "voice", row.voice_enc)
            return Voice(data, row.voice_mime or "audio/ogg", row.voice_seconds or 0)

    async def mark(
        self, feedback_id: str, state: str, *, actor: str, scope: Scope = EVERYONE
    ) -> bool:
        """Set a feedback's state (who and when kept with it; audited). False if there is
        no such feedback in ``scope``."""
        if state not in FEEDBACK_STATES:
            raise StorageError(f"unknown feedback state {state!r}")
        async with self.sessions.begin() as session:
            row = await session.scalar(
                select(Feedback)
                .where(Feedback.id == feedback_id, *_within(scope))
                .with_for_update()
            )
            if row is None:
                return False
            row.state, row.state_by, row.state_at = state, actor, self.clock()
            self.staff.record(
                session, actor, "feedback_state", None, f"{row.receipt_code}: {state}"
            )
        return True

    async def read(self, *, actor: str, scope: Scope = EVERYONE) -> list[dict[str, Any]]:
        """All feedback in ``scope``, decrypted, for a feedback officer; the read is
        audited."""
        async with self.sessions.begin() as session:
            rows = (
                await session.scalars(
                    select(Feedback).where(*_within(scope)).order_by(Feedback.created_at)
                )
            ).all()
            self.staff.record(session, actor, "read_feedback", None, f"{len(rows)} items")
            out = []
            for row in rows:
                text = await self._text(session, row)
                if text is None:
                    continue
                out.append(
                    {
                        "receipt": row.receipt_code,
                        "anonymous": row.anonymous,
                        "rating": row.rating,
                        "text": text,
                        "date": row.created_at.date().isoformat(),
                    }
                )
            return out


def _within(scope: Scope) -> list[ColumnElement[bool]]:
    """Feedback a reader with ``scope`` sees: all of it, or the named feedback of returnees
    in the scope."""
    condition = scope.returnee_ids(Feedback.returnee_id)
    return [] if condition is None else [condition]
