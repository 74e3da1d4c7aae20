"""A caseworker's day in the console, in a real Chromium, without a shell: enrol a returnee
and hand them the link, see them join, remind them, and a feedback officer reads their
feedback and marks it handled. Then what goes wrong on such a day: a case enrolled twice,
a lost link, a date in the future, an admin adding and removing staff."""

from __future__ import annotations

from typing import Any

import pytest

from bot.web.app import Console
from storage.store import Store
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import BOT_USERNAME, FakeUser
from tests.support.browser import Browser
from tests.support.console import sign_in
from tests.support.journeys import to_the_first_question

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def enrol(
    browser: Browser, case_ref: str, *, returned: str = "2026-10-01", language: str = "en"
) -> None:
    await browser.open("/enrol")
    await browser.fill("#enrol input[name=case_ref]", case_ref)
    await browser.set_value("#enrol input[name=return_date]", returned)
    # (the browser itself refuses a date after today: the server's own check is tested)
    await browser.script("document.querySelector('#enrol').noValidate = true")
    await browser.fill("#enrol input[name=country]", "gn")
    await browser.choose("#enrol select[name=language]", language)
    await browser.click("#enrol button")


async def accessible(browser: Browser) -> None:
    """The page shown meets WCAG 2.1 AA as axe-core checks it."""
    assert await browser.accessibility_violations() == [], await browser.path()


async def staff(store: Store, member: FakeUser, role: str, name: str) -> FakeUser:
    await store.add_staff(member.user_id, role, name=name)
    return member


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_day_of_work_without_a_shell(
    harness: Harness, console: Console, browser: Browser, user_factory: Any, width: int
) -> None:
    store = harness.store
    assert store is not None
    await browser.resize(width)  # a laptop, or a caseworker's phone
    caseworker = await staff(store, user_factory("en"), "caseworker", "Awa")
    officer = await staff(store, user_factory("en"), "feedback_officer", "Omar")
    await sign_in(browser, caseworker)

    # enrol, and hand over the link (shown once, with its QR code)
    await enrol(browser, "GN-2026-0042")
    assert (await browser.text("h1")).startswith("Invitation for R-")
    link = await browser.text("#invitation-link")
    assert link.startswith(f"https://t.me/{BOT_USERNAME}?start=")
    assert (await browser.attribute("#invitation-qr", "src") or "").startswith("data:image/png")
    await browser.screenshot("console-invitation-en")
    await accessible(browser)
    public_id = (await browser.text("h1")).split()[-1]
    returnee = user_factory("en")
    await to_the_first_question(returnee, "/start " + link.split("start=")[1])

    # they joined: the caseload says so, and they are due for the initial survey
    await browser.open("/returnees?q=GN-2026-0042")
    row = await browser.text("#caseload")
    await accessible(browser)
    assert public_id in row and "taking part" in row and "Telegram" in row
    await browser.open("/due?wave=initial")
    listing = await browser.text("#due-list")
    assert "GN-2026-0042" in listing and "to remind" in listing and "never" in listing

    # remind them: a round of one, watched to its end
    await browser.click("#confirm-round button")
    await browser.wait_text("#round-state", "Finished")
    assert await browser.text("#count-sent") == "1"
    assert "by Awa" in await browser.text("main")
    reached = await browser.text("#recipients")
    assert public_id in reached and "sent" in reached and "Telegram" in reached
    await browser.open("/rounds")
    assert "Awa" in await browser.text("#rounds")
    await browser.open("/rounds?state=finished&wave=initial")
    assert "finished" in await browser.text("#rounds")
    await browser.open("/rounds?state=paused")
    assert "No round yet." in await browser.text("#rounds")
    await browser.open("/rounds?country=SN")
    assert "No round yet." in await browser.text("#rounds")
    await browser.open("/rounds?from=2001-01-01&to=2001-01-31")
    assert "No round yet." in await browser.text("#rounds")
    await accessible(browser)
    await returnee.expect("survey")
    # right after, the due list says they were just reminded and the round would repeat it
    await browser.open("/due?wave=initial")
    assert "recently" in await browser.text("#due-list")
    assert "1 of those to remind got a reminder in the last 24 hours" in await browser.text(
        "#reminded-recently"
    )

    # the returnee sends feedback with their name and a rating
    returnee.send("/feedback")
    returnee.press("With my name on it", await returnee.expect("confidential"))
    returnee.press("4", await returnee.expect("How would you rate"))
    await returnee.expect("Please write your feedback")
    returnee.send("The training on bookkeeping helped me a lot")
    await returnee.expect("Your receipt code is")

    # the feedback officer reads it, and marks it handled
    browser.forget_cookies()
    await sign_in(browser, officer)
    assert await browser.path() == "/feedback"
    inbox = await browser.text("#feedback")
    assert "The training on bookkeeping helped me a lot" in inbox
    assert f"named: {public_id}" in inbox and "4 out of 5" in inbox and "new" in inbox
    assert "1 message" in await browser.text("#feedback-summary")
    await browser.screenshot("console-feedback-en")
    await accessible(browser)
    await browser.click("#feedback form button[type=submit]:not(.secondary)")  # Mark handled
    assert "No feedback here." in await browser.text("#feedback")  # handled: out of the way
    await browser.open("/feedback?view=handled")
    assert "handled by Omar on" in await browser.text("#feedback")
    await browser.open("/feedback?view=all&from=2001-01-01&to=2001-01-31")
    assert "No feedback here." in await browser.text("#feedback")
    await browser.open("/feedback?view=all&kind=anonymous")
    assert "No feedback here." in await browser.text("#feedback")
    await browser.open("/feedback?view=all&kind=named")
    assert "bookkeeping" in await browser.text("#feedback")


