"""A viewer (who may not open case files) tries to learn one returnee's scores: the only
returnee of their country, who also completed their survey on a day nobody else did.
Through the console's cohort and programme pages, the chat's /stats, the programme
report's files and data, and the row-level exports, with every filter that narrows to
them: no figure built on fewer than k returnees is shown, and no hidden cell of any
table can be worked out from what the same tables show."""

from __future__ import annotations

import html
import json
import random
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook

from bot.staff_reads import StaffReadFailed, run_rssbot
from bot.web.app import SERVER_OPTIONS, Console, build_console_app
from scoring import default_weight_table
from storage import console_auth
from storage.caseload import CaseRecord, Profile
from storage.store import Store
from tests.e2e.conftest import Harness
from tests.storage.helpers import save
from tests.support.programme import cohort, seed, whole_survey
from tests.unit.test_disclosure import recoverable

K = 5
ALONE = datetime(2026, 7, 2, 9, tzinfo=UTC)  # the day only the target completed


async def target(store: Store) -> None:
    """The returnee the viewer is after: alone in Togo, alone on their day."""
    record = CaseRecord(
        "TARGET-1", date(2026, 3, 1), "TG", "fr", profile=Profile(attributes={"sex": "female"})
    )
    outcome = await store.caseload.import_records([record], actor="test")
    returnee = outcome.created[0].returnee
    await store.give_consent(returnee.id, version="v1", language="fr")
    clock = store.clock
    store.clock = lambda: ALONE  # type: ignore[method-assign]
    try:
        await save(store, returnee.id, "initial", whole_survey(random.Random(1)))
    finally:
        store.clock = clock  # type: ignore[method-assign]


def lines_of(tables: Sequence[dict[str, Any]]) -> tuple[dict[Any, int | None], list[list[Any]]]:
    """The cells of one period's tables as the report's data shows them (None: hidden),
    and the lines whose sums are shown totals: each breakdown's groups and the total,
    each row and column of the cross with the breakdowns' groups as margins."""
    cells: dict[Any, int | None] = {}
    lines: list[list[Any]] = []
    for table in tables:
        by = tuple(table["by"])
        total = ("total",)
        cells[total] = table["total"]["n"]
        keys = []
        for row in table["rows"]:
            key = tuple(zip(by, row["values"], strict=True))
            cells[key] = row["n"]
            keys.append(key)
        if len(by) == 1:
            lines.append([*keys, total])
        else:
            a_values = sorted({k[0] for k in keys})
            b_values = sorted({k[1] for k in keys})
            for x in a_values:
                lines.append([k for k in keys if k[0] == x] + [(x,)])
            for y in b_values:
                lines.append([k for k in keys if k[1] == y] + [(y,)])
    return cells, lines


def check_report_data(data: dict[str, Any]) -> int:
    """No figure under K; nothing hidden recoverable; how many cells were hidden."""
    hidden_count = 0
    periods = {t["period"] for t in data["tables"]}
    for period in periods:
        tables = [t for t in data["tables"] if t["period"] == period]
        for t in tables:
            for row in [t["total"], *t["rows"]]:
                if row["hidden"]:
                    assert row["n"] is None and not row["figures"]
                    hidden_count += 1
                else:
                    assert row["n"] == 0 or row["n"] >= K, (period, t["by"], row)
                    assert not row["figures"] or row["n"] >= K
        cells, lines = lines_of(tables)
        hidden = {key for key, n in cells.items() if n is None}
        known = {key: n for key, n in cells.items() if n is not None}
        assert not recoverable({**known, **dict.fromkeys(hidden, 0)}, lines, hidden), period
    return hidden_count


