"""Console pages about people: a returnee's case file found by case reference (never in a
URL: the reference is posted, and every view is audited), the feedback inbox (feedback
officer), staff management and the audit log (admin)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.charts import ChartWords, trajectory_png
from bot.staff import accounts
from bot.staff import records as staff_records
from bot.staff_words import N_, StaffWords
from bot.web.app import (
    COOKIE,
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
from bot.web.enrolment import channels
from flows.model import options_of
from storage import console_auth
from storage.case_file import read_case_file
from storage.caseload_list import (
    CHANNEL_FILTERS,
    SORTS,
    STATUS_FILTERS,
    CaseloadQuery,
    caseload_page,
)
from storage.feedback import FEEDBACK_STATES, RATING_SCALE
from storage.followup import Reason
from storage.returnees import ReturneeInfo
from storage.scopes import SCOPE_KINDS, BadScope, Scope
from storage.staff_audit import STAFF_ROLES, BadStaffAccount, UnknownRole

#: audit entries on one page
AUDIT_PAGE = 100


#: returnees on one page of the caseload
CASELOAD_PAGE = 50
#: feedback messages on one page of the inbox
FEEDBACK_PAGE = 50


@requires("case")
async def returnee_search(console: Console, request: web.Request) -> web.StreamResponse:
    _ = gettext_for(language_of(request))
    return console.page(request, "returnee.html", title=_("Returnee"), case=None, case_ref="")


@requires("due")
async def caseload(console: Console, request: web.Request) -> web.StreamResponse:
    """Every enrolled returnee, a page at a time, narrowed by the query string."""
    user = request[USER]
    q = request.query
    page = page_number(q)
    _, country = wave_and_country(q)
    with_case_ref = console.may(user, "case_ref")
    search = q.get("q", "").strip()[:64]
    query = CaseloadQuery(
        search=search,
        status=q.get("status", "") if q.get("status") in STATUS_FILTERS else "",
        country=country or "",
        channel=q.get("channel", "") if q.get("channel") in CHANNEL_FILTERS else "",
        enrolled_from=day_of(q.get("from")),
        enrolled_to=day_of(q.get("to")),
        sort=q.get("sort", "enrolled") if q.get("sort") in SORTS else "enrolled",
        descending=q.get("order", "desc") == "desc",
        offset=(page - 1) * CASELOAD_PAGE,
        limit=CASELOAD_PAGE,
        scope=user.scope,
    )
    found = await caseload_page(console.store, query, with_case_ref=with_case_ref, actor=user.actor)
    _ = gettext_for(language_of(request))
    values = {k: v for k, v in q.items() if k != "page" and v}

    def link(**changes: Any) -> str:
        return "?" + urlencode({**values, **{k: v for k, v in changes.items() if v}})

    return console.page(
        request,
        "returnees.html",
        title=_("Returnees"),
        found=found,
        query=query,
        search=q.get("q", "").strip()[:64],
        statuses=STATUS_FILTERS,
        channels=CHANNEL_FILTERS,
        with_case_ref=with_case_ref,
        page_number=page,
        pages=max(1, -(-found.total // CASELOAD_PAGE)),
        link=link,
        enrolled_from=q.get("from", ""),
        enrolled_to=q.get("to", ""),
    )


@requires("case")
async def returnee_page(console: Console, request: web.Request) -> web.StreamResponse:
    user = request[USER]
    form = await request.post()
    case_ref = str(form.get("case_ref") or "").strip()
    public_id = str(form.get("public_id") or "").strip().upper()
    _ = gettext_for(language_of(request))
    info = await staff_records.find_returnee(
        console.store,
        user,
        case_ref=case_ref or None,
        public_id=public_id if public_id and not case_ref else None,
    )
    if info is None:
        return console.page(
            request,
            "returnee.html",
            404,
            title=_("Returnee"),
            case=None,
            case_ref=case_ref,
            problem=_("No returnee with this case reference."),
        )
    return await case_file_page(console, request, info, case_ref)


async def case_file_page(
    console: Console,
    request: web.Request,
    info: ReturneeInfo,
    case_ref: str = "",
    problem: str | None = None,
) -> web.Response:
    """The case file of a returnee found beforehand (the read is audited)."""
    user = request[USER]
    _ = gettext_for(language_of(request))
    case = await read_case_file(
        console.store, info, weights_version=console.table.version, actor=user.actor
    )
    chart = None
    if case.scores:
        words = ChartWords(language_of(request))
        png = await asyncio.to_thread(
            trajectory_png,
            _("{returnee}: reintegration scores").format(returnee=info.public_id),
            list(case.scores),
            list(case.scores.values()),
            words.note(console.table),
            words,
        )
        chart = base64.b64encode(png).decode()
    store = console.store
    return console.page(
        request,
        "returnee.html",
        400 if problem else 200,
        title=f"{_('Returnee')} {info.public_id}",
        case=case,
        case_ref=case_ref,
        chart=chart,
        score_keys=("economic", "social", "psychosocial", "composite"),
        invite_channels=channels(console),
        profile=await store.caseload.profile(info.id, actor=user.actor),
        assistance=await store.caseload.assistance(info.id),
        flags=await store.followup.flags_of(info.id),
        actions=await store.followup.actions_of(info.id),
        programme=console.programme,
        names=await console.staff_names(),
        staff_members=await store.list_staff() if user.role == "admin" else [],
        reason_text=reason_words(console, language_of(request)),
        problem=problem,
        today=console.today().isoformat(),
    )


def reason_words(console: Console, language: str) -> Callable[[Reason], str]:
    """How a flag's reason reads: the rule in words, with the answer given (its label in
    the survey) or the score seen."""
    rules = console.programme.followup
    words = StaffWords(gettext_for(language))
    definition = console.definition

    def text(reason: Reason) -> str:
        rule = rules.rule(reason.rule)
        title = rule.text(language) if rule else reason.rule
        question, _, chosen = reason.detail.partition(": ")
        if chosen and definition.has_question(question):
            labels = {o.id: o.label for o in options_of(definition.question(question))}
            shown = [
                labels[c].get(language) or labels[c].get("en") or c if c in labels else c
                for c in chosen.split(", ")
            ]
            return f"{title} ({', '.join(shown)})"
        dimension, _, figures = reason.detail.partition(" ")
        return f"{title} ({words.dimension(dimension)} {figures})" if figures else title

    return text


#: the feedback inbox's views: what each shows
FEEDBACK_VIEWS = {
    "open": ("new", "read"),
    "new": ("new",),
    "handled": ("handled",),
    "all": FEEDBACK_STATES,
}


@requires("feedback")
async def feedback_page(console: Console, request: web.Request) -> web.StreamResponse:
    """The inbox: feedback not handled yet by default, newest first, a page at a time."""
    query = request.query
    view = query.get("view", "open")
    view = view if view in FEEDBACK_VIEWS else "open"
    kind = query.get("kind") if query.get("kind") in ("named", "anonymous") else ""
    receipt = query.get("receipt", "").strip()[:16]
    page = page_number(query)
    since, until = day_of(query.get("from")), day_of(query.get("to"))
    inbox = await staff_records.feedback_inbox(
        console.store,
        request[USER],
        states=FEEDBACK_VIEWS[view],
        kind=kind or None,
        receipt=receipt or None,
        since=start_of(since),
        before=start_of(until + timedelta(days=1)) if until else None,
        offset=(page - 1) * FEEDBACK_PAGE,
        limit=FEEDBACK_PAGE,
    )
    _ = gettext_for(language_of(request))
    return console.page(
        request,
        "feedback.html",
        title=_("Feedback"),
        inbox=inbox,
        view=view,
        kind=kind,
        receipt=receipt,
        since=since.isoformat() if since else "",
        until=until.isoformat() if until else "",
        page_number=page,
        pages=max(1, -(-inbox.total // FEEDBACK_PAGE)),
        scale=RATING_SCALE,
        here=request.path_qs,
    )


@requires("feedback")
async def feedback_voice(console: Console, request: web.Request) -> web.StreamResponse:
    """A voice note sent as feedback, played in the inbox: never cached, each play
    audited, for feedback officers only."""
    voice = await staff_records.feedback_voice(
        console.store, request[USER], request.match_info["feedback"]
    )
    if voice is None:
        return console.refuse(request, 404, N_("There is no such feedback."))
    return web.Response(
        body=voice.data,
        content_type=voice.mime_type.split(";")[0],
        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
    )


@requires("feedback")
async def mark_feedback(console: Console, request: web.Request) -> web.StreamResponse:
    form = await request.post()
    state = request.match_info["state"]
    done = await staff_records.mark_feedback(
        console.store, request[USER], request.match_info["feedback"], state
    )
    if not done:
        return console.refuse(request, 404, N_("There is no such feedback."))
    back = str(form.get("back") or "")
    raise web.HTTPSeeOther(
        back if back.startswith(f"{console.base}/feedback") else f"{console.base}/feedback"
    )


async def _staff_page(
    console: Console,
    request: web.Request,
    status: int = 200,
    problem: str | None = None,
    form: Any = None,
) -> web.Response:
    _ = gettext_for(language_of(request))
    return console.page(
        request,
        "staff.html",
        status,
        title=_("Staff"),
        members=await accounts.members(console.store, request[USER]),
        roles=STAFF_ROLES,
        scope_kinds=SCOPE_KINDS,
        scope_kind_words={
            "all": _("every returnee"),
            "countries": _("countries"),
            "offices": _("offices"),
            "caseload": _("their own caseload"),
        },
        problem=problem,
        form=form or {},
    )


def scope_of_form(form: Any) -> Scope:
    """The scope a staff form chose: a kind, and the countries or offices it names
    (:class:`BadScope` if they do not fit)."""
    kind = str(form.get("scope") or "all")
    names = str(form.get("scope_names") or "")
    return Scope.of(kind, names.split(",") if kind in ("countries", "offices") else ())


def scope_problem(_: Callable[[str], str], exc: BadScope) -> str:
    """A scope's problem, in the staff member's language."""
    text = str(exc)
    if text.startswith("not a country code"):
        return _("Countries are two- or three-letter codes separated by commas (GN, ML).")
    if "at least one" in text:
        return _("Name at least one country or office, separated by commas.")
    return _("This scope cannot be used: {reason}").format(reason=text)


@requires("admin")
async def staff_page(console: Console, request: web.Request) -> web.StreamResponse:
    return await _staff_page(console, request)


@requires("admin")
async def add_staff(console: Console, request: web.Request) -> web.StreamResponse:
    form = await request.post()
    _ = gettext_for(language_of(request))
    telegram_id = str(form.get("telegram_id") or "").strip()
    email = str(form.get("email") or "").strip() or None
    role = str(form.get("role") or "")
    name = str(form.get("name") or "").strip() or None
    user = request[USER]
    try:
        # an admin who sees some returnees only gives their own scope to those they add
        scope = scope_of_form(form) if user.scope.is_everyone else user.scope
    except BadScope as exc:
        return await _staff_page(console, request, 400, scope_problem(_, exc), form)
    if not email and not telegram_id:
        return await _staff_page(
            console, request, 400, _("Give their email address, their Telegram user id or both."),
            form,
        )  # fmt: skip
    if telegram_id and not telegram_id.isdigit():
        return await _staff_page(
            console,
            request,
            400,
            _("The Telegram user id is a number (the member can get it from @userinfobot)."),
            form,
        )
    try:
        await accounts.add_member(
            console.store,
            user,
            role=role,
            telegram_id=int(telegram_id) if telegram_id else None,
            email=email,
            name=name,
            scope=scope,
        )
    except UnknownRole:
        return await _staff_page(console, request, 400, _("Choose a role."), form)
    except BadStaffAccount:
        return await _staff_page(
            console, request, 400, _("This email address or Telegram id cannot be used."), form
        )
    raise web.HTTPSeeOther(f"{console.base}/staff")


@requires("admin")
async def change_scope(console: Console, request: web.Request) -> web.StreamResponse:
    """Which returnees a staff member sees and acts on (only an admin who sees every
    returnee changes it); audited."""
    user = request[USER]
    staff_id = request.match_info["staff"]
    form = await request.post()
    _ = gettext_for(language_of(request))
    if not user.scope.is_everyone:
        return console.refuse(
            request, 403, N_("Only an administrator who sees every returnee changes scopes.")
        )
    if staff_id == user.staff_id:
        return await _staff_page(
            console, request, 400, _("You cannot change what you see yourself: ask another admin.")
        )
    try:
        scope = scope_of_form(form)
    except BadScope as exc:
        return await _staff_page(console, request, 400, scope_problem(_, exc))
    try:
        await accounts.change_scope(console.store, user, staff_id, scope)
    except accounts.NotYours:
        return console.refuse(request, 404, N_("There is no such staff member."))
    raise web.HTTPSeeOther(f"{console.base}/staff")


@requires("admin")
async def confirm_removal(console: Console, request: web.Request) -> web.StreamResponse:
    """Removing a staff member is asked again on a page of its own (the console runs no
    script, so no dialog)."""
    staff_id = request.match_info["staff"]
    managed = await accounts.members(console.store, request[USER])
    member = next((m for m in managed if m.id == staff_id), None)
    if member is None or staff_id == request[USER].staff_id:
        return console.refuse(request, 404, N_("There is no such staff member."))
    _ = gettext_for(language_of(request))
    return console.page(
        request, "staff_remove.html", title=_("Remove a staff member"), member=member
    )


@requires("admin")
async def change_staff(console: Console, request: web.Request) -> web.StreamResponse:
    user = request[USER]
    staff_id = request.match_info["staff"]
    form = await request.post()
    remove = request.match_info["action"] == "remove"
    role = None if remove else str(form.get("role") or "")
    if staff_id == user.staff_id:
        _ = gettext_for(language_of(request))
        return await _staff_page(
            console,
            request,
            400,
            _("You cannot remove yourself or change your own role: ask another admin."),
        )
    try:
        if role is None:
            await accounts.remove_member(console.store, user, staff_id)
        else:
            await accounts.change_role(console.store, user, staff_id, role)
    except UnknownRole:
        return console.refuse(request, 404, N_("There is no such role."))
    except accounts.NotYours:
        return console.refuse(request, 404, N_("There is no such staff member."))
    raise web.HTTPSeeOther(f"{console.base}/staff")


@requires("admin")
async def end_staff_sessions(console: Console, request: web.Request) -> web.StreamResponse:
    """An admin signs another staff member out of every session (a lost phone, a leaver);
    audited."""
    try:
        await accounts.sign_out_everywhere(
            console.store, request[USER], request.match_info["staff"]
        )
    except accounts.NotYours:
        return console.refuse(request, 404, N_("There is no such staff member."))
    raise web.HTTPSeeOther(f"{console.base}/staff")


async def sessions_page(console: Console, request: web.Request) -> web.StreamResponse:
    """The signed-in staff member's own open sessions, to end those they do not use."""
    user = request[USER]
    _ = gettext_for(language_of(request))
    return console.page(
        request,
        "sessions.html",
        title=_("Your sessions"),
        sessions=await console_auth.open_sessions(
            console.store, user.staff_id, request.cookies.get(COOKIE)
        ),
        how_words={
            "link": _("a sign-in link"),
            "oidc": _("your organisation's account"),
        },
    )


