"""Console pages of the follow-up work: the queue of returnees flagged after a survey
(why, since when, what was done last), what a caseworker did about one (contacted,
referred to a named service, assistance changed, closed: the note is encrypted), and the
assistance recorded in a case file."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from aiohttp import web

from bot.staff import records as staff_records
from bot.staff_words import N_
from bot.web.app import USER, Binder, Console, gettext_for, language_of, page_number, requires
from bot.web.records import case_file_page, reason_words
from storage.caseload import Assistance
from storage.errors import NotFound
from storage.followup import FLAG_STATES
from storage.returnees import ReturneeInfo

#: flags on one page of the queue
QUEUE_PAGE = 50
#: the longest note kept with an action
NOTE_MAX = 1000


@requires("case")
async def queue_page(console: Console, request: web.Request) -> web.StreamResponse:
    """Who is flagged, why and since when: open flags oldest first, a page at a time."""
    query = request.query
    state = query.get("state", "open")
    state = state if state in (*FLAG_STATES, "all") else "open"
    country = query.get("country", "").strip().upper()[:2] or None
    page = page_number(query)
    flags = await staff_records.followup_queue(
        console.store,
        request[USER],
        state=None if state == "all" else state,
        country=country,
        offset=(page - 1) * QUEUE_PAGE,
        limit=QUEUE_PAGE,
    )
    _ = gettext_for(language_of(request))
    lang = language_of(request)
    actions = {a.id: a.text(lang) for a in console.programme.followup.actions}

    def link(**changes: object) -> str:
        values = {"state": state, "country": country or "", "page": page, **changes}
        return "?" + urlencode({k: v for k, v in values.items() if v not in ("", None)})

    return console.page(
        request,
        "followup.html",
        title=_("Follow-up"),
        flags=flags,
        state=state,
        country=country or "",
        reason_text=reason_words(console, lang),
        actions=actions,
        page_number=page,
        pages=max(1, -(-flags.total // QUEUE_PAGE)),
        link=link,
    )


async def _returnee(
    console: Console, request: web.Request, action: str = "case"
) -> ReturneeInfo | None:
    """The returnee the URL names, in the scope of whoever asks, for ``action``."""
    return await staff_records.find_returnee(
        console.store, request[USER], public_id=request.match_info["returnee"], action=action
    )


@requires("case")
async def record_action(console: Console, request: web.Request) -> web.StreamResponse:
    """What was done for a flagged returnee; the case file shows it at once."""
    info = await _returnee(console, request)
    if info is None:
        return console.refuse(request, 404, N_("There is no such returnee."))
    form = await request.post()
    kind = str(form.get("kind") or "")
    note = str(form.get("note") or "").strip()
    _ = gettext_for(language_of(request))
    known = {a.id for a in console.programme.followup.actions}
    if kind not in known:
        return await case_file_page(console, request, info, problem=_("Choose what was done."))
    if len(note) > NOTE_MAX:
        return await case_file_page(
            console,
            request,
            info,
            problem=_("The note is too long ({length} characters, {limit} at most).").format(
                length=len(note), limit=NOTE_MAX
            ),
        )
    await console.store.followup.record_action(
        info.id, kind, actor=request[USER].actor, note=note or None, close=kind == "closed"
    )
    return await case_file_page(console, request, info)


@requires("case")
async def add_assistance(console: Console, request: web.Request) -> web.StreamResponse:
    """An item of assistance recorded from the case file."""
    info = await _returnee(console, request)
    if info is None:
        return console.refuse(request, 404, N_("There is no such returnee."))
    form = await request.post()
    _ = gettext_for(language_of(request))
    assistance = console.programme.assistance
    kind = str(form.get("type") or "")
    level = str(form.get("level") or "individual")
    status = str(form.get("status") or "delivered")
    valid, start = _day(form.get("start"))
    if (
        assistance.type(kind) is None
        or level not in {v.id for v in assistance.levels}
        or status not in {v.id for v in assistance.statuses}
        or not valid
    ):
        return await case_file_page(
            console, request, info, problem=_("Choose a type, a level, a status and a valid date.")
        )
    item = Assistance(kind, level, status, start)
    await console.store.caseload.add_assistance(info.id, item, actor=request[USER].actor)
    return await case_file_page(console, request, info)


def _day(value: object) -> tuple[bool, date | None]:
    """A form's date: whether it is one (or empty), and the date."""
    text = str(value or "").strip()
    if not text:
        return True, None
    try:
        return True, date.fromisoformat(text)
    except ValueError:
        return False, None


@requires("case")
async def assistance_status(console: Console, request: web.Request) -> web.StreamResponse:
    """An item of assistance now planned, delivered or cancelled."""
    info = await _returnee(console, request)
    if info is None:
        return console.refuse(request, 404, N_("There is no such returnee."))
    form = await request.post()
    status = str(form.get("status") or "")
    _ = gettext_for(language_of(request))
    if status not in {v.id for v in console.programme.assistance.statuses}:
        return await case_file_page(console, request, info, problem=_("Choose a status."))
    try:
        await console.store.caseload.set_assistance_status(
            info.id, request.match_info["item"], status, actor=request[USER].actor
        )
    except NotFound:
        return console.refuse(request, 404, N_("There is no such assistance item."))
    return await case_file_page(console, request, info)


@requires("admin")
async def assign_caseworker(console: Console, request: web.Request) -> web.StreamResponse:
    """Who follows a returnee (an admin chooses among the staff): their caseload then
    holds the returnee."""
    info = await _returnee(console, request, "admin")
    if info is None:
        return console.refuse(request, 404, N_("There is no such returnee."))
    form = await request.post()
    chosen = str(form.get("staff") or "")
    members = {m.id: m for m in await console.store.list_staff()}
    if chosen and chosen not in members:
        _ = gettext_for(language_of(request))
        return await case_file_page(console, request, info, problem=_("Choose a staff member."))
    member = members.get(chosen)
    await console.store.caseload.assign(
        info.id, (member.email or member.name) if member else None, actor=request[USER].actor
    )
    return await case_file_page(console, request, info)


def add_routes(router: web.UrlDispatcher, b: Binder) -> None:
    router.add_get("/followup", b(queue_page))
    router.add_post(r"/returnee/{returnee:R-[A-Z0-9]{4,12}}/action", b(record_action))
    router.add_post(r"/returnee/{returnee:R-[A-Z0-9]{4,12}}/assistance", b(add_assistance))
    router.add_post(r"/returnee/{returnee:R-[A-Z0-9]{4,12}}/caseworker", b(assign_caseworker))
    router.add_post(
        r"/returnee/{returnee:R-[A-Z0-9]{4,12}}/assistance/{item:[0-9a-f-]{36}}/status",
        b(assistance_status),
    )
