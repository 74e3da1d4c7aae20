"""The programme report in the console: a viewer produces it, reads its tables (figures
under k hidden), downloads its workbook and opens it, and the page passes axe in
English and Arabic, on a desk and a phone."""

from __future__ import annotations

from typing import Any

import openpyxl
import pytest

from bot.web.app import Console
from tests.e2e.conftest import Harness
from tests.support.browser import Browser
from tests.support.console import sign_in
from tests.support.programme import cohort, seed

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def test_a_viewer_produces_the_programme_report_and_opens_its_workbook(
    harness: Harness,
    console: Console,
    browser: Browser,
    user_factory: Any,
) -> None:
    store = harness.store
    assert store is not None
    await seed(store, cohort())
    viewer = user_factory("en")
    await store.add_staff(viewer.user_id, "viewer", name="Viewer")
    await sign_in(browser, viewer)

    await browser.open("/programme?period=initial")
    assert "Programme report" in await browser.text("h1")
    assert "24 of the 30 weights are provisional" in await browser.text("#report-weights")
    assert "observational" in await browser.text("#programme-reading")
    cash = await browser.text("#table-assistance_cash")
    assert "received" in cash and "not received" in cash
    assert "Composite, received minus not received" in cash
    country = await browser.text("#table-country")
    assert "Guinea" in country  # countries by name
    assert "n<5" in await browser.text("main")  # some groups are too small to show
    assert (await browser.attribute("#programme-chart", "src") or "").startswith("data:image/png")
    assert await browser.accessibility_violations() == []
    await browser.screenshot("console-programme-en")

    await browser.open(
        "/programme?period=initial-intermediate&cross_a=assistance:cash&cross_b=attribute:sex"
    )
    crossed = await browser.text("#table-assistance_cash-attribute_sex")
    assert "received × Female" in crossed or "received × Male" in crossed

    await browser.click("#download-workbook", navigates=False)
    downloaded = await browser.wait_download(".xlsx")
    book = openpyxl.load_workbook(downloaded, read_only=True)
    assert book.sheetnames == ["About", "Waves", "Changes between waves", "With and without"]
    waves = list(book["Waves"].iter_rows(values_only=True))
    assert "24 of the 30 weights are provisional" in str(waves[0][0])
    header = waves[1]
    assert header[:4] == ("period", "breakdown", "group", "n")
    for row in waves[2:]:  # no figure on fewer than five returnees
        if isinstance(row[3], int) and row[3] < 5:
            assert all(v is None for v in row[4:]), row
    crossed_rows = [
        r
        for r in book["Changes between waves"].iter_rows(values_only=True)
        if len(r) > 1 and r[1] and "×" in str(r[1])
    ]
    assert crossed_rows  # the cross the page asked for is in the workbook too
    book.close()

    await browser.open("/language/ar")
    await browser.open("/programme?period=initial")
    assert await browser.attribute("html", "dir") == "rtl"
    assert await browser.accessibility_violations() == []
    await browser.resize(390)
    assert await browser.overflowing() == []
    await browser.screenshot("console-programme-ar-phone", width=390)
