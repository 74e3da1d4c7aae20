"""Console pages that bring a returnee in: enrol one by form, and make a new invitation
link for one who lost theirs. The link and its QR code are shown once, on the page that
made them, ready to print or to show on the caseworker's phone: only a fingerprint of the
link's token is stored, so it cannot be shown again (a new one can be made)."""

from __future__ import annotations

import asyncio
import base64
import io
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.caseload_file import CaseloadFileError, check_file, limit_to_scope
from bot.invitation_codes import qr_png
from bot.invitation_sheet import handed_over, invitations_for, render_sheet, write_links_to
from bot.languages import languages
from bot.staff import invitation_link, whatsapp_invitation_link
from bot.staff import records as staff_records
from bot.staff_words import N_
from bot.web.app import USER, Binder, Console, gettext_for, language_of, requires
from bot.whatsapp.invitations import send_invitations
from bot.whatsapp.reminders import WhatsAppCourier
from storage.returnees import ReturneeInfo
from storage.store import CaseAlreadyEnrolled, InviteProblem

#: how long a link made here stays valid unless staff choose otherwise
VALID_DAYS = 30
#: the longest case reference accepted (organisations' references are short codes)
CASE_REF_MAX = 64


def channels(console: Console) -> list[str]:
    """The channels a returnee can be invited to: those the console has a link for."""
    offered = []
    if console.telegram_username:
        offered.append("telegram")
    if console.whatsapp_number:
        offered.append("whatsapp")
    return offered


def _link(console: Console, channel: str, token: str) -> str:
    if channel == "whatsapp":
        return whatsapp_invitation_link(console.whatsapp_number or "", token)
    return invitation_link(console.telegram_username, token)


def _invitation(
    console: Console,
    request: web.Request,
    returnee: ReturneeInfo,
    channel: str,
    token: str,
    days: int,
) -> web.Response:
    """The page with the link: the part handed to the returnee is in their language."""
    _ = gettext_for(language_of(request))
    link = _link(console, channel, token)
    public_id = returnee.public_id
    return console.page(
        request,
        "invitation.html",
        title=_("Invitation for {returnee}").format(returnee=public_id),
        public_id=public_id,
        channel=channel,
        link=link,
        qr=base64.b64encode(qr_png(link)).decode(),
        valid_days=days,
        returnee_lang=returnee.language,
        returnee_dir=languages().direction(returnee.language),
        handed=handed_over(returnee.language, channel, public_id, days),
    )


def _valid_days(value: Any) -> int | None:
    text = str(value or VALID_DAYS).strip()
    return int(text) if text.isdigit() and 1 <= int(text) <= 365 else None


async def _form(
    console: Console,
    request: web.Request,
    status: int = 200,
    problem: str | None = None,
    form: Any = None,
    holder: str | None = None,
) -> web.Response:
    _ = gettext_for(language_of(request))
    return console.page(
        request,
        "enrol.html",
        status,
        title=_("Enrol a returnee"),
        channels=channels(console),
        ui_languages=languages().interface,
        form=form or {},
        problem=problem,
        holder=holder,
        today=console.today().isoformat(),
        valid_days=VALID_DAYS,
    )


@requires("invite")
async def enrol_page(console: Console, request: web.Request) -> web.StreamResponse:
    return await _form(console, request)


@requires("invite")
async def enrol(console: Console, request: web.Request) -> web.StreamResponse:
    form = await request.post()
    _ = gettext_for(language_of(request))
    case_ref = " ".join(str(form.get("case_ref") or "").split())
    country = str(form.get("country") or "").strip().upper()
    language = str(form.get("language") or "")
    channel = str(form.get("channel") or "")
    days = _valid_days(form.get("valid_days"))
    problem = None
    try:
        returned = date.fromisoformat(str(form.get("return_date") or ""))
    except ValueError:
        returned = None
    if not case_ref or len(case_ref) > CASE_REF_MAX:
        problem = _("Give the case reference (up to {n} characters).").format(n=CASE_REF_MAX)
    elif returned is None:
        problem = _("Give the date of return.")
    elif returned > console.today():
        problem = _("The date of return is in the future.")
    elif country and not (country.isalpha() and len(country) <= 8):
        problem = _("The country is a code of letters, like GN.")
    elif language not in languages().interface:
        problem = _("Choose the language the returnee reads best.")
    elif channel not in channels(console):
        problem = _("Choose the chat app the returnee uses.")
    elif days is None:
        problem = _("A link stays valid from 1 to 365 days.")
    if problem is not None or returned is None or days is None:
        return await _form(console, request, 400, problem, form)
    try:
        returnee = await console.store.enroll(
            case_ref=case_ref,
            return_date=returned,
            country=country or None,
            language=language,
            actor=request[USER].actor,
        )
    except CaseAlreadyEnrolled as exc:
        problem = _(
            "This case reference is already enrolled as {returnee}: nothing was changed. "
            "Make a new invitation link for them instead."
        ).format(returnee=exc.holder.public_id)
        return await _form(console, request, 409, problem, form, holder=exc.holder.public_id)
    token = await console.store.create_invite(returnee.id, valid_days=days)
    return _invitation(console, request, returnee, channel, token, days)


