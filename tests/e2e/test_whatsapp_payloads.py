"""Every payload shape the Cloud API documents, signed and posted to the bot's webhook on
SQLite and PostgreSQL: each is answered 200 once applied, never with a traceback; what
the survey cannot use gets one short hint; a message from a group changes nothing and
gets no personal data back."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import Answer, ProcessedUpdate, Reminder, ReminderRound
from tests.e2e.conftest import WaHarness
from tests.support.fake_whatsapp import PHONE_NUMBER_ID, WaUser
from tests.support.journeys import QUESTION, to_the_first_question

HINT = "I can only read text messages and button presses."


def message(kind: str, **content: Any) -> dict[str, Any]:
    return {
        "id": f"wamid.shape.{kind}.{time.monotonic_ns()}",
        "timestamp": str(int(time.time())),
        "type": kind,
        **content,
    }


#: what a person can send that the survey cannot read, as the Cloud API delivers it
UNUSABLE: dict[str, dict[str, Any]] = {
    "reaction": {"reaction": {"message_id": "wamid.out1", "emoji": "👍"}},
    "location": {"location": {"latitude": 14.69, "longitude": -17.44, "name": "Dakar"}},
    "contacts": {"contacts": [{"name": {"formatted_name": "Awa"}, "phones": [{"phone": "+221"}]}]},
    "sticker": {"sticker": {"id": "STICKER1", "mime_type": "image/webp", "animated": False}},
    "image": {"image": {"id": "IMG1", "mime_type": "image/jpeg", "caption": "me"}},
    "document": {"document": {"id": "DOC1", "filename": "cv.pdf", "mime_type": "application/pdf"}},
    "video": {"video": {"id": "VID1", "mime_type": "video/mp4"}},
    "unsupported": {
        "errors": [
            {
                "code": 131051,
                "title": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ]
    },
    "a type from next year": {"hologram": {"id": "H1"}},
}


async def counts(h: WaHarness) -> tuple[int, int]:
    """Answers stored, messages applied."""
    assert h.store is not None
    async with h.store.sessions() as session:
        answers = await session.scalar(select(func.count()).select_from(Answer))
        applied = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
        return int(answers or 0), int(applied or 0)


async def post(h: WaHarness, delivery: dict[str, Any]) -> int:
    return await h.server.post(*h.server.signed(delivery))


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


async def test_every_payload_shape_is_answered_200_without_a_traceback(
    wa_harness: WaHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h, server = wa_harness, wa_harness.server
    phone = WaUser(server, "22177200001")
    token = await h.invite()
    await to_the_first_question(phone, f"START {token}")
    answers, _applied = await counts(h)

    # what the survey cannot use: one hint, once, then the question again
    for kind, content in UNUSABLE.items():
        shape = message("unknown" if kind.startswith("a type") else kind, **content)
        if kind.startswith("a type"):
            shape["type"] = "hologram"
        assert await post(h, server.envelope([server.message_value(phone.wa_id, shape)])) == 200
    await phone.settle()
    hints = [m for m in phone.messages if m.body == HINT]
    assert len(hints) == 1, [m.body[:40] for m in phone.messages[-6:]]
    assert (await counts(h))[0] == answers

    # a voice note outside feedback, a reply quoting a message (context), a message from
    # an ad (referral), an edit: read as what they carry, or let go
    voice = message("audio", audio={"id": "VOICE1", "mime_type": "audio/ogg", "voice": True})
    assert await post(h, server.envelope([server.message_value(phone.wa_id, voice)])) == 200
    quoted = message(
        "interactive",
        context={"from": "15550100", "id": phone.messages[-1].id},
        interactive={"type": "button_reply", "button_reply": {"id": "x", "title": "Satisfied"}},
    )
    quoted["interactive"]["button_reply"]["id"] = next(
        o[0] for m in reversed(phone.messages) for o in m.options if o[1] == "Satisfied"
    )
    assert await post(h, server.envelope([server.message_value(phone.wa_id, quoted)])) == 200
    await phone.expect(QUESTION["en"].format(2))
    from_ad = message(
        "text",
        text={"body": "Never"},
        referral={
            "source_url": "https://fb.me/x",
            "source_id": "AD1",
            "source_type": "ad",
            "headline": "Reintegration",
            "body": "Write to us",
            "media_type": "image",
            "ctwa_clid": "ARAk",
        },
    )
    assert await post(h, server.envelope([server.message_value(phone.wa_id, from_ad)])) == 200
    await phone.expect(QUESTION["en"].format(3))
    edit = message(
        "edit",
        edit={
            "original_message_id": from_ad["id"],
            "message": {"type": "text", "text": {"body": "Always"}},
        },
    )
    assert await post(h, server.envelope([server.message_value(phone.wa_id, edit)])) == 200
    assert (await counts(h))[0] == answers + 2

    # several entries and changes in one delivery: two people, each applied once
    other = WaUser(server, "22177200002", username="@moussa")
    welcome = message("request_welcome")
    two = server.envelope([server.message_value(other.wa_id, welcome)])
    two["entry"].append(
        server.envelope([server.message_value(phone.wa_id, message("text", text={"body": "Yes"}))])[
            "entry"
        ][0]
    )
    assert await post(h, two) == 200
    await phone.expect(QUESTION["en"].format(4))
    await other.expect("invitation")  # someone not invited is told how to join
    assert await post(h, two) == 200  # Meta delivers it again: nothing twice
    await phone.settle()
    assert sum(QUESTION["en"].format(4) in m.body for m in phone.messages) == 1

    # statuses, template and account updates, unknown fields
    metadata = {"display_phone_number": "15550100", "phone_number_id": PHONE_NUMBER_ID}
    statuses = {
        "messaging_product": "whatsapp",
        "metadata": metadata,
        "statuses": [
            {
                "id": "wamid.out1",
                "status": "delivered",
                "timestamp": "1",
                "recipient_id": phone.wa_id,
                "recipient_user_id": phone.user_id,
                "conversation": {"id": "c1"},
                "pricing": {
                    "billable": False,
                    "category": "service",
                    "type": "free_customer_service",
                },
            },
            {
                "id": "wamid.out2",
                "status": "read",
                "timestamp": "2",
                "recipient_user_id": phone.user_id,
            },
            {
                "id": "wamid.out3",
                "status": "failed",
                "timestamp": "3",
                "recipient_id": "120363@g.us",
                "recipient_type": "group",
                "errors": [{"code": 131000}],
            },
        ],
    }
    others = server.envelope(
        [
            statuses,
            {
                "messaging_product": "whatsapp",
                "metadata": metadata,
                "errors": [{"code": 131000, "title": "Something"}],
            },
        ]
    )
    for field, value in (
        (
            "message_template_status_update",
            {
                "event": "APPROVED",
                "message_template_id": 1,
                "message_template_name": "rss_reminder",
                "message_template_language": "fr",
            },
        ),
        (
            "message_template_quality_update",
            {
                "previous_quality_score": "GREEN",
                "new_quality_score": "YELLOW",
                "message_template_id": 1,
            },
        ),
        (
            "phone_number_quality_update",
            {"display_phone_number": "15550100", "event": "FLAGGED", "current_limit": "TIER_1K"},
        ),
        ("account_update", {"event": "VERIFIED_ACCOUNT"}),
        ("a_field_from_next_year", {"anything": [1, 2, 3]}),
    ):
        others["entry"].append({"id": "WABA-1", "changes": [{"field": field, "value": value}]})
    others["entry"].append({"id": "WABA-1", "changes": [{"field": "messages", "value": None}]})
    others["entry"].append("not an entry")
    assert await post(h, others) == 200
    assert await post(h, {"object": "whatsapp_business_account"}) == 200
    assert await post(h, {"object": "whatsapp_business_account", "entry": None}) == 200
    await phone.settle()
    assert tracebacks(caplog) == []


async def test_a_group_message_changes_nothing_and_gets_no_personal_data(
    wa_harness: WaHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h, server = wa_harness, wa_harness.server
    phone = WaUser(server, "22177200003")
    token = await h.invite()
    await to_the_first_question(phone, f"START {token}")
    before = await counts(h)
    sent = len(server.requests)
    phone.send_in_group("Satisfied")
    phone.send_in_group("MY DATA")
    phone.send_in_group("DELETE")
    await phone.settle()
    assert await counts(h) == before and len(server.requests) == sent  # not a word
    stranger = WaUser(server, "22177200004")
    stranger.send_in_group(f"START {await h.invite()}")
    await stranger.settle()
    replies = server.messages.get("group:GROUP-1", [])
    assert [m.body for m in replies] == ["Please write to me in a private chat."]
    assert await counts(h) == before
    assert h.store is not None
    assert await h.store.find_whatsapp(user_id=stranger.user_id, phone=stranger.wa_id) is None
    assert tracebacks(caplog) == []


async def test_a_failed_status_by_bsuid_alone_reaches_the_round(wa_harness: WaHarness) -> None:
    """A reminder WhatsApp took, then reported failed (by BSUID only, no number): the
    round counts it failed; an undeliverable person is marked unreachable."""
    from tests.e2e.test_whatsapp import remind

    h, server = wa_harness, wa_harness.server
    phone = WaUser(server, "22177200005", username="@fatou")
    await to_the_first_question(phone, f"START {await h.invite()}")
    _courier, report = await remind(h)
    assert report.counts["sent"] == 1
    reminder = phone.messages[-1]
    assert reminder.callback is not None and reminder.callback.startswith("reminder:")
    assert await server.post(*server.failed_status(reminder, code=131026)) == 200
    assert h.store is not None
    async with h.store.sessions() as session:
        status, reason = (await session.execute(select(Reminder.status, Reminder.reason))).one()
        round_id = await session.scalar(select(ReminderRound.id))
    assert (status, reason) == ("failed", "status_undeliverable")
    from storage import outbox

    assert round_id is not None
    counted = await outbox.report(h.store, round_id)
    assert counted.counts["failed"] == 1 and counted.reasons["failed:status_undeliverable"] == 1
    found = await h.store.find_whatsapp(user_id=phone.user_id, phone=None)
    assert found is not None and found.status == "unreachable"
