"""The caseload from the terminal: import a case-management spreadsheet (with bulk
invitations), write its template, and record assistance."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.caseload_file import (
    CaseloadFileError,
    CheckedCaseload,
    Checker,
    RowError,
    check_file,
    limit_to_scope,
    write_rejected,
    write_template,
)
from bot.cli.staff import AsOption, _with_store, acting
from bot.common import configured_definition, configured_programme, fail
from bot.invitation_sheet import invitations_for, render_sheet, write_links
from bot.settings import BotSettings, WhatsAppSettings
from bot.staff import Staff, allowed
from bot.staff import records as staff_records
from bot.whatsapp.invitations import InvitationReport, send_invitations
from bot.whatsapp.reminders import courier_from_settings
from storage.caseload import Assistance, AssistanceLine, ImportOutcome
from storage.store import Store

caseload_app = typer.Typer(
    help="The caseload: import a spreadsheet with bulk invitations, its template.",
    no_args_is_help=True,
)
assistance_app = typer.Typer(help="Assistance a returnee received.", no_args_is_help=True)
console = Console()
#: errors printed in the terminal (all of them go to --rejected)
SHOWN_ERRORS = 60


@caseload_app.command("template")
def template(
    path: Annotated[Path, typer.Argument(help="Where to write the workbook.")] = Path(
        "caseload-template.xlsx"
    ),
) -> None:
    """Write the caseload template: its columns, an example returnee, allowed values."""
    write_template(path, configured_programme(), configured_definition().languages)
    typer.echo(
        f"Wrote {path}: fill the 'caseload' sheet; the 'columns' sheet says what each takes."
    )


def _report_errors(checked: CheckedCaseload) -> None:
    returnees = len({n for n, _ in checked.bad_rows})
    console.print(
        f"[bold red]{len(checked.errors)} error(s)[/] in {returnees} row(s) of {checked.rows}:"
    )
    table = Table("row", "column", "problem", show_edge=False)
    for error in checked.errors[:SHOWN_ERRORS]:
        table.add_row(str(error.row), error.column, error.message)
    console.print(table)
    if len(checked.errors) > SHOWN_ERRORS:
        console.print(f"... and {len(checked.errors) - SHOWN_ERRORS} more (see --rejected).")


@caseload_app.command("import")
def import_caseload(
    file: Annotated[Path, typer.Argument(help="The caseload, .xlsx or .csv.", exists=True)],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and say what would change.")
    ] = False,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Import the returnees whose rows are all right; write the others to --rejected.",
        ),
    ] = False,
    rejected: Annotated[
        Path | None, typer.Option(help="Where to write the rows not imported, with their errors.")
    ] = None,
    links: Annotated[Path | None, typer.Option(help="CSV of the new invitation links.")] = None,
    sheet: Annotated[
        Path | None, typer.Option(help="Printable invitation sheet (HTML) with QR codes.")
    ] = None,
    valid_days: Annotated[int, typer.Option(min=1, max=365, help="Link validity.")] = 30,
    language: Annotated[str, typer.Option(help="Language of the sheet's staff words.")] = "en",
    send_whatsapp: Annotated[
        bool,
        typer.Option(
            "--send-whatsapp",
            help="Also send the invitation template on WhatsApp to the new returnees whose "
            "row has a number and contact_whatsapp=yes.",
        ),
    ] = False,
    who: AsOption = None,
) -> None:
    """Enrol or update the returnees of a caseload file; nothing is imported while any row
    is wrong (unless --skip-invalid). New returnees get an invitation link each."""
    today = date.today()
    try:
        checked = check_file(file, configured_programme(), configured_definition().languages, today)
    except CaseloadFileError as exc:
        fail(str(exc))
    if checked.ignored_columns:
        console.print(f"Ignored columns: {', '.join(checked.ignored_columns)}")

    async def importer(store: Store) -> Staff:
        me = await acting(store, who, "caseworker")
        if not allowed(me.role, "invite"):
            fail(f"the role '{me.role}' may not import a caseload")
        hidden = await store.caseload.out_of_scope([r.case_ref for r in checked.records], me.scope)
        limit_to_scope(checked, me.scope, hidden)
        return me

    me = asyncio.run(_with_store(importer))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if not checked.ok:
        _report_errors(checked)
        rejected = rejected or file.with_name(f"{file.stem}-rejected-{stamp}.csv")
        write_rejected(checked, rejected)
        console.print(f"The rows with errors, to fix: {rejected}")
        if not skip_invalid:
            fail("nothing was imported: fix these rows (or use --skip-invalid)", code=1)
    records = checked.records
    whatsapp = WhatsAppSettings()
    if send_whatsapp and not whatsapp.enabled:
        fail("--send-whatsapp needs WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID")
    if dry_run:

        async def preview(store: Store) -> int:
            return await store.caseload.enrolled([r.case_ref for r in records])

        known = asyncio.run(_with_store(preview))
        console.print(
            f"Dry run: {len(records)} returnee(s) checked; {len(records) - known} would be "
            f"enrolled, {known} already enrolled would be brought up to date. Nothing was "
            "stored."
        )
        return

    sent: list[InvitationReport] = []

    async def run(store: Store) -> ImportOutcome:
        outcome = await store.caseload.import_records(
            records, actor=me.actor, valid_days=valid_days
        )
        if send_whatsapp and outcome.created:
            courier = courier_from_settings(whatsapp, store)
            assert courier is not None
            try:
                sent.append(await send_invitations(courier, store, outcome.created, actor=me.actor))
            finally:
                await courier.client.close()
        return outcome

    outcome = asyncio.run(_with_store(run))
    console.print(
        f"Imported {len(records)} returnee(s): {len(outcome.created)} enrolled, "
        f"{len(outcome.updated)} updated, {outcome.unchanged} unchanged."
    )
    for report in sent:
        failures = ", ".join(f"{n} {reason}" for reason, n in report.not_sent.items())
        console.print(
            f"WhatsApp invitations: {report.sent} sent, {report.not_asked} without a number "
            f"or agreement to be contacted there{f', not sent: {failures}' if failures else ''}."
        )
    if not outcome.created:
        return
    bot = BotSettings()
    invitations = invitations_for(
        outcome.created,
        checked.channels,
        telegram_username=bot.username.lstrip("@") if bot.username else None,
        whatsapp_number=whatsapp.number,
        valid_until=today + timedelta(days=valid_days),
    )
    if not bot.username and not whatsapp.number:
        console.print(
            "[bold yellow]The links are incomplete[/]: set TELEGRAM_BOT_USERNAME or "
            "WHATSAPP_NUMBER (where they open), then make new ones with 'rssbot invite'."
        )
    links = links or Path(f"invitations-{stamp}.csv")
    sheet = sheet or Path(f"invitations-{stamp}.html")
    write_links(invitations, links)
    sheet.write_text(render_sheet(invitations, language=language, days=valid_days), "utf-8")
    console.print(
        f"Invitation links: {links}; printable sheet: {sheet}. They are shown only there: "
        "keep them safe, and delete them once the invitations are handed over."
    )


@assistance_app.command("add")
def assistance_add(
    case: Annotated[str, typer.Option("--case", help="The returnee's case reference.")],
    type_: Annotated[str, typer.Option("--type", help="An assistance type of the programme.")],
    level: Annotated[str, typer.Option(help="individual, community or collective.")] = (
        "individual"
    ),
    status: Annotated[str, typer.Option(help="planned, delivered or cancelled.")] = "delivered",
    start: Annotated[str | None, typer.Option(help="Start date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="End date, YYYY-MM-DD.")] = None,
    value: Annotated[str | None, typer.Option(help="Its value (a number).")] = None,
    currency: Annotated[str | None, typer.Option(help="The value's currency (EUR...).")] = None,
    who: AsOption = None,
) -> None:
    """Record an item of assistance for a returnee (checked as an imported row is)."""
    checker = Checker(configured_programme(), configured_definition().languages, date.today())
    errors: list[RowError] = []
    row = {
        "assistance_type": type_,
        "assistance_level": level,
        "assistance_status": status,
        **({"assistance_start": start} if start else {}),
        **({"assistance_end": end} if end else {}),
        **({"assistance_value": value} if value else {}),
        **({"assistance_currency": currency} if currency else {}),
    }
    items = checker.assistance([(0, row)], errors)
    if errors or not items:
        fail("; ".join(f"--{e.column.removeprefix('assistance_')}: {e.message}" for e in errors))
    item: Assistance = items[0]

    async def run(store: Store) -> str:
        me = await acting(store, who, "caseworker")
        found = await staff_records.find_returnee(store, me, case_ref=case)
        if found is None:
            fail(f"no returnee with case reference {case!r}", code=1)
        await store.caseload.add_assistance(found.id, item, actor=me.actor, source="cli")
        return found.public_id

    public_id = asyncio.run(_with_store(run))
    typer.echo(f"Recorded {item.type} ({item.status}) for {public_id}.")


@assistance_app.command("list")
def assistance_list(
    case: Annotated[str, typer.Option("--case", help="The returnee's case reference.")],
    who: AsOption = None,
) -> None:
    """The assistance recorded for a returnee."""
    plan = configured_programme()

    async def run(store: Store) -> tuple[str, list[AssistanceLine]]:
        me = await acting(store, who, "caseworker")
        found = await staff_records.find_returnee(store, me, case_ref=case)
        if found is None:
            fail(f"no returnee with case reference {case!r}", code=1)
        return found.public_id, await store.caseload.assistance(found.id)

    public_id, lines = asyncio.run(_with_store(run))
    table = Table(
        "type",
        "level",
        "status",
        "start",
        "end",
        "value",
        "source",
        title=f"Assistance of {public_id}",
    )
    for line in lines:
        kind = plan.assistance.type(line.type)
        table.add_row(
            kind.text("en") if kind else line.type,
            line.level,
            line.status,
            line.start.isoformat() if line.start else "",
            line.end.isoformat() if line.end else "",
            f"{line.value} {line.currency}" if line.value else "",
            line.source,
        )
    console.print(table if lines else f"No assistance recorded for {public_id}.")
