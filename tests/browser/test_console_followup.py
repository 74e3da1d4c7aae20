"""The follow-up work in a real Chromium: a survey completed with frequent distress puts
the returnee in the caseworker's queue, with the reason in words; the caseworker opens
the case file, records a referral to a named service, and sees it there and in the
queue; the pages meet WCAG 2.1 AA."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from bot.web.app import Console
from tests.e2e.conftest import Harness
from tests.support.browser import Browser
from tests.support.console import sign_in, survey_with_distress

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
