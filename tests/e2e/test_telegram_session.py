"""The Bot API session: a call goes as one JSON body, an upload as a multipart form, and
both carry the bot's defaults (HTML, protected content) and what the call says."""

from __future__ import annotations

from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram.app import build_bot
from tests.e2e.fake_telegram import TOKEN, FakeTelegram


async def test_calls_are_json_and_uploads_multipart() -> None:
    server = FakeTelegram()
    await server.start()
    bot = build_bot(TOKEN, server.base_url)
    try:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Oui / نعم", callback_data="sv:1:2")]]
        )
        sent = await bot.send_message(7, "<b>Question 1</b> é", reply_markup=keyboard)
        await bot.send_document(7, BufferedInputFile(b"PK\x03\x04 xlsx", filename="scores.xlsx"))
    finally:
        await bot.session.close()
        await server.stop()
    assert server.encodings == [
        ("sendmessage", "application/json"),
        ("senddocument", "multipart/form-data"),
    ]
    (_, message), (_, document) = server.calls
    assert message["chat_id"] == 7 and message["text"] == "<b>Question 1</b> é"
    assert message["parse_mode"] == "HTML" and message["protect_content"] is True
    assert message["reply_markup"] == {
        "inline_keyboard": [[{"text": "Oui / نعم", "callback_data": "sv:1:2"}]]
    }
    assert sent.text == "Question 1 é" and sent.chat.id == 7
    assert document["document"] == b"PK\x03\x04 xlsx" and document["protect_content"] is True
