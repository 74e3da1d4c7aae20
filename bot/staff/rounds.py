"""Who is due, reminder rounds and scheduled rounds, as staff use them: each use case
checks the role's permission and applies the staff member's scope once, for the command
line, the chat's staff commands and the console alike (they only render the result).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from bot.staff import Acting, allowed, require
from storage import outbox, schedules
from storage.outbox import DueReturnee, Recipient, RoundPreview, RoundReport
from storage.schedules import Schedule
from storage.store import Store
from storage.waves import Wave, WaveWindows


async def who_is_due(
    store: Store,
    who: Acting,
    *,
    wave: Wave | None,
    country: str | None,
    windows: WaveWindows,
    today: date,
    case_refs_for: int | None = None,
) -> list[DueReturnee]:
    """The returnees in ``who``'s scope due today (for ``wave``, in ``country``), with
    their case references when the role may read them (the first ``case_refs_for`` only,
    when given: the rows shown; each read audited)."""
    require(who, "due")
    return await outbox.due_returnees(
        store,
        wave=wave,
        country=country,
        windows=windows,
        today=today,
        include_case_ref=allowed(who.role, "case_ref"),
        case_refs_for=case_refs_for,
        actor=who.actor,
        scope=who.scope,
    )


async def preview_round(
    store: Store,
    who: Acting,
    *,
    wave: Wave,
    country: str | None,
    windows: WaveWindows,
    today: date,
) -> RoundPreview:
    """Who a round ``who`` starts would remind (only returnees in their scope)."""
    require(who, "round")
    return await outbox.preview_round(
        store, wave=wave, country=country, windows=windows, today=today, scope=who.scope
    )


async def start_round(store: Store, who: Acting, preview: RoundPreview) -> str:
    """The round of a preview, started by ``who`` (its reminders wait in the outbox)."""
    require(who, "round")
    if preview.scope != who.scope:
        raise ValueError("a round is started from its starter's own preview")
    return await outbox.create_round(store, preview, actor=who.actor)


async def round_report(store: Store, who: Acting, round_id: str) -> RoundReport:
    """Where a round stands, over the returnees in ``who``'s scope (:class:`LookupError`
    for a round that reached none of them)."""
    require(who, "round")
    return await outbox.report(store, round_id, scope=who.scope)


async def pause_round(store: Store, who: Acting, round_id: str, paused: bool) -> bool:
    """Pause or resume a round started within ``who``'s scope; False if there is none."""
    require(who, "round")
    return await outbox.set_paused(store, round_id, paused, actor=who.actor, scope=who.scope)


async def list_schedules(store: Store, who: Acting) -> list[Schedule]:
    require(who, "round")
    return await schedules.list_schedules(store, scope=who.scope)


async def add_schedule(
    store: Store,
    who: Acting,
    *,
    wave: Wave,
    country: str | None,
    hour: int,
    repeat_days: int | None,
) -> Schedule:
    """A schedule whose rounds reach the returnees in ``who``'s scope
    (:class:`ValueError` for a wave, hour or interval that does not fit)."""
    require(who, "round")
    return await schedules.add_schedule(
        store,
        wave=wave,
        country=country,
        hour=hour,
        repeat_days=repeat_days,
        actor=who.actor,
        scope=who.scope,
    )


async def change_schedule(
    store: Store, who: Acting, prefix: str, change: Literal["pause", "resume", "remove"]
) -> Schedule | None:
    """Pause, resume or remove the schedule of ``who``'s scope whose id starts with
    ``prefix``; the schedule as it was (None: no such schedule, or several)."""
    require(who, "round")
    return await schedules.change_schedule(store, prefix, change, actor=who.actor, scope=who.scope)


async def set_schedule_active(store: Store, who: Acting, schedule_id: str, active: bool) -> bool:
    require(who, "round")
    return await schedules.set_active(store, schedule_id, active, actor=who.actor, scope=who.scope)


async def recent_rounds(
    store: Store,
    who: Acting,
    *,
    limit: int = 20,
    offset: int = 0,
    wave: str | None = None,
    state: str | None = None,
    country: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
) -> list[RoundReport]:
    """The latest rounds that reached someone in ``who``'s scope, with their reports."""
    require(who, "round")
    return await outbox.recent_rounds(
        store,
        limit,
        offset=offset,
        wave=wave,
        state=state,
        country=country,
        since=since,
        before=before,
        scope=who.scope,
    )


async def recipients(
    store: Store,
    who: Acting,
    round_id: str,
    *,
    status: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[Recipient], int]:
    """Who a round reached in ``who``'s scope, a page at a time, and how many."""
    require(who, "round")
    return await outbox.recipients(
        store, round_id, status=status, offset=offset, limit=limit, scope=who.scope
    )