def shown_counts(page: str) -> list[int]:
    return [int(n) for n in re.findall(r"\(n=(\d+)\)", page)]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_viewer_cannot_learn_one_returnees_scores_anywhere(
    harness: Harness, user_factory: Any, tmp_path: Path
) -> None:
    store = harness.store
    assert store is not None
    await seed(store, cohort())
    await target(store)
    viewer_chat = user_factory("en")
    viewer = await store.add_staff(viewer_chat.user_id, "viewer", name="Viewer")

    # the console, as the viewer
    server = TestServer(build_console_app(Console(store, default_weight_table())))
    await server.start_server(**SERVER_OPTIONS)
    client: TestClient = TestClient(server)  # type: ignore[type-arg]
    await client.start_server()
    try:
        token = await console_auth.issue_link(store, viewer)
        await client.post("/login", data={"token": token}, allow_redirects=False)
        alone = ALONE.date().isoformat()
        for query in (
            "wave=initial&country=TG",
            f"wave=initial&from={alone}&to={alone}",
            f"wave=initial&country=TG&from={alone}",
            "wave=final&country=ML",
        ):
            page = html.unescape(await (await client.get(f"/cohort?{query}")).text())
            assert all(n >= K for n in shown_counts(page)), (query, shown_counts(page))
            if "TG" in query or alone in query:
                assert "Fewer than 5 completed surveys" in page, query
                assert 'id="cohort-chart"' not in page
        for query in (
            "country=TG",
            f"from={alone}&to={alone}",
            "cross_a=attribute:sex&cross_b=country",
        ):
            for period in ("initial", "initial-intermediate"):
                page = html.unescape(
                    await (await client.get(f"/programme?period={period}&{query}")).text()
                )
                numbers = re.findall(r'<td class="n">(\d+)</td>', page)
                assert all(int(n) == 0 or int(n) >= K for n in numbers), (query, numbers)
        refused = await client.get("/export?format=csv&layout=wide&labels=en")
        assert refused.status == 403  # no row-level file for a viewer
        workbook = await client.get("/programme/programme-report.xlsx?country=TG")
        assert workbook.status == 200
        path = tmp_path / "tg.xlsx"
        path.write_bytes(await workbook.read())
        for row in list(load_workbook(path, read_only=True)["Waves"].iter_rows(values_only=True))[
            2:
        ]:
            assert (
                row[4:] == (None,) * len(row[4:]) or row[4] == "not shown (n<5 or its complement)"
            ), row
    finally:
        await client.close()

    # the chat
    viewer_chat.send("/stats initial TG")
    await viewer_chat.expect("Fewer than 5 completed surveys (initial, TG)")
    viewer_chat.send("/export")
    await viewer_chat.expect("I do not know this command")

    # the command line, as the viewer: every filter that narrows to the target
    staff_id = f"staff:{viewer}"
    with pytest.raises(StaffReadFailed, match="may not export surveys row by row"):
        await run_rssbot(store, ["export", "--as", staff_id, "--output", str(tmp_path / "x.csv")])
    hidden = 0
    alone_day = ["--from", alone, "--to", alone]
    for filters, cross in (
        ([], []),
        (["--country", "TG"], []),
        (alone_day, []),
        (["--country", "GN"], ["--cross", "attribute:sex", "--cross", "country"]),
        ([], ["--cross", "assistance:cash", "--cross", "attribute:vulnerabilities=disability"]),
        (["--country", "TG"], ["--cross", "attribute:sex", "--cross", "since_return"]),
    ):
        out = tmp_path / "data.json"
        pack = ["--output", str(tmp_path / "pack"), "--data", str(out)]
        await run_rssbot(store, ["report", "--as", staff_id, *pack, *filters, *cross])
        hidden += check_report_data(json.loads(out.read_text()))
        png = ["--output", str(tmp_path / "c.png")]
        said = await run_rssbot(
            store, ["chart", "cohort", "--wave", "initial", "--as", staff_id, *png, *filters]
        )
        if "TG" in filters or alone in filters:
            assert "fewer than 5 surveys" in said
    assert hidden > 0  # (the cohort has small groups: the check had cells to look at)
