"""The ``rssbot`` command line (typer)."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bot.cli import admin, caseload, serve, staff
from bot.cli.i18n import i18n_app
from bot.common import configured_definition, fail, open_store
from bot.consent import DataPolicy, consent_text
from bot.console import ConsoleSurvey
from bot.core.entry import Entry
from bot.core.rights import Rights
from bot.core.survey import OpenWave, SurveyService
from bot.i18n import Translator
from bot.settings import configured_secrets
from flows import (
    FlowDefinition,
    FlowDefinitionError,
    builtin_definition,
    dump_definition,
    load_definition,
)
from scoring import (
    ScoringError,
    WeightTable,
    WeightTableError,
    default_weight_table,
    load_weight_table,
    score,
)
from storage.redaction import configure_logging
from storage.store import WAVES, ConsentRequired
from storage.waves import WaveWindows

app = typer.Typer(
    help="Reintegration Sustainability Survey bot: survey, scoring and staff tools.",
    no_args_is_help=True,
    add_completion=False,
)
flow_app = typer.Typer(help="Survey flow definitions.", no_args_is_help=True)
app.add_typer(flow_app, name="flow")
app.add_typer(i18n_app, name="i18n")
app.add_typer(admin.db_app, name="db", no_args_is_help=True)
app.add_typer(admin.keys_app, name="keys", no_args_is_help=True)
app.command("init")(admin.init)
app.command("run")(serve.run)
app.command("console-web")(serve.console_web)
app.command("enroll")(serve.enroll)
app.command("invite")(serve.invite)
app.add_typer(staff.staff_app, name="staff")
app.add_typer(staff.round_app, name="round")
app.add_typer(staff.chart_app, name="chart")
app.add_typer(caseload.caseload_app, name="caseload")
app.add_typer(caseload.assistance_app, name="assistance")
app.command("due")(staff.due)
app.command("export")(staff.export)
app.command("report")(staff.report)
app.command("rescore")(staff.rescore)


def _weight_table(weights: Path | None, scales: Path | None) -> WeightTable:
    if weights is None and scales is None:
        return default_weight_table()
    try:
        return load_weight_table(
            weights,
            scales,
            expected_elements=default_weight_table().elements,
        )
    except WeightTableError as exc:
        fail(str(exc))


def _read_answers(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{path} is not valid JSON: {exc}")
    if not isinstance(data, dict):
        fail(f"{path} must hold a JSON object mapping element id to option id")
    return data


@app.command("score")
def score_command(
    answers: Annotated[
        str, typer.Argument(help="JSON file: element id -> option id ('-' reads stdin).")
    ],
    weights: Annotated[
        Path | None, typer.Option(help="Another elements.csv (same columns) to score with.")
    ] = None,
    scales: Annotated[
        Path | None, typer.Option(help="Another scales.csv (default: the built-in one).")
    ] = None,
) -> None:
    """Score one survey's answers and print the scores as one JSON object."""
    table = _weight_table(weights, scales)
    data = _read_answers(answers)
    definition = builtin_definition()
    context = {q.id for q in definition.questions} - set(table.elements)
    scored: dict[str, str | None] = {}
    unknown = []
    for key, value in data.items():
        if key in context:
            continue  # unscored questions are accepted and ignored
        if key not in table.elements:
            unknown.append(key)
        elif value is not None and not isinstance(value, str):
            fail(f"the answer to '{key}' must be an option id (a string), not {value!r}")
        else:
            scored[key] = value
    if unknown:
        fail(f"unknown element(s): {', '.join(sorted(unknown))}")
    try:
        result = score(table, scored)
    except ScoringError as exc:
        fail(str(exc))
    typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))


CONSOLE_CHANNEL = "console"


