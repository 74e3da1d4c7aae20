"""The console's programme report: the tables of the evaluation (scores by assistance,
profile, country, chat app and months since return; per wave and as changes between
waves), a chart per period, and the pack to download (the XLSX workbook, charts as PNG
and SVG). The page prints as a report (the browser's print to PDF).

The figures are read by a child ``rssbot report`` process, as the cohort's are, and kept
until a survey of the selection is completed (the cache key holds the number of
completed surveys and the latest completion), for at most :data:`KEPT` seconds.
"""

from __future__ import annotations

import base64
import json
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.programme_report import ReportWords, breakdown_choices
from bot.staff_reads import StaffReadFailed, run_rssbot, weights_arguments
from bot.staff_words import N_
from bot.web.analysis import CONTENT_TYPES, completion_dates
from bot.web.app import USER, Binder, Console, gettext_for, language_of, requires
from scoring.programme import PAIRS, SCORES, WAVES, period_of
from storage import reports
from storage.scopes import Scope

#: seconds a report's figures are reused at most
KEPT = 900.0
#: reports kept at most (the oldest dropped first)
KEPT_REPORTS = 8
#: the console's cache key prefix (the cohort page shares the cache)
CACHE = "programme"
PERIODS = (*WAVES, *(period_of(p) for p in PAIRS))


@dataclass(frozen=True)
class Pack:
    """One report as the child process wrote it."""

    data: dict[str, Any]
    workbook: bytes
    #: chart name -> (PNG, SVG)
    charts: dict[str, tuple[bytes, bytes]]


@dataclass(frozen=True)
class Filters:
    country: str | None
    since: date | None
    until: date | None
    cross: tuple[str, str] | None

    @classmethod
    def of(cls, query: Any, known: set[str]) -> Filters:
        since, until = completion_dates(query)
        country = str(query.get("country") or "").strip().upper() or None
        a, b = query.get("cross_a") or "", query.get("cross_b") or ""
        cross = (a, b) if a in known and b in known and a != b else None
        return cls(country, since, until, cross)

    def arguments(self) -> list[str]:
        out = [*(["--country", self.country] if self.country else [])]
        out += [*(["--from", self.since.isoformat()] if self.since else [])]
        out += [*(["--to", self.until.isoformat()] if self.until else [])]
        if self.cross:
            out += ["--cross", self.cross[0], "--cross", self.cross[1]]
        return out

    def query(self) -> dict[str, str]:
        return {
            "country": self.country or "",
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
            "cross_a": self.cross[0] if self.cross else "",
            "cross_b": self.cross[1] if self.cross else "",
        }


async def _pack(
    console: Console, filters: Filters, language: str, actor: str, scope: Scope
) -> Pack:
    selection = reports.Selection(
        country=filters.country,
        completed_from=filters.since,
        completed_to=filters.until,
        flow_id=console.definition.id,
        scope=scope,
    )
    stamp = await reports.completion_stamp(console.store, selection)
    key = (CACHE, filters, language, console.table.version, scope.frozen(), stamp)
    kept = console.cache.get(key)
    if kept is not None and time.monotonic() - kept[0] < KEPT:
        pack: Pack = kept[1]
        return pack
    with tempfile.TemporaryDirectory(prefix="rssbot-console-") as folder:
        out = Path(folder)
        arguments = ["report", "--output", str(out / "pack"), "--data", str(out / "data.json")]
        arguments += ["--as", actor, "--language", language, *filters.arguments()]
        await run_rssbot(console.store, arguments + weights_arguments(console.table))
        charts = {
            png.stem: (png.read_bytes(), png.with_suffix(".svg").read_bytes())
            for png in sorted((out / "pack").glob("*.png"))
        }
        pack = Pack(
            json.loads((out / "data.json").read_text()),
            (out / "pack" / "programme-report.xlsx").read_bytes(),
            charts,
        )
    ours = [k for k in console.cache if isinstance(k, tuple) and k[:1] == (CACHE,)]
    for old in ours[: max(0, len(ours) - KEPT_REPORTS + 1)]:  # (a dict keeps its order)
        console.cache.pop(old, None)
    console.cache[key] = (time.monotonic(), pack)
    return pack


