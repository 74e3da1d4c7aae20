"""Console pages of the due list and reminder rounds: who is due (and why some will not
be reminded), a round previewed then confirmed (the list sent is exactly the list
confirmed), its live progress, pause and resume, its final report; scheduled rounds."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.staff import records as staff_records
from bot.staff import rounds as staff_rounds
from bot.staff_words import N_
from bot.web.app import (
    USER,
    Binder,
    Console,
    day_of,
    gettext_for,
    language_of,
    page_number,
    requires,
    start_of,
    wave_and_country,
)
from storage import outbox
from storage.caseload_list import CHANNEL_FILTERS, STATUS_FILTERS, filter_status
from storage.outbox import DueReturnee, RoundPreview
from storage.waves import WAVES, Wave

#: rows of the due list on one page (the counts cover everyone)
PAGE = 50
#: the due list's orders: a key of each row (None sorts first)
SORTS = {
    "enrolled": lambda d: (d.enrolled_at.isoformat() if d.enrolled_at else "", d.public_id),
    "returnee": lambda d: d.public_id,
    "returned": lambda d: (d.return_date.isoformat() if d.return_date else "", d.public_id),
    "reminded": lambda d: (d.last_reminded.isoformat() if d.last_reminded else "", d.public_id),
}
#: rounds on one page of their list, and the states they are filtered by
ROUNDS_PAGE = 50
ROUND_STATES = ("sending", "paused", "finished")
#: a round's recipients on one page
RECIPIENTS_PAGE = 100
REMINDER_STATUSES = ("sent", "pending", "sending", "skipped", "failed", "unconfirmed")
#: "reminded recently": within this many hours
RECENT_HOURS = 24


def list_digest(preview: RoundPreview) -> str:
    """A fingerprint of the returnees a round would remind (no personal data: internal
    ids, hashed): the confirmation carries it, and a round starts only if it still holds."""
    ids = "\n".join(sorted(d.returnee_id for d in preview.to_remind))
    return hashlib.sha256(f"{preview.wave}|{preview.country}|{ids}".encode()).hexdigest()


@dataclass(frozen=True)
class DueFilters:
    """What the due list is narrowed to and sorted by, read from its query string."""

    search: str = ""
    status: str = ""
    channel: str = ""
    reminder: str = ""
    sort: str = "enrolled"
    descending: bool = False
    page: int = 1

    @classmethod
    def of(cls, query: Mapping[str, str]) -> DueFilters:
        sort = query.get("sort", "enrolled")
        return cls(
            search=query.get("q", "").strip()[:64],
            status=query.get("status", "") if query.get("status") in STATUS_FILTERS else "",
            channel=query.get("channel", "") if query.get("channel") in CHANNEL_FILTERS else "",
            reminder=query.get("reminder", "")
            if query.get("reminder") in ("yes", "no", "recent")
            else "",
            sort=sort if sort in SORTS else "enrolled",
            descending=query.get("order") == "desc",
            page=page_number(query),
        )

    def query(self, **changes: Any) -> str:
        """This list's query string, with ``changes`` (a new sort, another page)."""
        values = {
            "q": self.search,
            "status": self.status,
            "channel": self.channel,
            "reminder": self.reminder,
            "sort": self.sort,
            "order": "desc" if self.descending else "",
            "page": self.page,
        }
        values.update(changes)
        return "&".join(f"{k}={quote(str(v))}" for k, v in values.items() if v not in ("", 1))


def _recent(d: DueReturnee, now: datetime) -> bool:
    return d.last_reminded is not None and now - d.last_reminded < timedelta(hours=RECENT_HOURS)


async def _narrowed(
    console: Console, user: Any, due: list[DueReturnee], f: DueFilters, now: datetime
) -> list[DueReturnee]:
    rows = due
    if f.search:
        if f.search.upper().startswith("R-"):
            rows = [d for d in rows if d.public_id.startswith(f.search.upper())]
        elif not console.may(user, "case_ref"):  # (a role that may not read references)
            rows = []
        else:  # a case reference: its blind index finds it (the look-up is audited)
            found = await staff_records.find_returnee(
                console.store, user, case_ref=f.search, action="case_ref"
            )
            rows = [d for d in rows if found is not None and d.returnee_id == found.id]
    if f.status:
        status, bound = filter_status(f.status)
        rows = [d for d in rows if d.status == status and (status != "invited" or d.bound == bound)]
    if f.channel:
        wanted = None if f.channel == "none" else f.channel
        rows = [d for d in rows if d.channel == wanted]
    if f.reminder == "yes":
        rows = [d for d in rows if d.skip is None]
    elif f.reminder == "no":
        rows = [d for d in rows if d.skip is not None]
    elif f.reminder == "recent":
        rows = [d for d in rows if _recent(d, now)]
    return sorted(rows, key=SORTS[f.sort], reverse=f.descending)


