"""`rssbot enroll` and `rssbot run` as a newcomer would use them: real processes, the fake
Bot API on loopback, DEBUG logs checked for a canary answer and the bot token."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.e2e.fake_telegram import BOT_USERNAME, TOKEN, FakeTelegram, FakeUser
from tests.support import fake_whatsapp
from tests.support.fake_whatsapp import FakeWhatsApp, WaUser

CANARY = "CANARY-run-9d2e-kiwi-lantern"
RSSBOT = str(Path(sys.executable).parent / "rssbot")


def test_run_without_a_token_says_so(env_embedded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2 and "TELEGRAM_BOT_TOKEN is not set" in result.stderr


def test_enroll_validates_its_input(initialised: Path) -> None:
    runner = CliRunner()
    bad_date = runner.invoke(app, ["enroll", "--case", "C1", "--return-date", "31/05/2026"])
    assert (
        bad_date.exit_code == 2
        and "YYYY" not in bad_date.stderr
        and "2026-05-31" in bad_date.stderr
    )
    future = runner.invoke(app, ["enroll", "--case", "C1", "--return-date", "2999-01-01"])
    assert future.exit_code == 2 and "future" in future.stderr
    language = runner.invoke(
        app, ["enroll", "--case", "C1", "--return-date", "2026-01-01", "--language", "sw"]
    )
    assert language.exit_code == 2
    offline = runner.invoke(app, ["enroll", "--case", "C1", "--return-date", "2026-01-01"])
    assert offline.exit_code == 0 and "https://t.me/<bot username>?start=" in offline.stdout


def test_a_case_is_enrolled_once_and_its_invitation_can_be_reissued(initialised: Path) -> None:
    runner = CliRunner(env={"TELEGRAM_BOT_USERNAME": "rss_test_bot"})
    first = runner.invoke(app, ["enroll", "--case", "DUP-1", "--return-date", "2026-01-01"])
    assert first.exit_code == 0, first.output
    public_id = first.stdout.split()[1].rstrip(".")
    again = runner.invoke(app, ["enroll", "--case", " dup-1 ", "--return-date", "2026-02-01"])
    assert again.exit_code == 1
    assert f"already enrolled as {public_id}" in again.stderr and "rssbot invite" in again.stderr
    old_link = first.stdout.split()[-1]
    reissued = runner.invoke(app, ["invite", "--case", "DUP-1"])
    assert reissued.exit_code == 0, reissued.output
    assert f"New invitation for {public_id}" in reissued.stdout
    new_link = reissued.stdout.split()[-1]
    assert new_link.startswith("https://t.me/rss_test_bot?start=") and new_link != old_link
    by_id = runner.invoke(app, ["invite", "--returnee", public_id.lower()])
    assert by_id.exit_code == 0 and "New invitation" in by_id.stdout
    unknown = runner.invoke(app, ["invite", "--case", "NOBODY"])
    assert unknown.exit_code == 1 and "rssbot enroll" in unknown.stderr


async def test_enroll_then_run_the_bot_process(
    initialised: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeTelegram()
    await server.start()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE", server.base_url)
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke,
            app,
            ["enroll", "--case", "CASE-RUN-1", "--return-date", "2026-11-01", "--language", "fr"],
        )
        assert result.exit_code == 0, result.output
        link = re.search(rf"https://t\.me/{BOT_USERNAME}\?start=([\w-]+)", result.stdout)
        assert link is not None, result.stdout

        log_file = (initialised / "bot.log").open("wb")  # a file: a full pipe would block it
        process = await asyncio.create_subprocess_exec(
            RSSBOT,
            "run",
            "--log-level",
            "DEBUG",
            env={**os.environ},
            stdout=log_file,
            stderr=log_file,
        )
        try:
            user = FakeUser(server, 880001, "fr")
            user.send(f"/start {link.group(1)}")
            await user.expect("Bienvenue", timeout=30)
            user.press("Français")
            await user.expect("Avant de commencer")
            user.press("J'accepte")
            await user.expect("Question 1 sur 32")
            for number in range(2, 32):
                user.press_nth(0)
                await user.expect(f"Question {number} sur 32")
            user.press_nth(0)
            user.press("Terminé ✓")
            await user.expect("Question 32 sur 32")
            user.send(CANARY)
            await user.expect("Merci ! Vous avez répondu")
            user.send("/feedback")
            await user.expect("confidentiel")
            user.press("Anonymement")
            user.press("5", await user.expect("Quelle note"))
            await user.expect("Écrivez votre avis")
            user.send(f"feedback {CANARY}")
            await user.expect("code de reçu")
        finally:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), 30)
            log_file.close()
    finally:
        await server.stop()
    logs = (initialised / "bot.log").read_text(encoding="utf-8", errors="replace")
    assert "is handled" in logs and "DEBUG" in logs  # the log really was verbose
    assert CANARY not in logs
    assert TOKEN not in logs and TOKEN.split(":")[1] not in logs
    commands = [p for m, p in server.calls if m == "setmycommands"]
    assert {p.get("language_code") for p in commands} == {None, "fr", "ar"}


def _qr_content_matches(png: Path, link: str, scale: int = 8, border: int = 4) -> bool:
    """The PNG's modules are those of ``link``'s QR code (each module's centre pixel)."""
    import segno
    from PIL import Image

    matrix = segno.make(link, error="m", micro=False).matrix
    image = Image.open(png).convert("L")
    for row, modules in enumerate(matrix):
        for column, dark in enumerate(modules):
            x = (border + column) * scale + scale // 2
            y = (border + row) * scale + scale // 2
            if (image.getpixel((x, y)) < 128) != bool(dark):
                return False
    return True


def test_an_invitation_as_a_qr_code_to_print(initialised: Path, tmp_path: Path) -> None:
    runner = CliRunner(env={"TELEGRAM_BOT_USERNAME": "rss_test_bot"})
    code = tmp_path / "invitation.png"
    enrolled = runner.invoke(
        app, ["enroll", "--case", "QR-1", "--return-date", "2026-01-01", "--qr", str(code)]
    )
    assert enrolled.exit_code == 0, enrolled.output
    link = next(w for w in enrolled.stdout.split() if w.startswith("https://t.me/"))
    assert code.read_bytes().startswith(b"\x89PNG") and _qr_content_matches(code, link)
    again = tmp_path / "again.png"
    reissued = runner.invoke(app, ["invite", "--case", "QR-1", "--qr", str(again)])
    new_link = next(w for w in reissued.stdout.split() if w.startswith("https://t.me/"))
    assert new_link != link and _qr_content_matches(again, new_link)
    assert not _qr_content_matches(again, link)
    offline = CliRunner().invoke(
        app, ["invite", "--case", "QR-1", "--qr", str(tmp_path / "no.png")]
    )
    assert offline.exit_code == 2 and "no QR code without the bot's username" in offline.stderr
    assert not (tmp_path / "no.png").exists()
    # nothing was done: the link printed last still works (not replaced by a new one)
    check = CliRunner(env={"TELEGRAM_BOT_USERNAME": "rss_test_bot"}).invoke(app, ["staff", "list"])
    assert check.exit_code == 0


def _whatsapp_env(monkeypatch: pytest.MonkeyPatch, server: FakeWhatsApp, port: int) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("WHATSAPP_TOKEN", fake_whatsapp.TOKEN)
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", fake_whatsapp.PHONE_NUMBER_ID)
    monkeypatch.setenv("WHATSAPP_APP_SECRET", fake_whatsapp.APP_SECRET)
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", fake_whatsapp.VERIFY_TOKEN)
    monkeypatch.setenv("WHATSAPP_API_BASE", server.base_url)
    monkeypatch.setenv("WHATSAPP_NUMBER", "+1 555 0100")
    server.webhook_url = f"http://127.0.0.1:{port}/whatsapp"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_whatsapp_only_enroll_with_a_qr_code_then_run(
    initialised: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = FakeWhatsApp()
    await server.start()
    port = _free_port()
    _whatsapp_env(monkeypatch, server, port)
    code = tmp_path / "wa.png"
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke,
            app,
            ["enroll", "--case", "WA-1", "--return-date", "2026-11-01", "--qr", str(code)],
        )
        assert result.exit_code == 0, result.output
        link = re.search(r"https://wa\.me/15550100\?text=START%20([\w-]+)", result.stdout)
        assert link is not None, result.stdout
        assert _qr_content_matches(code, link.group(0))
        log_file = (initialised / "wa.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            RSSBOT,
            "run",
            "--log-level",
            "DEBUG",
            "--port",
            str(port),
            env={**os.environ},
            stdout=log_file,
            stderr=log_file,
        )
        try:
            user = WaUser(server, "22177123456")
            for _attempt in range(60):  # until the process listens
                user.send(f"START {link.group(1)}")
                await user.settle(quiet=0.3)
                if user.statuses[-1] == 200:
                    break
                await asyncio.sleep(0.5)
            await user.expect("Welcome", timeout=30)
            user.press("Français")
            await user.expect("Avant de commencer")
            user.press("J'accepte")
            await user.expect("Question 1 sur 32")
            user.send(CANARY)  # not an option: refused, never stored
            await user.expect("Question 1 sur 32")
        finally:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), 30)
            log_file.close()
    finally:
        await server.stop()
    logs = (initialised / "wa.log").read_text(encoding="utf-8", errors="replace")
    assert "WhatsApp webhook at /whatsapp" in logs and "DEBUG" in logs
    assert CANARY not in logs and "22177123456" not in logs
    assert fake_whatsapp.TOKEN not in logs and fake_whatsapp.APP_SECRET not in logs


