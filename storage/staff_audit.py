"""Staff members and the audit log: who may read, and every read or change of personal
data they made (written in the caller's transaction, so a read and its entry commit
together). Telegram ids of staff are kept only as pseudonyms."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.crypto import Keyring
from storage.models import AuditEntry, ConsoleSession, Returnee, StaffMember
from storage.scopes import EVERYONE, Scope

STAFF_ROLES = ("admin", "caseworker", "feedback_officer", "viewer")


class UnknownRole(ValueError):
    pass


class BadStaffAccount(ValueError):
    """A staff account without a way to reach them, or an address that is not one."""


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normal_email(email: str) -> str:
    """An email address as staff accounts keep it (:class:`BadStaffAccount` if not one)."""
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL.match(email):
        raise BadStaffAccount(f"{email!r} is not an email address")
    return email


@dataclass(frozen=True)
class StaffListing:
    id: str
    name: str | None
    role: str
    added: datetime
    #: their last audited action (None: none yet)
    last_action: datetime | None
    email: str | None = None
    #: whether a Telegram id is linked (only its pseudonym is kept)
    telegram: bool = False
    scope: Scope = EVERYONE


@dataclass(frozen=True)
class StaffIdentity:
    """Who acts: a staff member's id, role and scope, as the staff table says now."""

    staff_id: str
    role: str
    scope: Scope

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}"


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    actor: str
    #: the staff member's name, when the actor is one
    actor_name: str | None
    action: str
    #: the returnee's pseudonym (None: no returnee, or erased since)
    public_id: str | None
    detail: str | None


