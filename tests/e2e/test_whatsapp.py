"""WhatsApp through its real HTTP path: signed deliveries to the bot's webhook, replies to
the fake Cloud API on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import func, select, update

from bot.rate_limits import RateLimiter
from bot.telegram.sender import RoundSender
from bot.whatsapp.conversation import update_id_of
from bot.whatsapp.reminders import WhatsAppCourier
from storage import outbox
from storage.models import Answer, ProcessedUpdate, Returnee
from storage.outbox import RoundReport
from storage.waves import WaveWindows
from tests.e2e.conftest import WaHarness
from tests.support import fake_whatsapp
from tests.support.fake_whatsapp import APP_SECRET, WaUser
from tests.support.journeys import QUESTION, to_the_first_question


async def answers(h: WaHarness) -> int:
    assert h.store is not None
    async with h.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Answer)) or 0)


async def join(h: WaHarness, language: str = "en") -> WaUser:
    """A returnee from the wa.me link's START message to question 1 (greeted in the
    language the caseworker chose)."""
    user = h.new_user()
    token = await h.invite(language=language)
    await to_the_first_question(user, f"START {token}", language, greeting=language)
    return user


async def test_the_verification_handshake(wa_harness: WaHarness) -> None:
    url = wa_harness.server.webhook_url
    async with aiohttp.ClientSession() as http:
        ok = {"hub.mode": "subscribe", "hub.verify_token": fake_whatsapp.VERIFY_TOKEN}
        async with http.get(url, params={**ok, "hub.challenge": "1158201444"}) as r:
            assert r.status == 200 and await r.text() == "1158201444"
        wrong = {**ok, "hub.verify_token": "guess", "hub.challenge": "1"}
        async with http.get(url, params=wrong) as r:
            assert r.status == 403 and await r.text() != "1"


async def test_unsigned_or_missigned_deliveries_are_refused_and_change_nothing(
    wa_harness: WaHarness,
) -> None:
    h, server = wa_harness, wa_harness.server
    token = await h.invite()
    message = {
        "from": "22177000999",
        "id": "wamid.x1",
        "type": "text",
        "text": {"body": f"START {token}"},
    }
    body = json.dumps(server.delivery("22177000999", message)).encode()
    assert await server.post(body, None) == 401
    assert await server.post(body, "sha256=" + "0" * 64) == 403
    assert await server.deliver("22177000999", message, secret="another app's secret") == 403
    assert server.requests == []  # nothing answered
    assert h.store is not None
    async with h.store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0
        assert await session.scalar(select(Returnee.channel)) is None  # invitation unused


async def test_a_multi_select_as_lists_within_the_limits(wa_harness: WaHarness) -> None:
    user = await join(wa_harness, "ar")
    for number in range(2, 32):
        user.press_nth(0)
        await user.expect(QUESTION["ar"].format(number))
    # 9 options and "done" in one list (WhatsApp's 10 rows), the other answers in a second
    await user.settle()
    assert user.labels()[0].startswith("☐") and len(user.labels()) == 12
    user.press_nth(0)
    await user.expect(QUESTION["ar"].format(31))  # (a list cannot change: sent again)
    await user.settle()
    assert user.labels()[0].startswith("☑") and user.labels()[1].startswith("☐")
    user.send("1 3")  # or typed, by number
    await user.expect(QUESTION["ar"].format(32))
    store = wa_harness.store
    assert store is not None
    returnee = await store.find_whatsapp(user_id=user.user_id, phone=user.wa_id)
    assert returnee is not None
    data = await store.my_data(returnee.id)
    assert data["surveys"][0]["answers"]["ctx_assistance_received"]["options"] == [
        "cash",
        "training",
    ]


async def test_long_labels_go_to_descriptions_within_the_limits(wa_harness: WaHarness) -> None:
    user = await join(wa_harness, "fr")
    # question 5 (the debt ratio) has options longer than a row title in French
    for number in range(2, 6):
        user.press_nth(0)
        question = await user.expect(QUESTION["fr"].format(number))
    rows = [o for m in wa_harness.server.messages[user.wa_id][-2:] for o in m.options]
    assert any(title.endswith("…") and description for _id, title, description in rows)
    assert question.kind == "list"
    # the fake refuses anything beyond the limits (131009): nothing was refused
    assert all(
        len(m.body) <= 1024 for m in wa_harness.server.messages[user.wa_id] if m.kind != "text"
    )


async def test_restart_stale_list_and_typed_answers(wa_harness: WaHarness) -> None:
    user = await join(wa_harness)
    user.press("Satisfied")
    question2 = await user.expect(QUESTION["en"].format(2))
    user.press("Never")
    await user.expect(QUESTION["en"].format(3))
    await wa_harness.restart()
    user.press("Never", question2)  # an old list: refused, the current question again
    await user.expect("no longer active")
    await user.expect(QUESTION["en"].format(3))
    user.send("yes")  # typed instead of tapped
    await user.expect(QUESTION["en"].format(4))
    user.send("START")
    await user.expect(QUESTION["en"].format(4))
    assert await answers(wa_harness) == 3


async def test_a_message_delivered_twice_is_applied_once(wa_harness: WaHarness) -> None:
    user = await join(wa_harness)
    user.press("Satisfied")
    await user.expect(QUESTION["en"].format(2))
    sent = len(user.messages)
    user.redeliver()  # Meta delivers the same message id again
    await user.settle()
    assert len(user.messages) == sent
    assert await answers(wa_harness) == 1
    assert update_id_of("wamid.a") < 0 and update_id_of("wamid.a") != update_id_of("wamid.b")


async def test_language_switch_keywords_and_rights(wa_harness: WaHarness) -> None:
    user = await join(wa_harness)
    user.press("Satisfied")
    await user.expect(QUESTION["en"].format(2))
    user.send("LANGUAGE")
    await user.expect("Choose your language.")
    user.press("العربية")
    await user.expect("تم تغيير اللغة")
    await user.expect(QUESTION["ar"].format(2))
    user.press("أبدًا")
    await user.expect(QUESTION["ar"].format(3))
    user.send("بياناتي")
    data = await user.expect("CASE-1")
    assert "أبدًا" in data.body
    user.send("توقف")
    await user.expect("لن تصلك")
    assert wa_harness.store is not None
    found = await wa_harness.store.find_whatsapp(user_id=user.user_id, phone=user.wa_id)
    assert found is not None and found.status == "opted_out"
    user.send("حذف")
    await user.expect("هل تريد")
    user.press_nth(0)
    await user.expect("تم محو")
    assert await wa_harness.store.find_whatsapp(user_id=user.user_id, phone=user.wa_id) is None
    assert await answers(wa_harness) == 0


async def test_the_number_never_reaches_the_database_or_the_log(
    wa_harness: WaHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = await join(wa_harness)
    user.press("Satisfied")
    await user.expect(QUESTION["en"].format(2))
    wa_harness.server.undeliverable.add(user.wa_id)
    user.send_photo()
    await user.settle()
    assert wa_harness.store is not None
    found = await wa_harness.store.find_whatsapp(user_id=user.user_id, phone=user.wa_id)
    assert found is not None and found.status == "unreachable"
    assert user.wa_id not in caplog.text
    async with wa_harness.store.engine.connect() as conn:
        for table in ("returnees", "processed_updates", "answers", "audit_log", "survey_responses"):
            rows = (await conn.exec_driver_sql(f"SELECT * FROM {table}")).all()
            assert user.wa_id not in repr(rows), table


# -- reminders -------------------------------------------------------------------------------


async def remind(h: WaHarness) -> tuple[WhatsAppCourier, RoundReport]:
    """A round for the initial wave, sent with the WhatsApp courier."""
    assert h.store is not None and h.client is not None
    preview = await outbox.preview_round(
        h.store, wave="initial", country=None, windows=WaveWindows(), today=h.today
    )
    round_id = await outbox.create_round(h.store, preview, actor="test")
    courier = WhatsAppCourier(
        h.client,
        RateLimiter(rate=None),
        template="rss_reminder",
        clock=h.store.clock,
        backoff=0.2,
    )
    sender = RoundSender(h.store, None, couriers=[courier], backoff=0.05)
    return courier, await sender.run(round_id)


async def last_wrote(h: WaHarness, user: WaUser, ago: timedelta) -> None:
    """The returnee last wrote ``ago`` (in the bot's records and WhatsApp's)."""
    assert h.store is not None
    found = await h.store.find_whatsapp(user_id=user.user_id, phone=user.wa_id)
    assert found is not None
    async with h.store.sessions.begin() as session:
        await session.execute(
            update(Returnee)
            .where(Returnee.id == found.id)
            .values(last_message_at=h.store.clock() - ago)
        )
    h.server.offset = ago


@pytest.mark.parametrize(
    ("language", "answer", "reminded", "button"),
    [
        ("en", "Satisfied", "You have answered part of your first follow-up survey", None),
        ("fr", "Satisfait(e)", "Vous avez répondu à une partie", "Continuer"),
        ("ar", "راضٍ", "لقد أجبت عن جزء", "متابعة الاستبيان"),
    ],
)
async def test_a_reminder_inside_the_window_is_a_message_with_a_button(
    wa_harness: WaHarness, language: str, answer: str, reminded: str, button: str | None
) -> None:
    """One reply button, one tap: its title within WhatsApp's 20 characters in every
    language (a shorter label where the full one would be cut), never a one-row list."""
    user = await join(wa_harness, language)
    user.press(answer)
    await user.expect(QUESTION[language].format(2))
    courier, report = await remind(wa_harness)
    assert report.counts["sent"] == 1 and courier.sent_as == ["message"]
    assert report.channels == {"whatsapp:sent": 1}
    message = await user.expect(reminded)
    assert message.kind == "button" and len(message.options) == 1
    title = message.options[0][1]
    assert len(title) <= 20 and "…" not in title
    assert title == (button or "Continue the survey")
    user.press(title, message)
    await user.expect(QUESTION[language].format(2))


async def test_outside_the_window_the_reminder_is_the_template(wa_harness: WaHarness) -> None:
    user = await join(wa_harness, "fr")
    await last_wrote(wa_harness, user, timedelta(days=2))
    courier, report = await remind(wa_harness)
    assert report.counts["sent"] == 1 and courier.sent_as == ["template"]
    [template] = [m for m in user.messages if m.kind == "template"]
    assert (template.template, template.language) == ("rss_reminder", "fr")
    assert template.parameters == ["premier suivi"]
    user.tap_template_button(template, "Commencer")
    await user.expect(QUESTION["fr"].format(1))


async def test_window_closed_says_whatsapp_the_template_goes_instead(
    wa_harness: WaHarness,
) -> None:
    user = await join(wa_harness)
    wa_harness.server.offset = timedelta(hours=30)  # our records say open, WhatsApp not
    courier, report = await remind(wa_harness)
    assert report.counts["sent"] == 1 and courier.sent_as == ["template"]
    refused = [r for r in wa_harness.server.requests if r["type"] != "template"][-1]
    assert refused["recipient"] == user.user_id  # the free-form attempt came first


async def test_reminder_errors_unreachable_and_throttled(wa_harness: WaHarness) -> None:
    gone, slow = await join(wa_harness), await join(wa_harness)
    wa_harness.server.undeliverable.add(gone.wa_id)
    wa_harness.server.fail(400, 130429, "Rate limit hit", times=1)
    _courier, report = await remind(wa_harness)
    assert report.counts["sent"] == 1 and report.counts["failed"] == 1
    assert report.reasons["failed:undeliverable"] == 1
    assert wa_harness.store is not None
    lost = await wa_harness.store.find_whatsapp(user_id=gone.user_id, phone=gone.wa_id)
    assert lost is not None and lost.status == "unreachable"
    assert any("Hello!" in m.body for m in slow.messages)


async def test_a_failed_status_marks_an_undeliverable_number_unreachable(
    wa_harness: WaHarness,
) -> None:
    user = await join(wa_harness)
    server = wa_harness.server
    failed = server.delivery(user.wa_id, {})
    value = failed["entry"][0]["changes"][0]["value"]
    del value["messages"]
    value["statuses"] = [
        {
            "id": "wamid.out1",
            "status": "failed",
            "timestamp": "1700000000",
            "recipient_id": user.wa_id,
            "errors": [{"code": 131026, "title": "Message undeliverable"}],
        }
    ]
    body = json.dumps(failed).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert await server.post(body, signature) == 200
    assert wa_harness.store is not None
    found = await wa_harness.store.find_whatsapp(user_id=user.user_id, phone=user.wa_id)
    assert found is not None and found.status == "unreachable"


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
async def test_messages_name_the_keywords_of_the_returnees_language(
    wa_harness: WaHarness, language: str
) -> None:
    """WhatsApp has no commands: every message that tells a returnee what to send names
    the keyword they type in their language (SUPPRIMER, حذف...), never a Telegram
    command (/delete)."""
    import re

    from bot.languages import COMMANDS, languages

    words = {c: languages()[language].shown_keyword(c) for c in COMMANDS}
    user = await join(wa_harness, language)
    user.send(words["help"])
    shown = await user.expect(words["mydata"])
    assert words["delete"] in shown.body and words["feedback"] in shown.body
    user.send(words["mydata"])
    await user.expect("CASE-1")
    user.send(words["feedback"])
    await user.settle()
    user.press_nth(1)  # anonymously
    await user.settle()
    user.press("3")
    await user.expect(words["cancel"])
    user.send(words["cancel"])
    await user.settle()
    user.send(words["stop"])
    stopped = await user.expect(words["delete"])
    assert words["start"] in stopped.body
    user.send("/unknown")
    await user.settle()
    commands = re.compile(r"/(start|stop|mydata|delete|feedback|language|help|cancel)\b")
    assert [m.body for m in user.messages if commands.search(m.body)] == []


async def test_typed_choices_of_a_multi_select_are_the_whole_answer_as_the_hint_says(
    wa_harness: WaHarness,
) -> None:
    """The question says how to type several choices (as the README does) and that what is
    typed replaces the options ticked; and it does."""
    from pathlib import Path

    user = await join(wa_harness)
    for number in range(2, 31):
        user.press_nth(0)
        await user.expect(QUESTION["en"].format(number))
    user.press_nth(0)
    question = await user.expect(QUESTION["en"].format(31))
    hint = "Or type the numbers of all that apply, for example 1,3: what you type is your whole"
    assert hint in question.body and "in place of the options ticked" in question.body
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert 'several as "1,3"' in readme and "in place of any options ticked" in readme
    await user.settle()
    user.press_nth(0)  # option 1 ticked
    await user.expect(QUESTION["en"].format(31))
    await user.settle()
    assert user.labels()[0].startswith("☑")
    user.send("2,3")
    await user.expect(QUESTION["en"].format(32))
    assert wa_harness.store is not None
    returnee = await wa_harness.store.find_whatsapp(user_id=user.user_id, phone=user.wa_id)
    assert returnee is not None
    chosen = (await wa_harness.store.my_data(returnee.id))["surveys"][0]["answers"]
    options = [o.id for o in wa_harness.definition.question("ctx_assistance_received").options]  # type: ignore[union-attr]
    assert chosen["ctx_assistance_received"]["options"] == options[1:3]
