"""Reminder rounds as an outbox of rows: preview, create, claim, settle, report.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (the same statement runs on
SQLite, where one process sends). Claiming leases a row (its ``next_attempt_at`` moves a
lease ahead, so no other sender takes it); right before its message goes out the row is
marked ``sending``, and ``sent`` after. So a returnee gets at most one reminder per
round even if the sender is killed and restarted, and none is lost: leased rows a killed
sender never started become claimable again when the lease ends. Only a row killed in
the middle of its own HTTP call (``sending``) is not resent (at most once); it is
reported as ``unconfirmed``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import keys
from storage.models import Answer, Reminder, ReminderRound, Returnee, SurveyResponse
from storage.scopes import EVERYONE, Scope
from storage.store import Store
from storage.waves import WAVES, Wave, WaveWindows, add_months

#: why a returnee due for the wave is not reminded
SKIP_REASONS = (
    "opted_out",
    "unreachable",
    "declined",
    "no_consent",
    "completed",
    "not_joined",
    "no_reminders_there",
)
#: the channels reminders are sent on (a returnee answering in the terminal gets none)
REMINDER_CHANNELS = frozenset({"telegram", "whatsapp"})


@dataclass
class DueReturnee:
    returnee_id: str
    public_id: str
    country: str | None
    return_date: date | None
    status: str
    wave_status: str | None  # None (not started), in_progress, completed
    #: None when they will be reminded, else one of SKIP_REASONS
    skip: str | None
    #: the wave they are due for
    wave: Wave = "initial"
    #: only when staff may read it (admin, caseworker); every read is audited
    case_ref: str | None = None
    enrolled_at: datetime | None = None
    #: where they answer (telegram, console...); None until they join
    channel: str | None = None
    #: when a reminder for this wave last reached them (None: never)
    last_reminded: datetime | None = None
    #: they opened their invitation (joined the chat)
    bound: bool = False


@dataclass
class RoundPreview:
    wave: Wave
    country: str | None
    due: list[DueReturnee]
    #: whose returnees it reaches (the scope of whoever starts it)
    scope: Scope = EVERYONE

    @property
    def to_remind(self) -> list[DueReturnee]:
        return [d for d in self.due if d.skip is None]

    @property
    def skipped(self) -> Counter[str]:
        return Counter(d.skip for d in self.due if d.skip is not None)


@dataclass(frozen=True)
class Claimed:
    reminder_id: str
    round_id: str
    returnee_id: str
    public_id: str
    #: where the reminder goes: a Telegram chat id; on WhatsApp a BSUID or phone number
    chat_id: int | str
    language: str
    wave: str
    attempts: int
    #: the returnee has answered part of this wave's survey (the reminder says continue)
    started: bool = False
    #: where the reminder goes (telegram, whatsapp)
    channel: str = "telegram"
    #: when the returnee last wrote (WhatsApp: a free-form message only within 24 hours)
    last_message_at: datetime | None = None


@dataclass
class RoundReport:
    round_id: str
    wave: str
    country: str | None
    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    #: reminders by channel and status ("whatsapp:sent"); "-" for an erased returnee
    channels: Counter[str] = field(default_factory=Counter)
    created_at: datetime | None = None
    #: ``staff:ID`` or ``cli:...``; None for a scheduled round
    created_by: str | None = None
    scheduled: bool = False
    paused: bool = False
    finished: bool = False

    @property
    def pending(self) -> int:
        return self.counts["pending"] + self.counts["sending"]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return self.total - self.pending


def _skip_reason(
    status: str, bound: bool, wave_status: str | None, channel: str | None = None
) -> str | None:
    """Why a due returnee is not reminded, the returnee's own decision first: someone who
    stopped is listed as stopped even if they had completed the wave."""
    if status in ("opted_out", "unreachable", "declined"):
        return status
    if status != "active":  # invited: never opened the link, or opened it and not consented
        return "no_consent" if bound else "not_joined"
    if wave_status == "completed":
        return "completed"
    if not bound:
        return "not_joined"
    if channel is not None and channel not in REMINDER_CHANNELS:
        return "no_reminders_there"
    return None


#: days added on each side of a wave's return-date range before the exact check (months
#: have different lengths; the exact window is then checked in Python)
_MARGIN = timedelta(days=4)


async def due_returnees(
    store: Store,
    *,
    wave: Wave | None,
    country: str | None,
    windows: WaveWindows,
    today: date,
    include_case_ref: bool = False,
    case_refs_for: int | None = None,
    actor: str = "system",
    scope: Scope = EVERYONE,
) -> list[DueReturnee]:
    """Returnees whose due window for ``wave`` (or any wave) contains today, each with
    the status of that wave's survey and why they would not be reminded, in enrolment
    order. Only returnees whose return date puts them in a window are read (the range is
    in SQL); with ``include_case_ref`` their case references are decrypted (only the
    first ``case_refs_for`` when given: the rows a page shows) and each read is audited
    under ``actor``. Only returnees in ``scope`` are read."""
    out: list[DueReturnee] = []
    encrypted: dict[str, bytes] = {}
    async with store.sessions.begin() as session:
        for w in [wave] if wave else list(WAVES):
            start, end = getattr(windows, w)
            # due today if return_date + start months <= today <= return_date + end months
            earliest = add_months(today, -end) - _MARGIN
            latest = add_months(today, -start) + _MARGIN
            in_range: ColumnElement[bool] = Returnee.return_date.between(earliest, latest)
            if w == "initial":
                in_range = or_(in_range, Returnee.return_date.is_(None))
            last_reminded = (
                select(func.max(Reminder.sent_at))
                .join(ReminderRound, ReminderRound.id == Reminder.round_id)
                .where(Reminder.returnee_id == Returnee.id, ReminderRound.wave == w)
                .scalar_subquery()
            )
            query = (
                select(
                    Returnee.id,
                    Returnee.public_id,
                    Returnee.country,
                    Returnee.return_date,
                    Returnee.status,
                    Returnee.telegram_pseudonym.is_not(None),
                    Returnee.case_ref_enc,
                    Returnee.created_at,
                    SurveyResponse.status,
                    Returnee.channel,
                    last_reminded,
                )
                .outerjoin(
                    SurveyResponse,
                    and_(SurveyResponse.returnee_id == Returnee.id, SurveyResponse.wave == w),
                )
                .where(in_range)
            )
            if country:
                query = query.where(Returnee.country == country.upper())
            if (in_scope := scope.returnees()) is not None:
                query = query.where(in_scope)
            rows = [
                r for r in (await session.execute(query)).all() if windows.due(r[3], today) == w
            ]
            for (
                rid,
                public_id,
                ctry,
                returned,
                status,
                bound,
                case_enc,
                created,
                wave_status,
                channel,
                reminded,
            ) in rows:
                if include_case_ref and case_enc is not None:
                    encrypted[rid] = case_enc
                out.append(
                    DueReturnee(
                        returnee_id=rid,
                        public_id=public_id,
                        country=ctry,
                        return_date=returned,
                        status=status,
                        wave_status=wave_status,
                        skip=_skip_reason(status, bool(bound), wave_status, channel),
                        bound=bool(bound),
                        wave=w,
                        enrolled_at=created,
                        channel=channel,
                        last_reminded=reminded,
                    )
                )
        out.sort(key=lambda d: (d.enrolled_at or datetime.min.replace(tzinfo=UTC), d.public_id))
        if include_case_ref:
            shown = out[:case_refs_for] if case_refs_for is not None else out
            await _read_case_refs(session, store, shown, encrypted, actor)
    return out


async def _read_case_refs(
    session: AsyncSession,
    store: Store,
    rows: list[DueReturnee],
    encrypted: dict[str, bytes],
    actor: str,
) -> None:
    ids = [d.returnee_id for d in rows if d.returnee_id in encrypted]
    deks = await keys.returnee_keys(session, store.keyring, ids)
    for d in rows:
        rid = d.returnee_id
        if rid in deks:
            d.case_ref = keys.decrypt(deks[rid], "returnees", rid, "case_ref", encrypted[rid])
    await store.audit_many(session, actor, "read_case_ref", [(d.returnee_id, "due") for d in rows])


async def read_case_refs(store: Store, rows: list[DueReturnee], *, actor: str) -> None:
    """Decrypt the case references of these due returnees (the rows a page shows), each
    read audited under ``actor``."""
    if not rows:
        return
    async with store.sessions.begin() as session:
        found = await session.execute(
            select(Returnee.id, Returnee.case_ref_enc).where(
                Returnee.id.in_([d.returnee_id for d in rows])
            )
        )
        encrypted = {rid: enc for rid, enc in found.all() if enc is not None}
        await _read_case_refs(session, store, rows, encrypted, actor)


async def preview_round(
    store: Store,
    *,
    wave: Wave,
    country: str | None,
    windows: WaveWindows,
    today: date,
    scope: Scope = EVERYONE,
) -> RoundPreview:
    """Who a round would remind: the returnees due for ``wave`` in ``country`` (None:
    every country) within ``scope`` (whoever starts the round sees no one else)."""
    due = await due_returnees(
        store, wave=wave, country=country, windows=windows, today=today, scope=scope
    )
    return RoundPreview(
        wave=wave, country=country.upper() if country else None, due=due, scope=scope
    )


async def create_round(
    store: Store, preview: RoundPreview, *, actor: str, schedule_id: str | None = None
) -> str:
    """The round and one pending outbox row per returnee to remind, in one transaction
    (``schedule_id``: the schedule that starts it)."""
    now = store.clock()
    round_id = store.new_id()
    async with store.sessions.begin() as session:
        session.add(
            ReminderRound(
                id=round_id,
                wave=preview.wave,
                country=preview.country,
                created_by=actor,
                created_at=now,
                schedule_id=schedule_id,
                scope=preview.scope.frozen(),
            )
        )
        await session.flush()
        for due in preview.to_remind:
            session.add(
                Reminder(
                    id=store.new_id(),
                    round_id=round_id,
                    returnee_id=due.returnee_id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
            )
        store.audit(
            session, actor, "start_round", None, f"{preview.wave}: {len(preview.to_remind)}"
        )
    return round_id


async def recover_stale(store: Store, *, lease: timedelta = timedelta(minutes=2)) -> int:
    """Rows a killed sender left in ``sending`` (killed during the HTTP call): never
    resent, reported as unconfirmed."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(Reminder)
            .where(Reminder.status == "sending", Reminder.claimed_at < store.clock() - lease)
            .values(status="unconfirmed", reason="sender_stopped")
        )
        return int(getattr(result, "rowcount", 0) or 0)


