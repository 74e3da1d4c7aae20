"""Staff commands in Telegram: /due, /round, /stats, /case, /export, /invite (by role).

Anyone who is not registered staff gets the same answer as for an unknown command, so the
bot does not reveal that staff features exist.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Literal, cast

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    Message,
)

from bot import exports
from bot.i18n import Translator, proposed_language
from bot.invitation_codes import qr_png
from bot.settings import DisclosureSettings
from bot.staff import Staff, allowed, invitation_link
from bot.staff import records as staff_records
from bot.staff import rounds as staff_rounds
from bot.staff_reads import StaffReadFailed, run_rssbot, weights_arguments
from bot.staff_words import ENGLISH as words
from bot.survey_scores import weights_note
from bot.telegram.edits import quietly, remove_keyboard, send_long
from bot.telegram.keyboards import RoundCB, rows
from bot.telegram.sender import RoundSender
from bot.telegram.services import Services
from storage import console_auth, reports
from storage.outbox import RoundReport
from storage.store import InviteProblem, ReturneeInfo
from storage.waves import WAVES, Wave

log = logging.getLogger(__name__)


class StaffRole(Filter):
    """Lets through only registered staff whose role allows ``action`` (any staff member
    without one), handing the handler ``staff``; others fall through to
    :func:`on_not_for_you`."""

    def __init__(self, action: str | None = None) -> None:
        self.action = action

    async def __call__(
        self, event: Message | CallbackQuery, svc: Services
    ) -> bool | dict[str, Any]:
        user = event.from_user
        member = await svc.store.staff.identity(user.id) if user is not None else None
        if member is None or (self.action is not None and not allowed(member.role, self.action)):
            return False
        return {"staff": Staff(member.actor, member.role, member.scope, member.staff_id)}


async def on_not_for_you(event: Message | CallbackQuery) -> None:
    """A staff command or button from someone whose role does not allow it (or who is not
    staff): as for any unknown command."""
    text = Translator("en")("I do not know this command. Send /help to see what I can do.")
    if isinstance(event, Message):
        await event.answer(text)
    else:
        await event.answer(text, show_alert=True)


def _args(command: CommandObject) -> list[str]:
    return (command.args or "").split()


def _wave_and_country(args: list[str], default: Wave | None) -> tuple[Wave | None, str | None]:
    wave: Wave | None = default
    country = None
    for arg in args:
        if arg in WAVES:
            wave = arg
        elif len(arg) <= 3 and arg.isalpha():
            country = arg.upper()
    return wave, country


#: due returnees listed in the chat (the count covers everyone)
DUE_SHOWN = 40


async def on_due(message: Message, command: CommandObject, svc: Services, staff: Staff) -> None:
    wave, country = _wave_and_country(_args(command), None)
    due = await staff_rounds.who_is_due(
        svc.store,
        staff,
        wave=wave,
        country=country,
        windows=svc.windows,
        today=svc.today(),
        case_refs_for=DUE_SHOWN,  # (only the rows shown are decrypted, and audited)
    )
    lines = [f"Due today: {len(due)} ({sum(d.skip is None for d in due)} to remind)"]
    for d in due[:DUE_SHOWN]:
        reminder = "to remind" if d.skip is None else words.reason(d.skip)
        case = f" ({d.case_ref})" if d.case_ref else ""
        lines.append(
            f"{d.public_id}{case} {d.country or '-'} {words.wave(d.wave)}: "
            f"{words.survey_status(d.wave_status)} · {words.channel(d.channel)} · {reminder}"
        )
    if len(due) > DUE_SHOWN:
        lines.append(f"… and {len(due) - DUE_SHOWN} more (rssbot due)")
    await message.answer("\n".join(lines))


async def on_round(message: Message, command: CommandObject, svc: Services, staff: Staff) -> None:
    wave, country = _wave_and_country(_args(command), None)
    if wave is None:
        await message.answer("Usage: /round initial|intermediate|final [country]")
        return
    preview = await staff_rounds.preview_round(
        svc.store, staff, wave=wave, country=country, windows=svc.windows, today=svc.today()
    )
    lines = [
        f"Round '{wave}'{' in ' + country if country else ''}: {len(preview.to_remind)} to remind"
    ]
    lines += [
        f"skipped, {words.reason(reason)}: {count}"
        for reason, count in sorted(preview.skipped.items())
    ]
    if not preview.to_remind:
        await message.answer("\n".join([*lines, "Nobody to remind."]))
        return
    keyboard = rows(
        [
            InlineKeyboardButton(
                text=f"Send {len(preview.to_remind)} reminders",
                callback_data=RoundCB(wave=wave, country=country or "", go=True).pack(),
            )
        ],
        [
            InlineKeyboardButton(
                text="Cancel", callback_data=RoundCB(wave=wave, country="", go=False).pack()
            )
        ],
    )
    await message.answer("\n".join(lines), reply_markup=keyboard)


async def on_console(message: Message, svc: Services, staff: Staff) -> None:
    """A single-use sign-in link to the web console, for any staff member."""
    from bot.web.links import sign_in_link

    try:
        assert staff.staff_id is not None
        token = await console_auth.issue_link(svc.store, staff.staff_id)
    except console_auth.TooManyLinks as exc:
        await message.answer(f"{exc}: please wait a little.")
        return
    await message.answer(
        f"Your sign-in link to the staff console (works once, for "
        f"{int(console_auth.LINK_TTL.total_seconds() // 60)} minutes):\n{sign_in_link(token)}"
    )


SCHEDULE_USAGE = (
    "/schedule: the scheduled rounds\n"
    "/schedule add WAVE [COUNTRY] [HOUR] [every DAYS]: each day at HOUR (UTC, default 9) "
    "a round for whoever became due; 'every 14' reminds again every 14 days\n"
    "/schedule pause|resume|remove ID"
)


async def on_schedule(
    message: Message, command: CommandObject, svc: Services, staff: Staff
) -> None:
    """Scheduled rounds from the chat: list, add, pause, resume, remove."""
    args = _args(command)
    verb = args[0].lower() if args else "list"
    if verb == "list":
        listed = await staff_rounds.list_schedules(svc.store, staff)
        lines = [
            f"{s.id[:8]} {s.describe()}; last ran: "
            f"{s.last_run_on.isoformat() if s.last_run_on else 'never'}"
            for s in listed
        ]
        await message.answer("\n".join(lines or ["No scheduled round."]) + "\n\n" + SCHEDULE_USAGE)
        return
    if verb == "add":
        await message.answer(await _add_schedule(svc, args[1:], staff))
        return
    if verb in ("pause", "resume", "remove") and len(args) == 2:
        change = cast(Literal["pause", "resume", "remove"], verb)
        found = await staff_rounds.change_schedule(svc.store, staff, args[1], change)
        if found is None:
            await message.answer(f"No schedule '{args[1]}'. Send /schedule to see them.")
            return
        await message.answer(f"{verb.capitalize()}d: {found.describe()}")
        return
    await message.answer(SCHEDULE_USAGE)


async def _add_schedule(svc: Services, args: list[str], staff: Staff) -> str:
    wave: Wave | None = None
    country, hour, repeat = None, 9, None
    rest = iter(args)
    for arg in rest:
        if arg in WAVES:
            wave = arg
        elif arg.lower() == "every":
            days = next(rest, "")
            if not days.isdigit():
                return "Write 'every' and a number of days, e.g. every 14.\n\n" + SCHEDULE_USAGE
            repeat = int(days)
        elif arg.isdigit():
            hour = int(arg)
        elif len(arg) <= 3 and arg.isalpha():
            country = arg.upper()
        else:
            return f"I do not understand '{arg}'.\n\n" + SCHEDULE_USAGE
    if wave is None:
        return "Which wave? initial, intermediate or final.\n\n" + SCHEDULE_USAGE
    try:
        added = await staff_rounds.add_schedule(
            svc.store, staff, wave=wave, country=country, hour=hour, repeat_days=repeat
        )
    except ValueError as exc:
        return f"{exc}.\n\n" + SCHEDULE_USAGE
    return f"Scheduled {added.id[:8]}: {added.describe()}"


def _status(report: RoundReport, total: int) -> str:
    done = total - report.pending
    lines = [f"Round '{words.wave(report.wave)}': {done}/{total}"]
    for status in ("sent", "skipped", "failed", "unconfirmed"):
        if report.counts[status]:
            lines.append(f"{words.reminder_status(status)}: {report.counts[status]}")
    lines += [
        f"  {words.reason(reason)}: {count}" for reason, count in sorted(report.reasons.items())
    ]
    by_channel = words.by_channel(report.channels)
    lines.append(f"by channel: {by_channel}")
    return "\n".join(lines)


async def on_round_confirm(
    query: CallbackQuery, callback_data: RoundCB, svc: Services, bot: Bot, staff: Staff
) -> None:
    if not isinstance(query.message, Message):
        return
    await query.answer()
    await remove_keyboard(query.message)
    if not callback_data.go or callback_data.wave not in WAVES:
        await query.message.answer("Cancelled.")
        return
    preview = await staff_rounds.preview_round(
        svc.store,
        staff,
        wave=callback_data.wave,
        country=callback_data.country or None,
        windows=svc.windows,
        today=svc.today(),
    )
    round_id = await staff_rounds.start_round(svc.store, staff, preview)
    total = len(preview.to_remind)
    status = await query.message.answer(f"Round '{preview.wave}': 0/{total}")
    sender = RoundSender(
        svc.store,
        svc.sender_bot or bot,
        svc.limiter(),
        metrics=svc.metrics,
        couriers=svc.couriers,
    )
    last_edit = 0.0

    async def progress(report: RoundReport) -> None:
        nonlocal last_edit
        if time.monotonic() - last_edit >= 2.0 or report.pending == 0:
            last_edit = time.monotonic()
            await quietly(  # (unchanged text, e.g. during a 429 pause, is refused)
                bot.edit_message_text(
                    _status(report, total), chat_id=status.chat.id, message_id=status.message_id
                )
            )

    async def run() -> None:
        try:
            report = await sender.run(round_id, progress=progress)
            await bot.send_message(
                status.chat.id,
                _status(report, total) + "\n" + sender.stats.pace(svc.send_rate),
            )
        except Exception:
            log.exception("round %s stopped; 'rssbot round resume' finishes it", round_id)

    task = asyncio.create_task(run())
    svc.background.add(task)
    task.add_done_callback(svc.background.discard)


def _with_note(caption: str, svc: Services) -> str:
    """A caption of scores, with the weight table's status while it is provisional."""
    note = weights_note(svc.table)
    return f"{caption}\n{note}" if note else caption


