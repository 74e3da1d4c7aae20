"""Personal data only in private chats: the same commands and buttons sent from a group,
a supergroup or a channel reach no handler, store nothing and send nothing personal."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from storage.models import AuditEntry, Feedback, ProcessedUpdate, Returnee
from tests.e2e.conftest import Harness
from tests.e2e.fake_telegram import FakeUser
from tests.e2e.test_journey import enrol_and_consent, returnee_of
from tests.e2e.test_staff import completed_returnee

NEUTRAL = "Please write to me in a private chat."
GROUP = -1001234567890


async def rows(h: Harness, model: type) -> int:
    assert h.store is not None
    async with h.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("kind", ["group", "supergroup"])
async def test_commands_in_a_group_get_one_neutral_line_and_nothing_personal(
    harness: Harness, user_factory, kind: str
) -> None:  # type: ignore[no-untyped-def]
    assert harness.store is not None
    user = user_factory("en")
    await completed_returnee(harness, user)
    case = "CASE-1"  # (what completed_returnee enrolled)
    await harness.store.add_staff(user.user_id, "caseworker")  # staff commands too
    in_group = user.in_chat(GROUP, kind)
    audit_before = await rows(harness, AuditEntry)
    commands = [
        "/mydata",
        "/export",
        "/export xlsx",
        f"/case {case}",
        "/stats initial",
        "/due initial",
        "/feedback",
        "/start",
        "/delete",
        "/inbox",
        "/stop",
    ]
    for command in commands:
        in_group.send(command)
        await in_group.expect(NEUTRAL)
    in_group.send("STOP")  # not a command: ignored in a group
    in_group.send("hello everyone")
    await user.settle()
    group_messages = harness.server.messages.get(GROUP, [])
    assert [m.text for m in group_messages] == [NEUTRAL] * len(commands)
    assert all(m.kind == "text" and m.file is None for m in group_messages)
    # nothing was read for staff, nothing changed for the returnee
    assert await rows(harness, AuditEntry) == audit_before
    assert (await returnee_of(harness, user)).status == "active"
    # no update from the group was recorded either
    assert harness.store is not None
    async with harness.store.sessions() as session:
        seen = set(await session.scalars(select(ProcessedUpdate.update_id)))
    assert in_group.last_update is not None and in_group.last_update[0] not in seen


async def test_buttons_pressed_in_a_group_answer_neutrally(harness: Harness, user_factory) -> None:  # type: ignore[no-untyped-def]
    user = user_factory("fr")
    await enrol_and_consent(harness, user, "fr")
    question = user.last_with_buttons()
    answered_before = len(user.messages)
    in_group = user.in_chat(GROUP)
    in_group.press_data(question.buttons()[0]["callback_data"], question)
    alert = await in_group.expect_alert("")
    assert alert == "Veuillez m'écrire dans une conversation privée."
    await user.settle()
    assert len(user.messages) == answered_before  # the survey did not move


async def test_a_channel_post_and_a_message_without_sender_are_ignored(
    harness: Harness, user_factory, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    before = len(harness.server.calls)
    harness.server.push(
        {
            "channel_post": {
                "message_id": 7,
                "date": int(time.time()),
                "chat": {"id": -1009, "type": "channel", "title": "News"},
                "text": "/mydata",
            }
        }
    )
    harness.server.push(  # a private message with no "from" (must not raise in /start)
        {
            "message": {
                "message_id": 8,
                "date": int(time.time()),
                "chat": {"id": user.chat_id, "type": "private"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            }
        }
    )
    await user.settle()
    sent = [c for c in harness.server.calls[before:] if c[0] != "getupdates"]
    assert sent == []
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


async def test_feedback_buttons_from_a_group_store_nothing(harness: Harness, user_factory) -> None:  # type: ignore[no-untyped-def]
    user = user_factory("en")
    await enrol_and_consent(harness, user)
    user.send("/feedback")
    prompt = await user.expect("confidential")
    in_group: FakeUser = user.in_chat(GROUP)
    in_group.press_data(prompt.buttons()[0]["callback_data"], prompt)
    in_group.send("the assistance was late")
    await user.settle()
    assert await rows(harness, Feedback) == 0
    assert await rows(harness, Returnee) == 1