async def claim(
    store: Store,
    *,
    limit: int,
    round_id: str | None = None,
    lease: timedelta = timedelta(seconds=30),
) -> list[Claimed]:
    """Lease due pending rows; returnees who stopped meanwhile are skipped right here."""
    now = store.clock()
    started = (  # at least one answer given to this wave's survey
        select(Answer.id)
        .join(SurveyResponse, Answer.response_id == SurveyResponse.id)
        .where(
            SurveyResponse.returnee_id == Reminder.returnee_id,
            SurveyResponse.wave == ReminderRound.wave,
            SurveyResponse.status == "in_progress",
        )
        .exists()
    )
    query = (
        select(Reminder, Returnee, ReminderRound.wave, started)
        .join(Returnee, Reminder.returnee_id == Returnee.id)
        .join(ReminderRound, Reminder.round_id == ReminderRound.id)
        .where(
            Reminder.status == "pending",
            Reminder.next_attempt_at <= now,
            ReminderRound.paused_at.is_(None),
        )
        .order_by(Reminder.next_attempt_at, Reminder.id)
        .limit(limit)
        .with_for_update(of=Reminder, skip_locked=True)
    )
    if round_id is not None:
        query = query.where(Reminder.round_id == round_id)
    claimed = []
    async with store.sessions.begin() as session:
        for reminder, returnee, wave, in_progress in (await session.execute(query)).all():
            if returnee.status != "active" or returnee.chat_id_enc is None:
                reminder.status, reminder.reason = "skipped", returnee.status
                continue
            if returnee.channel is not None and returnee.channel not in REMINDER_CHANNELS:
                reminder.status, reminder.reason = "skipped", "no_reminders_there"
                continue
            reminder.next_attempt_at, reminder.claimed_at = now + lease, now
            dek = await store.keys.returnee(session, returnee.id)
            address = keys.decrypt(dek, "returnees", returnee.id, "chat_id", returnee.chat_id_enc)
            channel = returnee.channel or "telegram"
            chat_id: int | str = int(address) if channel == "telegram" else address
            claimed.append(
                Claimed(
                    reminder_id=reminder.id,
                    round_id=reminder.round_id,
                    returnee_id=returnee.id,
                    public_id=returnee.public_id,
                    chat_id=chat_id,
                    language=returnee.language,
                    wave=wave,
                    attempts=reminder.attempts + 1,
                    started=bool(in_progress),
                    channel=channel,
                    last_message_at=returnee.last_message_at,
                )
            )
    return claimed


