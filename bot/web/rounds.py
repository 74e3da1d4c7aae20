"""Console pages of the due list and reminder rounds: who is due (and why some will not
be reminded), a round previewed then confirmed (the list sent is exactly the list
confirmed), its live progress, pause and resume, its final report; scheduled rounds."""

from __future__ import annotations

import hashlib

from aiohttp import web

from bot.web.app import (
    N_,
    USER,
    Binder,
    Console,
    gettext_for,
    language_of,
    requires,
    wave_and_country,
)
from storage import outbox, schedules
from storage.outbox import RoundPreview
from storage.waves import WAVES, Wave

#: rows of the due list shown on one page (the counts cover everyone)
SHOWN = 200


def list_digest(preview: RoundPreview) -> str:
    """A fingerprint of the returnees a round would remind (no personal data: internal
    ids, hashed): the confirmation carries it, and a round starts only if it still holds."""
    ids = "\n".join(sorted(d.returnee_id for d in preview.to_remind))
    return hashlib.sha256(f"{preview.wave}|{preview.country}|{ids}".encode()).hexdigest()


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
    due = await outbox.due_returnees(
        console.store,
        wave=wave,
        country=country,
        windows=console.windows,
        today=console.today(),
        include_case_ref=with_case_ref,
        case_refs_for=SHOWN,  # (only the rows shown are decrypted, and audited)
        actor=user.actor,
    )
    preview = RoundPreview(wave=wave, country=country, due=due) if wave else None
    _ = gettext_for(language_of(request))
    return console.page(
        request,
        "due.html",
        status,
        title=_("Due and rounds"),
        wave=wave,
        country=country or "",
        waves=WAVES,
        due=due[:SHOWN],
        more=max(len(due) - SHOWN, 0),
        total=len(due),
        to_remind=sum(d.skip is None for d in due),
        skipped=sorted(RoundPreview(wave="initial", country=None, due=due).skipped.items()),
        with_case_ref=with_case_ref,
        digest=list_digest(preview) if preview else None,
        problem=problem,
        rounds=await outbox.recent_rounds(console.store, limit=5),
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
    preview = await outbox.preview_round(
        console.store, wave=w, country=country, windows=console.windows, today=console.today()
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
    round_id = await outbox.create_round(console.store, preview, actor=request[USER].actor)
    console.send_round(round_id)
    raise web.HTTPSeeOther(f"{console.base}/rounds/{round_id}")


@requires("round")
async def rounds_page(console: Console, request: web.Request) -> web.StreamResponse:
    _ = gettext_for(language_of(request))
    return console.page(
        request,
        "rounds.html",
        title=_("Reminder rounds"),
        rounds=await outbox.recent_rounds(console.store, limit=50),
    )


@requires("round")
async def round_page(console: Console, request: web.Request) -> web.StreamResponse:
    try:
        report = await outbox.report(console.store, request.match_info["round"])
    except LookupError:
        return console.refuse(request, 404, N_("There is no such round."))
    _ = gettext_for(language_of(request))
    return console.page(
        request,
        "round.html",
        title=_("Reminder round"),
        report=report,
        sending=console.bot is not None,
        # the page reloads itself while the round runs (no script: a refresh header)
        refresh=not (report.finished or report.paused),
    )


@requires("round")
async def round_action(console: Console, request: web.Request) -> web.StreamResponse:
    round_id = request.match_info["round"]
    pause = request.match_info["action"] == "pause"
    if not await outbox.set_paused(console.store, round_id, pause, actor=request[USER].actor):
        return console.refuse(request, 404, N_("There is no such round, or it has finished."))
    if not pause:
        console.send_round(round_id)
    raise web.HTTPSeeOther(f"{console.base}/rounds/{round_id}")


@requires("round")
async def schedules_page(console: Console, request: web.Request) -> web.StreamResponse:
    return console.page(
        request,
        "schedules.html",
        title=gettext_for(language_of(request))("Scheduled rounds"),
        schedules=await schedules.list_schedules(console.store),
        waves=WAVES,
    )


@requires("round")
async def schedule_action(console: Console, request: web.Request) -> web.StreamResponse:
    user = request[USER]
    action = request.match_info["action"]
    done = await schedules.set_active(
        console.store, request.match_info["schedule"], action == "resume", actor=user.actor
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
            await schedules.add_schedule(
                console.store,
                wave=wave,
                country=country,
                hour=int(hour),
                repeat_days=int(repeat) if repeat.strip() else None,
                actor=request[USER].actor,
            )
        except ValueError as exc:
            problem = str(exc)
    if problem is not None:
        return console.page(
            request,
            "schedules.html",
            400,
            title=_("Scheduled rounds"),
            schedules=await schedules.list_schedules(console.store),
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
