"""The caseload and follow-up work in a real Chromium: a caseload uploaded, refused with
its errors at their rows and columns, then imported once; a survey completed with
frequent distress puts the returnee in the caseworker's queue, with the reason in words;
the caseworker opens the case file, records a referral to a named service, and sees it
there, in the queue and in the export; the pages meet WCAG 2.1 AA."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.programme import load_programme
from bot.settings import MailSettings
from bot.sign_in_mail import SignInMailer
from bot.web.app import Console
from tests.e2e.conftest import Harness
from tests.support.browser import Browser
from tests.support.caseload import broken, make_caseload
from tests.support.console import sign_in, survey_with_distress
from tests.support.smtp import Inbox

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def test_distress_reaches_the_queue_and_a_referral_the_case_file(
    harness: Harness, console: Console, browser: Browser, user_factory: Any
) -> None:
    store = harness.store
    assert store is not None
    public_id = await survey_with_distress(store, "CASE-DISTRESS-1")
    caseworker = user_factory("en")
    await store.add_staff(caseworker.user_id, "caseworker", name="Awa")
    await sign_in(browser, caseworker)

    await browser.open("/followup")
    queue = await browser.text("#followup")
    assert public_id in queue
    assert "Often feels very sad, afraid or alone (Very often)" in queue
    assert "very_often" not in queue and "psy_" not in queue
    assert "nothing yet" in queue
    assert await browser.accessibility_violations() == []
    await browser.screenshot("followup-queue")

    await browser.click(f"#followup button[aria-label*='{public_id}']")
    assert "Often feels very sad, afraid or alone" in await browser.text("#returnee-flags")
    await browser.choose("#followup-action select[name=kind]", "referred")
    await browser.fill("#followup-action input[name=note]", "Centre d'écoute de Kaloum")
    await browser.click("#followup-action button")
    actions = await browser.text("#returnee-actions")
    assert "Referred to a service" in actions and "Centre d'écoute de Kaloum" in actions
    assert "Awa" in actions

    # the assistance changed: counselling planned, then delivered
    await browser.choose("#add-assistance select[name=type]", "counselling")
    await browser.choose("#add-assistance select[name=status]", "planned")
    await browser.set_value("#add-assistance input[name=start]", "2026-11-20")
    await browser.click("#add-assistance button")
    assert "Counselling" in await browser.text("#returnee-assistance")
    await browser.choose("#returnee-assistance select[name=status]", "delivered")
    await browser.click("#returnee-assistance button")
    assistance = await browser.script(
        "return document.querySelector('#returnee-assistance select[name=status]').value"
    )
    assert assistance == "delivered"
    assert await browser.accessibility_violations() == []
    await browser.screenshot("followup-case-file")

    await browser.open("/followup")
    assert "Referred to a service" in await browser.text("#followup")

    # the export carries the flag and the action (codes, as the codebook describes them)
    exported = await browser.download_text("/export?format=csv&layout=wide&labels=en&wave=initial")
    header, row = list(csv.reader(io.StringIO(exported)))[:2]
    cells = dict(zip(header, row, strict=True))
    assert "frequent_distress" in cells["followup_flags"] and cells["followup_state"] == "open"
    assert cells["followup_actions"].startswith("referred ")


async def test_a_caseload_is_uploaded_checked_and_imported_in_the_console(
    harness: Harness, console: Console, browser: Browser, user_factory: Any, tmp_path: Path
) -> None:
    store = harness.store
    assert store is not None
    caseworker = user_factory("en")
    await store.add_staff(caseworker.user_id, "caseworker", name="Awa")
    await sign_in(browser, caseworker)
    caseload = make_caseload(load_programme(), 60, today=date(2026, 11, 1))
    bad_copy, expected = broken(caseload)
    bad = bad_copy.write(tmp_path / "broken.xlsx")
    good = caseload.write(tmp_path / "caseload.xlsx")

    await browser.open("/caseload/import")
    await browser.upload("#caseload-import input[type=file]", bad)
    await browser.click("#caseload-import button")
    assert "Nothing was imported" in await browser.text("#problem")
    errors = await browser.text("#import-errors")
    for row, column, _ in expected:
        assert f"{row} {column}" in errors, (row, column)
    assert await browser.accessibility_violations() == []
    await browser.screenshot("caseload-import-errors")
    # a French-speaking office reads the same errors in French
    await browser.open("/language/fr")
    await browser.open("/caseload/import")
    await browser.upload("#caseload-import input[type=file]", bad)
    await browser.click("#caseload-import button")
    assert "n'est pas une date (AAAA-MM-JJ ou JJ/MM/AAAA)" in await browser.text("#import-errors")
    await browser.open("/language/en")
    await browser.open("/caseload/import")

    await browser.upload("#caseload-import input[type=file]", good)
    await browser.click("#caseload-import button")
    outcome = await browser.text("#import-outcome")
    assert f"{caseload.returnees} enrolled, 0 updated, 0 unchanged" in outcome
    assert await browser.attribute("#download-sheet", "download") is not None
    assert await browser.accessibility_violations() == []
    await browser.screenshot("caseload-import-done")

    await browser.upload("#caseload-import input[type=file]", good)
    await browser.click("#caseload-import button")
    assert f"0 enrolled, 0 updated, {caseload.returnees} unchanged" in await browser.text(
        "#import-outcome"
    )


async def test_a_staff_member_without_telegram_signs_in_with_a_link_by_email(
    harness: Harness, console: Console, browser: Browser, smtp_server: tuple[Inbox, int]
) -> None:
    store = harness.store
    assert store is not None
    inbox, port = smtp_server
    console.mailer = SignInMailer(
        MailSettings(
            RSSBOT_SMTP_HOST="127.0.0.1",
            RSSBOT_SMTP_PORT=port,
            RSSBOT_SMTP_SECURITY="none",
            RSSBOT_SMTP_FROM="RSS console <no-reply@rss.example>",
        )
    )
    await store.add_staff(None, "caseworker", "Amina", email="Amina@Office.example")

    # an address that is no staff member's: the same answer, no email, the attempt audited
    await browser.open("/login")
    await browser.fill("#email-link input[name=email]", "someone@else.example")
    await browser.click("#email-link button")
    unknown = await browser.text("#link-sent")
    await asyncio.sleep(0.5)
    assert inbox.messages == []

    await browser.fill("#email-link input[name=email]", "amina@office.example")
    await browser.click("#email-link button")
    assert await browser.text("#link-sent") == unknown
    assert await browser.accessibility_violations() == []
    mail = await inbox.wait_for("amina@office.example")
    assert mail["Subject"] == "Your sign-in link to the staff console"
    body = mail.get_content()
    link = next(word for word in body.split() if "/login?t=" in word)
    await browser.open(link)
    await browser.click("form#sign-in button")
    assert await browser.path() == "/"
    assert "Amina" in await browser.text("header")
    # the link works once
    await browser.open(link)
    await browser.click("form#sign-in button")
    assert "expired or was used" in await browser.text("main")
    entries = [(e.action, e.detail) for e in await store.audit_entries()]
    assert ("refused", "sign-in link for an unknown address") in entries
    assert any(action == "console_sign_in" for action, _ in entries)