async def mark_sending(store: Store, reminder_id: str) -> bool:
    """The last step before the HTTP call, in one statement: the row becomes ``sending``
    only if it is still pending (not skipped by an opt-out, not taken by another sender
    whose lease began), its round is not paused, and its returnee is still active with
    consent. On PostgreSQL the
    returnee's row is read ``FOR SHARE``: an opt-out being written right now is waited
    for, then seen. False if the row was not taken."""
    active = (
        select(Returnee.id)
        .where(
            Returnee.id == Reminder.returnee_id,
            Returnee.status == "active",
            Returnee.consent_version.is_not(None),
        )
        .with_for_update(read=True)
    )
    running = select(ReminderRound.id).where(
        ReminderRound.id == Reminder.round_id, ReminderRound.paused_at.is_(None)
    )
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(Reminder)
            .where(
                Reminder.id == reminder_id,
                Reminder.status == "pending",
                active.exists(),
                running.exists(),
            )
            .values(status="sending", claimed_at=store.clock(), attempts=Reminder.attempts + 1)
        )
        return bool(getattr(result, "rowcount", 0))


async def release(store: Store, reminder_id: str) -> None:
    """A claimed row not sent (its round was paused) is claimable again at once."""
    async with store.sessions.begin() as session:
        await session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.status == "pending")
            .values(next_attempt_at=store.clock())
        )


