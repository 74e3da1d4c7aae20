"""Returnees and their invitations: enrolment (a case reference once), look-ups by
pseudonym or blind index, the chat to write to (encrypted), status, and single-use
invitation links (only a hash of the token is stored)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import keys
from storage.codes import short_code
from storage.crypto import Keyring
from storage.errors import CaseAlreadyEnrolled, InviteProblem, NotFound
from storage.keys import DataKeys
from storage.models import Invite, Reminder, Returnee
from storage.scopes import EVERYONE, Scope
from storage.staff_audit import StaffAudit

ReturneeStatus = Literal["invited", "active", "declined", "opted_out", "unreachable"]


@dataclass(frozen=True)
class ReturneeInfo:
    id: str
    public_id: str
    status: str
    language: str
    country: str | None
    return_date: date | None
    consent_version: str | None
    bound: bool
    #: where they answer (telegram, console...); None until they join
    channel: str | None = None
    #: whether clips come with the questions that have them
    audio: bool = True

    @classmethod
    def of(cls, row: Returnee) -> ReturneeInfo:
        return cls(
            id=row.id,
            public_id=row.public_id,
            status=row.status,
            language=row.language,
            country=row.country,
            return_date=row.return_date,
            consent_version=row.consent_version,
            bound=row.telegram_pseudonym is not None,
            channel=row.channel,
            audio=row.audio_prompts,
        )


async def cancel_reminders(session: AsyncSession, returnee_id: str, reason: str) -> None:
    """Pending reminders of someone who stopped, blocked or left are never sent."""
    await session.execute(
        update(Reminder)
        .where(Reminder.returnee_id == returnee_id, Reminder.status == "pending")
        .values(status="skipped", reason=reason)
    )


class Returnees:
    """The returnee aggregate (with invitations)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        autocommit: async_sessionmaker[AsyncSession],
        keyring: Keyring,
        data_keys: DataKeys,
        staff: StaffAudit,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self.sessions, self.autocommit, self.keyring = sessions, autocommit, keyring
        self.keys, self.staff, self.clock, self.new_id = data_keys, staff, clock, new_id

    async def enroll(
        self,
        *,
        case_ref: str,
        return_date: date | None,
        country: str | None,
        language: str,
        actor: str = "system",
    ) -> ReturneeInfo:
        now = self.clock()
        returnee_id = self.new_id()
        async with self.sessions.begin() as session:
            holder = await session.scalar(
                select(Returnee).where(Returnee.case_ref_index == self.case_ref_index(case_ref))
            )
            if holder is not None:
                raise CaseAlreadyEnrolled(ReturneeInfo.of(holder))
            dek = await self.keys.returnee(session, returnee_id)
            row = Returnee(
                id=returnee_id,
                public_id=short_code("R-"),
                telegram_pseudonym=None,
                case_ref_enc=keys.encrypt(dek, "returnees", returnee_id, "case_ref", case_ref),
                case_ref_index=self.case_ref_index(case_ref),
                country=country.upper() if country else None,
                return_date=return_date,
                language=language,
                status="invited",
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            self.staff.record(session, actor, "enroll", returnee_id)
            return ReturneeInfo.of(row)

    def case_ref_index(self, case_ref: str) -> str:
        """Blind index of a case reference (HMAC under the pepper), for exact look-ups."""
        return self.keyring.pseudonym("case", " ".join(case_ref.split()).casefold())

    async def find_by_case_ref(
        self, case_ref: str, *, actor: str, scope: Scope = EVERYONE
    ) -> ReturneeInfo | None:
        """Find a returnee by case reference among those in ``scope``; the look-up is
        audited (one outside the scope is not found, and audited as refused)."""
        where = Returnee.case_ref_index == self.case_ref_index(case_ref)
        async with self.sessions.begin() as session:
            row = await session.scalar(select(Returnee).where(where, *_within(scope)))
            if row is None and not scope.is_everyone:
                hidden = await session.scalar(select(Returnee.id).where(where))
                if hidden is not None:
                    self.staff.record(session, actor, "refused", hidden, "find_case: out of scope")
                    return None
            self.staff.record(session, actor, "find_case", row.id if row else None)
            return ReturneeInfo.of(row) if row else None

    async def find_by_public_id(
        self, public_id: str, *, scope: Scope = EVERYONE
    ) -> ReturneeInfo | None:
        """The returnee with this pseudonym, if in ``scope``."""
        async with self.sessions() as session:
            row = await session.scalar(
                select(Returnee).where(
                    Returnee.public_id == public_id.strip().upper(), *_within(scope)
                )
            )
            return ReturneeInfo.of(row) if row else None

    async def bind(
        self,
        returnee_id: str,
        user_id: int | str,
        chat_id: int | str,
        *,
        channel: str = "telegram",
        phone: str | None = None,
    ) -> None:
        """Link a chat to a returnee: only an HMAC pseudonym of the user id (and of the
        phone number, on WhatsApp) is kept, and the address to write to, encrypted."""
        async with self.sessions.begin() as session:
            row = await self.row(session, returnee_id)
            await self._link(session, row, user_id, chat_id, channel=channel, phone=phone)
            row.updated_at = self.clock()

    async def _link(
        self,
        session: AsyncSession,
        row: Returnee,
        user_id: int | str,
        chat_id: int | str,
        *,
        channel: str,
        phone: str | None,
    ) -> None:
        """``row``'s pseudonym, channel and address (encrypted); on WhatsApp the pseudonym
        of ``phone`` too, taken from whoever held that number before (numbers are reused)."""
        dek = await self.keys.returnee(session, row.id)
        row.telegram_pseudonym = self.keyring.pseudonym(channel, user_id)
        row.channel = channel
        row.chat_id_enc = keys.encrypt(dek, "returnees", row.id, "chat_id", str(chat_id))
        if phone:
            by_phone = self.keyring.pseudonym(channel, phone)
            await session.execute(
                update(Returnee)
                .where(Returnee.phone_pseudonym == by_phone, Returnee.id != row.id)
                .values(phone_pseudonym=None)
                .execution_options(synchronize_session=False)
            )
            row.phone_pseudonym = by_phone

    async def link_whatsapp(self, *, user_id: str | None, phone: str | None) -> str | None:
        """The WhatsApp returnee known by ``phone`` (enrolled by number, or linked to a
        BSUID that this message does not carry), linked from now on to ``user_id`` (their
        BSUID) when the message gives one: their pseudonym and address become the BSUID's,
        the number's pseudonym is kept beside it. The returnee's id, or None."""
        if not phone:
            return None
        by_phone = self.keyring.pseudonym("whatsapp", phone)
        async with self.sessions.begin() as session:
            row = await session.scalar(
                select(Returnee)
                .where(
                    (Returnee.phone_pseudonym == by_phone)
                    | (Returnee.telegram_pseudonym == by_phone)
                )
                .with_for_update()
            )
            if row is None:
                return None
            if user_id:
                taken = await session.scalar(
                    select(Returnee.id).where(
                        Returnee.telegram_pseudonym == self.keyring.pseudonym("whatsapp", user_id),
                        Returnee.id != row.id,
                    )
                )
                if taken is None:
                    await self._move_whatsapp(session, row, user_id, phone)
            return row.id

    async def _move_whatsapp(
        self, session: AsyncSession, row: Returnee, address: str, phone: str | None
    ) -> None:
        """``row`` known (and written to) by ``address`` from now on; someone who declined
        keeps only the pseudonym (no address, no data key comes back)."""
        if row.chat_id_enc is None:
            row.telegram_pseudonym = self.keyring.pseudonym("whatsapp", address)
        else:
            await self._link(session, row, address, address, channel="whatsapp", phone=phone)
        row.updated_at = self.clock()

    async def renumber_whatsapp(
        self,
        *,
        old: tuple[str, ...],
        user_id: str | None,
        phone: str | None,
    ) -> str | None:
        """A WhatsApp user changed their number (or their BSUID changed): the returnee known
        by any of the ``old`` identifiers is known from now on by the new ones only, and
        messages go to the new address (the BSUID, else the new number). The returnee's
        id, or None when nobody is known by the old identifiers (or the new ones already
        belong to someone else)."""
        address = user_id or phone
        if not address:
            return None
        olds = [self.keyring.pseudonym("whatsapp", value) for value in old if value]
        if not olds:
            return None
        new = self.keyring.pseudonym("whatsapp", address)
        async with self.sessions.begin() as session:
            row = await session.scalar(
                select(Returnee)
                .where(Returnee.telegram_pseudonym.in_(olds) | Returnee.phone_pseudonym.in_(olds))
                .with_for_update()
            )
            if row is None:
                return None
            taken = await session.scalar(
                select(Returnee.id).where(Returnee.telegram_pseudonym == new, Returnee.id != row.id)
            )
            if taken is not None:
                return None
            row.phone_pseudonym = None  # (the old number is no longer theirs)
            await self._move_whatsapp(session, row, address, phone)
            return row.id

    async def find_by_telegram(
        self, user_id: int | str, *, channel: str = "telegram"
    ) -> ReturneeInfo | None:
        pseudonym = self.keyring.pseudonym(channel, user_id)
        async with self.autocommit() as session:
            row = await session.scalar(
                select(Returnee).where(Returnee.telegram_pseudonym == pseudonym)
            )
            return ReturneeInfo.of(row) if row else None

    async def find_whatsapp(self, *, user_id: str | None, phone: str | None) -> ReturneeInfo | None:
        """The WhatsApp returnee known by this BSUID or phone number."""
        known = [self.keyring.pseudonym("whatsapp", v) for v in (user_id, phone) if v]
        if not known:
            return None
        where: ColumnElement[bool] = Returnee.telegram_pseudonym.in_(known)
        if phone:
            where = where | (Returnee.phone_pseudonym == self.keyring.pseudonym("whatsapp", phone))
        async with self.autocommit() as session:
            row = await session.scalar(select(Returnee).where(where).limit(1))
            return ReturneeInfo.of(row) if row else None

    async def heard_from(self, returnee_id: str) -> None:
        """The returnee wrote just now (kept to the half hour: one write per half hour of
        conversation, not one per message)."""
        now = self.clock()
        async with self.autocommit() as session:
            await session.execute(
                update(Returnee)
                .where(
                    Returnee.id == returnee_id,
                    (Returnee.last_message_at.is_(None))
                    | (Returnee.last_message_at < now - timedelta(minutes=30)),
                )
                .values(last_message_at=now)
                .execution_options(synchronize_session=False)
            )

    async def set_audio(self, returnee_id: str, on: bool) -> None:
        """Whether questions come with their clips for this returnee, from now on."""
        async with self.sessions.begin() as session:
            row = await self.row(session, returnee_id)
            row.audio_prompts, row.updated_at = on, self.clock()

    async def get(self, returnee_id: str) -> ReturneeInfo:
        async with self.sessions() as session:
            return ReturneeInfo.of(await self.row(session, returnee_id))

    async def row(self, session: AsyncSession, returnee_id: str) -> Returnee:
        """The returnee's row, in the caller's transaction (:class:`NotFound` if none)."""
        row = await session.get(Returnee, returnee_id)
        if row is None:
            raise NotFound("no such returnee")
        return row

    async def chat_id(self, returnee_id: str) -> int | None:
        async with self.sessions.begin() as session:
            row = await self.row(session, returnee_id)
            if row.chat_id_enc is None:
                return None
            dek = await self.keys.returnee(session, returnee_id)
            return int(keys.decrypt(dek, "returnees", returnee_id, "chat_id", row.chat_id_enc))

    async def case_ref(self, returnee_id: str, *, actor: str) -> str | None:
        """The case reference (personal data): every read is audited."""
        async with self.sessions.begin() as session:
            row = await self.row(session, returnee_id)
            self.staff.record(session, actor, "read_case_ref", returnee_id)
            if row.case_ref_enc is None:
                return None
            dek = await self.keys.returnee(session, returnee_id)
            return keys.decrypt(dek, "returnees", returnee_id, "case_ref", row.case_ref_enc)

    async def set_language(self, returnee_id: str, language: str) -> None:
        async with self.sessions.begin() as session:
            row = await self.row(session, returnee_id)
            row.language, row.updated_at = language, self.clock()

    async def set_status(self, returnee_id: str, status: ReturneeStatus) -> None:
        async with self.sessions.begin() as session:
            row = await self.row(session, returnee_id)
            row.status, row.updated_at = status, self.clock()
            if status != "active":
                await cancel_reminders(session, returnee_id, status)

    @staticmethod
    def _token_hash(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    async def create_invite(self, returnee_id: str, *, valid_days: int = 30) -> str:
        """A random single-use token for a ``/start`` link; only its hash is stored."""
        async with self.sessions.begin() as session:
            await self.row(session, returnee_id)
            return self._new_invite(session, returnee_id, valid_days)

    def _new_invite(self, session: AsyncSession, returnee_id: str, valid_days: int) -> str:
        token, values = self.new_invite_row(returnee_id, valid_days)
        session.add(Invite(**values))
        return token

    def new_invite_row(self, returnee_id: str, valid_days: int) -> tuple[str, dict[str, object]]:
        """A random single-use token for a ``/start`` link, and the invitation row that
        keeps only its hash."""
        token = secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-]
        now = self.clock()
        return token, {
            "id": self.new_id(),
            "returnee_id": returnee_id,
            "token_hash": self._token_hash(token),
            "expires_at": now + timedelta(days=valid_days),
            "created_at": now,
        }

    async def reissue_invite(
        self, returnee_id: str, *, valid_days: int = 30, actor: str = "system"
    ) -> str:
        """A new invitation for an enrolled returnee (a lost or expired link): every
        unused invitation of theirs stops working, and the re-issue is audited."""
        now = self.clock()
        async with self.sessions.begin() as session:
            row = await self.row(session, returnee_id)
            if row.status == "declined":
                raise InviteProblem("declined")
            await session.execute(
                update(Invite)
                .where(Invite.returnee_id == returnee_id, Invite.used_at.is_(None))
                .values(expires_at=now)
            )
            self.staff.record(session, actor, "reissue_invite", returnee_id)
            return self._new_invite(session, returnee_id, valid_days)

    async def redeem_invite(
        self,
        token: str,
        user_id: int | str,
        chat_id: int | str,
        *,
        channel: str = "telegram",
        phone: str | None = None,
    ) -> ReturneeInfo:
        """Bind this user of ``channel`` to the invited returnee, once; or raise
        InviteProblem."""
        now = self.clock()
        pseudonym = self.keyring.pseudonym(channel, user_id)
        async with self.sessions.begin() as session:
            invite = await session.scalar(
                select(Invite).where(Invite.token_hash == self._token_hash(token))
            )
            if invite is None:
                raise InviteProblem("unknown")
            if invite.used_at is not None:
                raise InviteProblem("used")
            if invite.expires_at < now:
                raise InviteProblem("expired")
            taken = await session.scalar(
                select(Returnee.id).where(Returnee.telegram_pseudonym == pseudonym)
            )
            if taken is not None and taken != invite.returnee_id:
                raise InviteProblem("taken")
            row = await self.row(session, invite.returnee_id)
            await self._link(session, row, user_id, chat_id, channel=channel, phone=phone)
            row.updated_at = now
            invite.used_at = now
            return ReturneeInfo.of(row)


def _within(scope: Scope) -> list[ColumnElement[bool]]:
    condition = scope.returnees()
    return [] if condition is None else [condition]
