"""The console in the two pseudo-languages, in a real Chromium: every word a staff member
reads comes from a catalogue (en-XA: between ⟦ and ⟧; ar-XB: mirrored), pages laid out
right to left for ar-XB, nothing wider than the window although every text is 40% longer,
and WCAG 2.1 AA."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.web.app import Console
from tests.e2e.conftest import Harness
from tests.support.browser import Browser
from tests.support.console import completed_surveys, due_returnees, sign_in
from tests.support.languages import language_folder, unmarked

__all__ = ["language_folder"]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PAGES = [
    "/",
    "/due?wave=initial",
    "/cohort?wave=initial",
    "/programme",
    "/rounds",
    "/returnees",
    "/enrol",
    "/feedback",
    "/staff",
    "/audit",
]
#: what the pages show that is data, not words: the product's name, people's names as staff
#: typed them, file formats; case references and pseudonyms are in capitals
DATA = {"rssbot", "Admin", "CSV", "XLSX", "SVG", "PNG"}
#: the audit log's own record of a request (who, and its technical detail) is data
RECORDS = "#audit td:nth-child(2), #audit td:nth-child(5)"


def words_of(code: str) -> set[str]:
    """Words that come from elsewhere than a catalogue, by design: each language's name
    in itself, and CLDR's names of countries in the locale's language."""
    from babel import Locale

    from bot.languages import languages

    names = [languages().name(c) for c in languages()]
    names += Locale.parse(languages().cldr(code)).territories.values()
    return {w for name in names for w in re.findall(r"[A-Za-z]{2,}", name)}


@pytest.mark.parametrize("code", ["en-XA", "ar-XB"])
async def test_every_word_of_the_console_comes_from_a_catalogue(
    language_folder: Path,
    harness: Harness,
    console: Console,
    browser: Browser,
    user_factory: Any,
    code: str,
) -> None:
    store = harness.store
    assert store is not None
    await completed_surveys(store)
    await due_returnees(store, 3)
    r = await store.enroll(
        case_ref="CASE-9", return_date=date(2026, 10, 1), country="GN", language=code
    )
    await store.give_consent(r.id, version="v1", language=code)
    await store.add_feedback(r.id, "ጽቡቕ", rating=4, anonymous=False)
    admin = user_factory("en")
    await store.add_staff(admin.user_id, "admin", name="Admin")
    await sign_in(browser, admin)
    await browser.open(f"/language/{code}")
    assert await browser.attribute("html", "dir") == ("rtl" if code == "ar-XB" else "ltr")
    assert await browser.attribute("html", "lang") == code
    leaks: dict[str, list[str]] = {}
    allowed = words_of(code)
    for width in (1280, 390):
        await browser.resize(width)
        for page in PAGES:
            await browser.open(page)
            text = await browser.text("body")
            records = await browser.script(
                f"return [...document.querySelectorAll('{RECORDS}')].map((e) => e.innerText)"
            )
            for record in records:
                text = text.replace(record, " ")
            words = [
                w
                for w in unmarked(text)
                if w not in DATA and w not in allowed and not re.fullmatch(r"[A-Z0-9]+", w)
            ]
            if words:
                leaks[page] = sorted(set(words))
            assert await browser.overflowing() == [], (page, width)
            assert await browser.accessibility_violations() == [], (page, width)
    assert not leaks, "\n".join(f"{p}: {w}" for p, w in leaks.items())
    await browser.resize(1280)
    await browser.open("/cohort?wave=initial")
    await browser.screenshot(f"console-cohort-{code}")