def _in_background(
    svc: Services, bot: Bot, chat_id: int, work: Coroutine[Any, Any, None], failure: str
) -> None:
    """Run a staff read beside the updates (its heavy part in a child process); if it
    fails, the staff member reads ``failure`` and the cause is logged."""

    async def run() -> None:
        try:
            await work
        except Exception as exc:
            if not isinstance(exc, StaffReadFailed):
                log.exception("a staff read stopped")
            await quietly(bot.send_message(chat_id, failure))

    task = asyncio.create_task(run())
    svc.background.add(task)
    task.add_done_callback(svc.background.discard)


def _surveys_written(output: str) -> int:
    """How many surveys the command line said it wrote ('FILE: N surveys ...')."""
    found = re.search(r": (\d+) surveys", output)
    return int(found.group(1)) if found else 0


async def on_stats(
    message: Message, command: CommandObject, svc: Services, bot: Bot, staff: Staff
) -> None:
    who = staff.actor
    wave, country = _wave_and_country(_args(command), "initial")
    assert wave is not None
    n = await reports.count_completed(
        svc.store, reports.Selection(wave=wave, country=country, scope=staff.scope)
    )
    k = DisclosureSettings().min_cell_size
    if 0 < n < k:
        where = f", {country}" if country else ""
        await message.answer(
            f"Fewer than {k} completed surveys ({wave}{where}): no figure is shown, so that "
            "no one's answers can be read from it."
        )
        return
    await message.answer(f"Drawing the chart of {n} completed surveys ({wave})…")

    async def work() -> None:
        with tempfile.TemporaryDirectory(prefix="rssbot-chart-") as folder:
            path = Path(folder) / f"stats-{wave}.png"
            arguments = ["chart", "cohort", "--wave", wave, "--output", str(path)]
            arguments += [*(["--country", country] if country else []), "--as", who]
            output = await run_rssbot(svc.store, arguments + weights_arguments(svc.table))
            drawn = _surveys_written(output)
            where = f", {country}" if country else ""
            await bot.send_photo(
                message.chat.id,
                FSInputFile(path),
                caption=_with_note(f"Wave {wave}{where}: {drawn} completed surveys", svc),
            )

    _in_background(
        svc, bot, message.chat.id, work(), "The chart could not be drawn; please try again later."
    )


