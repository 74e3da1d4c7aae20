"""Console pages of the cohort: its tables and chart for a wave (and country), and the
exports to download (CSV with its codebook, or XLSX). The reading and drawing run in a
child ``rssbot`` process, as the chat's staff reads do, so that a programme-scale cohort
never holds up the console; figures (aggregates only) are kept a few minutes."""

from __future__ import annotations

import base64
import json
import tempfile
import time
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.charts import PANELS
from bot.exports import FORMATS, LAYOUTS, assistance_path, codebook_path, repeat_path
from bot.staff_reads import StaffReadFailed, run_rssbot, weights_arguments
from bot.staff_words import N_
from bot.web.app import (
    USER,
    Binder,
    Console,
    day_of,
    gettext_for,
    language_of,
    requires,
    wave_and_country,
)
from flows import FlowDefinition
from scoring.cohort import SCORES, WAVE_ORDER
from scoring.model import DIMENSIONS
from storage import reports
from storage.scopes import Scope
from storage.waves import WAVES, Wave


def completion_dates(query: Mapping[str, str]) -> tuple[date | None, date | None]:
    """The completion days a cohort or an export is narrowed to (``from``, ``to``); a
    day that is not one is ignored."""

    return day_of(query.get("from")), day_of(query.get("to"))


#: seconds a cohort's figures are reused before being read again
KEPT = 300.0
#: cohorts kept at most (the country is typed: the oldest is dropped first)
KEPT_COHORTS = 32


async def _cohort(
    console: Console,
    wave: Wave,
    country: str | None,
    dates: tuple[date | None, date | None],
    language: str,
    actor: str,
    scope: Scope,
) -> tuple[dict[str, str], dict[str, Any]]:
    """The chart's panels (base64 PNG each, in ``language``) and figures of a cohort,
    drawn by a child process."""
    key = (wave, country, dates, language, console.table.version, scope.frozen())
    kept = console.cache.get(key)
    if kept is not None and time.monotonic() - kept[0] < KEPT:
        return kept[1], kept[2]
    with tempfile.TemporaryDirectory(prefix="rssbot-console-") as folder:
        png, summary = Path(folder) / "cohort.png", Path(folder) / "cohort.json"
        arguments = ["chart", "cohort", "--wave", wave, "--output", str(png)]
        arguments += ["--summary", str(summary), "--as", actor, "--language", language]
        arguments += ["--panels", str(Path(folder) / "panels")]
        arguments += [*(["--country", country] if country else [])]
        arguments += [*(["--from", dates[0].isoformat()] if dates[0] else [])]
        arguments += [*(["--to", dates[1].isoformat()] if dates[1] else [])]
        await run_rssbot(console.store, arguments + weights_arguments(console.table))
        chart = {
            name: base64.b64encode((Path(folder) / "panels" / f"{name}.png").read_bytes()).decode()
            for name in PANELS
        }
        figures = json.loads(summary.read_text())
    console.cache.pop(key, None)
    while len(console.cache) >= KEPT_COHORTS:  # (a dict keeps insertion order)
        console.cache.pop(next(iter(console.cache)))
    console.cache[key] = (time.monotonic(), chart, figures)
    return chart, figures


@requires("stats")
async def cohort_page(console: Console, request: web.Request) -> web.StreamResponse:
    user = request[USER]
    chosen, country = wave_and_country(request.query)
    wave: Wave = chosen or "initial"
    dates = completion_dates(request.query)
    lang = language_of(request)
    _ = gettext_for(lang)
    try:
        chart, figures = await _cohort(console, wave, country, dates, lang, user.actor, user.scope)
    except StaffReadFailed:
        chart, figures = None, None
    definition: FlowDefinition = console.definition
    return console.page(
        request,
        "cohort.html",
        200 if figures else 503,
        title=_("Cohort"),
        wave=wave,
        country=country or "",
        waves=WAVES,
        wave_order=WAVE_ORDER,
        scores=SCORES,
        dimensions=DIMENSIONS,
        chart=chart,
        panels=PANELS,
        since=dates[0].isoformat() if dates[0] else "",
        until=dates[1].isoformat() if dates[1] else "",
        figures=figures,
        problem=None if figures else _("The figures could not be read; please try again later."),
        formats=FORMATS,
        layouts=LAYOUTS,
        label_languages=definition.languages,
        repeats=[
            (name, repeat.label.get(lang, repeat.label[definition.languages[0]]))
            for name, repeat in definition.repeats.items()
        ],
        completed=await reports.count_completed(
            console.store,
            reports.Selection(
                wave=wave,
                country=country,
                completed_from=dates[0],
                completed_to=dates[1],
                flow_id=definition.id,
                scope=user.scope,
            ),
        ),
    )


@requires("export")
async def export_file(console: Console, request: web.Request) -> web.StreamResponse:
    """An export (or the codebook or the assistance beside the CSV export) as a
    download."""
    user = request[USER]
    query = request.query
    fmt, layout, what = query.get("format"), query.get("layout", "wide"), query.get("file")
    labels = query.get("labels") or "en"
    if (
        fmt not in FORMATS
        or layout not in LAYOUTS
        or labels not in (*console.definition.languages, "none")
        or what not in (None, "data", "codebook", "assistance", *repeat_files(console.definition))
        or (what not in (None, "data") and fmt != "csv")
    ):
        return console.refuse(request, 404, N_("There is no such export."))
    wave, country = wave_and_country(query)
    since, until = completion_dates(query)
    with tempfile.TemporaryDirectory(prefix="rssbot-console-") as folder:
        path = Path(folder) / f"rss-surveys.{fmt}"
        arguments = ["export", "--format", fmt, "--layout", layout, "--labels", labels]
        arguments += [*(["--wave", wave] if wave else []), "--as", user.actor]
        arguments += [*(["--country", country] if country else [])]
        arguments += [*(["--from", since.isoformat()] if since else [])]
        arguments += [*(["--to", until.isoformat()] if until else [])]
        arguments += ["--output", str(path), *weights_arguments(console.table)]
        try:
            await run_rssbot(console.store, arguments)
        except StaffReadFailed:
            return console.refuse(request, 503, N_("The export stopped; please try again later."))
        served = {
            "codebook": codebook_path(path),
            "assistance": assistance_path(path),
            **{f"repeat-{r}": repeat_path(path, r) for r in console.definition.repeats},
        }.get(what or "", path)
        response = web.StreamResponse(
            headers={
                "Content-Type": CONTENT_TYPES[served.suffix],
                "Content-Disposition": f'attachment; filename="{served.name}"',
                "Content-Length": str(served.stat().st_size),
            }
        )
        await response.prepare(request)
        with served.open("rb") as file:
            while chunk := file.read(1 << 16):
                await response.write(chunk)
        await response.write_eof()
        return response


def repeat_files(definition: FlowDefinition) -> list[str]:
    """The ``file`` of each repeat's CSV beside a CSV export."""
    return [f"repeat-{r}" for r in definition.repeats]


#: the files the console's analysis pages serve
CONTENT_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


def add_routes(router: web.UrlDispatcher, b: Binder) -> None:
    router.add_get("/cohort", b(cohort_page))
    router.add_get("/export", b(export_file))
