"""Staff operations from the terminal: staff, due, rounds, exports, re-scoring, charts."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot import exports
from bot.common import configured_definition, configured_programme, fail, open_store
from bot.settings import BotSettings, DisclosureSettings, WhatsAppSettings
from bot.staff import ROLES, NotAllowed, Staff, accounts, allowed
from bot.staff import records as staff_records
from bot.staff import rounds as staff_rounds
from bot.staff_words import ENGLISH as words
from bot.survey_scores import configured_weight_table, scoring_gap, weights_line
from scoring import WeightTable, WeightTableError
from scoring.cohort import CohortStats
from storage import outbox, reports, schedules
from storage.outbox import DueReturnee, RoundPreview, RoundReport
from storage.scopes import EVERYONE, BadScope, Scope
from storage.staff_audit import BadStaffAccount
from storage.store import Store
from storage.waves import WAVES, Wave, WaveWindows, today_utc

if TYPE_CHECKING:
    from scoring.programme import ProgrammeTables

staff_app = typer.Typer(help="Staff members and their roles.", no_args_is_help=True)
round_app = typer.Typer(help="Reminder rounds.", no_args_is_help=True)
chart_app = typer.Typer(help="Charts as PNG.", no_args_is_help=True)
#: the terminal's width, or a wide table when the output goes to a file or a pipe
console = Console(width=shutil.get_terminal_size((160, 24)).columns)
T = TypeVar("T")


def actor(role: str = "admin") -> str:
    return f"cli:{getpass.getuser()}:{role}"


AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Act as this staff member (their email address): their role and the returnees "
        "they may see apply, and the audit log names them. Default: the operator, who sees "
        "every returnee.",
    ),
]


async def acting(store: Store, who: str | None, role: str = "admin") -> Staff:
    """Who a command acts as: the operator (every returnee, with the role asked for), or
    the staff member ``--as`` names (role and scope from the staff table)."""
    if who is None:
        return Staff(actor(role), role, EVERYONE)
    found = await store.staff.identity(who)
    if found is None:
        fail(f"no staff member '{who}' (staff list: rssbot staff list)")
    return Staff(found.actor, found.role, found.scope, found.staff_id)


def windows() -> WaveWindows:
    try:
        return WaveWindows.parse(os.environ.get("RSSBOT_WAVE_WINDOWS"))
    except ValueError as exc:
        fail(f"RSSBOT_WAVE_WINDOWS: {exc}")


def _wave(value: str | None) -> Wave | None:
    if value is None:
        return None
    if value not in WAVES:
        fail(f"unknown wave '{value}': choose one of {', '.join(WAVES)}")
    return value


def _role(value: str) -> str:
    if value not in ROLES:
        fail(f"unknown role '{value}': choose one of {', '.join(ROLES)}")
    return value


async def _with_store(work: Callable[[Store], Awaitable[T]]) -> T:
    store = await open_store()
    try:
        return await work(store)
    except NotAllowed as exc:
        fail(str(exc))
    finally:
        await store.close()


# -- staff ---------------------------------------------------------------------------------


TelegramIdOption = Annotated[
    int | None, typer.Option("--telegram-id", help="The staff member's Telegram user id.")
]
EmailOption = Annotated[
    str | None, typer.Option(help="Their work email address (sign-in links are sent to it).")
]


def _account(telegram_id: int | None, email: str | None) -> None:
    if telegram_id is None and email is None:
        fail("give --email, --telegram-id or both")


@staff_app.command("add")
def staff_add(
    role: Annotated[str, typer.Option(help="admin, caseworker, feedback_officer or viewer.")],
    telegram_id: TelegramIdOption = None,
    email: EmailOption = None,
    name: Annotated[
        str | None, typer.Option(help="Who they are, for the staff list (e.g. 'Aminata, Conakry').")
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option(
            help="Which returnees they see and act on: all, country codes (GN,ML), "
            "offices:Conakry,Kankan, or caseload (those whose caseworker in the caseload "
            "import is their email or name). New members: all."
        ),
    ] = None,
) -> None:
    """Register a staff member by email address, Telegram id or both (or change their
    role and scope). Only a pseudonym of a Telegram id is kept."""
    role = _role(role)
    _account(telegram_id, email)
    try:
        chosen = Scope.parse(scope) if scope is not None else None
    except BadScope as exc:
        fail(f"--scope: {exc}")

    async def work(store: Store) -> str:
        try:
            operator = await acting(store, None)
            return await accounts.add_member(
                store,
                operator,
                role=role,
                telegram_id=telegram_id,
                email=email,
                name=name,
                scope=chosen,
            )
        except BadStaffAccount as exc:
            fail(str(exc))

    staff_id = asyncio.run(_with_store(work))
    who = f"{' (' + name.strip() + ')' if name else ''}"
    sees = f", sees {words.scope(chosen)}" if chosen is not None else ""
    typer.echo(f"staff {staff_id[:8]}{who}: {role}{sees}")


@staff_app.command("remove")
def staff_remove(telegram_id: TelegramIdOption = None, email: EmailOption = None) -> None:
    """Remove a staff member (their console sessions end)."""
    _account(telegram_id, email)
    if not asyncio.run(_with_store(lambda s: s.remove_staff(telegram_id, email=email))):
        fail(f"no staff member with {'Telegram id ' + str(telegram_id) if telegram_id else email}",
             code=1)  # fmt: skip
    typer.echo("removed")


@staff_app.command("login-link")
def staff_login_link(telegram_id: TelegramIdOption = None, email: EmailOption = None) -> None:
    """A single-use link (valid 10 minutes) that signs this staff member in to the web
    console ('rssbot console-web'); give it to them privately."""
    from bot.web.links import sign_in_link
    from storage import console_auth

    _account(telegram_id, email)

    async def work(store: Store) -> str:
        member = (
            await store.staff_member(telegram_id)
            if telegram_id is not None
            else await store.staff.member_by_email(email or "")
        )
        if member is None:
            fail("not a registered staff member (rssbot staff add)", code=1)
        return await console_auth.issue_link(store, member[0], limited=False)

    typer.echo(sign_in_link(asyncio.run(_with_store(work))))


@staff_app.command("list")
def staff_list() -> None:
    """Staff members: name, role, when added, last action (Telegram ids are not kept)."""
    members = asyncio.run(_with_store(lambda s: s.list_staff()))
    table = Table("name", "email", "Telegram", "role", "sees", "added", "last action", "staff id")
    for m in members:
        table.add_row(
            m.name or "(no name: staff add --name)",
            m.email or "-",
            "yes" if m.telegram else "-",
            m.role,
            words.scope(m.scope),
            m.added.date().isoformat(),
            m.last_action.strftime("%Y-%m-%d %H:%M") if m.last_action else "-",
            m.id[:8],
        )
    console.print(table)


# -- who is due ----------------------------------------------------------------------------


def due(
    wave: Annotated[str | None, typer.Option(help="initial, intermediate or final.")] = None,
    country: Annotated[str | None, typer.Option(help="Country code.")] = None,
    role: Annotated[
        str, typer.Option(help="Whose view: case references only for admin and caseworker.")
    ] = "viewer",
    who: AsOption = None,
) -> None:
    """Who is due for a follow-up survey today, and who will not be reminded (and why)."""
    w = _wave(wave)
    role = _role(role)

    async def work(store: Store) -> tuple[bool, list[DueReturnee]]:
        me = await acting(store, who, role)
        due = await staff_rounds.who_is_due(
            store, me, wave=w, country=country, windows=windows(), today=today_utc()
        )
        return me.may("case_ref"), due

    include, rows = asyncio.run(_with_store(work))
    columns = ["returnee", *(["case"] if include else []), "country", "returned", "wave"]
    table = Table(*columns, "survey", "status", "channel", "reminder")
    for r in rows:
        table.add_row(
            r.public_id,
            *([r.case_ref or "-"] if include else []),
            r.country or "-",
            r.return_date.isoformat() if r.return_date else "-",
            words.wave(r.wave),
            words.survey_status(r.wave_status),
            words.returnee_status(r.status, r.bound),
            words.channel(r.channel),
            "yes" if r.skip is None else f"no ({words.reason(r.skip)})",
        )
    console.print(table)
    console.print(f"{len(rows)} due, {sum(r.skip is None for r in rows)} to remind")


# -- rounds --------------------------------------------------------------------------------


def print_preview(preview: RoundPreview) -> None:
    where = f" in {preview.country}" if preview.country else ""
    console.print(
        f"[bold]Round '{words.wave(preview.wave)}'{where}[/bold]: "
        f"{len(preview.to_remind)} to remind, "
        f"{sum(preview.skipped.values())} skipped"
    )
    for reason, count in sorted(preview.skipped.items()):
        console.print(f"  skipped, {words.reason(reason)}: {count}")


def print_report(report: RoundReport, pace: str) -> None:
    console.print(f"[bold]Round {report.round_id}[/bold] ({words.wave(report.wave)})")
    for status in ("sent", "skipped", "failed", "unconfirmed", "pending"):
        if report.counts[status]:
            console.print(f"  {words.reminder_status(status)}: {report.counts[status]}")
    for reason, count in sorted(report.reasons.items()):
        console.print(f"    {words.reason(reason)}: {count}")
    by_channel = words.by_channel(report.channels)
    console.print(f"  by channel: {by_channel}")
    console.print(f"  {pace}")


async def send_round(
    store: Store, round_id: str, *, rate: float | None, total: int, show: bool = True
) -> tuple[RoundReport, str]:
    """Send a round; its report, and the sender's pace (see ``SendStats.pace``)."""
    from bot.rate_limits import RateLimiter
    from bot.telegram.app import build_bot  # the chat clients only where they are needed
    from bot.telegram.sender import RoundSender
    from bot.whatsapp.reminders import courier_from_settings

    config = BotSettings()
    courier = courier_from_settings(WhatsAppSettings(), store)
    if config.token is None and courier is None:
        fail(
            "neither TELEGRAM_BOT_TOKEN nor WHATSAPP_TOKEN is set: the round was saved; send "
            "it with 'rssbot round resume'"
        )
    bot = None
    if config.token is not None:
        bot = build_bot(config.token.get_secret_value(), config.api_base, retries=False)
    couriers = [courier] if courier else []
    sender = RoundSender(store, bot, RateLimiter(rate=rate), couriers=couriers)
    try:
        with Progress(
            TextColumn("[bold]reminders"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not show,
        ) as bar:
            task = bar.add_task("send", total=total)

            async def progress(report: RoundReport) -> None:
                bar.update(task, completed=total - report.pending)

            report = await sender.run(round_id, progress=progress)
    finally:
        if bot is not None:
            await bot.session.close()
        if courier is not None:
            await courier.client.close()
    return report, sender.stats.pace(rate)


@round_app.command("start")
def round_start(
    wave: Annotated[str, typer.Option(help="initial, intermediate or final.")],
    country: Annotated[str | None, typer.Option(help="Only this country.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Preview only.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
    rate: Annotated[float, typer.Option(help="Messages per second (0: no limit).")] = 25.0,
    who: AsOption = None,
) -> None:
    """Preview who will be reminded (and who skipped, why), then send the round."""
    w = cast(Wave, _wave(wave))

    async def work(store: Store) -> None:
        me = await acting(store, who)
        preview = await staff_rounds.preview_round(
            store, me, wave=w, country=country, windows=windows(), today=today_utc()
        )
        print_preview(preview)
        if dry_run or not preview.to_remind:
            return
        if not yes and not typer.confirm(f"Send {len(preview.to_remind)} reminders now?"):
            raise typer.Exit(1)
        round_id = await staff_rounds.start_round(store, me, preview)
        report, pace = await send_round(
            store, round_id, rate=rate or None, total=len(preview.to_remind)
        )
        print_report(report, pace)

    asyncio.run(_with_store(work))


@round_app.command("resume")
def round_resume(
    rate: Annotated[float, typer.Option(help="Messages per second (0: no limit).")] = 25.0,
) -> None:
    """Finish rounds that were interrupted (nothing is sent twice)."""

    async def work(store: Store) -> None:
        rounds = await outbox.open_rounds(store)
        if not rounds:
            console.print("No round to resume.")
        for round_id in rounds:
            before = await outbox.report(store, round_id)
            report, pace = await send_round(
                store, round_id, rate=rate or None, total=before.pending
            )
            print_report(report, pace)

    asyncio.run(_with_store(work))


@round_app.command("worker")
def round_worker(
    interval: Annotated[float, typer.Option(help="Seconds between looks for open rounds.")] = 10.0,
    once: Annotated[bool, typer.Option("--once", help="Look once, then exit.")] = False,
) -> None:
    """Send open rounds as they appear, and start scheduled rounds when their hour comes
    (the round sender service of a scaled-out set-up).

    Several workers may run: rows are claimed with SKIP LOCKED, and with REDIS_URL the
    rate limit and 429 pauses are shared."""

    from bot.rate_limits import RateLimiter, RedisRateLimiter
    from bot.telegram.app import build_bot, redis_client
    from bot.telegram.sender import RoundSender
    from bot.whatsapp.reminders import courier_from_settings

    config, whatsapp = BotSettings(), WhatsAppSettings()
    if config.token is None and not whatsapp.enabled:
        fail("neither TELEGRAM_BOT_TOKEN nor WHATSAPP_TOKEN is set")
    token = config.token.get_secret_value() if config.token is not None else None

    async def work(store: Store) -> None:
        redis = redis_client(config.redis_url.get_secret_value()) if config.redis_url else None
        bot = build_bot(token, config.api_base, retries=False) if token else None
        courier = courier_from_settings(whatsapp, store, redis=redis, prefix=config.redis_prefix)
        couriers = [courier] if courier else []
        rate = config.send_rate or None
        limiter = (
            RedisRateLimiter(redis, config.redis_prefix, rate=rate) if redis else RateLimiter(rate)
        )
        try:
            while True:
                await schedules.tick(store, windows=windows())
                for round_id in await outbox.open_rounds(store):
                    sender = RoundSender(store, bot, limiter, couriers=couriers)
                    report = await sender.run(round_id)
                    console.print(f"round {round_id}: {dict(report.counts)}")
                if once:
                    return
                await asyncio.sleep(interval)
        finally:
            if bot is not None:
                await bot.session.close()
            if courier is not None:
                await courier.client.close()
            if redis is not None:
                await redis.aclose()

    asyncio.run(_with_store(work))


# -- exports, re-scoring, charts -----------------------------------------------------------

WeightsOption = Annotated[
    Path | None,
    typer.Option(
        "--weights",
        help="Show the scores stored under this weight table (an elements.csv, after "
        "'rssbot rescore --weights' with it). Default: the deployment's (RSSBOT_WEIGHTS).",
    ),
]

#: completion days a read is narrowed to
SinceOption = Annotated[
    str | None, typer.Option("--from", help="Surveys completed on or after (YYYY-MM-DD).")
]
UntilOption = Annotated[
    str | None, typer.Option("--to", help="Surveys completed on or before (YYYY-MM-DD).")
]


async def figures_reader(
    store: Store, who: str | None, selection: reports.Selection
) -> tuple[Staff, reports.Selection]:
    """Who reads programme figures (refused for a role that may not) and the selection
    narrowed to the returnees they see."""
    me = await acting(store, who)
    if not allowed(me.role, "stats"):
        fail(f"the role '{me.role}' may not read programme figures")
    return me, replace(selection, scope=me.scope)


def weight_table(weights: Path | None = None, scales: Path | None = None) -> WeightTable:
    try:
        return configured_weight_table(weights, scales)
    except WeightTableError as exc:
        fail(str(exc))


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name}: '{value}' is not a day (YYYY-MM-DD)")


def export(
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    layout: Annotated[
        str, typer.Option(help="wide (a row per survey) or long (a row per answer).")
    ] = "wide",
    labels: Annotated[
        str,
        typer.Option(
            help="Labels beside the codes, in any language installed; 'none' for codes only."
        ),
    ] = "en",
    wave: Annotated[str | None, typer.Option(help="Only this wave.")] = None,
    country: Annotated[str | None, typer.Option(help="Only this country.")] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    weights: WeightsOption = None,
    output: Annotated[Path | None, typer.Option(help="File to write.")] = None,
    role: Annotated[
        str | None,
        typer.Option(
            help="Export as this role would: with case references for admin and caseworker "
            "(unset: without them); viewers read aggregates only ('rssbot report')."
        ),
    ] = None,
    who: AsOption = None,
) -> None:
    """Completed surveys with answers, codes, labels and scores, and a codebook (a sheet of
    the XLSX, or NAME-codebook.csv beside the CSV), one row per survey or answer: for the
    roles that may open case files."""
    if fmt not in exports.FORMATS:
        fail(f"unknown format '{fmt}': csv or xlsx")
    if layout not in exports.LAYOUTS:
        fail(f"unknown layout '{layout}': wide or long")
    definition = configured_definition()
    if labels != "none" and labels not in definition.languages:
        fail(f"unknown label language '{labels}': {', '.join(definition.languages)} or none")
    if role is not None:
        role = _role(role)
    table = weight_table(weights)
    selection = reports.Selection(
        wave=_wave(wave),
        country=country,
        completed_from=_day(since, "--from"),
        completed_to=_day(until, "--to"),
        flow_id=definition.id,
    )
    path = output or Path(f"{definition.id}-surveys-{today_utc().isoformat()}.{fmt}")
    include = False

    async def work(store: Store) -> exports.Written:
        nonlocal include, selection
        me = await acting(store, who, role or "admin")
        if not allowed(me.role, "export"):
            fail(
                f"the role '{me.role}' may not export surveys row by row "
                "(the programme report, 'rssbot report', gives the figures)"
            )
        # (the operator's export has no case references unless a role asks for them)
        include = allowed(me.role, "case_ref") and (who is not None or role is not None)
        selection = replace(selection, scope=me.scope)
        spec = exports.ExportSpec(
            definition,
            table,
            labels=None if labels == "none" else labels,
            include_case_ref=include,
            layout=cast(exports.Layout, layout),
            programme=configured_programme(),
        )
        batches = reports.completed_batches(
            store,
            selection,
            weights_version=table.version,
            include_case_ref=include,
            actor=me.actor,
            action="export",
        )
        return await exports.write_export(
            spec, fmt, path, batches, store.caseload.assistance_of_many
        )

    written = asyncio.run(_with_store(work))
    rows = f" ({written.rows} rows)" if layout == "long" else ""
    typer.echo(
        f"{path}: {written.surveys} surveys{rows} ({selection.describe()})"
        f"{', with case references' if include else ''}"
    )
    if written.codebook:
        typer.echo(f"{written.codebook}: the codebook")
    if written.assistance:
        typer.echo(f"{written.assistance}: the assistance of these returnees, one row per item")
    for repeat_file in written.repeats:
        typer.echo(f"{repeat_file}: the answers of a repeat, one row per instance")
    if scoring_gap(definition, table) is None:
        typer.echo(weights_line(table))
    else:
        gap = scoring_gap(definition, table)
        typer.echo(f"flow '{definition.id}' is a plain survey, without scores ({gap})")


def report(
    output: Annotated[
        Path, typer.Option(help="Folder to write the workbook (XLSX) and the charts (PNG, SVG).")
    ] = Path("programme-report"),
    country: Annotated[str | None, typer.Option(help="Only this country.")] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    cross: Annotated[
        list[str] | None,
        typer.Option(
            help="Also cross two breakdowns (give it twice, e.g. --cross assistance:cash "
            "--cross attribute:sex); --list-breakdowns names them."
        ),
    ] = None,
    list_breakdowns: Annotated[
        bool, typer.Option("--list-breakdowns", help="Name every breakdown and stop.")
    ] = False,
    language: Annotated[
        str, typer.Option(help="The report's words: any language installed.")
    ] = "en",
    data: Annotated[
        Path | None, typer.Option(help="Also write the tables as JSON (the console reads it).")
    ] = None,
    weights: WeightsOption = None,
    who: AsOption = None,
) -> None:
    """The programme report: scores by assistance received, profile, country, chat app and
    time since return, per wave and as changes between waves, with confidence intervals
    and small cells hidden (RSSBOT_MIN_CELL_SIZE, default 5)."""
    from bot import programme_report  # matplotlib and scipy only when needed

    programme = configured_programme()
    words = programme_report.ReportWords(programme, language)
    if list_breakdowns:
        for code, name in programme_report.breakdown_choices(programme, words):
            typer.echo(f"{code}\t{name}")
        return
    known = [b.id for b in programme_report.breakdowns(programme)]
    crossed: tuple[str, str] | None = None
    if cross:
        if len(cross) != 2 or cross[0] == cross[1] or not set(cross) <= set(known):
            fail("--cross takes two different breakdowns (rssbot report --list-breakdowns)")
        crossed = (cross[0], cross[1])
    table = weight_table(weights)
    selection = reports.Selection(
        country=country,
        completed_from=_day(since, "--from"),
        completed_to=_day(until, "--to"),
        flow_id=configured_definition().id,
    )
    k = DisclosureSettings().min_cell_size

    async def work(store: Store) -> ProgrammeTables:
        nonlocal selection
        me, selection = await figures_reader(store, who, selection)
        return await programme_report.read_tables(
            store, programme, table, selection, me.actor, crossed
        )

    tables = asyncio.run(_with_store(work))
    built = programme_report.build(
        tables,
        k,
        words,
        programme_report.weights_status(table, words),
        selection.describe() or "all",
    )
    for path in programme_report.write_pack(built, output):
        typer.echo(str(path))
    if data is not None:
        data.write_text(json.dumps(programme_report.as_data(built)))
    hidden = sum(t.hidden for t in built.tables)
    n = {w: tables.n(w) for w in ("initial", "intermediate", "final")}
    typer.echo(
        "surveys: "
        + ", ".join(f"{w} {v}" if v == 0 or v >= k else f"{w} fewer than {k}" for w, v in n.items())
        + f"; {hidden} cells not shown (fewer than {k} returnees, or their complements)"
    )
    typer.echo(weights_line(table))


def rescore(
    weights: Annotated[Path, typer.Option(help="The new elements.csv.")],
    scales: Annotated[Path | None, typer.Option(help="Another scales.csv.")] = None,
) -> None:
    """Recompute every stored score under a new weight table (old scores are kept); show
    them with 'rssbot export --weights' and 'rssbot chart ... --weights', or make the
    table the deployment's with RSSBOT_WEIGHTS."""
    definition = configured_definition()
    table = weight_table(weights, scales)
    gap = scoring_gap(definition, table)
    if gap is not None:
        fail(f"flow '{definition.id}' is a plain survey, without scores ({gap})")
    count = asyncio.run(_with_store(lambda s: reports.rescore(s, definition, table, actor=actor())))
    typer.echo(f"re-scored {count} surveys under {table.version}")
    typer.echo(weights_line(table))


@chart_app.command("returnee")
def chart_returnee(
    output: Annotated[Path, typer.Option(help="PNG file to write.")],
    case: Annotated[str | None, typer.Option(help="Case reference.")] = None,
    returnee: Annotated[str | None, typer.Option(help="Pseudonymous id (R-...).")] = None,
    weights: WeightsOption = None,
    who: AsOption = None,
) -> None:
    """One returnee's dimensions and composite across the waves."""
    from bot.charts import trajectory_chart  # matplotlib only when needed

    if (case is None) == (returnee is None):
        fail("give --case or --returnee")
    table = weight_table(weights)

    async def work(store: Store) -> bytes:
        me = await acting(store, who)
        info = await staff_records.find_returnee(store, me, case_ref=case, public_id=returnee)
        if info is None:
            fail("no such returnee", code=1)
        return await trajectory_chart(store, table, info.id, info.public_id, me.actor)

    output.write_bytes(asyncio.run(_with_store(work)))
    typer.echo(f"{output}")
    typer.echo(weights_line(table))


@chart_app.command("cohort")
def chart_cohort(
    wave: Annotated[str, typer.Option(help="initial, intermediate or final.")],
    output: Annotated[Path, typer.Option(help="PNG file to write.")],
    country: Annotated[str | None, typer.Option(help="Only this country.")] = None,
    summary: Annotated[
        Path | None, typer.Option(help="Also write the chart's figures to this JSON file.")
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    language: Annotated[
        str, typer.Option(help="The chart's words: any language installed.")
    ] = "en",
    panels: Annotated[
        Path | None,
        typer.Option(help="Also write each panel as its own PNG in this folder (for phones)."),
    ] = None,
    weights: WeightsOption = None,
    who: AsOption = None,
) -> None:
    """A wave (and country): the distribution of each dimension and of the composite, the
    lowest dimension's shares, the means by wave, and the movement between waves."""
    from bot.charts import (
        ChartWords,
        cohort_panels,
        cohort_png,
        cohort_stats,
        cohort_title,
    )

    w = cast(Wave, _wave(wave))
    table = weight_table(weights)
    selection = reports.Selection(
        country=country, completed_from=_day(since, "--from"), completed_to=_day(until, "--to")
    )

    async def work(store: Store) -> CohortStats:
        nonlocal selection
        me, selection = await figures_reader(store, who, selection)
        return await cohort_stats(store, table, selection, me.actor)

    stats = asyncio.run(_with_store(work))
    stats.disclose(DisclosureSettings().min_cell_size)
    words = ChartWords(language)
    note = words.note(table)
    output.write_bytes(cohort_png(cohort_title(w, selection, words), stats, w, note, words))
    if panels is not None:
        panels.mkdir(parents=True, exist_ok=True)
        for name, png in cohort_panels(stats, w, note, words).items():
            (panels / f"{name}.png").write_bytes(png)
    if summary is not None:
        summary.write_text(json.dumps(stats.summary(), indent=1))
    surveys = stats.waves[w].surveys
    if stats.shown(w):
        typer.echo(f"{output}: {surveys} surveys of wave {w}")
    else:
        typer.echo(f"{output}: fewer than {stats.k} surveys of wave {w} (no figure shown)")
    typer.echo(weights_line(table))


# -- scheduled rounds ----------------------------------------------------------------------

schedule_app = typer.Typer(
    help="Rounds that run themselves daily for whoever has become due.", no_args_is_help=True
)
round_app.add_typer(schedule_app, name="schedule")


@schedule_app.command("add")
def schedule_add(
    wave: Annotated[str, typer.Option(help="initial, intermediate or final.")],
    hour: Annotated[int, typer.Option(help="Hour of the day it runs (0-23, UTC).")] = 9,
    country: Annotated[str | None, typer.Option(help="Only this country.")] = None,
    repeat_days: Annotated[
        int | None,
        typer.Option(help="Remind again after this many days (default: once per window)."),
    ] = None,
    who: AsOption = None,
) -> None:
    """Each day at HOUR, a round for whoever has become due for WAVE (sent by 'rssbot run'
    or 'rssbot round worker'); with --as, only for the returnees that staff member sees."""
    w = cast(Wave, _wave(wave))

    async def work(store: Store) -> schedules.Schedule:
        return await staff_rounds.add_schedule(
            store,
            await acting(store, who),
            wave=w,
            country=country,
            hour=hour,
            repeat_days=repeat_days,
        )

    try:
        added = asyncio.run(_with_store(work))
    except ValueError as exc:
        fail(str(exc))
    typer.echo(f"schedule {added.id[:8]}: {added.describe()}")


@schedule_app.command("list")
def schedule_list(who: AsOption = None) -> None:
    """The schedules, with the last day each ran."""

    async def work(store: Store) -> list[schedules.Schedule]:
        return await staff_rounds.list_schedules(store, await acting(store, who))

    found = asyncio.run(_with_store(work))
    if not found:
        typer.echo("No scheduled round. Add one with 'rssbot round schedule add --wave initial'.")
    for s in found:
        last = s.last_run_on.isoformat() if s.last_run_on else "never"
        typer.echo(f"{s.id[:8]}  {s.describe()}; last ran: {last}")


@schedule_app.command("pause")
def schedule_pause(
    schedule: Annotated[str, typer.Argument(help="Its id (or first letters).")],
    who: AsOption = None,
) -> None:
    """Stop a schedule from running until it is resumed."""
    _change_schedule(schedule, "pause", who)


@schedule_app.command("resume")
def schedule_resume(
    schedule: Annotated[str, typer.Argument(help="Its id (or first letters).")],
    who: AsOption = None,
) -> None:
    """Run a paused schedule again (from its next hour)."""
    _change_schedule(schedule, "resume", who)


@schedule_app.command("remove")
def schedule_remove(
    schedule: Annotated[str, typer.Argument(help="Its id (or first letters).")],
    who: AsOption = None,
) -> None:
    """Delete a schedule (the rounds it started stay in the reports)."""
    _change_schedule(schedule, "remove", who)


def _change_schedule(
    prefix: str, change: Literal["pause", "resume", "remove"], who: str | None
) -> None:
    async def work(store: Store) -> schedules.Schedule | None:
        return await staff_rounds.change_schedule(store, await acting(store, who), prefix, change)

    found = asyncio.run(_with_store(work))
    if found is None:
        fail(f"no schedule '{prefix}' (see 'rssbot round schedule list')", code=1)
    typer.echo(f"{change}d: {found.describe()}")  # paused, resumed, removed


@schedule_app.command("tick")
def schedule_tick(
    rate: Annotated[float, typer.Option(help="Messages per second (0: no limit).")] = 25.0,
) -> None:
    """Start and send the schedules whose hour has come today (for a cron job where no
    'rssbot run' or 'rssbot round worker' is running)."""

    async def work(store: Store) -> None:
        runs = await schedules.tick(store, windows=windows())
        if not runs:
            console.print("No scheduled round is due now.")
        for run in runs:
            console.print(
                f"{run.schedule.describe()}: {run.reminded} to remind, "
                f"{run.already_reminded} already reminded"
            )
            if run.round_id is not None:
                report, pace = await send_round(
                    store, run.round_id, rate=rate or None, total=run.reminded
                )
                print_report(report, pace)

    asyncio.run(_with_store(work))
