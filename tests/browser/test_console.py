"""The staff console in a real headless Chromium: each role signs in through the link the
bot sends for /console, sees its pages and is refused the others; a form posted without
its CSRF token is refused; a round is previewed, confirmed, paused, resumed and watched to
its end, reaching the fake Bot API once per due returnee; an export downloaded from the
browser opens with openpyxl. The README's screenshots (en, ar) are taken here."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot.web.app import Console
from storage import outbox, schedules
from storage.feedback import Voice
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import FakeTelegram
from tests.support.audio import opus_clip
from tests.support.browser import Browser
from tests.support.console import completed_surveys, due_returnees, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: what each role may open, and pages it must be refused (403)
PAGES = {
    "admin": (
        ["/", "/due", "/rounds", "/schedules", "/cohort", "/returnee", "/staff", "/audit"],
        ["/feedback"],
    ),
    "caseworker": (
        ["/", "/due", "/rounds", "/schedules", "/cohort", "/returnee"],
        ["/feedback", "/staff", "/audit"],
    ),
    "viewer": (
        ["/", "/due", "/cohort"],
        ["/rounds", "/schedules", "/returnee", "/feedback", "/staff", "/audit"],
    ),
    "feedback_officer": (
        ["/feedback"],
        ["/due", "/rounds", "/schedules", "/cohort", "/returnee", "/staff", "/audit"],
    ),
}
HEADINGS = {
    "/": "Overview",
    "/due": "Due and rounds",
    "/rounds": "Reminder rounds",
    "/schedules": "Scheduled rounds",
    "/cohort": "Cohort",
    "/returnee": "Returnee",
    "/feedback": "Feedback",
    "/staff": "Staff",
    "/audit": "Audit log",
}


def sends(server: FakeTelegram, chats: list[int]) -> Counter[int]:
    return Counter(
        int(p["chat_id"])
        for m, p in server.calls
        if m == "sendmessage" and int(p["chat_id"]) in chats
    )


async def test_each_role_sees_its_pages_is_refused_the_others_and_csrf_is_checked(
    harness: Harness,
    console: Console,
    browser: Browser,
    user_factory: Any,
) -> None:
    store = harness.store
    assert store is not None
    await schedules.add_schedule(
        store, wave="initial", country=None, hour=9, repeat_days=None, actor="cli:test"
    )
    for role, (allowed, refused) in PAGES.items():
        member = user_factory("en")
        await store.add_staff(member.user_id, role, name=f"{role} one")
        browser.forget_cookies()
        await browser.open("/due")
        assert await browser.path() == "/login"  # nothing without signing in
        await sign_in(browser, member)
        for page in allowed:
            await browser.open(page)
            assert HEADINGS[page] in await browser.text("h1"), (role, page)
            assert "Not allowed" not in await browser.text("h1")
        for page in refused:
            await browser.open(page)
            assert await browser.text("h1") == "Not allowed", (role, page)
            assert await browser.text("#status") == "HTTP 403"
            # not offered in the menu either
            assert not await browser.has(f'header nav a[href="{page}"]'), (role, page)
        if role == "caseworker":
            # a state-changing form whose CSRF token was taken out: refused, nothing changed
            await browser.open("/schedules")
            await browser.script("document.querySelector('#schedules input[name=csrf]').remove()")
            await browser.click("#schedules button")
            assert "This form has expired" in await browser.text()
            assert await browser.text("#status") == "HTTP 403"
            assert (await schedules.list_schedules(store))[0].active
            await browser.open("/schedules")  # with its token: done
            await browser.click("#schedules button")
            assert "paused" in await browser.text("#schedules")
            assert not (await schedules.list_schedules(store))[0].active
        await browser.click("header form button")  # sign out
        assert await browser.path() == "/login"
        await browser.open("/due")
        assert await browser.path() == "/login"


async def test_a_round_previewed_confirmed_paused_and_resumed_reaches_each_due_returnee_once(
    harness: Harness,
    console: Console,
    browser: Browser,
    user_factory: Any,
) -> None:
    store = harness.store
    assert store is not None
    chats = await due_returnees(store, 6)
    stopped = await store.enroll(
        case_ref="STOPPED", return_date=date(2026, 10, 1), country="GN", language="fr"
    )
    await store.set_status(stopped.id, "opted_out")
    caseworker = user_factory("en")
    await store.add_staff(caseworker.user_id, "caseworker", name="Awa")
    await sign_in(browser, caseworker)
    await browser.screenshot("console-overview-en")

    await browser.open("/due")
    await browser.choose("select[name=wave]", "initial")
    await browser.click("form.filters button")
    assert "7 due today, 6 to remind." in await browser.text("#due-summary")
    assert "not reminded, stopped: 1" in await browser.text("#due-summary")
    assert "DUE-880000" in await browser.text("#due-list")  # case references for a caseworker
    await browser.screenshot("console-due-en")

    # someone becomes due between the preview and the confirmation: the list is not the
    # one confirmed, so nothing is sent and the new list is shown
    late = await due_returnees(store, 1, first_chat=880100)
    await browser.click("#confirm-round button")
    assert "The list changed since you looked at it (7 to remind now)" in await browser.text()
    assert await outbox.recent_rounds(store) == []
    chats += late

    await browser.click("#confirm-round button")  # the list as now shown
    assert (await browser.path()).startswith("/rounds/")
    await browser.click("#round-toggle")  # pause while it sends (4 a second)
    await browser.wait_text("#round-state", "Paused")
    paused = await outbox.report(store, (await browser.path()).split("/")[-1])
    assert paused.paused and paused.pending > 0
    before = sum(sends(harness.server, chats).values())
    await asyncio.sleep(1.0)
    assert sum(sends(harness.server, chats).values()) == before  # nothing while paused
    await browser.click("#round-toggle")  # resume
    await browser.wait_text("#round-state", "Finished")
    assert await browser.text("#count-sent") == "7"
    await browser.screenshot("console-round-en")
    assert sends(harness.server, chats) == Counter(dict.fromkeys(chats, 1))

    await browser.open("/rounds")
    assert "finished" in await browser.text("#rounds")


async def test_cohort_export_case_file_and_the_console_in_arabic(
    harness: Harness,
    console: Console,
    browser: Browser,
    user_factory: Any,
    tmp_path: Path,
) -> None:
    store = harness.store
    assert store is not None
    await completed_surveys(store)
    officer = await store.enroll(
        case_ref="FB-1", return_date=date(2026, 10, 1), country="GN", language="fr"
    )
    await store.give_consent(officer.id, version="v1", language="fr")
    await store.add_feedback(officer.id, "Le kit est arrivé en retard", rating=3, anonymous=False)
    spoken = opus_clip(tmp_path / "feedback.ogg", 2).read_bytes()
    await store.add_feedback(
        officer.id, "", rating=4, anonymous=False, voice=Voice(spoken, "audio/ogg", 2)
    )
    admin = user_factory("en")
    await store.add_staff(admin.user_id, "admin", name="Admin")
    await sign_in(browser, admin)

    await browser.open("/cohort?wave=initial")
    assert "6 completed surveys of wave initial" in await browser.text("#cohort-summary")
    assert "provisional" in await browser.text("#weights")
    means = await browser.text("#cohort-means")
    assert "composite" in means and "(n=6)" in means
    assert "(n=4)" not in means and "n<5" in means  # four intermediate surveys: not shown
    for panel in ("distributions", "lowest", "means", "movements"):
        source = await browser.attribute(f"#cohort-chart-{panel}", "src") or ""
        assert source.startswith("data:image/png"), panel
    await browser.screenshot("console-cohort-en")

    await browser.choose("#export-form select[name=format]", "xlsx")
    await browser.click("#download", navigates=False)
    downloaded = await browser.wait_download(".xlsx")
    book = openpyxl.load_workbook(downloaded, read_only=True)
    sheet = book[book.sheetnames[0]]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 6  # header and the six initial surveys
    assert "composite" in rows[0] and "case_ref" in rows[0]  # an admin's export
    assert any(name.lower().startswith("codebook") for name in book.sheetnames)
    book.close()

    await browser.open("/returnee")
    await browser.fill("input[name=case_ref]", "CASE-TRACK")
    await browser.click("#find-returnee button")
    assert "CASE-TRACK" not in await browser.path()  # never in a URL
    scores = await browser.text("#returnee-scores")
    assert all(wave in scores for wave in ("initial", "intermediate", "final"))
    assert "given" in await browser.text("#returnee-consent")
    assert await browser.has("#returnee-chart")
    await browser.screenshot("console-returnee-en")

    await browser.open("/audit?action=view_returnee")
    assert "opened a case file" in await browser.text("#audit")
    assert "Admin" in await browser.text("#audit")

    await browser.open("/language/ar")
    assert await browser.attribute("html", "dir") == "rtl"
    await browser.screenshot("console-overview-ar")
    await browser.screenshot("console-overview-ar-phone", width=390)  # a phone's width
    await browser.open("/cohort?wave=initial")
    assert await browser.attribute("html", "lang") == "ar"
    await browser.screenshot("console-cohort-ar")

    officer_staff = user_factory("fr")
    await store.add_staff(officer_staff.user_id, "feedback_officer", name="Officer")
    browser.forget_cookies()
    await sign_in(browser, officer_staff)
    assert await browser.path() == "/feedback"
    assert "Le kit est arrivé en retard" in await browser.text("#feedback")
    # the voice note plays in the browser (fetched from the console, each play audited)
    assert "2 s" in await browser.text("#feedback")
    state = await browser.script(
        "const a = document.querySelector('#feedback audio');"
        "return new Promise((done) => {"
        "  a.addEventListener('loadedmetadata', () => done(['ok', a.src]));"
        "  a.addEventListener('error', () => done(['error', a.error && a.error.code]));"
        "  a.preload = 'auto'; a.load(); });"
    )
    assert state[0] == "ok" and state[1].endswith("/voice"), state
    plays = [e for e in await store.audit_entries() if e.action == "play_feedback_voice"]
    assert plays and plays[-1].actor.startswith("staff:")
    assert await browser.accessibility_violations() == []
    await browser.screenshot("console-feedback-voice")