async def test_whatsapp_with_a_refused_token_fails_at_start(
    initialised: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeWhatsApp()
    await server.start()
    _whatsapp_env(monkeypatch, server, _free_port())
    monkeypatch.setenv("WHATSAPP_TOKEN", "expired-token")
    try:
        process = await asyncio.create_subprocess_exec(
            RSSBOT,
            "run",
            env={**os.environ},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await server.stop()
    assert process.returncode == 2
    assert b"refuses WHATSAPP_TOKEN" in err and b"190" in err and b"expired-token" not in err
    monkeypatch.delenv("WHATSAPP_APP_SECRET")
    unsigned = CliRunner().invoke(app, ["run"])
    assert unsigned.exit_code == 2 and "WHATSAPP_APP_SECRET" in unsigned.stderr


def test_a_whatsapp_link_needs_the_business_number(
    initialised: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WHATSAPP_NUMBER", raising=False)
    runner = CliRunner()
    args = ["enroll", "--case", "WA-2", "--return-date", "2026-01-01"]
    missing = runner.invoke(app, [*args, "--channel", "whatsapp"])
    assert missing.exit_code == 2 and "WHATSAPP_NUMBER" in missing.stderr
    unknown = runner.invoke(app, [*args, "--channel", "viber"])
    assert unknown.exit_code == 2 and "telegram or whatsapp" in unknown.stderr
    # nothing was enrolled: the case can still be enrolled with a WhatsApp link
    monkeypatch.setenv("WHATSAPP_NUMBER", "+224 600 00 00 00")
    enrolled = runner.invoke(app, [*args, "--channel", "whatsapp"])
    assert enrolled.exit_code == 0, enrolled.output
    assert "https://wa.me/224600000000?text=START%20" in enrolled.stdout


async def test_no_configured_secret_reaches_the_log(
    initialised: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every secret set to a canary value (the keyring in RSSBOT_MASTER_KEY), `rssbot
    run --webhook` serving Telegram and WhatsApp at DEBUG: Meta's verification handshake
    (the verify token in the query string, right and wrong), a signed delivery, a
    Telegram update with its secret header, a wrong secret; no canary in any line of the
    log."""
    import json
    from urllib.parse import quote

    import aiohttp

    from bot.whatsapp.webhook import signature as webhook_signature

    telegram, whatsapp = FakeTelegram(), FakeWhatsApp()
    await telegram.start()
    await whatsapp.start()
    port = _free_port()
    master_key = (initialised / "keys.json").read_text()  # (the keyring from the environment)
    canaries = {
        "TELEGRAM_WEBHOOK_SECRET": "CANARY-hook-secret-2f6a9",
        "WHATSAPP_VERIFY_TOKEN": "CANARY verify/token&7c1=",  # (URL-encoded in the query)
        "WHATSAPP_APP_SECRET": "CANARY-app-secret-5e8b1",
        "WHATSAPP_TOKEN": "CANARY-wa-token-3d9c4",
    }
    _whatsapp_env(monkeypatch, whatsapp, port)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE", telegram.base_url)
    for name in ("TELEGRAM_WEBHOOK_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_APP_SECRET"):
        monkeypatch.setenv(name, canaries[name])
    monkeypatch.setenv("RSSBOT_MASTER_KEY", master_key)
    whatsapp.tokens.add(canaries["WHATSAPP_TOKEN"])
    monkeypatch.setenv("WHATSAPP_TOKEN", canaries["WHATSAPP_TOKEN"])
    log_path = tmp_path / "run.log"
    log_file = log_path.open("wb")
    process = await asyncio.create_subprocess_exec(
        *(RSSBOT, "run", "--webhook", "--port", str(port), "--log-level", "DEBUG"),
        env={**os.environ},
        stdout=log_file,
        stderr=log_file,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                assert process.returncode is None, log_path.read_text(errors="replace")
                try:
                    async with http.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            verify = quote(canaries["WHATSAPP_VERIFY_TOKEN"], safe="")
            query = f"hub.mode=subscribe&hub.challenge=4242&hub.verify_token={verify}"
            async with http.get(f"{base}/whatsapp?{query}") as response:
                assert response.status == 200 and await response.text() == "4242"
            async with http.get(f"{base}/whatsapp?{query}x") as response:
                assert response.status == 403
            user = WaUser(whatsapp, "22177123999")
            body, _ = whatsapp.signed_delivery(user.wa_id, {"type": "text"})
            signature = webhook_signature(body, canaries["WHATSAPP_APP_SECRET"])
            assert await whatsapp.post(body, signature) == 200
            update = {
                "update_id": 77001,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": 77001, "type": "private"},
                    "from": {"id": 77001, "is_bot": False, "first_name": "R"},
                    "text": "/help",
                },
            }
            for secret, status in ((canaries["TELEGRAM_WEBHOOK_SECRET"], 200), ("wrong", 401)):
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
                async with http.post(f"{base}/telegram", json=update, headers=headers) as r:
                    assert r.status == status
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)
        log_file.close()
        await telegram.stop()
        await whatsapp.stop()
    logs = log_path.read_text(encoding="utf-8", errors="replace")
    assert "GET /whatsapp 200" in logs and "DEBUG" in logs  # (the requests were logged)
    secrets = [*canaries.values(), TOKEN, TOKEN.split(":")[1]]
    keys = json.loads(master_key)
    secrets += [*keys["keks"].values(), keys["pepper"], master_key.strip()]
    secrets += [quote(v, safe="") for v in secrets]
    for secret in secrets:
        assert secret not in logs, secret
