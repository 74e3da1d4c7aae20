"""Managing staff accounts: adding a member, changing their role or what they see,
signing them out everywhere, removing them. Only admins do it; an admin who sees some
returnees only (a country, an office) manages the members of that same scope, and gives
it to those they add; changing a scope takes an admin who sees every returnee. No one
changes their own account. Every change is audited.
"""

from __future__ import annotations

from bot.staff import Acting, NotAllowed, require
from storage import console_auth
from storage.scopes import Scope
from storage.staff_audit import StaffListing
from storage.store import Store


class NotYours(LookupError):
    """No such member among those this admin manages (or it is the admin themselves)."""


def _same(a: Scope, b: Scope) -> bool:
    return (a.kind, a.values) == (b.kind, b.values)


def manages(who: Acting, member: StaffListing) -> bool:
    """Whether ``who`` manages this member's account."""
    return who.scope.is_everyone or _same(who.scope, member.scope)


async def members(store: Store, who: Acting) -> list[StaffListing]:
    """The members ``who`` manages (everyone's, for an admin who sees every returnee)."""
    require(who, "admin")
    return [m for m in await store.list_staff() if manages(who, m)]


async def _managed(store: Store, who: Acting, staff_id: str) -> StaffListing:
    require(who, "admin")
    found = next((m for m in await members(store, who) if m.id == staff_id), None)
    if found is None or f"staff:{staff_id}" == who.actor:
        raise NotYours(staff_id)
    return found


async def add_member(
    store: Store,
    who: Acting,
    *,
    role: str,
    telegram_id: int | None = None,
    email: str | None = None,
    name: str | None = None,
    scope: Scope | None = None,
) -> str:
    """A new member (or the one with this address or Telegram id, updated); an admin who
    sees some returnees only gives them their own scope. ``UnknownRole`` and
    ``BadStaffAccount`` say what is wrong."""
    require(who, "admin")
    given = scope if who.scope.is_everyone else Scope(who.scope.kind, who.scope.values)
    staff_id = await store.add_staff(
        telegram_id, role, name, email=email, scope=given, actor=who.actor
    )
    async with store.sessions.begin() as session:
        store.audit(
            session,
            who.actor,
            "add_staff",
            None,
            f"{staff_id}: {role}, {(given or Scope()).text}"[:200],
        )
    return staff_id


async def change_role(store: Store, who: Acting, staff_id: str, role: str) -> None:
    """:class:`NotYours` for a member ``who`` does not manage; ``UnknownRole``."""
    await _managed(store, who, staff_id)
    await store.staff.change(staff_id, role=role, actor=who.actor)


async def change_scope(store: Store, who: Acting, staff_id: str, scope: Scope) -> None:
    """What a member sees: only an admin who sees every returnee changes it."""
    require(who, "admin")
    if not who.scope.is_everyone:
        raise NotAllowed(who.role, "scopes")
    await _managed(store, who, staff_id)
    await store.staff.set_scope(staff_id, scope, actor=who.actor)


async def remove_member(store: Store, who: Acting, staff_id: str) -> None:
    await _managed(store, who, staff_id)
    await store.staff.change(staff_id, remove=True, actor=who.actor)


async def sign_out_everywhere(store: Store, who: Acting, staff_id: str) -> int:
    """End every console session of a member (a lost phone, a leaver); how many."""
    await _managed(store, who, staff_id)
    return await console_auth.end_sessions(store, staff_id, actor=who.actor)
