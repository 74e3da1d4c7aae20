"""The ``rssbot`` command line (typer)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from bot.console import ConsoleSurvey
from flows import FlowDefinitionError, builtin_definition, load_definition
from scoring import (
    ScoringError,
    WeightTable,
    WeightTableError,
    default_weight_table,
    load_weight_table,
    score,
)

app = typer.Typer(
    help="Reintegration Sustainability Survey bot: survey, scoring and staff tools.",
    no_args_is_help=True,
    add_completion=False,
)
flow_app = typer.Typer(help="Survey flow definitions.", no_args_is_help=True)
app.add_typer(flow_app, name="flow")

EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """A clear message on stderr and a non-zero exit code."""
    typer.echo(f"rssbot: {message}", err=True)
    raise typer.Exit(code)


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


@app.command("console")
def console_command(
    language: Annotated[
        str, typer.Option("--language", "-l", help="Survey language: en, fr or ar.")
    ] = "en",
    weights: Annotated[Path | None, typer.Option(help="Another elements.csv.")] = None,
) -> None:
    """Answer the whole survey in the terminal, then see the four scores."""
    definition = builtin_definition()
    if language not in definition.languages:
        fail(f"unknown language '{language}': choose one of {', '.join(definition.languages)}")
    table = _weight_table(weights, None)
    survey = ConsoleSurvey(definition, table, language, input, Console())
    _, result = survey.run()
    if result is None:
        raise typer.Exit(1)


@flow_app.command("validate")
def flow_validate(path: Annotated[Path, typer.Argument(help="A flow definition file.")]) -> None:
    """Check a flow definition file and say precisely what is wrong."""
    try:
        flow = load_definition(path)
    except FlowDefinitionError as exc:
        fail(str(exc))
    typer.echo(
        f"{path}: flow '{flow.id}' version {flow.version}, {len(flow.questions)} questions, "
        f"languages {', '.join(flow.languages)}: valid"
    )


def main() -> None:
    app()
