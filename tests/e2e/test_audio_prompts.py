"""Audio prompts on both channels, with the fake Bot API and the fake Cloud API: each
question's clip comes as a voice note before the question, each clip is uploaded once
and then sent by its media id, a refused answer does not replay it, and a returnee who
switches audio off (button or keyword) gets none until they switch it on again; the
choice is kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.loader import load_definition
from storage.crypto import Keyring
from storage.store import Store
from tests.backends import Backend
from tests.e2e.conftest import Harness, WaHarness, running_bot, running_wa_bot
from tests.e2e.fake_telegram import FakeUser
from tests.support.audio import mp3_clip, opus_clip

Running = Harness | WaHarness


def voice_flow(folder: Path) -> Path:
    for name, seconds in (("q1", 2), ("q2", 3), ("q3", 4), ("q4", 5)):
        opus_clip(folder / f"{name}.ogg", seconds, marker=name.encode())
    mp3_clip(folder / "yes.mp3")
    flow = {
        "spec_version": 1, "id": "voice", "version": "1", "languages": ["en"],
        "title": {"en": "Voice"},
        "questions": [
            {"id": "work", "type": "single_choice", "text": {"en": "Do you work?"},
             "audio": {"en": "q1.ogg"},
             "options": [{"id": "yes", "label": {"en": "Yes"}, "audio": {"en": "yes.mp3"}},
                         {"id": "no", "label": {"en": "No"}}]},
            {"id": "age", "type": "integer", "text": {"en": "How old are you?"},
             "audio": {"en": "q2.ogg"}},
            {"id": "safe", "type": "yes_no", "text": {"en": "Do you feel safe?"},
             "audio": {"en": "q3.ogg"},
             "options": [{"id": "yes", "label": {"en": "Yes"}},
                         {"id": "no", "label": {"en": "No"}}]},
            {"id": "more", "type": "free_text", "text": {"en": "Anything else?"},
             "audio": {"en": "q4.ogg"}},
        ],
    }  # fmt: skip
    path = folder / "voice.yaml"
    path.write_text(yaml.safe_dump(flow))
    return path


@pytest.fixture(params=["telegram", "whatsapp"])
async def bot(
    request: pytest.FixtureRequest, backend: Backend, keyring: Keyring, tmp_path: Path
) -> AsyncIterator[Running]:
    definition = load_definition(voice_flow(tmp_path))
    running = running_bot if request.param == "telegram" else running_wa_bot
    async with running(backend, keyring, definition) as harness:
        yield harness


def voices(bot: Running, phone: Any) -> list[bytes]:
    """The clips the returnee received, in order (their bytes)."""
    if isinstance(bot, WaHarness):
        return [bot.server.media[m.media_id][0] for m in phone.messages if m.kind == "audio"]
    return [m.file for m in phone.messages if m.kind == "voice"]


def uploads(bot: Running) -> int:
    if isinstance(bot, WaHarness):
        return len(bot.server.uploads)
    return len(bot.server.voice_uploads)


async def joined(bot: Running, number: int) -> Any:
    token = await bot.invite()
    if isinstance(bot, WaHarness):
        phone: Any = bot.new_user()
        phone.send(f"START {token}")
    else:
        phone = FakeUser(bot.server, 73000 + number)
        phone.send(f"/start {token}")
    await phone.expect("Welcome! Please choose your language.")
    phone.press("English")
    await phone.expect("Before we start, please read this.")
    phone.press("I agree")
    await phone.expect("Do you work?")
    await phone.settle()
    return phone


async def test_clips_come_before_their_question_uploaded_once_and_not_once_audio_is_off(
    bot: Running, tmp_path: Path
) -> None:
    clip = {name: (tmp_path / name).read_bytes() for name in
            ("q1.ogg", "q2.ogg", "q3.ogg", "q4.ogg", "yes.mp3")}  # fmt: skip
    phone = await joined(bot, 1)
    assert voices(bot, phone) == [clip["q1.ogg"], clip["yes.mp3"]]
    kinds = [m.kind for m in phone.messages]
    question = next(i for i, m in enumerate(phone.messages) if "Do you work?" in m.text)
    assert question == len(kinds) - 1, "the question comes after its clips"
    if isinstance(bot, WaHarness):  # (no caption under a voice note: the choice's label first)
        assert [m.text for m in phone.messages[-4:-1]] == ["", "Yes", ""]
    else:
        assert phone.messages[-2].text == "Yes"  # (the choice's clip, captioned)

    phone.press("Yes")
    await phone.expect("How old are you?")
    await phone.settle()
    assert voices(bot, phone)[-1] == clip["q2.ogg"]
    phone.send("old")  # refused: the question again, without its clip
    await phone.expect("number")
    await phone.settle()
    assert len(voices(bot, phone)) == 3

    # audio off: the button under the voice note (Telegram), the keyword (WhatsApp)
    if isinstance(bot, WaHarness):
        phone.send("audio")
    else:
        note = [m for m in phone.messages if m.kind == "voice"][-1]
        phone.press("🔇 Audio off", note)
    await phone.expect("Voice notes are off")
    assert bot.store is not None
    phone.send("34")
    await phone.expect("Do you feel safe?")
    await phone.settle()
    assert len(voices(bot, phone)) == 3, "no clip once audio is off"

    phone.send("AUDIO")  # the keyword, on both channels
    await phone.expect("Voice notes are on")
    phone.press("No")
    await phone.expect("Anything else?")
    await phone.settle()
    assert voices(bot, phone)[-1] == clip["q4.ogg"]
    assert uploads(bot) == 4  # q1, yes, q2, q4: q3 was never sent

    # a second returnee: every clip by the id the channel gave, only q3 uploaded
    other = await joined(bot, 2)
    other.press("No")
    await other.expect("How old are you?")
    other.send("41")
    await other.expect("Do you feel safe?")
    await other.settle()
    assert voices(bot, other) == [clip["q1.ogg"], clip["yes.mp3"], clip["q2.ogg"], clip["q3.ogg"]]
    assert uploads(bot) == 5


async def test_the_audio_choice_is_kept_across_a_restart(bot: Running) -> None:
    phone = await joined(bot, 1)
    phone.send("/audio" if isinstance(bot, Harness) else "VOICE")
    await phone.expect("Voice notes are off")
    await bot.restart()
    assert bot.store is not None
    phone.press("No")
    await phone.expect("How old are you?")
    await phone.settle()
    assert len(voices(bot, phone)) == 2  # (the first question's, before audio was off)


async def test_the_terminal_survey_names_each_clip(store: Store, tmp_path: Path) -> None:
    from scoring import default_weight_table
    from tests.e2e.test_terminal_survey import Terminal

    terminal = Terminal(store, load_definition(voice_flow(tmp_path)), default_weight_table())
    _state, _scores, shown = await terminal.run(["1", "30"])
    assert "🔊 Recording: q1.ogg" in shown
    assert "1  Yes  🔊 yes.mp3" in shown
    assert shown.index("🔊 Recording: q2.ogg") < shown.index("How old are you?")
    assert "q3.ogg" in shown and "q4.ogg" not in shown  # (stopped at the third question)
