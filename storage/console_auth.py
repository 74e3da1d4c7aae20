"""Signing in to the staff console without passwords: a single-use link valid a few
minutes (sent in a private chat, or printed for an admin), then a session that ends when
idle. Only SHA-256 hashes of link and session tokens are kept; the CSRF token of a
session is derived from its (secret) session token, so it is never stored either."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

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
            token_hash=_hash(session_token),
            staff_id=staff_id,
            created_at=now,
            last_seen_at=now,
            how=how,
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
    """Sign out: the session ends; audited."""
    async with store.sessions.begin() as session:
        staff_id = await session.scalar(
            delete(ConsoleSession)
            .where(ConsoleSession.token_hash == _hash(session_token))
            .returning(ConsoleSession.staff_id)
        )
        if staff_id is not None:
            store.audit(session, f"staff:{staff_id}", "console_sign_out", None)


@dataclass(frozen=True)
class SessionLine:
    """An open console session, as its owner (or an admin) sees it."""

    #: the hash of its token (it names the session in forms; the token is not kept)
    id: str
    created_at: datetime
    last_seen_at: datetime
    how: str | None
    current: bool


async def open_sessions(
    store: Store, staff_id: str, current_token: str | None
) -> list[SessionLine]:
    """A staff member's sessions not ended yet, the most recently used first."""
    now = store.clock()
    current = _hash(current_token) if current_token else None
    async with store.sessions() as session:
        rows = await session.scalars(
            select(ConsoleSession)
            .where(ConsoleSession.staff_id == staff_id, ConsoleSession.last_seen_at >= now - IDLE)
            .order_by(ConsoleSession.last_seen_at.desc())
        )
        return [
            SessionLine(r.token_hash, r.created_at, r.last_seen_at, r.how, r.token_hash == current)
            for r in rows
        ]


async def end_sessions(
    store: Store,
    staff_id: str,
    *,
    actor: str,
    session_id: str | None = None,
    keep_token: str | None = None,
) -> int:
    """End one session of a staff member (``session_id``), or all of them but the one of
    ``keep_token`` (when given); audited under ``actor`` (themselves, or an admin). How
    many ended."""
    where = [ConsoleSession.staff_id == staff_id]
    if session_id is not None:
        where.append(ConsoleSession.token_hash == session_id)
    if keep_token is not None:
        where.append(ConsoleSession.token_hash != _hash(keep_token))
    async with store.sessions.begin() as session:
        ended = (
            await session.scalars(
                delete(ConsoleSession).where(*where).returning(ConsoleSession.token_hash)
            )
        ).all()
        if ended:
            store.audit(session, actor, "end_console_sessions", None, f"{staff_id}: {len(ended)}")
        return len(ended)
