"""The caseload as staff browse it: every enrolled returnee, narrowed (status, country,
channel, enrolment dates, an R- id or a case reference), sorted and cut into pages in
SQL. Only the page shown is read; its case references are decrypted only for roles that
may read them, each read audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, select

from storage import keys
from storage.models import Reminder, Returnee, SurveyResponse
from storage.scopes import EVERYONE, Scope
from storage.store import Store
from storage.waves import WAVES

#: the statuses staff filter by: a stored status, split where joining the chat matters
STATUS_FILTERS = (
    "invited:no",
    "invited:yes",
    "active",
    "declined",
    "opted_out",
    "unreachable",
)
CHANNEL_FILTERS = ("telegram", "whatsapp", "console", "none")


def status_filter_of(status: str, bound: bool) -> str:
    """The status filter a returnee falls under (``STATUS_FILTERS``)."""
    return f"invited:{'yes' if bound else 'no'}" if status == "invited" else status


def filter_status(code: str) -> tuple[str, bool]:
    """A status filter's stored status and whether the returnee joined the chat."""
    status, _, joined = code.partition(":")
    return status, joined == "yes"


SORTS = ("enrolled", "returnee", "returned")


@dataclass(frozen=True)
class CaseloadQuery:
    search: str = ""
    status: str = ""
    country: str = ""
    channel: str = ""
    enrolled_from: date | None = None
    enrolled_to: date | None = None
    sort: str = "enrolled"
    descending: bool = True
    offset: int = 0
    limit: int = 50
    #: only returnees the reader may see
    scope: Scope = EVERYONE


@dataclass
class CaseloadRow:
    id: str
    public_id: str
    status: str
    bound: bool
    channel: str | None
    country: str | None
    return_date: date | None
    enrolled_at: datetime
    #: the waves whose survey is completed, in wave order
    completed: list[str] = field(default_factory=list)
    last_reminded: datetime | None = None
    case_ref: str | None = None


@dataclass
class CaseloadPage:
    rows: list[CaseloadRow]
    #: how many match (all pages)
    total: int


def _conditions(store: Store, q: CaseloadQuery, with_case_ref: bool) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    search = " ".join(q.search.split())
    if search.upper().startswith("R-"):
        where.append(Returnee.public_id.startswith(search.upper(), autoescape=True))
    elif search and not with_case_ref:  # (a role that may not read references finds none)
        where.append(false())
    elif search:
        where.append(Returnee.case_ref_index == store.returnees.case_ref_index(search))
    if q.status in STATUS_FILTERS:
        status, bound = filter_status(q.status)
        where.append(Returnee.status == status)
        if status == "invited":
            joined = Returnee.telegram_pseudonym.is_not(None)
            where.append(joined if bound else ~joined)
    if q.country:
        where.append(Returnee.country == q.country.upper())
    if q.channel == "none":
        where.append(Returnee.channel.is_(None))
    elif q.channel in CHANNEL_FILTERS:
        where.append(Returnee.channel == q.channel)
    if q.enrolled_from is not None:
        where.append(Returnee.created_at >= datetime.combine(q.enrolled_from, time.min, UTC))
    if q.enrolled_to is not None:
        end = datetime.combine(q.enrolled_to + timedelta(days=1), time.min, UTC)
        where.append(Returnee.created_at < end)
    if (in_scope := q.scope.returnees()) is not None:
        where.append(in_scope)
    return where


async def caseload_page(
    store: Store, q: CaseloadQuery, *, with_case_ref: bool, actor: str
) -> CaseloadPage:
    """One page of the caseload; a search by case reference is audited as a look-up."""
    where = _conditions(store, q, with_case_ref)
    order: Any = {
        "returnee": Returnee.public_id,
        "returned": Returnee.return_date,
        "enrolled": Returnee.created_at,
    }.get(q.sort, Returnee.created_at)
    ordering = [order.desc() if q.descending else order.asc(), Returnee.public_id]
    async with store.sessions.begin() as session:
        total = await session.scalar(
            select(func.count()).select_from(Returnee).where(and_(True, *where))
        )
        found = (
            (
                await session.execute(
                    select(Returnee)
                    .where(and_(True, *where))
                    .order_by(*ordering)
                    .offset(q.offset)
                    .limit(q.limit)
                )
            )
            .scalars()
            .all()
        )
        encrypted = {
            r.id: r.case_ref_enc for r in found if with_case_ref and r.case_ref_enc is not None
        }
        rows = [
            CaseloadRow(
                id=r.id,
                public_id=r.public_id,
                status=r.status,
                bound=r.telegram_pseudonym is not None,
                channel=r.channel,
                country=r.country,
                return_date=r.return_date,
                enrolled_at=r.created_at,
                case_ref=None,
            )
            for r in found
        ]
        ids = [r.id for r in rows]
        if ids:
            done = await session.execute(
                select(SurveyResponse.returnee_id, SurveyResponse.wave).where(
                    SurveyResponse.returnee_id.in_(ids), SurveyResponse.status == "completed"
                )
            )
            waves: dict[str, set[str]] = {}
            for rid, wave in done.all():
                waves.setdefault(rid, set()).add(wave)
            reminded = await session.execute(
                select(Reminder.returnee_id, func.max(Reminder.sent_at))
                .where(Reminder.returnee_id.in_(ids), Reminder.sent_at.is_not(None))
                .group_by(Reminder.returnee_id)
            )
            last = {rid: at for rid, at in reminded.all()}
            for row in rows:
                row.completed = [w for w in WAVES if w in waves.get(row.id, ())]
                row.last_reminded = last.get(row.id)
        if q.search and not q.search.upper().startswith("R-"):
            store.staff.record(session, actor, "find_case", rows[0].id if rows else None)
        if encrypted:
            deks = await keys.returnee_keys(session, store.keyring, list(encrypted))
            for row in rows:
                if row.id in deks:
                    row.case_ref = keys.decrypt(
                        deks[row.id], "returnees", row.id, "case_ref", encrypted[row.id]
                    )
            await store.audit_many(
                session, actor, "read_case_ref", [(rid, "caseload") for rid in deks]
            )
    return CaseloadPage(rows, int(total or 0))
