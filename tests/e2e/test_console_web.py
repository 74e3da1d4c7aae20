"""The staff web console over real HTTP (aiohttp test server on loopback), on SQLite and
PostgreSQL: sign-in links, sessions, roles on every page and action, CSRF, headers."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from bot.web.app import CSP, SERVER_OPTIONS, Console, build_console_app
from scoring import default_weight_table
from storage import console_auth, schedules
from storage.console_auth import LINKS_PER_HOUR
from storage.store import Store
from tests.e2e.conftest import Harness

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
#: the clock of the store behind the console, which a test moves
CLOCK = web.AppKey("clock", list[datetime])


@pytest.fixture
async def console(store: Store) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    clock = [NOW]
    store.clock = lambda: clock[0]
    app = build_console_app(Console(store, default_weight_table(), today=lambda: clock[0].date()))
    app[CLOCK] = clock
    server = TestServer(app)
    await server.start_server(**SERVER_OPTIONS)  # (as 'rssbot console-web' runs it)
    client = TestClient(server)  # type: ignore[var-annotated]
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def staff(store: Store, role: str, telegram_id: int) -> str:
    return await store.add_staff(telegram_id, role, name=f"{role} one")


async def sign_in(client: TestClient, store: Store, staff_id: str) -> None:  # type: ignore[type-arg]
    token = await console_auth.issue_link(store, staff_id)
    shown = await client.get(f"/login?t={token}")
    assert shown.status == 200 and token in await shown.text()  # a button, not yet a session
    signed = await client.post("/login", data={"token": token}, allow_redirects=False)
    assert signed.status == 303 and signed.headers["Location"] == "/"
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found is not None, html
    return found.group(1)


async def text(response: ClientResponse) -> str:
    """The page as a reader sees it (entities decoded)."""
    return html.unescape(await response.text())


async def test_a_link_signs_in_once_and_the_overview_shows_the_weight_status(
    console: TestClient,
    store: Store,  # type: ignore[type-arg]
) -> None:
    viewer = await staff(store, "viewer", 7001)
    await store.enroll(
        case_ref="CASE-1", return_date=date(2026, 11, 1), country="GN", language="en"
    )
    first = await console.get("/", allow_redirects=False)
    assert first.status == 303 and first.headers["Location"] == "/login"
    token = await console_auth.issue_link(store, viewer)
    assert (
        await console.post("/login", data={"token": token}, allow_redirects=False)
    ).status == 303
    page = await console.get("/")
    html = await page.text()
    assert page.status == 200 and "Overview" in html
    assert "provisional (24 of 30 weights)" in html  # wherever scores are, their status
    assert "CASE-1" not in html  # an overview of counts, no case reference
    assert page.headers["Content-Security-Policy"] == CSP
    assert page.headers["Cache-Control"] == "no-store"
    # the same link a second time (another browser): refused
    console.session.cookie_jar.clear()
    again = await console.post("/login", data={"token": token})
    assert again.status == 403 and "expired or was used already" in await again.text()


async def test_an_expired_link_and_an_idle_session_end(
    console: TestClient,
    store: Store,  # type: ignore[type-arg]
) -> None:
    assert console.app is not None
    clock = console.app[CLOCK]
    viewer = await staff(store, "viewer", 7002)
    token = await console_auth.issue_link(store, viewer)
    clock[0] = NOW + timedelta(minutes=11)
    assert (await console.post("/login", data={"token": token})).status == 403
    await sign_in(console, store, viewer)
    assert (await console.get("/")).status == 200
    clock[0] += timedelta(minutes=31)
    idle = await console.get("/", allow_redirects=False)
    assert idle.status == 303 and idle.headers["Location"] == "/login"


async def test_roles_are_checked_on_the_server_for_pages_and_actions(
    console: TestClient,
    store: Store,  # type: ignore[type-arg]
) -> None:
    added = await schedules.add_schedule(
        store, wave="initial", country=None, hour=9, repeat_days=None, actor="cli:t"
    )
    viewer = await staff(store, "viewer", 7003)
    await sign_in(console, store, viewer)
    overview = await text(await console.get("/"))
    assert "Scheduled rounds" not in overview  # not offered...
    refused = await console.get("/schedules")
    assert refused.status == 403  # ...and not served
    action = await console.post(
        f"/schedules/{added.id}/pause", data={"csrf": csrf(overview)}, allow_redirects=False
    )
    assert action.status == 403
    assert (await schedules.list_schedules(store))[0].active

    officer = await staff(store, "feedback_officer", 7004)
    console.session.cookie_jar.clear()
    await sign_in(console, store, officer)
    home = await console.get("/")  # their one page: the feedback inbox
    assert home.status == 200 and home.url.path == "/feedback"
    assert (await console.get("/due")).status == 403


async def test_a_caseworker_pauses_a_schedule_and_a_request_without_csrf_is_refused(
    console: TestClient,
    store: Store,  # type: ignore[type-arg]
) -> None:
    added = await schedules.add_schedule(
        store, wave="final", country="GN", hour=7, repeat_days=None, actor="cli:t"
    )
    caseworker = await staff(store, "caseworker", 7005)
    await sign_in(console, store, caseworker)
    page = await text(await console.get("/schedules"))
    assert "<td>final (12-18 months)</td>\n  <td>GN</td>\n  <td>07:00</td>\n  <td>once</td>" in page
    forged = await console.post(f"/schedules/{added.id}/pause", data={"csrf": "0" * 64})
    assert forged.status == 403 and "form has expired" in await forged.text()
    missing = await console.post(f"/schedules/{added.id}/pause")
    assert missing.status == 403
    assert (await schedules.list_schedules(store))[0].active
    done = await console.post(f"/schedules/{added.id}/pause", data={"csrf": csrf(page)})
    assert done.status == 200 and "<strong>paused</strong>" in await text(done)
    assert not (await schedules.list_schedules(store))[0].active
    entries = [e.action for e in await store.audit_entries()]
    assert "console_sign_in" in entries and "pause_schedule" in entries


async def test_sign_out_ends_the_session_and_tokens_never_reach_the_log(
    console: TestClient,
    store: Store,
    caplog: pytest.LogCaptureFixture,  # type: ignore[type-arg]
) -> None:
    caplog.set_level(logging.DEBUG)
    viewer = await staff(store, "viewer", 7006)
    token = await console_auth.issue_link(store, viewer)
    await console.get(f"/login?t={token}")
    await console.post("/login", data={"token": token})
    page = await text(await console.get("/"))
    cookie = next(iter(console.session.cookie_jar)).value
    out = await console.post("/logout", data={"csrf": csrf(page)}, allow_redirects=False)
    assert out.status == 303
    after = await console.get("/", allow_redirects=False)
    assert after.status == 303  # the cookie no longer opens anything
    assert await console_auth.session_user(store, cookie) is None
    logged = caplog.text
    assert "GET /login 200" in logged and token not in logged and cookie not in logged


async def test_console_in_the_chat_sends_a_working_link_to_staff_only(
    harness: Harness,
    user_factory,  # type: ignore[no-untyped-def]
) -> None:
    store = harness.store
    assert store is not None
    member, stranger = user_factory("en"), user_factory("en")
    await store.add_staff(member.user_id, "caseworker")
    stranger.send("/console")
    await stranger.expect("I do not know this command")
    member.send("/console")
    sent = await member.expect("Your sign-in link to the staff console")
    assert sent.protect_content
    token = sent.text.split("/login?t=")[1].strip()
    assert await console_auth.redeem_link(store, token) is not None
    assert await console_auth.redeem_link(store, token) is None  # once
    for _ in range(console_auth.LINKS_PER_HOUR - 1):
        member.send("/console")
        await member.expect("Your sign-in link")
    member.send("/console")
    await member.expect("at most 5 sign-in links an hour")


async def test_behind_the_proxy_links_and_redirects_carry_the_path_prefix(store: Store) -> None:
    app = build_console_app(Console(store, default_weight_table(), base="/console"))
    server = TestServer(app)
    await server.start_server(**SERVER_OPTIONS)
    client = TestClient(server)  # type: ignore[var-annotated]
    await client.start_server()
    try:
        first = await client.get("/", allow_redirects=False)  # (the proxy strips /console)
        assert first.headers["Location"] == "/console/login"
        viewer = await staff(store, "viewer", 7010)
        token = await console_auth.issue_link(store, viewer)
        page = await (await client.get(f"/login?t={token}")).text()
        assert 'action="/console/login"' in page and 'href="/console/static/console.css"' in page
        signed = await client.post("/login", data={"token": token}, allow_redirects=False)
        assert signed.headers["Location"] == "/console/"
        assert "Path=/console/" in signed.headers["Set-Cookie"]
        secure = await client.post(
            "/login",
            data={"token": await console_auth.issue_link(store, viewer)},
            headers={"X-Forwarded-Proto": "https"},
            allow_redirects=False,
        )
        assert "Secure" in secure.headers["Set-Cookie"]  # behind HTTPS
    finally:
        await client.close()


async def test_the_console_speaks_the_browsers_language_and_arabic_reads_right_to_left(
    console: TestClient,
    store: Store,  # type: ignore[type-arg]
) -> None:
    viewer = await staff(store, "viewer", 7011)
    await sign_in(console, store, viewer)
    arabic = await text(await console.get("/", headers={"Accept-Language": "ar-MA,ar;q=0.9"}))
    assert '<html lang="ar" dir="rtl">' in arabic
    assert "نظرة عامة" in arabic and "مؤقت (24 من 30 وزنًا)" in arabic
    chosen = await console.get("/language/fr", allow_redirects=False)
    assert chosen.status == 303
    french = await text(await console.get("/", headers={"Accept-Language": "ar"}))
    assert '<html lang="fr" dir="ltr">' in french and "Vue d'ensemble" in french
    assert "Ces scores sont indicatifs : 24 des 30 pondérations sont provisoires" in french
    refused = await console.get("/schedules")
    assert refused.status == 403 and "Votre rôle ne donne pas accès" in await text(refused)


async def test_the_console_web_command_serves_and_a_login_link_from_the_command_line_signs_in(
    initialised: object, tmp_path: object
) -> None:
    """'rssbot console-web' on the embedded default, and 'rssbot staff login-link'."""
    import asyncio
    import os
    import socket
    import subprocess
    import sys

    import aiohttp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "RSSBOT_CONSOLE_URL": f"http://127.0.0.1:{port}"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    rssbot = [sys.executable, "-c", "from bot.cli import main; main()"]
    added = subprocess.run(
        [*rssbot, "staff", "add", "--telegram-id", "4242", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert added.returncode == 0, added.stderr
    # the command line prints a link without loading a chat library, and as many as the
    # admin asks for (the hourly limit is for links asked for in the chat)
    printing = (
        "import sys; from bot.cli import main\n"
        "try:\n    main()\n"
        "finally:\n    print('aiogram loaded' if 'aiogram' in sys.modules else '')"
    )
    for _ in range(LINKS_PER_HOUR + 1):
        printed = subprocess.run(
            [sys.executable, "-c", printing, "staff", "login-link", "--telegram-id", "4242"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert printed.returncode == 0, printed.stderr
        assert "aiogram loaded" not in printed.stdout
    link = printed.stdout.strip()
    assert link.startswith(f"http://127.0.0.1:{port}/login?t=")
    server = subprocess.Popen(
        [*rssbot, "console-web", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            for _ in range(100):
                try:
                    shown = await http.get(link)
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            assert shown.status == 200
            token = link.split("t=")[1]
            signed = await http.post(f"http://127.0.0.1:{port}/login", data={"token": token})
            assert signed.status == 200 and signed.url.path == "/"
            assert "Overview" in await signed.text()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert token not in output  # the sign-in token never reaches the log
    assert "GET /login 200" in output  # requests are logged, by path


async def test_a_schedule_added_from_the_console_and_bad_input_kept_with_a_message(
    console: TestClient,
    store: Store,  # type: ignore[type-arg]
) -> None:
    caseworker = await staff(store, "caseworker", 7020)
    await sign_in(console, store, caseworker)
    token = csrf(await text(await console.get("/schedules")))
    bad = await console.post(
        "/schedules",
        data={"csrf": token, "wave": "intermediate", "country": "gn", "hour": "25", "repeat": ""},
    )
    page = await text(bad)
    assert bad.status == 400 and "The hour is a number from 0 to 23 (UTC)." in page
    assert 'value="GN"' in page or 'value="gn"' in page  # what was typed is kept
    assert await schedules.list_schedules(store) == []
    good = await console.post(
        "/schedules",
        data={"csrf": token, "wave": "intermediate", "country": "gn", "hour": "8", "repeat": "14"},
    )
    assert good.status == 200 and "every 14 days" in await text(good)
    (added,) = await schedules.list_schedules(store)
    assert (added.wave, added.country, added.hour, added.repeat_days) == (
        "intermediate",
        "GN",
        8,
        14,
    )


async def test_an_admin_manages_staff_and_reads_the_audit_log_by_action(
    console: TestClient,
    store: Store,  # type: ignore[type-arg]
) -> None:
    admin = await staff(store, "admin", 7030)
    await sign_in(console, store, admin)
    token = csrf(await text(await console.get("/staff")))
    bad = await console.post(
        "/staff", data={"csrf": token, "telegram_id": "@awa", "role": "viewer"}
    )
    assert bad.status == 400 and "The Telegram user id is a number" in await text(bad)
    added = await console.post(
        "/staff", data={"csrf": token, "telegram_id": "7031", "role": "viewer", "name": "Awa"}
    )
    assert added.status == 200 and "Awa" in await text(added)
    member = await store.staff_member(7031)
    assert member is not None and member[1] == "viewer"
    changed = await console.post(
        f"/staff/{member[0]}/role", data={"csrf": token, "role": "caseworker"}
    )
    assert changed.status == 200
    assert await store.staff_member(7031) == (member[0], "caseworker")
    own = await console.post(f"/staff/{admin}/remove", data={"csrf": token})
    assert own.status == 400 and "ask another admin" in await text(own)
    assert await store.staff_member(7030) is not None
    removed = await console.post(f"/staff/{member[0]}/remove", data={"csrf": token})
    assert removed.status == 200 and await store.staff_member(7031) is None

    log = await text(await console.get("/audit?action=change_staff_role"))
    assert "change_staff_role" in log and "add_staff" not in log.split('id="audit"')[1]
    everything = await text(await console.get("/audit"))
    for action in ("add_staff", "change_staff_role", "remove_staff", "console_sign_in"):
        assert action in everything
    assert "7031" not in everything  # Telegram ids are never shown (nor kept)


async def test_a_caseworker_downloads_a_csv_export_and_its_codebook_a_viewer_cannot(
    console: TestClient,
    store: Store,  # type: ignore[type-arg]
) -> None:
    from tests.storage.helpers import complete_and_score, consented_returnee

    returnee = await consented_returnee(store, "CASE-EXPORT")
    await complete_and_score(store, returnee.id, "tout va bien")
    viewer = await staff(store, "viewer", 7040)
    await sign_in(console, store, viewer)
    refused = await console.get("/export?format=csv&layout=wide&labels=fr&wave=initial")
    assert refused.status == 403  # a viewer reads aggregates only
    caseworker = await staff(store, "caseworker", 7041)
    await sign_in(console, store, caseworker)
    data = await console.get("/export?format=csv&layout=wide&labels=fr&wave=initial")
    assert data.status == 200
    assert data.headers["Content-Disposition"] == 'attachment; filename="rss-surveys.csv"'
    body = await data.text()
    assert body.count("\n") == 2 and "composite" in body  # header and one survey
    assert "CASE-EXPORT" in body and "case_ref" in body.splitlines()[0]
    codebook = await console.get("/export?format=csv&file=codebook&wave=initial")
    assert (
        codebook.status == 200
        and "rss-surveys-codebook.csv" in codebook.headers["Content-Disposition"]
    )
    nothing = await console.get("/export?format=pdf")
    assert nothing.status == 404
    entries = [e.action for e in await store.audit_entries()]
    assert "export" in " ".join(entries)


async def test_a_staff_member_ends_their_other_sessions_and_an_admin_signs_someone_out(
    console: TestClient,
    store: Store,  # type: ignore[type-arg]
) -> None:
    from sqlalchemy import func, select

    from storage.models import AuditEntry, ConsoleSession

    caseworker = await staff(store, "caseworker", 7050)
    # signed in on a phone (a session the test holds by its token) and in this browser
    phone_token = await console_auth.redeem_link(
        store, await console_auth.issue_link(store, caseworker)
    )
    assert phone_token is not None
    await sign_in(console, store, caseworker)
    page = await text(await console.get("/sessions"))
    assert page.count("a sign-in link") == 2 and "this session" in page
    ended = await console.post("/sessions/end", data={"csrf": csrf(page), "others": "1"})
    assert ended.status == 200 and "this session" in await text(ended)
    assert await console_auth.session_user(store, phone_token) is None  # the phone is out
    assert (await console.get("/sessions")).status == 200  # this browser still in
    # another's session cannot be named from one's own page
    other = await staff(store, "viewer", 7051)
    other_token = await console_auth.redeem_link(store, await console_auth.issue_link(store, other))
    assert other_token is not None
    async with store.sessions() as session:
        other_id = await session.scalar(
            select(ConsoleSession.token_hash).where(ConsoleSession.staff_id == other)
        )
    page = await text(await console.get("/sessions"))
    forged = await console.post("/sessions/end", data={"csrf": csrf(page), "session": other_id})
    assert forged.status == 404 and await console_auth.session_user(store, other_token)
    # an admin signs the viewer out everywhere
    admin = await staff(store, "admin", 7052)
    console.session.cookie_jar.clear()
    await sign_in(console, store, admin)
    staff_page = await text(await console.get("/staff"))
    out = await console.post(f"/staff/{other}/sessions/end", data={"csrf": csrf(staff_page)})
    assert out.status == 200 and await console_auth.session_user(store, other_token) is None
    await console.post("/logout", data={"csrf": csrf(staff_page)})
    async with store.sessions() as session:
        actions = (
            await session.execute(
                select(AuditEntry.action, func.count()).group_by(AuditEntry.action)
            )
        ).all()
    counted = dict(actions)
    assert counted["end_console_sessions"] == 2 and counted["console_sign_out"] == 1