async def _by_case_reference(
    svc: Services, message: Message, command: CommandObject, action: str, staff: Staff
) -> tuple[str, ReturneeInfo] | None:
    """The staff member and the returnee named by the command's case reference (the
    look-up is audited); None once the reason was said."""
    who = staff.actor
    reference = (command.args or "").strip()
    if not reference:
        await message.answer(f"Usage: /{action} CASE-REFERENCE")
        return None
    info = await staff_records.find_returnee(svc.store, staff, case_ref=reference, action=action)
    if info is None:
        await message.answer("No returnee with this case reference (rssbot enroll adds one).")
        return None
    return who, info


async def on_case(
    message: Message, command: CommandObject, svc: Services, bot: Bot, staff: Staff
) -> None:
    found = await _by_case_reference(svc, message, command, "case", staff)
    if found is None:
        return
    who, info = found

    async def work() -> None:
        with tempfile.TemporaryDirectory(prefix="rssbot-chart-") as folder:
            path = Path(folder) / f"{info.public_id}.png"
            arguments = ["chart", "returnee", "--returnee", info.public_id]
            arguments += ["--output", str(path), "--as", who]
            await run_rssbot(svc.store, arguments + weights_arguments(svc.table))
            status = words.returnee_status(info.status, info.bound)
            caption = f"{info.public_id} · {status} · returned {info.return_date or '-'}"
            await bot.send_photo(
                message.chat.id, FSInputFile(path), caption=_with_note(caption, svc)
            )

    _in_background(
        svc, bot, message.chat.id, work(), "The chart could not be drawn; please try again later."
    )