async def test_enrolment_mistakes_get_a_clear_answer_and_lose_nothing(
    harness: Harness, console: Console, browser: Browser, user_factory: Any
) -> None:
    store = harness.store
    assert store is not None
    await sign_in(browser, await staff(store, user_factory("en"), "caseworker", "Awa"))
    await enrol(browser, "GN-7", returned="2099-01-01")
    assert "The date of return is in the future." in await browser.text("#problem")
    await accessible(browser)
    assert await browser.attribute("#enrol input[name=case_ref]", "value") == "GN-7"
    await enrol(browser, "GN-7")
    first = (await browser.text("h1")).split()[-1]
    first_link = await browser.text("#invitation-link")
    # the same case again: nothing changes, and a new link is one button away
    await enrol(browser, "GN-7")
    assert f"already enrolled as {first}" in await browser.text("#problem")
    await browser.click("#reinvite-holder button")
    assert (await browser.text("h1")).endswith(first)
    second_link = await browser.text("#invitation-link")
    assert second_link != first_link
    # the first link no longer works; the new one does
    late = user_factory("en")
    late.send("/start " + first_link.split("start=")[1])
    await late.expect("This invitation link has expired")
    await to_the_first_question(late, "/start " + second_link.split("start=")[1])
    # the part handed to the returnee is in their language
    await enrol(browser, "GN-8", language="ar")
    assert await browser.attribute("#invitation", "lang") == "ar"
    assert await browser.attribute("#invitation", "dir") == "rtl"
    assert "افتح هذا الرابط" in await browser.text("#invitation")
    assert "Invitation for" in await browser.text("h1")  # the page itself stays the staff's
    # from the case file too
    await browser.open("/returnees?q=" + first)
    await browser.click("#caseload form button")
    await browser.click("#reinvite button")
    assert (await browser.text("h1")).endswith(first)


async def test_an_admin_chooses_a_role_and_confirms_a_removal(
    harness: Harness, console: Console, browser: Browser, user_factory: Any
) -> None:
    store = harness.store
    assert store is not None
    await sign_in(browser, await staff(store, user_factory("en"), "admin", "Ada"))
    await browser.open("/staff")
    assert await browser.attribute("#add-staff select[name=role]", "value") == ""  # no default
    await browser.fill("#add-staff input[name=telegram_id]", "4242")
    await browser.fill("#add-staff input[name=name]", "Bintou")
    await browser.script("document.querySelector('#add-staff select[name=role]').required = false")
    await browser.click("#add-staff button")  # without a role: refused, the name kept
    assert "Choose a role." in await browser.text("#problem")
    assert await store.staff_member(4242) is None
    await browser.choose("#add-staff select[name=role]", "viewer")
    await browser.fill("#add-staff input[name=telegram_id]", "4242")
    await browser.click("#add-staff button")
    assert "Bintou" in await browser.text("#staff") and "viewer" in await browser.text("#staff")
    await browser.click("#staff a.button")  # Remove…: a page that asks
    assert "Bintou (viewer) will no longer be able to sign in" in await browser.text()
    await accessible(browser)
    assert await store.staff_member(4242) is not None  # nothing yet
    await browser.click("#confirm-remove button")
    assert await store.staff_member(4242) is None
    assert "Bintou" not in await browser.text("#staff")


async def test_refused_attempts_are_audited_and_the_log_filters_by_person_and_day(
    harness: Harness, console: Console, browser: Browser, user_factory: Any
) -> None:
    store = harness.store
    assert store is not None
    viewer = await staff(store, user_factory("en"), "viewer", "Vera")
    await sign_in(browser, viewer)
    await browser.open("/staff")
    assert await browser.text("h1") == "Not allowed"
    await browser.open("/due")
    await browser.script("document.querySelector('header form input[name=csrf]').remove()")
    await browser.click("header form button")  # sign out with a form that lost its token
    assert "This form has expired" in await browser.text()
    browser.forget_cookies()
    await browser.open("/login?t=not-a-real-token")
    await browser.click("form#sign-in button")
    assert "expired or was used already" in await browser.text("#problem")

    await sign_in(browser, await staff(store, user_factory("en"), "admin", "Ada"))
    vera = next(m for m in await store.list_staff() if m.name == "Vera")
    await browser.open(f"/audit?who=staff:{vera.id}&action=refused")
    log = await browser.text("#audit")
    assert "Vera was refused - GET /staff" in log
    assert "POST /logout" in log and "Ada" not in log
    await browser.open("/audit?who=unknown")
    assert "sign-in link expired or used" in await browser.text("#audit")
    await accessible(browser)
    today = (await browser.text("#audit")).split("\n")[1].split()[0]  # (the store's day)
    await browser.open(f"/audit?action=refused&from={today}&to={today}")
    assert (await browser.text("#audit")).count("was refused") == 3
    await browser.open("/audit?action=refused&from=2001-01-01&to=2001-01-02")
    assert "No entry." in await browser.text("#audit")