class StaffAudit:
    """The staff-and-audit aggregate, over the store's sessions, keyring, clock and ids."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keyring: Keyring,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self.sessions, self.keyring = sessions, keyring
        self.clock, self.new_id = clock, new_id

    # -- the audit log ---------------------------------------------------------------------

    def record(
        self,
        session: AsyncSession,
        actor: str,
        action: str,
        returnee_id: str | None,
        detail: str | None = None,
    ) -> None:
        """Record a staff read or change of personal data (in the caller's transaction)."""
        session.add(
            AuditEntry(
                id=self.new_id(),
                at=self.clock(),
                actor=actor,
                action=action,
                returnee_id=returnee_id,
                detail=detail,
            )
        )

    async def record_many(
        self,
        session: AsyncSession,
        actor: str,
        action: str,
        entries: Sequence[tuple[str | None, str | None]],
    ) -> None:
        """Record many reads at once, (returnee id, detail) each, in the caller's
        transaction (staff reads that go through the data in batches)."""
        at = self.clock()
        rows = [
            {"id": self.new_id(), "at": at, "actor": actor, "action": action,
             "returnee_id": r, "detail": d}
            for r, d in entries
        ]  # fmt: skip
        if rows:
            await session.execute(insert(AuditEntry), rows)

    async def refused(self, actor: str, what: str) -> None:
        """Record an attempt that was refused (a page or action the role does not allow,
        an expired form, a sign-in link refused): who, what (a method and path, never
        a query string), when."""
        async with self.sessions.begin() as session:
            self.record(session, actor, "refused", None, what[:200])

    async def entries(self) -> Sequence[AuditEntry]:
        async with self.sessions() as session:
            return (await session.scalars(select(AuditEntry).order_by(AuditEntry.at))).all()

    async def page(
        self,
        *,
        limit: int = 100,
        before: datetime | None = None,
        action: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        scope: Scope = EVERYONE,
    ) -> list[AuditLine]:
        """The latest entries (older than ``before``, not older than ``since``; of one
        ``action``; by one ``actor``), newest first, each with the returnee's pseudonym
        and the staff member's name. For a reader with a narrower ``scope``: the entries
        about returnees in it, and those about no returnee by staff of the same scope."""
        query = (
            select(AuditEntry, Returnee.public_id, StaffMember.name)
            .outerjoin(Returnee, Returnee.id == AuditEntry.returnee_id)
            .outerjoin(StaffMember, "staff:" + StaffMember.id == AuditEntry.actor)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(AuditEntry.at < before)
        if action:
            query = query.where(AuditEntry.action == action)
        if actor:
            query = query.where(AuditEntry.actor == actor)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if (about := scope.returnee_ids(AuditEntry.returnee_id)) is not None:
            colleagues = select("staff:" + StaffMember.id).where(StaffMember.scope == scope.text)
            query = query.where(
                or_(about, and_(AuditEntry.returnee_id.is_(None), AuditEntry.actor.in_(colleagues)))
            )
        async with self.sessions() as session:
            return [
                AuditLine(e.at, e.actor, name, e.action, public_id, e.detail)
                for e, public_id, name in (await session.execute(query)).all()
            ]

    async def actions(self) -> list[str]:
        """The kinds of entry the log holds (to filter it by)."""
        async with self.sessions() as session:
            return list(
                await session.scalars(
                    select(AuditEntry.action).distinct().order_by(AuditEntry.action)
                )
            )

    # -- staff -------------------------------------------------------------------------------

    async def member(self, telegram_user_id: int) -> tuple[str, str] | None:
        """(staff id, role) of a registered staff member, found by pseudonym."""
        pseudonym = self.keyring.pseudonym("telegram", telegram_user_id)
        async with self.sessions() as session:
            row = await session.scalar(
                select(StaffMember).where(StaffMember.telegram_pseudonym == pseudonym)
            )
            return (row.id, row.role) if row else None

    async def change(
        self, staff_id: str, *, role: str | None = None, remove: bool = False, actor: str
    ) -> bool:
        """Change a staff member's role, or remove them, by staff id (web console);
        audited. False if there is no such member."""
        if role is not None and role not in STAFF_ROLES:
            raise UnknownRole(f"unknown role '{role}': one of {', '.join(STAFF_ROLES)}")
        async with self.sessions.begin() as session:
            member = await session.get(StaffMember, staff_id)
            if member is None:
                return False
            if remove:
                await session.delete(member)
                await session.execute(
                    delete(ConsoleSession).where(ConsoleSession.staff_id == staff_id)
                )
                self.record(session, actor, "remove_staff", None, staff_id)
            elif role is not None:
                member.role = role
                self.record(session, actor, "change_staff_role", None, f"{staff_id}: {role}")
            return True

    async def identity(self, who: str | int) -> StaffIdentity | None:
        """The staff member named by ``who``: a Telegram user id, ``staff:ID`` (an actor,
        as the audit log writes it) or their email address; None if there is none."""
        if isinstance(who, int):
            where = StaffMember.telegram_pseudonym == self.keyring.pseudonym("telegram", who)
        elif who.startswith("staff:"):
            where = StaffMember.id == who.removeprefix("staff:")
        else:
            try:
                where = StaffMember.email == normal_email(who)
            except BadStaffAccount:
                return None
        async with self.sessions() as session:
            row = await session.scalar(select(StaffMember).where(where))
        if row is None:
            return None
        return StaffIdentity(
            row.id, row.role, Scope.parse(row.scope).for_staff(row.email, row.name)
        )

    async def set_scope(self, staff_id: str, scope: Scope, *, actor: str) -> bool:
        """Change a staff member's scope; audited. False if there is no such member."""
        async with self.sessions.begin() as session:
            member = await session.get(StaffMember, staff_id)
            if member is None:
                return False
            if member.scope != scope.text:
                member.scope = scope.text
                self.record(
                    session, actor, "change_staff_scope", None, f"{staff_id}: {scope.text}"[:200]
                )
            return True

    async def member_by_email(self, email: str) -> tuple[str, str] | None:
        """(staff id, role) of the staff member with this address."""
        try:
            email = normal_email(email)
        except BadStaffAccount:
            return None
        async with self.sessions() as session:
            row = await session.scalar(select(StaffMember).where(StaffMember.email == email))
            return (row.id, row.role) if row else None

    async def remove(self, telegram_user_id: int | None, *, email: str | None = None) -> bool:
        """Remove the staff member with this Telegram id or address (and their sessions)."""
        if telegram_user_id is not None:
            where = StaffMember.telegram_pseudonym == self.keyring.pseudonym(
                "telegram", telegram_user_id
            )
        elif email is not None:
            where = StaffMember.email == email.strip().lower()
        else:
            return False
        async with self.sessions.begin() as session:
            staff_id = await session.scalar(select(StaffMember.id).where(where))
            if staff_id is None:
                return False
            await session.execute(delete(ConsoleSession).where(ConsoleSession.staff_id == staff_id))
            await session.execute(delete(StaffMember).where(StaffMember.id == staff_id))
            return True

    async def listing(self) -> list[StaffListing]:
        """Every staff member with their name, role, when they were added and their last
        audited action (Telegram ids are not kept)."""
        last = (
            select(AuditEntry.actor, func.max(AuditEntry.at).label("at"))
            .where(AuditEntry.actor.like("staff:%"))
            .group_by(AuditEntry.actor)
            .subquery()
        )
        query = (
            select(StaffMember, last.c.at)
            .outerjoin(last, last.c.actor == "staff:" + StaffMember.id)
            .order_by(StaffMember.created_at)
        )
        async with self.sessions() as session:
            return [
                StaffListing(
                    r.id,
                    r.name,
                    r.role,
                    r.created_at,
                    at,
                    r.email,
                    r.telegram_pseudonym is not None,
                    Scope.parse(r.scope),
                )
                for r, at in (await session.execute(query)).all()
            ]

    async def add(
        self,
        telegram_user_id: int | None,
        role: str,
        name: str | None = None,
        *,
        email: str | None = None,
        scope: Scope | None = None,
        actor: str = "cli",
    ) -> str:
        """Register a staff member by Telegram id, email address or both, or change the
        role (and name, address, Telegram id or scope, when given) of the one they name.
        A new member's scope is everyone unless one is given."""
        if role not in STAFF_ROLES:
            raise UnknownRole(f"unknown role '{role}': one of {', '.join(STAFF_ROLES)}")
        if telegram_user_id is None and email is None:
            raise BadStaffAccount("a staff member has an email address or a Telegram id")
        name = " ".join(name.split())[:80] or None if name else None
        email = normal_email(email) if email is not None else None
        pseudonym = (
            self.keyring.pseudonym("telegram", telegram_user_id)
            if telegram_user_id is not None
            else None
        )
        async with self.sessions.begin() as session:
            found = []
            if pseudonym is not None:
                found.append(
                    await session.scalar(
                        select(StaffMember).where(StaffMember.telegram_pseudonym == pseudonym)
                    )
                )
            if email is not None:
                found.append(
                    await session.scalar(select(StaffMember).where(StaffMember.email == email))
                )
            members = {m.id: m for m in found if m is not None}
            if len(members) > 1:
                raise BadStaffAccount(
                    "this Telegram id and this address are two different staff members"
                )
            if members:
                existing = next(iter(members.values()))
                existing.role = role
                existing.name = name or existing.name
                existing.email = email or existing.email
                existing.telegram_pseudonym = pseudonym or existing.telegram_pseudonym
                if scope is not None and existing.scope != scope.text:
                    existing.scope = scope.text
                    self.record(
                        session,
                        actor,
                        "change_staff_scope",
                        None,
                        f"{existing.id}: {scope.text}"[:200],
                    )
                return existing.id
            staff_id = self.new_id()
            session.add(
                StaffMember(
                    id=staff_id,
                    telegram_pseudonym=pseudonym,
                    email=email,
                    role=role,
                    name=name,
                    scope=(scope or EVERYONE).text,
                    created_at=self.clock(),
                )
            )
        return staff_id