#: Telegram takes documents of up to 50 MB
UPLOAD_LIMIT = 50 * 1024 * 1024


async def on_export(
    message: Message, command: CommandObject, svc: Services, bot: Bot, staff: Staff
) -> None:
    """/export [xlsx] [long] [wave] [country]: the export and its codebook, with labels in
    the staff member's language, prepared in a child process."""
    who = staff.actor
    args = _args(command)
    fmt = "xlsx" if "xlsx" in args else "csv"
    layout = "long" if "long" in args else "wide"
    wave, country = _wave_and_country(
        [a for a in args if a not in (*exports.FORMATS, *exports.LAYOUTS)], None
    )
    language = message.from_user.language_code if message.from_user else None
    labels = language if language in svc.definition.languages else "en"
    selection = reports.Selection(
        wave=wave, country=country, flow_id=svc.definition.id, scope=staff.scope
    )
    n = await reports.count_completed(svc.store, selection)
    await message.answer(f"Preparing the export of {n} completed surveys ({selection.describe()})…")

    async def work() -> None:
        with tempfile.TemporaryDirectory(prefix="rssbot-export-") as folder:
            path = Path(folder) / f"rss-surveys.{fmt}"
            arguments = ["export", "--format", fmt, "--layout", layout, "--labels", labels]
            arguments += [*(["--wave", wave] if wave else []), "--as", who]
            arguments += [*(["--country", country] if country else [])]
            arguments += ["--output", str(path), *weights_arguments(svc.table)]
            output = await run_rssbot(svc.store, arguments)
            repeats = [exports.repeat_path(path, r) for r in svc.definition.repeats]
            files = [path, exports.codebook_path(path), *repeats] if fmt == "csv" else [path]
            if any(f.stat().st_size > UPLOAD_LIMIT for f in files):
                await bot.send_message(
                    message.chat.id,
                    "The export is larger than Telegram's 50 MB: choose a wave or a country, "
                    "or use 'rssbot export' on the server.",
                )
                return
            caption = f"{_surveys_written(output)} completed surveys ({selection.describe()})"
            await bot.send_document(
                message.chat.id, FSInputFile(path), caption=_with_note(caption, svc)
            )
            if fmt == "csv":
                await bot.send_document(message.chat.id, FSInputFile(files[1]), caption="Codebook")
                for repeat, repeat_file in zip(svc.definition.repeats, repeats, strict=True):
                    await bot.send_document(
                        message.chat.id,
                        FSInputFile(repeat_file),
                        caption=f"Repeat '{repeat}': one row per instance",
                    )

    _in_background(svc, bot, message.chat.id, work(), "The export stopped; please try again later.")