async def returnee_status(store: Store, returnee_id: str) -> str | None:
    """Checked before waiting for a send slot, so that a returnee who stopped is skipped
    at once (the claim itself checks again)."""
    async with store.sessions() as session:
        status = await session.scalar(select(Returnee.status).where(Returnee.id == returnee_id))
        return None if status is None else str(status)


async def settle(
    store: Store,
    reminder_id: str,
    status: str,
    *,
    reason: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Record what happened to one claimed row (sent, failed, skipped, or back to pending)."""
    values: dict[str, object] = {"status": status, "reason": reason}
    if status == "sent":
        values["sent_at"] = store.clock()
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    async with store.sessions.begin() as session:
        await session.execute(update(Reminder).where(Reminder.id == reminder_id).values(**values))


async def settle_failed(store: Store, reminder_id: str, *, reason: str) -> None:
    """A reminder the channel took but could not deliver (a failed status, later): its
    round counts it failed, with ``reason``."""
    async with store.sessions.begin() as session:
        await session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.status == "sent")
            .values(status="failed", reason=reason)
        )


async def settle_if_pending(
    store: Store, reminder_id: str, status: str, *, reason: str | None = None
) -> None:
    """Like :func:`settle`, for a row nobody else has settled meanwhile."""
    async with store.sessions.begin() as session:
        await session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.status == "pending")
            .values(status=status, reason=reason)
        )


async def next_attempt(store: Store, round_id: str | None = None) -> datetime | None:
    """When the earliest pending row of a round that is not paused becomes due (None:
    nothing to send)."""
    query = (
        select(func.min(Reminder.next_attempt_at))
        .join(ReminderRound, Reminder.round_id == ReminderRound.id)
        .where(Reminder.status == "pending", ReminderRound.paused_at.is_(None))
    )
    if round_id is not None:
        query = query.where(Reminder.round_id == round_id)
    async with store.sessions() as session:
        return await session.scalar(query)


def _report_of(round_: ReminderRound) -> RoundReport:
    return RoundReport(
        round_id=round_.id,
        wave=round_.wave,
        country=round_.country,
        created_at=round_.created_at,
        created_by=None if round_.schedule_id else round_.created_by,
        scheduled=round_.schedule_id is not None,
        paused=round_.paused_at is not None,
        finished=round_.finished_at is not None,
    )


async def _count_into(
    session: AsyncSession, reports: dict[str, RoundReport], scope: Scope = EVERYONE
) -> None:
    query = (
        select(Reminder.round_id, Reminder.status, Reminder.reason, Returnee.channel, func.count())
        .outerjoin(Returnee, Reminder.returnee_id == Returnee.id)
        .where(Reminder.round_id.in_(list(reports)))
        .group_by(Reminder.round_id, Reminder.status, Reminder.reason, Returnee.channel)
    )
    if (in_scope := scope.returnee_ids(Reminder.returnee_id)) is not None:
        query = query.where(in_scope)
    rows = await session.execute(query)
    for round_id, status, reason, channel, count in rows.all():
        out = reports[round_id]
        out.counts[status] += count
        out.channels[f"{channel or '-'}:{status}"] += count
        if reason and status in ("skipped", "failed", "unconfirmed"):
            out.reasons[f"{status}:{reason}"] += count


def _reaches(scope: Scope) -> ColumnElement[bool] | None:
    """Rounds that reached at least one returnee in ``scope`` (None: every round)."""
    in_scope = scope.returnee_ids(Reminder.returnee_id)
    if in_scope is None:
        return None
    return exists(select(Reminder.id).where(Reminder.round_id == ReminderRound.id, in_scope))


async def report(store: Store, round_id: str, *, scope: Scope = EVERYONE) -> RoundReport:
    """Where a round stands: its reminders by status, and why those not sent were not
    (counting only the returnees in ``scope``; :class:`LookupError` for a round that
    reached none of them)."""
    query = select(ReminderRound).where(ReminderRound.id == round_id)
    if (reaches := _reaches(scope)) is not None:
        query = query.where(reaches)
    async with store.sessions() as session:
        round_ = await session.scalar(query)
        if round_ is None:
            raise LookupError(f"no round {round_id}")
        out = _report_of(round_)
        await _count_into(session, {round_id: out}, scope)
        return out


@dataclass(frozen=True)
class Recipient:
    """One returnee of a round, as staff see it (no contact detail)."""

    public_id: str | None  # None: erased since
    channel: str | None
    status: str
    reason: str | None
    sent_at: datetime | None


async def recipients(
    store: Store,
    round_id: str,
    *,
    status: str | None = None,
    offset: int = 0,
    limit: int = 100,
    scope: Scope = EVERYONE,
) -> tuple[list[Recipient], int]:
    """Who a round was for (within ``scope``), a page at a time (of one reminder
    ``status``), in the order they were sent; and how many in all."""
    query = (
        select(
            Returnee.public_id, Returnee.channel, Reminder.status, Reminder.reason, Reminder.sent_at
        )
        .outerjoin(Returnee, Reminder.returnee_id == Returnee.id)
        .where(Reminder.round_id == round_id)
    )
    if status:
        query = query.where(Reminder.status == status)
    if (in_scope := scope.returnee_ids(Reminder.returnee_id)) is not None:
        query = query.where(in_scope)
    async with store.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await session.execute(
            query.order_by(Reminder.sent_at.is_(None), Reminder.sent_at, Returnee.public_id)
            .offset(offset)
            .limit(limit)
        )
        return [Recipient(*row) for row in rows.all()], int(total or 0)


async def recent_rounds(
    store: Store,
    limit: int = 20,
    *,
    offset: int = 0,
    wave: str | None = None,
    state: str | None = None,
    country: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    scope: Scope = EVERYONE,
) -> list[RoundReport]:
    """The latest rounds that reached someone in ``scope``, newest first, each with its
    report over them (of one ``wave``; in one ``state``: sending, paused or finished)."""
    query = select(ReminderRound)
    if (reaches := _reaches(scope)) is not None:
        query = query.where(reaches)
    if wave:
        query = query.where(ReminderRound.wave == wave)
    if country:
        query = query.where(ReminderRound.country == country.upper())
    if since is not None:
        query = query.where(ReminderRound.created_at >= since)
    if before is not None:
        query = query.where(ReminderRound.created_at < before)
    if state == "finished":
        query = query.where(ReminderRound.finished_at.is_not(None))
    elif state == "paused":
        query = query.where(
            ReminderRound.finished_at.is_(None), ReminderRound.paused_at.is_not(None)
        )
    elif state == "sending":
        query = query.where(ReminderRound.finished_at.is_(None), ReminderRound.paused_at.is_(None))
    async with store.sessions() as session:
        rounds = (
            await session.scalars(
                query.order_by(ReminderRound.created_at.desc(), ReminderRound.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()
        reports = {r.id: _report_of(r) for r in rounds}
        if reports:
            await _count_into(session, reports, scope)
        return list(reports.values())


async def set_paused(
    store: Store, round_id: str, paused: bool, *, actor: str, scope: Scope = EVERYONE
) -> bool:
    """Pause an unfinished round (nothing more of it is sent) or resume it; audited.
    Staff with a narrower scope than everyone pause only rounds started within the same
    scope. False if there is no such unfinished round they may pause."""
    query = update(ReminderRound).where(
        ReminderRound.id == round_id, ReminderRound.finished_at.is_(None)
    )
    if not scope.is_everyone:
        query = query.where(ReminderRound.scope == scope.frozen())
    async with store.sessions.begin() as session:
        result = await session.execute(query.values(paused_at=store.clock() if paused else None))
        if not getattr(result, "rowcount", 0):
            return False
        store.audit(session, actor, "pause_round" if paused else "resume_round", None, round_id)
        return True


async def finish_round(store: Store, round_id: str) -> None:
    async with store.sessions.begin() as session:
        await session.execute(
            update(ReminderRound)
            .where(and_(ReminderRound.id == round_id, ReminderRound.finished_at.is_(None)))
            .values(finished_at=store.clock())
        )


async def open_rounds(store: Store) -> list[str]:
    """Rounds not finished and not paused (what a worker sends)."""
    async with store.sessions() as session:
        rows = await session.scalars(
            select(ReminderRound.id)
            .where(ReminderRound.finished_at.is_(None), ReminderRound.paused_at.is_(None))
            .order_by(ReminderRound.created_at)
        )
        return list(rows)
