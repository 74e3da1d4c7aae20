"""`rssbot caseload import` as a country office uses it: a realistic caseload of 2,000
rows, a copy with 20 rows broken in different ways refused with each error at its row and
column and nothing stored, the fixed file imported with an invitation for every new
returnee, the same file again changing nothing, and a later export updating it."""

from __future__ import annotations

import asyncio
import csv
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.cli import app
from bot.common import open_store
from bot.programme import load_programme
from tests.support.caseload import BREAKAGES, broken, make_caseload

TODAY = date.today()


async def _counts() -> tuple[int, int]:
    from sqlalchemy import func, select

    from storage.models import AssistanceItem, Returnee

    store = await open_store()
    try:
        async with store.sessions() as session:
            returnees = await session.scalar(select(func.count()).select_from(Returnee))
            items = await session.scalar(select(func.count()).select_from(AssistanceItem))
        return int(returnees or 0), int(items or 0)
    finally:
        await store.close()


def test_a_caseload_is_checked_whole_imported_once_and_updated(
    initialised: Path, tmp_path: Path
) -> None:
    runner = CliRunner(env={"TELEGRAM_BOT_USERNAME": "rss_test_bot", "COLUMNS": "200"})
    # (every import below that enrols names where its links go)
    caseload = make_caseload(load_programme(), 2000, today=TODAY)
    good = caseload.write(tmp_path / "caseload.xlsx")
    bad_copy, expected = broken(caseload)
    bad = bad_copy.write(tmp_path / "caseload-broken.xlsx")
    assert len(expected) == len(BREAKAGES) == 20

    refused = runner.invoke(app, ["caseload", "import", str(bad), "--rejected",
                                  str(tmp_path / "rejected.csv")])  # fmt: skip
    assert refused.exit_code == 1, refused.output
    assert "nothing was imported" in refused.stderr
    with (tmp_path / "rejected.csv").open(encoding="utf-8-sig") as f:
        rejected = list(csv.DictReader(f))
    for row, column, words in expected:
        line = next((r for r in rejected if r["row"] == str(row)), None)
        assert line is not None, (row, column)
        assert f"{column}: " in line["errors"] and words in line["errors"], (line["errors"], words)
    assert asyncio.run(_counts()) == (0, 0)

    dry = runner.invoke(app, ["caseload", "import", str(good), "--dry-run"])
    assert dry.exit_code == 0 and "Nothing was stored" in dry.stdout
    assert asyncio.run(_counts()) == (0, 0)

    links, sheet = tmp_path / "links.csv", tmp_path / "sheet.html"
    imported = runner.invoke(app, ["caseload", "import", str(good), "--links", str(links),
                                   "--sheet", str(sheet)])  # fmt: skip
    assert imported.exit_code == 0, imported.output
    n = caseload.returnees
    items = sum(1 for r in caseload.rows if r.get("assistance_type"))
    assert f"{n} enrolled, 0 updated, 0 unchanged" in imported.stdout
    assert asyncio.run(_counts()) == (n, items)
    with links.open(encoding="utf-8-sig") as f:
        invitations = list(csv.DictReader(f))
    assert sorted(i["case_ref"] for i in invitations) == sorted(
        {r["case_ref"] for r in caseload.rows}
    )
    assert all(i["link"].startswith("https://t.me/rss_test_bot?start=") for i in invitations
               if i["channel"] == "telegram")  # fmt: skip
    html = sheet.read_text("utf-8")
    assert html.count('class="card"') == n and html.count("<svg") == n
    first_names = {r["first_name"] for r in caseload.rows if r.get("first_name")}
    assert any(name in html for name in first_names if not name.isascii())  # (Arabic names)

    again = runner.invoke(app, ["caseload", "import", str(good)])
    assert again.exit_code == 0 and f"0 enrolled, 0 updated, {n} unchanged" in again.stdout
    assert asyncio.run(_counts()) == (n, items)

    # a later export: two returnees' assistance delivered, one more item for another
    later = make_caseload(load_programme(), 2000, today=TODAY)
    changed = [i for i, r in enumerate(later.rows) if r.get("assistance_status") == "planned"]
    for index in changed[:2]:
        later.rows[index]["assistance_status"] = "delivered"
    case_ref = later.rows[0]["case_ref"]
    later.rows.append({"case_ref": case_ref, "assistance_type": "legal_documents",
                       "assistance_start": TODAY.isoformat()})  # fmt: skip
    newer = later.write(tmp_path / "caseload-later.csv")
    updated = runner.invoke(app, ["caseload", "import", str(newer)])
    assert updated.exit_code == 0, updated.output
    touched = len({later.rows[i]["case_ref"] for i in changed[:2]} | {case_ref})
    assert f"0 enrolled, {touched} updated, {n - touched} unchanged" in updated.stdout
    assert asyncio.run(_counts()) == (n, items + 1)
    listed = runner.invoke(app, ["assistance", "list", "--case", case_ref])
    assert listed.exit_code == 0 and "Legal documents" in listed.stdout


def test_skip_invalid_imports_the_good_returnees_and_writes_the_rest(
    initialised: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # (the invitations are written here)
    caseload = make_caseload(load_programme(), 120, today=TODAY)
    bad_copy, expected = broken(caseload)
    bad = bad_copy.write(tmp_path / "broken.csv")
    rejected = tmp_path / "to-fix.csv"
    result = CliRunner().invoke(
        app, ["caseload", "import", str(bad), "--skip-invalid", "--rejected", str(rejected)]
    )
    assert result.exit_code == 0, result.output
    bad_refs = {caseload.rows[row - 2]["case_ref"] for row, _, _ in expected}
    returnees, _ = asyncio.run(_counts())
    assert returnees == caseload.returnees - len(bad_refs)
    with rejected.open(encoding="utf-8-sig") as f:
        assert {int(r["row"]) for r in csv.DictReader(f)} >= {row for row, _, _ in expected}


def test_the_template_takes_its_own_example(
    initialised: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # (the invitations are written here)
    path = tmp_path / "template.xlsx"
    result = CliRunner().invoke(app, ["caseload", "template", str(path)])
    assert result.exit_code == 0
    book = load_workbook(path)
    assert book.sheetnames == ["caseload", "columns"]
    guide = {row[0]: row[2] for row in book["columns"].iter_rows(min_row=2, values_only=True)}
    assert "encrypted" in guide["migrant_category"] and "ISO 3166" in guide["country"]
    imported = CliRunner().invoke(app, ["caseload", "import", str(path)])
    assert imported.exit_code == 0 and "1 enrolled" in imported.stdout, imported.output
    assert len(list(tmp_path.glob("invitations-*.html"))) == 1