async def on_invite(
    message: Message, command: CommandObject, svc: Services, bot: Bot, staff: Staff
) -> None:
    """/invite CASE-REFERENCE: a new invitation link for an enrolled returnee (earlier
    unused links stop working)."""
    found = await _by_case_reference(svc, message, command, "invite", staff)
    if found is None:
        return
    who, info = found
    try:
        token = await svc.store.reissue_invite(info.id, actor=who)
    except InviteProblem:
        await message.answer(f"{info.public_id} declined to take part: enrol them again.")
        return
    me = await bot.me()
    link = invitation_link(me.username, token)
    await message.answer(
        f"New invitation for {info.public_id} (single use, valid 30 days; earlier links no "
        f"longer work):\n{link}"
    )
    await bot.send_photo(
        message.chat.id,
        BufferedInputFile(qr_png(link), filename=f"{info.public_id}.png"),
        caption=f"{info.public_id}: the same invitation as a QR code, to scan with a camera",
        protect_content=True,
    )


async def on_inbox(message: Message, svc: Services) -> None:
    user = message.from_user
    assert user is not None
    _ = Translator(proposed_language(user.language_code))
    member = await svc.store.staff.identity(user.id)
    if member is None or member.role != "feedback_officer":
        await message.answer(_("Only feedback officers can read feedback."))
        return
    items = await staff_records.all_feedback(svc.store, member)
    if not items:
        await message.answer(_("No feedback yet."))
        return
    lines = []
    for item in items:
        who = _("anonymous") if item["anonymous"] else _("with name")
        rating = item["rating"] if item["rating"] is not None else "-"
        lines.append(
            f"{item['receipt']} · {item['date']} · {who} · {rating}/5\n{html.escape(item['text'])}"
        )
    await send_long(message, "\n\n".join(lines))


#: staff commands and the action each needs (None: any staff member)
COMMANDS: dict[str, str | None] = {
    "due": "due",
    "round": "round",
    "schedule": "round",
    "console": None,
    "stats": "stats",
    "case": "case",
    "export": "export",
    "invite": "invite",
}


def build_staff_router() -> Router:
    """Staff commands behind the role filter; what it does not let through is answered
    as an unknown command (``/inbox`` says itself who may read feedback)."""
    router = Router(name="staff")
    handlers: dict[str, Callable[..., Awaitable[None]]] = {
        "due": on_due,
        "round": on_round,
        "schedule": on_schedule,
        "console": on_console,
        "stats": on_stats,
        "case": on_case,
        "export": on_export,
        "invite": on_invite,
    }
    for name, handler in handlers.items():
        router.message.register(handler, Command(name), StaffRole(COMMANDS[name]))
    router.callback_query.register(on_round_confirm, RoundCB.filter(), StaffRole("round"))
    router.message.register(on_inbox, Command("inbox"))
    router.message.register(on_not_for_you, Command(*COMMANDS))
    router.callback_query.register(on_not_for_you, RoundCB.filter())
    return router