def _figure(figures: dict[str, list[float | None]], score: str) -> dict[str, float | None]:
    mean, median, low, high = figures.get(score) or [None, None, None, None]
    return {"mean": mean, "median": median, "low": low, "high": high}


@requires("stats")
async def programme_page(console: Console, request: web.Request) -> web.StreamResponse:
    user = request[USER]
    lang = language_of(request)
    _ = gettext_for(lang)
    words = ReportWords(console.programme, lang)
    choices = breakdown_choices(console.programme, words)
    filters = Filters.of(request.query, {code for code, _name in choices})
    period = request.query.get("period") if request.query.get("period") in PERIODS else "initial"
    try:
        pack: Pack | None = await _pack(console, filters, lang, user.actor, user.scope)
    except StaffReadFailed:
        pack = None
    tables = []
    if pack is not None:
        for t in pack.data["tables"]:
            if t["period"] != period:
                continue
            rows = []
            for row in [t["total"], *t["rows"]]:
                values = row["values"]
                rows.append(
                    {
                        "group": " × ".join(
                            words.value(b, v) for b, v in zip(t["by"], values, strict=True)
                        )
                        if values
                        else _("all"),
                        "n": row["n"],
                        "hidden": row["hidden"],
                        "figures": {s: _figure(row["figures"], s) for s in SCORES},
                    }
                )
            tables.append(
                {
                    "title": " × ".join(words.breakdown(b) for b in t["by"]),
                    "id": "-".join(t["by"]).replace(":", "_").replace("=", "_"),
                    "rows": rows,
                    "differences": [
                        {
                            "score": words.staff.dimension(score),
                            "difference": difference,
                            "low": low,
                            "high": high,
                            "reading": words.verdict(verdict),
                            "noise": verdict == "within the noise",
                        }
                        for score, difference, low, high, verdict in t["differences"]
                        if score == "composite"
                    ],
                    "assistance": t["by"][0].startswith("assistance:"),
                    "n_with": t["rows"][0]["n"] if t["differences"] else None,
                    "n_without": t["rows"][1]["n"] if t["differences"] else None,
                }
            )
    chart = pack.charts.get(f"differences-{period}") if pack else None
    query = filters.query()
    return console.page(
        request,
        "programme.html",
        200 if pack else 503,
        title=_("Programme report"),
        period=period,
        periods=[(p, words.period(p)) for p in PERIODS],
        tables=tables,
        k=pack.data["k"] if pack else None,
        report_weights=pack.data["weights_note"] if pack else "",
        choices=choices,
        filters=query,
        chart=base64.b64encode(chart[0]).decode() if chart else None,
        chart_name=f"differences-{period}",
        scores=SCORES,
        problem=None if pack else _("The figures could not be read; please try again later."),
        download=query,
    )


@requires("stats")
async def programme_download(console: Console, request: web.Request) -> web.StreamResponse:
    """The workbook, or one chart as SVG or PNG (``file``: ``workbook`` or a chart name
    with its suffix)."""
    user = request[USER]
    lang = language_of(request)
    words = ReportWords(console.programme, lang)
    known = {code for code, _name in breakdown_choices(console.programme, words)}
    filters = Filters.of(request.query, known)
    wanted = request.match_info["file"]
    try:
        pack = await _pack(console, filters, lang, user.actor, user.scope)
    except StaffReadFailed:
        return console.refuse(request, 503, N_("The report stopped; please try again later."))
    if wanted == "programme-report.xlsx":
        body, kind = pack.workbook, CONTENT_TYPES[".xlsx"]
    else:
        stem, _dot, suffix = wanted.rpartition(".")
        if stem not in pack.charts or suffix not in ("png", "svg"):
            return console.refuse(request, 404, N_("There is no such file."))
        body = pack.charts[stem][0 if suffix == "png" else 1]
        kind = CONTENT_TYPES[f".{suffix}"]
    return web.Response(
        body=body,
        headers={
            "Content-Type": kind,
            "Content-Disposition": f'attachment; filename="{wanted}"',
        },
    )


def add_routes(router: web.UrlDispatcher, b: Binder) -> None:
    router.add_get("/programme", b(programme_page))
    router.add_get("/programme/{file}", b(programme_download))
