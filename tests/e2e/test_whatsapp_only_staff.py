"""A deployment on WhatsApp alone: no Telegram token, no Telegram account anywhere. Staff
are accounts by email; they sign in with a link sent over SMTP (a real server on
loopback), and start a reminder round from the console that reaches returnees on
WhatsApp (the fake Cloud API)."""

from __future__ import annotations

import asyncio
import os
import re

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.rate_limits import RateLimiter
from bot.settings import MailSettings
from bot.sign_in_mail import SignInMailer
from bot.web.app import SERVER_OPTIONS, Console, build_console_app
from bot.whatsapp.reminders import WhatsAppCourier
from scoring import default_weight_table
from storage import outbox
from tests.e2e.conftest import WaHarness
from tests.e2e.test_whatsapp import join
from tests.support.smtp import Inbox, smtp_server  # noqa: F401  (the SMTP server fixture)


async def test_staff_sign_in_by_email_and_remind_returnees_on_whatsapp_alone(
    wa_harness: WaHarness,
    smtp_server: tuple[Inbox, int],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = wa_harness
    assert h.store is not None and h.client is not None
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    returnee = await join(h, "fr")  # (at the first question: due for a reminder)
    inbox, port = smtp_server
    courier = WhatsAppCourier(
        h.client, RateLimiter(rate=None), template="rss_reminder", clock=h.store.clock
    )
    console = Console(
        h.store,
        default_weight_table(),
        today=lambda: h.today,
        couriers=[courier],
        whatsapp_number="22177000000",
        mailer=SignInMailer(
            MailSettings(
                RSSBOT_SMTP_HOST="127.0.0.1",
                RSSBOT_SMTP_PORT=port,
                RSSBOT_SMTP_SECURITY="none",
                RSSBOT_SMTP_FROM="RSS console <no-reply@rss.example>",
            )
        ),
        base="",
    )
    assert console.bot is None and console.telegram_username is None
    server = TestServer(build_console_app(console), host="127.0.0.1")
    await server.start_server(**SERVER_OPTIONS)
    base = str(server.make_url("")).rstrip("/")
    monkeypatch.setenv("RSSBOT_CONSOLE_URL", base)
    await h.store.add_staff(None, "caseworker", "Fatou", email="fatou@office.example")
    staff = await h.store.list_staff()
    assert all(not m.telegram for m in staff)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
            page = await (await browser.get(f"{base}/login")).text()
            assert "Email me a sign-in link" in page and "/console" in page
            await browser.post(f"{base}/login/email", data={"email": "Fatou@Office.example"})
            mail = await inbox.wait_for("fatou@office.example")
            link = next(w for w in mail.get_content().split() if "/login?t=" in w)
            token = link.split("t=", 1)[1]
            signed = await browser.post(f"{base}/login", data={"token": token})
            home = await signed.text()
            assert signed.status == 200 and "Fatou" in home
            due = await (await browser.get(f"{base}/due?wave=initial")).text()
            assert "WhatsApp" in due
            csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', due)
            digest = re.search(r'name="digest" value="([^"]+)"', due)
            assert csrf is not None and digest is not None
            started = await browser.post(
                f"{base}/rounds",
                data={"csrf": csrf.group(1), "wave": "initial", "digest": digest.group(1)},
                allow_redirects=False,
            )
            assert started.status == 303
            round_id = started.headers["Location"].split("/rounds/")[1].split("?")[0]
            await returnee.expect("C'est le moment de votre questionnaire de premier suivi")
            for _ in range(100):  # (the sender records the send after Meta's answer)
                report = await outbox.report(h.store, round_id)
                if report.finished:
                    break
                await asyncio.sleep(0.05)
            assert report.finished and report.counts["sent"] == 1
    finally:
        await console.close()
        await server.close()
    assert "TELEGRAM_BOT_TOKEN" not in os.environ