async def _due_page(
    console: Console,
    request: web.Request,
    wave: Wave | None,
    country: str | None,
    *,
    status: int = 200,
    problem: str | None = None,
) -> web.Response:
    user = request[USER]
    with_case_ref = console.may(user, "case_ref")
    due = await staff_rounds.who_is_due(
        console.store,
        user,
        wave=wave,
        country=country,
        windows=console.windows,
        today=console.today(),
        case_refs_for=0,  # (the rows shown are decrypted below, once filtered)
    )
    f = DueFilters.of(request.query)
    now = console.store.clock()
    rows = await _narrowed(console, user, due, f, now)
    pages = max(1, -(-len(rows) // PAGE))
    page = min(f.page, pages)
    shown = rows[(page - 1) * PAGE : page * PAGE]
    if with_case_ref:  # only the rows shown are decrypted, and each read audited
        await outbox.read_case_refs(console.store, shown, actor=user.actor)
    preview = RoundPreview(wave=wave, country=country, due=due) if wave else None
    _ = gettext_for(language_of(request))
    return console.page(
        request,
        "due.html",
        status,
        title=_("Due and rounds"),
        statuses=STATUS_FILTERS,
        wave=wave,
        country=country or "",
        waves=WAVES,
        due=shown,
        matching=len(rows),
        page_number=page,
        pages=pages,
        filters=f,
        base_query=f"wave={wave or ''}&country={quote(country or '')}",
        total=len(due),
        to_remind=sum(d.skip is None for d in due),
        reminded_recently=sum(d.skip is None and _recent(d, now) for d in due),
        recent_hours=RECENT_HOURS,
        recent=lambda d: _recent(d, now),
        skipped=sorted(RoundPreview(wave="initial", country=None, due=due).skipped.items()),
        with_case_ref=with_case_ref,
        digest=list_digest(preview) if preview else None,
        problem=problem,
    )


@requires("due")
async def due_page(console: Console, request: web.Request) -> web.StreamResponse:
    wave, country = wave_and_country(request.query)
    return await _due_page(console, request, wave, country)


@requires("round")
async def start_round(console: Console, request: web.Request) -> web.StreamResponse:
    wave, country = wave_and_country(form := await request.post())
    if wave is None:
        return console.refuse(request, 404, N_("There is no such wave."))
    w: Wave = wave
    user = request[USER]
    preview = await staff_rounds.preview_round(
        console.store,
        user,
        wave=w,
        country=country,
        windows=console.windows,
        today=console.today(),
    )
    _ = gettext_for(language_of(request))
    if form.get("digest") != list_digest(preview):
        problem = _(
            "The list changed since you looked at it ({n} to remind now): check it and "
            "confirm again."
        ).format(n=len(preview.to_remind))
        return await _due_page(console, request, w, country, status=409, problem=problem)
    if not preview.to_remind:
        return await _due_page(console, request, w, country, problem=_("Nobody to remind."))
    round_id = await staff_rounds.start_round(console.store, user, preview)
    console.send_round(round_id)
    raise web.HTTPSeeOther(f"{console.base}/rounds/{round_id}?follow=1")


@requires("round")
async def rounds_page(console: Console, request: web.Request) -> web.StreamResponse:
    """Rounds, newest first: of a wave, in a state, a page at a time."""
    q = request.query
    wave, country = wave_and_country(q)
    state = q.get("state") if q.get("state") in ROUND_STATES else None
    since, until = day_of(q.get("from")), day_of(q.get("to"))
    page = page_number(q)
    rounds = await staff_rounds.recent_rounds(
        console.store,
        request[USER],
        limit=ROUNDS_PAGE + 1,
        offset=(page - 1) * ROUNDS_PAGE,
        wave=wave,
        state=state,
        country=country,
        since=start_of(since),
        before=start_of(until + timedelta(days=1)) if until else None,
    )
    _ = gettext_for(language_of(request))
    return console.page(
        request,
        "rounds.html",
        title=_("Reminder rounds"),
        rounds=rounds[:ROUNDS_PAGE],
        names=await console.staff_names(),
        waves=WAVES,
        wave=wave or "",
        states=ROUND_STATES,
        state=state or "",
        country=country or "",
        since=since.isoformat() if since else "",
        until=until.isoformat() if until else "",
        page_number=page,
        more=len(rounds) > ROUNDS_PAGE,
    )


@requires("round")
async def round_page(console: Console, request: web.Request) -> web.StreamResponse:
    try:
        report = await staff_rounds.round_report(
            console.store, request[USER], request.match_info["round"]
        )
    except LookupError:
        return console.refuse(request, 404, N_("There is no such round."))
    q = request.query
    status = q.get("status") if q.get("status") in REMINDER_STATUSES else None
    page = page_number(q)
    reached, matching = await staff_rounds.recipients(
        console.store,
        request[USER],
        report.round_id,
        status=status,
        offset=(page - 1) * RECIPIENTS_PAGE,
        limit=RECIPIENTS_PAGE,
    )
    _ = gettext_for(language_of(request))
    return console.page(
        request,
        "round.html",
        title=_("Reminder round"),
        report=report,
        names=await console.staff_names(),
        recipients=reached,
        matching=matching,
        shown_status=status or "",
        statuses=REMINDER_STATUSES,
        page_number=page,
        pages=max(1, -(-matching // RECIPIENTS_PAGE)),
        sending=console.bot is not None,
        # while the round runs, the page reloads itself if staff follow it (no script: a
        # refresh header); following is a choice the page offers to stop (WCAG 2.2.1)
        running=not (report.finished or report.paused),
        refresh=q.get("follow") == "1" and not (report.finished or report.paused),
    )


@requires("round")
async def round_action(console: Console, request: web.Request) -> web.StreamResponse:
    round_id = request.match_info["round"]
    pause = request.match_info["action"] == "pause"
    user = request[USER]
    if not await staff_rounds.pause_round(console.store, user, round_id, pause):
        return console.refuse(request, 404, N_("There is no such round, or it has finished."))
    if not pause:
        console.send_round(round_id)
    raise web.HTTPSeeOther(f"{console.base}/rounds/{round_id}" + ("" if pause else "?follow=1"))


@requires("round")
async def schedules_page(console: Console, request: web.Request) -> web.StreamResponse:
    return console.page(
        request,
        "schedules.html",
        title=gettext_for(language_of(request))("Scheduled rounds"),
        schedules=await staff_rounds.list_schedules(console.store, request[USER]),
        waves=WAVES,
    )


@requires("round")
async def schedule_action(console: Console, request: web.Request) -> web.StreamResponse:
    user = request[USER]
    action = request.match_info["action"]
    done = await staff_rounds.set_schedule_active(
        console.store, user, request.match_info["schedule"], action == "resume"
    )
    if not done:
        return console.refuse(request, 404, N_("There is no such schedule."))
    raise web.HTTPSeeOther(f"{console.base}/schedules")


@requires("round")
async def add_schedule(console: Console, request: web.Request) -> web.StreamResponse:
    form = await request.post()
    _ = gettext_for(language_of(request))
    wave, country = wave_and_country(form)
    hour, repeat = str(form.get("hour", "")), str(form.get("repeat", ""))
    problem = None
    if wave is None:
        problem = _("Choose a wave.")
    elif not hour.isdigit() or not 0 <= int(hour) <= 23:
        problem = _("The hour is a number from 0 to 23 (UTC).")
    elif repeat.strip() and not (repeat.strip().isdigit() and int(repeat) >= 1):
        problem = _("Repeat every: a number of days (1 or more), or empty for once per window.")
    if problem is None and wave is not None:
        try:
            await staff_rounds.add_schedule(
                console.store,
                request[USER],
                wave=wave,
                country=country,
                hour=int(hour),
                repeat_days=int(repeat) if repeat.strip() else None,
            )
        except ValueError as exc:
            problem = str(exc)
    if problem is not None:
        return console.page(
            request,
            "schedules.html",
            400,
            title=_("Scheduled rounds"),
            schedules=await staff_rounds.list_schedules(console.store, request[USER]),
            waves=WAVES,
            problem=problem,
            form=form,
        )
    raise web.HTTPSeeOther(f"{console.base}/schedules")


def add_routes(router: web.UrlDispatcher, b: Binder) -> None:
    """The pages of this module, bound to the console by ``b``."""
    router.add_get("/due", b(due_page))
    router.add_post("/rounds", b(start_round))
    router.add_get("/rounds", b(rounds_page))
    router.add_get(r"/rounds/{round:[0-9a-f-]{36}}", b(round_page))
    router.add_post(r"/rounds/{round:[0-9a-f-]{36}}/{action:pause|resume}", b(round_action))
    router.add_get("/schedules", b(schedules_page))
    router.add_post("/schedules", b(add_schedule))
    router.add_post(r"/schedules/{schedule}/{action:pause|resume}", b(schedule_action))
