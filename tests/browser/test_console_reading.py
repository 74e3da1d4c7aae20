"""What a staff member reads in the console, in a real Chromium, in English and Arabic, at
a desktop's width (1280 px) and a phone's (390 px): every number sits under its own
column's header, statuses, waves, dimensions, roles and reasons are words of the page's
language (never the codes the database keeps), and no page scrolls sideways."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.web.app import Console
from storage import outbox
from storage.returnees import ReturneeStatus
from storage.store import Store
from tests.e2e.conftest import Harness
from tests.support.browser import Browser
from tests.support.console import completed_surveys, due_returnees, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: codes of the database that must never be what a person reads
CODES = (
    "in_progress",
    "opted_out",
    "no_consent",
    "not_joined",
    "no_reminders_there",
    "feedback_officer",
    "view_returnee",
    "console_sign_in",
    "sha256:",
)
PAGES = ["/", "/due?wave=initial", "/cohort?wave=initial", "/rounds", "/staff", "/audit"]
#: words each language must show for the initial wave and a returnee never joined
WORDS = {
    "en": ("initial", "invited, not joined", "economic", "administrator"),
    "ar": ("الأولى", "مدعو، لم ينضم", "الاقتصادي", "مسؤول"),
}


async def reads_well(browser: Browser, page: str, width: int) -> str:
    """Open ``page``: no code where a word belongs, every number under its header, nothing
    wider than the window, WCAG 2.1 AA; returns the text read."""
    await browser.open(page)
    text = await browser.text("body")
    assert not [code for code in CODES if code in text], (page, width)
    assert await browser.misplaced_numbers() == [], (page, width)
    assert await browser.overflowing() == [], (page, width)
    assert await browser.accessibility_violations() == [], (page, width)
    return text


async def a_programme(store: Store) -> None:
    """Returnees in every state: due and reminded, never joined, joined without consent,
    stopped; scored surveys of three waves."""
    await completed_surveys(store)
    await due_returnees(store, 3)
    states: list[tuple[bool, ReturneeStatus | None]] = [
        (False, None),
        (True, None),
        (False, "opted_out"),
    ]
    for i, (bound, status) in enumerate(states):
        r = await store.enroll(
            case_ref=f"STATE-{i}", return_date=date(2026, 10, 1), country="GN", language="fr"
        )
        if bound:
            await store.bind_telegram(r.id, 990000 + i, 990000 + i)
        if status:
            await store.set_status(r.id, status)


@pytest.mark.parametrize("language", ["en", "ar"])
async def test_numbers_under_their_headers_and_words_not_codes(
    harness: Harness, console: Console, browser: Browser, user_factory: Any, language: str
) -> None:
    store = harness.store
    assert store is not None
    await a_programme(store)
    admin = user_factory("en")
    await store.add_staff(admin.user_id, "admin", name="Admin")
    await sign_in(browser, admin)
    preview = await outbox.preview_round(
        store, wave="initial", country=None, windows=console.windows, today=console.today()
    )
    round_id = await outbox.create_round(store, preview, actor="cli:test")
    await browser.open(f"/language/{language}")
    assert await browser.attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
    seen = ""
    for width in (1280, 390):
        await browser.resize(width)
        for page in [*PAGES, f"/rounds/{round_id}", "/returnees", "/feedback"]:
            seen += await reads_well(browser, page, width)
    for word in WORDS[language]:
        assert word in seen, word
    # on a phone, the cohort's charts are panels each drawn at most about twice the size
    # shown (one four-panel figure was shrunk four times: unreadable)
    await browser.resize(390)
    await browser.open("/cohort?wave=initial")
    shrunk = await browser.script(
        "return [...document.querySelectorAll('#cohort-chart img')]"
        ".map((i) => i.naturalWidth / i.getBoundingClientRect().width)"
    )
    assert len(shrunk) == 4 and max(shrunk) < 2.2, shrunk
    alt = await browser.attribute("#cohort-chart-lowest", "alt") or ""
    lowest = {
        "en": "Lowest dimension: where help is needed",
        "ar": "البعد الأضعف: حيث تلزم المساعدة",
    }
    assert alt == lowest[language]  # (the chart's own words are in the page's language too)
    # the overview tells "send the link again" from "opened it, no consent yet"
    await browser.resize(1280)
    await browser.open("/")
    statuses = await browser.text("#statuses")
    joined, never = ("joined, no consent yet", "invited, not joined")
    if language == "ar":
        joined, never = "انضم، لم يوافق بعد", "مدعو، لم ينضم"
    assert joined in statuses and never in statuses


@pytest.mark.parametrize("language", ["en", "ar"])
async def test_the_work_pages_read_well_in_each_language_and_width(
    harness: Harness, console: Console, browser: Browser, user_factory: Any, language: str
) -> None:
    """Enrolment, the invitation handed over, the caseload, the feedback inbox."""
    store = harness.store
    assert store is not None
    r = await store.enroll(
        case_ref="W-1", return_date=date(2026, 10, 1), country="GN", language="fr"
    )
    await store.give_consent(r.id, version="v1", language="fr")
    await store.add_feedback(r.id, "Merci pour la formation", rating=5, anonymous=False)
    await store.add_feedback(r.id, "Le kit est arrivé tard", rating=None, anonymous=True)
    caseworker = user_factory("en")
    await store.add_staff(caseworker.user_id, "caseworker", name="Awa")
    officer = user_factory("en")
    await store.add_staff(officer.user_id, "feedback_officer", name="Omar")
    for member, pages in ((caseworker, ["/enrol", "/returnees"]), (officer, ["/feedback"])):
        browser.forget_cookies()
        await sign_in(browser, member)
        await browser.open(f"/language/{language}")
        for width in (1280, 390):
            await browser.resize(width)
            for page in pages:
                await reads_well(browser, page, width)
            if member is officer and (language, width) == ("ar", 390):
                await browser.screenshot("console-feedback-ar-phone", width=width)
    inbox = await browser.text("#feedback")
    if language == "ar":
        assert "مجهولة" in inbox or "مجهول" in inbox
        assert "5 من 5" in inbox
    else:
        assert "anonymous" in inbox and "5 out of 5" in inbox and "no rating" in inbox