@app.command("console")
def console_command(
    language: Annotated[
        str, typer.Option("--language", "-l", help="Survey language (rssbot i18n list).")
    ] = "en",
    wave: Annotated[str, typer.Option(help="initial, intermediate or final.")] = "initial",
    weights: Annotated[Path | None, typer.Option(help="Another elements.csv.")] = None,
    show_data: Annotated[
        bool, typer.Option("--show-data", help="Show what is kept about you, then exit.")
    ] = False,
    erase: Annotated[
        bool, typer.Option("--erase", help="Erase everything kept about you, then exit.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm --erase.")] = False,
    flow: Annotated[
        Path | None,
        typer.Option(
            "--flow",
            help="Another survey: a flow definition (.yaml) or an XLSForm (.xlsx, .xls, .csv). "
            "Default: RSSBOT_FLOW, else the RSS.",
        ),
    ] = None,
) -> None:
    """Answer the survey in the terminal; answers are saved (encrypted) as you go.

    Stop at any time with q or Ctrl-C; run the same command again to continue.
    """
    definition = configured_definition(flow)
    if language not in definition.languages:
        fail(f"unknown language '{language}': choose one of {', '.join(definition.languages)}")
    if wave not in WAVES:
        fail(f"unknown wave '{wave}': choose one of {', '.join(WAVES)}")
    table = _weight_table(weights, None)
    configure_logging("WARNING", configured_secrets())
    console = Console()
    _ = Translator(language)
    user = getpass.getuser()

    with asyncio.Runner() as runner:
        store = runner.run(open_store())
        try:
            returnee = runner.run(store.find_by_telegram(user, channel=CONSOLE_CHANNEL))
            if show_data or erase:
                if returnee is None:
                    console.print(_("Nothing is kept about you."))
                    return
                if show_data:
                    console.print_json(json.dumps(runner.run(store.my_data(returnee.id))))
                    return
                if not yes and not typer.confirm(_("Erase everything kept about you?")):
                    raise typer.Exit(1)
                runner.run(Rights(store, definition, table).erase(returnee))
                console.print(_("Everything kept about you has been erased."))
                return
            if returnee is None:
                returnee = runner.run(
                    store.enroll(
                        case_ref=f"console:{user}",
                        return_date=date.today(),
                        country=None,
                        language=language,
                        actor="cli",
                    )
                )
                runner.run(store.bind_telegram(returnee.id, user, 0, channel=CONSOLE_CHANNEL))
            entry = Entry(store, DataPolicy())
            if returnee.language != language:  # (continued in another language)
                returnee = runner.run(entry.choose_language(returnee, language))
            if returnee.status != "active":
                for paragraph in consent_text(_, entry.policy):
                    console.print(paragraph, highlight=False)
                agree = typer.confirm(_("Do you agree?"), default=False)
                runner.run(entry.answer_consent(returnee, agree))
                if not agree:
                    console.print(_("No problem. Nothing of your answers is kept."))
                    raise typer.Exit(1)
            state = runner.run(store.load_state(returnee.id, wave, definition))
            core = SurveyService(store, definition, table, WaveWindows())
            survey = ConsoleSurvey(core, returnee.id, language, input, console)
            try:
                final, _result = runner.run(survey.run(OpenWave(wave, state)))
            except ConsentRequired as exc:
                fail(str(exc))
            if final is None or not final.completed:
                raise typer.Exit(1)
        finally:
            runner.run(store.close())


@flow_app.command("validate")
def flow_validate(path: Annotated[Path, typer.Argument(help="A flow definition file.")]) -> None:
    """Check a flow definition file and say precisely what is wrong."""
    try:
        flow = load_definition(path)
    except FlowDefinitionError as exc:
        fail(str(exc))
    typer.echo(f"{path}: {_flow_summary(flow)}: valid")


@flow_app.command("import-xlsform")
def flow_import_xlsform(
    form: Annotated[Path, typer.Argument(help="An XLSForm (.xlsx, .xls, .csv) from Kobo, ODK.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The flow definition to write.")],
    default_language: Annotated[
        str,
        typer.Option(help="Language code of plain 'label' columns when settings do not say."),
    ] = "en",
) -> None:
    """Read an XLSForm as a flow definition (YAML); what a chat survey cannot ask is
    refused with its sheet, row and column."""
    from flows.xlsform import import_xlsform

    try:
        imported = import_xlsform(form, default_language=default_language)
    except FlowDefinitionError as exc:
        fail(str(exc))
    flow = imported.flow
    output.write_text(dump_definition(flow), encoding="utf-8")
    typer.echo(f"{output}: {_flow_summary(flow)}")
    for line in imported.summary():
        typer.echo(f"  {line}")
    typer.echo(f"try it in the terminal: rssbot console --flow {output}")


@flow_app.command("export-xlsform")
def flow_export_xlsform(
    output: Annotated[Path, typer.Option("--output", "-o", help="The XLSForm (.xlsx) to write.")],
    definition: Annotated[
        Path | None,
        typer.Argument(help="A flow definition (.yaml or .xlsx); default: the RSS."),
    ] = None,
) -> None:
    """Write a flow definition as an XLSForm, to run the same survey in Kobo or ODK."""
    from flows.xlsform import write_xlsform, xform_warnings

    if output.suffix.lower() != ".xlsx":
        fail(f"{output}: an XLSForm is written as an .xlsx workbook")
    flow = configured_definition(definition) if definition else builtin_definition()
    try:
        write_xlsform(flow, output)
        warnings = xform_warnings(output)
    except FlowDefinitionError as exc:
        fail(str(exc))
    typer.echo(f"{output}: {_flow_summary(flow)}; pyxform converts it to an XForm")
    for warning in warnings:
        typer.echo(f"pyxform: {warning}")


def _flow_summary(flow: FlowDefinition) -> str:
    asked = sum(1 for q in flow.questions if q.type != "note")
    return (
        f"flow '{flow.id}' version {flow.version}, {asked} questions, "
        f"languages {', '.join(flow.languages)}"
    )


def main() -> None:
    app()
