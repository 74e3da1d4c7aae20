"""Languages from the terminal: a workbook per language for translators and back, what
is missing or broken per language, and the two pseudo-languages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.common import configured_definition, fail
from bot.language_packs import check
from bot.languages import (
    CODE_PATTERN,
    LANGUAGES_DIR_VARIABLE,
    Language,
    LanguageError,
    builtin_folder,
    forget_languages,
    language_folders,
    languages,
)
from bot.pseudo_locales import write_pseudo_languages
from bot.translation_workbook import WorkbookError, read_workbook, write_language, write_workbook

i18n_app = typer.Typer(
    help="Languages: workbooks for translators, checks, pseudo-languages.",
    no_args_is_help=True,
)
console = Console()
#: where language folders are written
Into = Annotated[
    Path | None,
    typer.Option(help="The folder of languages (default: RSSBOT_LANGUAGES_DIR, else built-in)."),
]


def _own_folder(into: Path | None) -> Path:
    """Where new language files go: ``--into``, else the first of RSSBOT_LANGUAGES_DIR,
    else the built-in folder."""
    if into is not None:
        return into
    extra = language_folders()[1:]
    return Path(extra[0]) if extra else builtin_folder()


@i18n_app.command("list")
def list_languages() -> None:
    """Every language found, where its files are, and what it covers."""
    flow = configured_definition()
    table = Table("code", "name", "direction", "locale", "interface", "survey", "folder")
    registry = languages()
    for code, lang in registry.items():
        table.add_row(
            code,
            lang.name,
            lang.direction,
            lang.locale,
            "yes" if code in registry.interface else "no",
            "yes" if code in flow.languages else "no",
            str(lang.folder),
        )
    console.print(table)


@i18n_app.command("export")
def export(
    language: Annotated[str, typer.Argument(help="The language's code (ti, prs, ckb...).")],
    output: Annotated[Path | None, typer.Option(help="The workbook (default: CODE.xlsx).")] = None,
    locale: Annotated[
        str | None, typer.Option(help="For a new language: its CLDR locale (default: the code).")
    ] = None,
) -> None:
    """Write one workbook with every string to translate into LANGUAGE."""
    import re

    if not re.match(CODE_PATTERN, language):
        fail(f"'{language}' is not a language code (ti, prs, ckb, pt-BR...)")
    registry = languages()
    try:
        lang = registry.get(language) or Language(
            code=language, locale=locale or language, folder=_own_folder(None) / language
        )
    except ValueError as exc:
        fail(f"{language}: {exc}; give its CLDR locale with --locale")
    flow = configured_definition(language_files=False)
    path = output or Path(f"{language}.xlsx")
    count = write_workbook(lang, flow, path)
    typer.echo(f"{path}: {count} strings in {lang.name} ({lang.code}) to translate or review")


@i18n_app.command("import")
def import_(
    workbook: Annotated[Path, typer.Argument(help="A workbook written by i18n export.")],
    into: Into = None,
) -> None:
    """Read a translated workbook back into the language's files, then check them."""
    try:
        found = read_workbook(workbook)
    except WorkbookError as exc:
        fail(str(exc))
    flow = configured_definition(language_files=False)
    if found.flow != flow.id:
        fail(f"{workbook}: written for the survey '{found.flow}', not '{flow.id}'")
    root = _own_folder(into)
    try:
        written = write_language(found, flow, root)
    except (LanguageError, ValueError) as exc:
        fail(f"{workbook}: {exc}")
    for path in written:
        typer.echo(f"wrote {path}")
    for refused in found.refused:
        typer.echo(f"not taken: {refused}", err=True)
    if found.code in flow.languages and found.survey:
        typer.echo(
            f"the survey's definition carries '{found.code}' itself: edit it there for its labels",
            err=True,
        )
    forget_languages()
    if into is not None and str(into) not in language_folders():
        typer.echo(f"to use it: {LANGUAGES_DIR_VARIABLE}={into}")
        return
    raise typer.Exit(_report([found.code]) or (1 if found.refused else 0))


@i18n_app.command("check")
def check_command(
    codes: Annotated[
        list[str] | None, typer.Argument(help="Languages to check (default: every one).")
    ] = None,
    warnings: Annotated[bool, typer.Option(help="List warnings too (overlong labels).")] = False,
) -> None:
    """List what is missing, overlong or breaks a placeholder, per language; exit 1 where
    something would show wrongly."""
    raise typer.Exit(_report(codes or list(languages()), warnings=warnings))


def _report(codes: list[str], *, warnings: bool = False) -> int:
    try:
        registry = languages()
    except LanguageError as exc:
        fail(str(exc))
    flow = configured_definition(language_files=False)
    unknown = [c for c in codes if c not in registry]
    if unknown:
        fail(f"unknown language(s) {', '.join(unknown)}: {', '.join(registry)}")
    status = 0
    for code in codes:
        report = check(registry[code], flow)
        shown = report.problems if warnings else report.errors
        errors, rest = len(report.errors), len(report.problems) - len(report.errors)
        typer.echo(f"{code} ({registry[code].name}): {errors} error(s), {rest} warning(s)")
        for problem in shown[:200]:
            where = f"{problem.part} {problem.key}".strip()
            typer.echo(f"  {problem.severity}: {where}: {problem.message}")
        if len(shown) > 200:
            typer.echo(f"  ... and {len(shown) - 200} more")
        status = status or (1 if errors else 0)
    return status


@i18n_app.command("pseudo")
def pseudo(
    into: Into = None,
) -> None:
    """Write the pseudo-languages en-XA (accented, 40% longer) and ar-XB (mirrored right
    to left) from the English: every string of the interface and the survey."""
    root = _own_folder(into)
    flow = configured_definition(language_files=False)
    for lang in write_pseudo_languages(flow, root):
        typer.echo(f"{lang.folder}: {lang.name} ({lang.code})")
    forget_languages()
    typer.echo(f"to use them: {LANGUAGES_DIR_VARIABLE}={root}")
