"""Feedback by voice, on both channels: a voice note sent as named feedback is kept
encrypted (a canary in its bytes is nowhere in the database), plays in the console's
inbox for a feedback officer (never cached, each play audited) and for nobody else, and
goes with the returnee when they are erased. Anonymous feedback stays written: a voice
can be recognised."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.web.app import SERVER_OPTIONS, Console, build_console_app
from scoring import default_weight_table
from storage.crypto import Keyring
from storage.models import Base
from storage.store import Store
from tests.backends import Backend
from tests.e2e.conftest import Harness, WaHarness, running_bot, running_wa_bot
from tests.e2e.fake_telegram import FakeUser
from tests.e2e.test_console_web import sign_in
from tests.support.audio import opus_clip

Running = Harness | WaHarness
CANARY = b"CANARY-VOICE-5150"


@pytest.fixture(params=["telegram", "whatsapp"])
async def bot(
    request: pytest.FixtureRequest, backend: Backend, keyring: Keyring
) -> AsyncIterator[Running]:
    running = running_bot if request.param == "telegram" else running_wa_bot
    async with running(backend, keyring) as harness:
        yield harness


async def taking_part(bot: Running) -> Any:
    token = await bot.invite()
    if isinstance(bot, WaHarness):
        phone: Any = bot.new_user()
        phone.send(f"START {token}")
    else:
        phone = FakeUser(bot.server, 74001)
        phone.send(f"/start {token}")
    await phone.expect("Welcome! Please choose your language.")
    phone.press("English")
    await phone.expect("Before we start, please read this.")
    phone.press("I agree")
    await phone.expect("Question 1 of")
    return phone


async def feedback_asked(bot: Running, phone: Any, *, named: bool) -> None:
    phone.send("/feedback" if isinstance(bot, Harness) else "FEEDBACK")
    await phone.expect("Your feedback on the help you received is confidential.")
    phone.press("With my name on it" if named else "Anonymously")
    await phone.expect("How would you rate the help you received")
    phone.press("Skip")
    await phone.expect("Please write your feedback in one message")


def send_voice(bot: Running, phone: Any, data: bytes) -> None:
    if isinstance(bot, WaHarness):
        phone.send_voice(data)
    else:
        phone.send_voice(data, seconds=2)


async def all_values(store: Store) -> list[Any]:
    values: list[Any] = []
    async with store.sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(table.select())).all():
                values += list(row._mapping.values())
    return values


@pytest.fixture
def voice_note(tmp_path: Path) -> bytes:
    return opus_clip(tmp_path / "feedback.ogg", 2, marker=CANARY).read_bytes()


async def console_client(store: Store) -> TestClient:  # type: ignore[type-arg]
    server = TestServer(build_console_app(Console(store, default_weight_table())))
    await server.start_server(**SERVER_OPTIONS)
    client = TestClient(server)  # type: ignore[var-annotated]
    await client.start_server()
    return client


async def test_a_voice_note_is_kept_encrypted_and_plays_for_feedback_officers_only(
    bot: Running, voice_note: bytes
) -> None:
    store = bot.store
    assert store is not None
    phone = await taking_part(bot)
    await feedback_asked(bot, phone, named=True)
    assert "or send it as a voice note" in phone.messages[-1].text
    send_voice(bot, phone, voice_note)
    thanks = await phone.expect("Thank you. Your feedback was received.")
    assert "FB-" in thanks.text
    await phone.expect("Question 1 of")  # (back to the survey)

    for value in await all_values(store):  # the canary is nowhere in clear
        raw = value if isinstance(value, bytes) else str(value).encode()
        assert CANARY not in raw and voice_note not in raw

    inbox = await store.feedback.inbox(actor="test")
    (item,) = inbox.items
    assert item.voice_seconds == 2 and item.text == "" and not item.anonymous

    officer = await store.add_staff(91001, "feedback_officer", name="Officer")
    others = [await store.add_staff(91000 + i, role) for i, role in
              ((2, "admin"), (3, "caseworker"), (4, "viewer"))]  # fmt: skip
    client = await console_client(store)
    try:
        await sign_in(client, store, officer)
        page = await client.get("/feedback")
        shown = await page.text()
        assert f'src="/feedback/{item.id}/voice"' in shown and "<audio" in shown
        for _play in range(2):
            played = await client.get(f"/feedback/{item.id}/voice")
            assert played.status == 200 and await played.read() == voice_note
            assert played.headers["Cache-Control"] == "no-store"
            assert played.content_type == "audio/ogg"
        plays = [e for e in await store.audit_entries() if e.action == "play_feedback_voice"]
        assert len(plays) == 2 and all(e.actor == f"staff:{officer}" for e in plays)
        for other in others:
            client.session.cookie_jar.clear()
            await sign_in(client, store, other)
            refused = await client.get(f"/feedback/{item.id}/voice")
            assert refused.status == 403 and voice_note not in await refused.read()

        returnee = (await store.feedback.inbox(actor="test")).items[0].public_id
        assert returnee is not None
        found = await store.find_by_public_id(returnee)
        assert found is not None
        await store.erase(found.id, actor="test")
        client.session.cookie_jar.clear()
        await sign_in(client, store, officer)
        gone = await client.get(f"/feedback/{item.id}/voice")
        assert gone.status == 404
    finally:
        await client.close()


async def test_anonymous_feedback_stays_written_and_a_bad_recording_loses_nothing(
    bot: Running, voice_note: bytes
) -> None:
    store = bot.store
    assert store is not None
    phone = await taking_part(bot)
    await feedback_asked(bot, phone, named=False)
    send_voice(bot, phone, voice_note)
    await phone.expect("A voice can be recognised, so anonymous feedback is written only.")
    phone.send("The training helped.")  # the draft is still there: the text is kept
    await phone.expect("Thank you. Your feedback was received.")
    (item,) = (await store.feedback.inbox(actor="test")).items
    assert item.anonymous and item.text == "The training helped." and item.voice_seconds is None

    await feedback_asked(bot, phone, named=True)
    send_voice(bot, phone, b"not a recording at all" * 10)
    await phone.expect("This recording cannot be kept.")
    send_voice(bot, phone, voice_note)
    await phone.expect("Thank you. Your feedback was received.")
