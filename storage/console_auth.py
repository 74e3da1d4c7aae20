"""Signing in to the staff console without passwords: a single-use link valid a few
minutes (sent in a private chat, or printed for an admin), then a session that ends when
idle. Only SHA-256 hashes of link and session tokens are kept; the CSRF token of a
session is derived from its (secret) session token, so it is never stored either."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConsoleLink, ConsoleSession, StaffMember
from storage.scopes import EVERYONE, Scope
from storage.store import Store

LINK_TTL = timedelta(minutes=10)
IDLE = timedelta(minutes=30)
#: sign-in links one staff member may ask for in an hour
LINKS_PER_HOUR = 5


class TooManyLinks(Exception):
    """More sign-in links asked for than :data:`LINKS_PER_HOUR`."""


@dataclass(frozen=True)
class ConsoleUser:
    staff_id: str
    role: str
    name: str | None
    #: the returnees they see and act on
    scope: Scope = EVERYONE

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session (forms carry it; cross-site pages cannot know it)."""
    return hashlib.sha256(f"csrf:{session_token}".encode()).hexdigest()


def csrf_valid(session_token: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(csrf_token(session_token), given)


async def issue_link(store: Store, staff_id: str, *, limited: bool = True) -> str:
    """A new single-use sign-in token for a staff member (:class:`TooManyLinks` past the
    hourly limit). ``limited=False`` for the command line: whoever runs it holds the
    server's keys already, the limit is for links asked for in the chat."""
    now = store.clock()
    async with store.sessions.begin() as session:
        recent = await session.scalar(
            select(func.count())
            .select_from(ConsoleLink)
            .where(
                ConsoleLink.staff_id == staff_id, ConsoleLink.created_at > now - timedelta(hours=1)
            )
        )
        if limited and (recent or 0) >= LINKS_PER_HOUR:
            raise TooManyLinks(f"at most {LINKS_PER_HOUR} sign-in links an hour")
        await session.execute(
            delete(ConsoleLink).where(ConsoleLink.expires_at < now - timedelta(days=1))
        )
        token = secrets.token_urlsafe(32)
        session.add(
            ConsoleLink(
                token_hash=_hash(token),
                staff_id=staff_id,
                created_at=now,
                expires_at=now + LINK_TTL,
                used_at=None,
            )
        )
        store.audit(session, f"staff:{staff_id}", "console_link", None)
    return token


async def redeem_link(store: Store, token: str) -> str | None:
    """A new session token for a valid, unused, unexpired link (which is used up); None
    otherwise."""
    now = store.clock()
    async with store.sessions.begin() as session:
        staff_id = await session.scalar(
            update(ConsoleLink)
            .where(
                ConsoleLink.token_hash == _hash(token),
                ConsoleLink.used_at.is_(None),
                ConsoleLink.expires_at > now,
            )
            .values(used_at=now)
            .returning(ConsoleLink.staff_id)
        )
        if staff_id is None:
            return None
        return _open(store, session, staff_id, "link")


def _open(store: Store, session: AsyncSession, staff_id: str, how: str) -> str:
    now = store.clock()
    session_token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_hash(session_token), staff_id=staff_id, created_at=now, last_seen_at=now
        )
    )
    store.audit(session, f"staff:{staff_id}", "console_sign_in", None, how)
    return session_token


async def open_session(store: Store, staff_id: str, *, how: str) -> str:
    """A new session token for a staff member who proved who they are another way (their
    organisation's identity provider: ``how``); audited."""
    async with store.sessions.begin() as session:
        return _open(store, session, staff_id, how)


async def session_user(store: Store, session_token: str) -> ConsoleUser | None:
    """Who a session is (their current role), keeping it alive; None if it has ended."""
    now = store.clock()
    async with store.sessions.begin() as session:
        row = (
            await session.execute(
                select(
                    ConsoleSession.last_seen_at,
                    StaffMember.id,
                    StaffMember.role,
                    StaffMember.name,
                    StaffMember.email,
                    StaffMember.scope,
                )
                .join(StaffMember, StaffMember.id == ConsoleSession.staff_id)
                .where(ConsoleSession.token_hash == _hash(session_token))
            )
        ).first()
        if row is None:
            return None
        last_seen, staff_id, role, name, email, scope = row
        if last_seen.tzinfo is None:
            last_seen = last_seen.replace(tzinfo=now.tzinfo)
        if last_seen < now - IDLE:
            await session.execute(
                delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(session_token))
            )
            return None
        await session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.token_hash == _hash(session_token))
            .values(last_seen_at=now)
        )
        return ConsoleUser(staff_id, role, name, Scope.parse(scope).for_staff(email, name))


async def end_session(store: Store, session_token: str) -> None:
    async with store.sessions.begin() as session:
        await session.execute(
            delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(session_token))
        )
