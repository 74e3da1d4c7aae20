"""Reminder rounds that schedule themselves, like RapidPro's campaigns: per wave (and
optionally country), each day at a set hour (UTC), a round for whoever has become due,
through the same outbox, limits and consent checks as a round staff start.

A returnee gets at most one scheduled reminder per wave window (any reminder of that
wave since the window opened counts, whoever started its round), unless the schedule has
a repeat interval: then again every ``repeat_days`` days while they are due and have not
completed the wave. Several processes may tick at once: a day's run is claimed with a
conditional update, so one of them creates the round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, delete, func, or_, select, true, update

from storage import outbox
from storage.models import Reminder, ReminderRound, RoundSchedule
from storage.scopes import EVERYONE, Scope
from storage.store import Store
from storage.waves import WAVES, Wave, WaveWindows

#: reminders that count as "reminded" (a failed or skipped one does not)
_REMINDED = ("pending", "sending", "sent", "unconfirmed")


@dataclass(frozen=True)
class Schedule:
    id: str
    wave: Wave
    country: str | None
    hour: int
    repeat_days: int | None
    active: bool
    last_run_on: date | None
    created_by: str
    #: its rounds reach only these returnees
    scope: Scope = EVERYONE

    def describe(self) -> str:
        where = f" in {self.country}" if self.country else ""
        repeat = f", again every {self.repeat_days} days" if self.repeat_days else ", once"
        state = "" if self.active else " (paused)"
        return f"{self.wave}{where}, daily at {self.hour:02d}:00 UTC{repeat}{state}"


@dataclass(frozen=True)
class ScheduledRun:
    """What one schedule did on a tick: the round it started (None: nobody to remind)."""

    schedule: Schedule
    round_id: str | None
    reminded: int
    already_reminded: int


def _schedule(row: RoundSchedule) -> Schedule:
    return Schedule(
        id=row.id,
        wave=row.wave,  # type: ignore[arg-type]
        country=row.country,
        hour=row.hour,
        repeat_days=row.repeat_days,
        active=row.active,
        last_run_on=row.last_run_on,
        created_by=row.created_by,
        scope=Scope.thawed(row.scope),
    )


async def add_schedule(
    store: Store,
    *,
    wave: Wave,
    country: str | None,
    hour: int,
    repeat_days: int | None,
    actor: str,
    scope: Scope = EVERYONE,
) -> Schedule:
    """A new schedule; its rounds reach only returnees in ``scope`` (its creator's)."""
    if wave not in WAVES:
        raise ValueError(f"unknown wave {wave!r}: {', '.join(WAVES)}")
    if not 0 <= hour <= 23:
        raise ValueError("the hour is 0 to 23 (UTC)")
    if repeat_days is not None and repeat_days < 1:
        raise ValueError("the repeat interval is at least 1 day")
    row = RoundSchedule(
        id=store.new_id(),
        wave=wave,
        country=country.upper() if country else None,
        hour=hour,
        repeat_days=repeat_days,
        active=True,
        last_run_on=None,
        created_by=actor,
        created_at=store.clock(),
        scope=scope.frozen(),
    )
    async with store.sessions.begin() as session:
        session.add(row)
        store.audit(session, actor, "add_schedule", None, _schedule(row).describe())
    return _schedule(row)


def _within(scope: Scope) -> ColumnElement[bool]:
    """Schedules a staff member with ``scope`` sees and changes: every one for everyone,
    else those set up within the same scope."""
    return true() if scope.is_everyone else RoundSchedule.scope == scope.frozen()


async def list_schedules(store: Store, *, scope: Scope = EVERYONE) -> list[Schedule]:
    async with store.sessions() as session:
        rows = await session.scalars(
            select(RoundSchedule).where(_within(scope)).order_by(RoundSchedule.created_at)
        )
        return [_schedule(r) for r in rows]


async def find_schedule(store: Store, prefix: str, *, scope: Scope = EVERYONE) -> Schedule | None:
    """The schedule whose id starts with ``prefix`` (None if none or several)."""
    found = [s for s in await list_schedules(store, scope=scope) if s.id.startswith(prefix)]
    return found[0] if len(found) == 1 else None


async def set_active(
    store: Store, schedule_id: str, active: bool, *, actor: str, scope: Scope = EVERYONE
) -> bool:
    """Pause or resume a schedule; False if there is no such schedule within ``scope``."""
    async with store.sessions.begin() as session:
        done = await session.execute(
            update(RoundSchedule)
            .where(RoundSchedule.id == schedule_id, _within(scope))
            .values(active=active)
        )
        if done.rowcount:  # type: ignore[attr-defined]
            store.audit(
                session, actor, "resume_schedule" if active else "pause_schedule", None, schedule_id
            )
        return bool(done.rowcount)  # type: ignore[attr-defined]


async def remove_schedule(
    store: Store, schedule_id: str, *, actor: str, scope: Scope = EVERYONE
) -> bool:
    async with store.sessions.begin() as session:
        done = await session.execute(
            delete(RoundSchedule).where(RoundSchedule.id == schedule_id, _within(scope))
        )
        if done.rowcount:  # type: ignore[attr-defined]
            store.audit(session, actor, "remove_schedule", None, schedule_id)
        return bool(done.rowcount)  # type: ignore[attr-defined]


async def change_schedule(
    store: Store,
    prefix: str,
    change: Literal["pause", "resume", "remove"],
    *,
    actor: str,
    scope: Scope = EVERYONE,
) -> Schedule | None:
    """Pause, resume or remove the schedule whose id starts with ``prefix``; the schedule
    as it was (None if there is no such schedule, or several)."""
    found = await find_schedule(store, prefix, scope=scope)
    if found is None:
        return None
    if change == "remove":
        done = await remove_schedule(store, found.id, actor=actor, scope=scope)
    else:
        done = await set_active(store, found.id, change == "resume", actor=actor, scope=scope)
    return found if done else None


async def _claim_day(store: Store, schedule_id: str, today: date) -> bool:
    """Mark today's run as taken; False if another process (or an earlier tick) has."""
    async with store.sessions.begin() as session:
        done = await session.execute(
            update(RoundSchedule)
            .where(
                RoundSchedule.id == schedule_id,
                RoundSchedule.active.is_(True),
                or_(RoundSchedule.last_run_on.is_(None), RoundSchedule.last_run_on < today),
            )
            .values(last_run_on=today)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]


async def _last_reminded(store: Store, wave: Wave, returnee_ids: list[str]) -> dict[str, datetime]:
    """When each returnee was last reminded of this wave (by any round)."""
    if not returnee_ids:
        return {}
    when = func.max(func.coalesce(Reminder.sent_at, ReminderRound.created_at))
    async with store.sessions() as session:
        rows = await session.execute(
            select(Reminder.returnee_id, when)
            .join(ReminderRound, ReminderRound.id == Reminder.round_id)
            .where(
                ReminderRound.wave == wave,
                Reminder.status.in_(_REMINDED),
                Reminder.returnee_id.in_(returnee_ids),
            )
            .group_by(Reminder.returnee_id)
        )
        return {rid: _aware(at) for rid, at in rows.all()}


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def run_schedule(
    store: Store, schedule: Schedule, *, windows: WaveWindows, now: datetime
) -> ScheduledRun:
    """Today's round of one schedule (already claimed for today)."""
    today = now.date()
    preview = await outbox.preview_round(
        store,
        wave=schedule.wave,
        country=schedule.country,
        windows=windows,
        today=today,
        scope=schedule.scope,
    )
    candidates = preview.to_remind
    last = await _last_reminded(store, schedule.wave, [d.returnee_id for d in candidates])
    chosen = []
    for due in candidates:
        previous = last.get(due.returnee_id)
        if previous is not None:
            opened = (
                windows.window(schedule.wave, due.return_date)[0]
                if due.return_date is not None
                else date.min
            )
            in_window = previous >= datetime.combine(opened, time.min, tzinfo=UTC)
            repeat_due = schedule.repeat_days is not None and previous <= now - timedelta(
                days=schedule.repeat_days
            )
            if in_window and not repeat_due:
                continue
        chosen.append(due)
    if not chosen:
        return ScheduledRun(schedule, None, 0, len(candidates))
    keep = {d.returnee_id for d in chosen}
    preview.due = [d for d in preview.due if d.skip is not None or d.returnee_id in keep]
    round_id = await outbox.create_round(
        store, preview, actor=f"schedule:{schedule.id[:8]}", schedule_id=schedule.id
    )
    return ScheduledRun(schedule, round_id, len(chosen), len(candidates) - len(chosen))


async def tick(
    store: Store, *, windows: WaveWindows, now: datetime | None = None
) -> list[ScheduledRun]:
    """Run every active schedule whose hour has come today and that has not run today;
    returns what each did. Rounds are created here and sent by whoever sends open rounds
    (``rssbot run``, ``rssbot round worker``)."""
    now = now or store.clock()
    runs = []
    for schedule in await list_schedules(store):
        if not schedule.active or now.hour < schedule.hour:
            continue
        if schedule.last_run_on is not None and schedule.last_run_on >= now.date():
            continue
        if not await _claim_day(store, schedule.id, now.date()):
            continue
        runs.append(await run_schedule(store, schedule, windows=windows, now=now))
    return runs