async def end_own_sessions(console: Console, request: web.Request) -> web.StreamResponse:
    user = request[USER]
    form = await request.post()
    current = request.cookies.get(COOKIE)
    if form.get("others"):
        await console_auth.end_sessions(
            console.store, user.staff_id, actor=user.actor, keep_token=current
        )
    elif not await console_auth.end_sessions(
        console.store, user.staff_id, actor=user.actor, session_id=str(form.get("session") or "")
    ):
        return console.refuse(request, 404, N_("There is no such session."))
    raise web.HTTPSeeOther(f"{console.base}/sessions")


@requires("admin")
async def audit_page(console: Console, request: web.Request) -> web.StreamResponse:
    """The audit log, newest first: by action, by person, between two days, a page at a
    time ("older entries" carries the time of the last one shown)."""
    q = request.query
    try:
        before = datetime.fromisoformat(q["before"]) if q.get("before") else None
    except ValueError:
        before = None
    since, until = day_of(q.get("from")), day_of(q.get("to"))
    end = start_of(until + timedelta(days=1)) if until else None
    if end is not None:
        before = min(before, end) if before is not None else end
    staff = console.store.staff
    actions = await staff.actions()
    action = q.get("action")
    action = action if action in actions else None
    members = await accounts.members(console.store, request[USER])
    people = [(f"staff:{m.id}", m.name or m.id[:8]) for m in members]
    who = q.get("who")
    who = who if who in {p for p, _ in people} | {"unknown"} else None
    lines = await staff.page(
        limit=AUDIT_PAGE,
        before=before,
        action=action,
        actor=who,
        since=start_of(since),
        scope=request[USER].scope,
    )
    _ = gettext_for(language_of(request))
    kept = {k: v for k, v in q.items() if k in ("action", "who", "from", "to") and v}
    older = None
    if len(lines) == AUDIT_PAGE:
        older = "?" + urlencode({**kept, "before": lines[-1].at.isoformat()})
    return console.page(
        request,
        "audit.html",
        title=_("Audit log"),
        lines=lines,
        actions=actions,
        action=action or "",
        people=people,
        who=who or "",
        since=q.get("from", ""),
        until=q.get("to", ""),
        older=older,
    )


def add_routes(router: web.UrlDispatcher, b: Binder) -> None:
    router.add_get("/returnees", b(caseload))
    router.add_get("/returnee", b(returnee_search))
    router.add_post("/returnee", b(returnee_page))
    router.add_get("/feedback", b(feedback_page))
    router.add_get(r"/feedback/{feedback:[0-9a-f-]{36}}/voice", b(feedback_voice))
    router.add_post(
        r"/feedback/{feedback:[0-9a-f-]{36}}/{state:new|read|handled}", b(mark_feedback)
    )
    router.add_get("/staff", b(staff_page))
    router.add_post("/staff", b(add_staff))
    router.add_get(r"/staff/{staff:[0-9a-f-]{36}}/remove", b(confirm_removal))
    router.add_post(r"/staff/{staff:[0-9a-f-]{36}}/{action:role|remove}", b(change_staff))
    router.add_post(r"/staff/{staff:[0-9a-f-]{36}}/scope", b(change_scope))
    router.add_post(r"/staff/{staff:[0-9a-f-]{36}}/sessions/end", b(end_staff_sessions))
    router.add_get("/sessions", b(sessions_page))
    router.add_post("/sessions/end", b(end_own_sessions))
    router.add_get("/audit", b(audit_page))