@requires("invite")
async def reinvite(console: Console, request: web.Request) -> web.StreamResponse:
    """A new link for an enrolled returnee (found by their R- id): earlier unused links
    stop working."""
    form = await request.post()
    _ = gettext_for(language_of(request))
    public_id = str(form.get("public_id") or "").strip().upper()
    channel = str(form.get("channel") or "")
    days = _valid_days(form.get("valid_days")) or VALID_DAYS
    info = await staff_records.find_returnee(
        console.store, request[USER], public_id=public_id or None, action="invite"
    )
    if info is None:
        return console.refuse(request, 404, N_("No returnee with this id."))
    if channel not in channels(console):
        return console.refuse(request, 400, N_("Choose the chat app the returnee uses."))
    try:
        token = await console.store.reissue_invite(
            info.id, valid_days=days, actor=request[USER].actor
        )
    except InviteProblem:
        return console.refuse(
            request,
            409,
            N_("This returnee declined to take part: enrol them again if they agree."),
        )
    return _invitation(console, request, info, channel, token, days)


async def _import_form(
    console: Console,
    request: web.Request,
    status: int = 200,
    **values: Any,
) -> web.Response:
    _ = gettext_for(language_of(request))
    return console.page(
        request,
        "caseload_import.html",
        status,
        title=_("Import a caseload"),
        channels=channels(console),
        whatsapp_sender=any(c.channel == "whatsapp" for c in console.couriers),
        valid_days=VALID_DAYS,
        **values,
    )


@requires("invite")
async def import_page(console: Console, request: web.Request) -> web.StreamResponse:
    return await _import_form(console, request)


@requires("invite")
async def import_caseload(console: Console, request: web.Request) -> web.StreamResponse:
    """Check an uploaded caseload; import it when every row is right (or only check it)."""
    user = request[USER]
    _ = gettext_for(language_of(request))
    form = await request.post()
    upload = form.get("file")
    days = _valid_days(form.get("valid_days")) or VALID_DAYS
    if not isinstance(upload, web.FileField) or not upload.filename:
        return await _import_form(console, request, 400, problem=_("Choose a file to import."))
    suffix = Path(upload.filename).suffix.casefold()
    if suffix not in (".xlsx", ".csv"):
        return await _import_form(
            console, request, 400, problem=_("A caseload is an .xlsx or .csv file.")
        )
    with tempfile.TemporaryDirectory(prefix="rssbot-caseload-") as folder:
        path = Path(folder) / f"caseload{suffix}"
        path.write_bytes(upload.file.read())
        try:
            checked = await asyncio.to_thread(
                check_file, path, console.programme, console.definition.languages, console.today()
            )
        except CaseloadFileError as exc:
            return await _import_form(console, request, 400, problem=str(exc))
    hidden = await console.store.caseload.out_of_scope(
        [r.case_ref for r in checked.records], user.scope
    )
    limit_to_scope(checked, user.scope, hidden)
    if not checked.ok:
        return await _import_form(
            console, request, 400, checked=checked, errors=checked.errors[:200],
            problem=_("Nothing was imported: fix the rows below and upload the file again."),
        )  # fmt: skip
    records = checked.records
    if form.get("dry_run"):
        known = await console.store.caseload.enrolled([r.case_ref for r in records])
        return await _import_form(
            console, request, checked=checked, preview=(len(records) - known, known)
        )
    outcome = await console.store.caseload.import_records(
        records, actor=user.actor, valid_days=days
    )
    report = None
    if form.get("send_whatsapp") and outcome.created:
        courier = next((c for c in console.couriers if c.channel == "whatsapp"), None)
        if isinstance(courier, WhatsAppCourier):
            report = await send_invitations(
                courier, console.store, outcome.created, actor=user.actor
            )
    invitations = invitations_for(
        outcome.created,
        checked.channels,
        telegram_username=console.telegram_username,
        whatsapp_number=console.whatsapp_number,
        valid_until=console.today() + timedelta(days=days),
    )
    links = io.StringIO()
    write_links_to(invitations, links)
    sheet = render_sheet(invitations, language=language_of(request), days=days)
    return await _import_form(
        console,
        request,
        checked=checked,
        outcome=outcome,
        report=report,
        links_csv=base64.b64encode(links.getvalue().encode("utf-8-sig")).decode(),
        sheet_html=base64.b64encode(sheet.encode("utf-8")).decode(),
        stamp=console.today().isoformat(),
    )


def add_routes(router: web.UrlDispatcher, b: Binder) -> None:
    router.add_get("/caseload/import", b(import_page))
    router.add_post("/caseload/import", b(import_caseload))
    router.add_get("/enrol", b(enrol_page))
    router.add_post("/enrol", b(enrol))
    router.add_post("/invite", b(reinvite))
