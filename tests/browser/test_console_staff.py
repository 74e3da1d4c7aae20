"""Staff management in a real Chromium: an admin adds a member who sees one country,
changes what another member sees, and signs a member out everywhere; a member reads and
ends their own sessions. The pages meet WCAG 2.1 AA and fit a phone."""

from __future__ import annotations

from typing import Any

import pytest

from bot.web.app import Console
from storage import console_auth
from tests.e2e.conftest import Harness
from tests.support.browser import Browser
from tests.support.console import sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def test_an_admin_sets_what_each_member_sees_and_a_member_ends_their_sessions(
    harness: Harness, console: Console, browser: Browser, user_factory: Any
) -> None:
    store = harness.store
    assert store is not None
    admin = user_factory("en")
    await store.add_staff(admin.user_id, "admin", name="Mariama, head office")
    colleague = await store.add_staff(None, "viewer", "Oumar", email="oumar@office.example")
    elsewhere = await console_auth.redeem_link(
        store, await console_auth.issue_link(store, colleague)
    )
    await sign_in(browser, admin)

    await browser.open("/staff")
    await browser.fill("#add-staff input[name=email]", "aminata@office.example")
    await browser.fill("#add-staff input[name=name]", "Aminata")
    await browser.choose("#add-staff select[name=scope]", "countries")
    await browser.fill("#add-staff input[name=scope_names]", "gn, ml")
    await browser.choose("#add-staff select[name=role]", "caseworker")
    await browser.click("#add-staff button")
    listed = await browser.text("#staff")
    assert "Aminata" in listed and "caseworker" in listed
    aminata = await store.staff.identity("aminata@office.example")
    assert aminata is not None and aminata.scope.values == ("GN", "ML")

    # a scope that cannot be read: said in words, nothing changed
    await browser.fill("#add-staff input[name=email]", "awa@office.example")
    await browser.choose("#add-staff select[name=scope]", "countries")
    await browser.fill("#add-staff input[name=scope_names]", "Guinea")
    await browser.choose("#add-staff select[name=role]", "viewer")
    await browser.click("#add-staff button")
    assert "two- or three-letter codes" in await browser.text("#problem")
    assert await store.staff.identity("awa@office.example") is None

    # what Oumar sees becomes the Conakry office
    row = f'form[action="/staff/{colleague}/scope"]'
    await browser.choose(f"{row} select[name=scope]", "offices")
    await browser.fill(f"{row} input[name=scope_names]", "Conakry")
    await browser.click(f"{row} button")
    oumar = await store.staff.identity("oumar@office.example")
    assert oumar is not None and oumar.scope.kind == "offices"
    assert await browser.accessibility_violations() == [], "/staff"
    await browser.screenshot("console-staff-en")
    await browser.resize(390)
    assert await browser.overflowing() == []
    await browser.resize(1200)

    # Oumar signed in elsewhere: signed out everywhere
    await browser.click(f'form[action="/staff/{colleague}/sessions/end"] button')
    assert elsewhere is not None and await console_auth.session_user(store, elsewhere) is None

    # the admin's own sessions: this one and another, which they end
    other = await console_auth.redeem_link(
        store,
        await console_auth.issue_link(store, (await store.staff.identity(admin.user_id)).staff_id),
    )  # type: ignore[union-attr]
    await browser.click("header a#me")
    assert "Your sessions" in await browser.text("h1")
    assert "this session" in await browser.text("#sessions")
    assert await browser.accessibility_violations() == [], "/sessions"
    await browser.screenshot("console-sessions-en")
    await browser.click("#end-others button")
    assert other is not None and await console_auth.session_user(store, other) is None
    assert "this session" in await browser.text("#sessions")
    entries = [e.action for e in await store.audit_entries()]
    assert "change_staff_scope" in entries and entries.count("end_console_sessions") == 2
