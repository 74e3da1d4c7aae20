"""Reading Cloud API deliveries: who wrote (BSUID, number, or a BSUID where the number
was), number changes, failed statuses, and malformed parts skipped alone."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.whatsapp.payloads import Sender, is_bsuid, read_delivery


def delivery(*values: dict[str, Any]) -> dict[str, Any]:
    return {"entry": [{"id": "W", "changes": [{"field": "messages", "value": v} for v in values]}]}


def text(**sender: Any) -> dict[str, Any]:
    return {"id": "wamid.1", "type": "text", "text": {"body": " 3 "}, **sender}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("US.13491208655302741918", True),
        ("US.ENT.11815799212886844830", True),
        ("BR.abcDEF123", True),
        ("22177000001", False),
        ("us.1349", False),
        ("US.", False),
        ("US." + "1" * 129, False),
        ("", False),
        (None, False),
    ],
)
def test_a_bsuid_is_a_country_a_dot_and_up_to_128_letters_and_digits(
    value: str | None, expected: bool
) -> None:
    assert is_bsuid(value) is expected


@pytest.mark.parametrize(
    ("message", "contacts", "sender"),
    [
        (text(**{"from": "221770"}), [{"wa_id": "221770"}], Sender(None, "221770")),
        (
            text(**{"from": "221770", "from_user_id": "SN.42"}),
            [{"wa_id": "221770", "user_id": "SN.42"}],
            Sender("SN.42", "221770"),
        ),
        (text(from_user_id="SN.42"), [{"user_id": "SN.42"}], Sender("SN.42", None)),
        (text(**{"from": "SN.42"}), [{"user_id": "SN.42"}], Sender("SN.42", None)),
        (text(**{"from": "SN.42"}), [], Sender("SN.42", None)),
        (text(), [{"user_id": "SN.42", "wa_id": "221770"}], Sender("SN.42", "221770")),
    ],
)
def test_the_sender_is_known_by_bsuid_and_number_whichever_is_given(
    message: dict[str, Any], contacts: list[dict[str, Any]], sender: Sender
) -> None:
    [inbound] = read_delivery(delivery({"contacts": contacts, "messages": [message]})).messages
    assert inbound.sender == sender and inbound.text == "3"
    assert inbound.wa_id == (sender.user_id or sender.phone)
    assert "SN.42" not in repr(inbound) and "221770" not in repr(inbound.sender)


def test_a_message_with_no_sender_is_let_go() -> None:
    found = read_delivery(delivery({"messages": [text()]}))
    assert found.messages == [] and found.other["message without sender"] == 1


def test_a_number_change_gives_the_old_and_new_identifiers() -> None:
    system = {
        "id": "wamid.s",
        "type": "system",
        "from": "221770",
        "from_user_id": "SN.1",
        "system": {"type": "user_changed_number", "wa_id": "221779", "user_id": "SN.2"},
    }
    [change] = read_delivery(delivery({"messages": [system]})).changes
    assert change.old == ("SN.1", "221770") and (change.user_id, change.phone) == ("SN.2", "221779")
    bsuid_only = {**system, "system": {"type": "user_changed_user_id", "user_id": "SN.3"}}
    del bsuid_only["from"]
    [change] = read_delivery(delivery({"messages": [bsuid_only]})).changes
    assert change.old == ("SN.1",) and (change.user_id, change.phone) == ("SN.3", None)


def test_failed_statuses_by_number_or_bsuid_with_their_callback() -> None:
    statuses = [
        {"status": "failed", "recipient_id": "221770", "errors": [{"code": 131026}]},
        {
            "status": "failed",
            "recipient_user_id": "SN.42",
            "biz_opaque_callback_data": "reminder:r1",
            "errors": [{"code": 131049}],
        },
        {"status": "failed", "recipient_id": "SN.42", "errors": []},
        {"status": "failed", "recipient_type": "group", "recipient_id": "G", "errors": []},
        {"status": "delivered", "recipient_id": "221770"},
        {"status": "failed"},
    ]
    found = read_delivery(delivery({"statuses": statuses}))
    assert [(f.recipient, f.code, f.callback) for f in found.failures] == [
        (Sender(None, "221770"), 131026, None),
        (Sender("SN.42", None), 131049, "reminder:r1"),
        (Sender("SN.42", None), 0, None),
    ]
    assert found.other["status:delivered"] == 1 and found.other["status:failed"] == 1


def test_groups_welcomes_and_what_the_survey_cannot_read() -> None:
    messages = [
        {**text(from_user_id="SN.1"), "id": "a", "group_id": "G1"},
        {"id": "b", "type": "request_welcome", "from_user_id": "SN.1"},
        {"id": "c", "type": "sticker", "from_user_id": "SN.1", "sticker": {"id": "S"}},
        {"id": "d", "type": "audio", "from_user_id": "SN.1", "audio": {"id": "V", "voice": True}},
        {"id": "e", "type": "revoke", "from_user_id": "SN.1"},
        {"id": "f", "type": "text", "from_user_id": "SN.1", "text": {"body": "   "}},
    ]
    found = read_delivery(delivery({"messages": messages}))
    assert [(m.message_id, m.kind, m.group_id) for m in found.messages] == [
        ("a", "message", "G1"),
        ("b", "welcome", None),
        ("c", "unusable", None),
        ("d", "message", None),
        ("f", "unusable", None),
    ]
    assert found.messages[3].audio == ("V", "")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(
    ["entry", "changes", "value", "messages", "statuses", "contacts", "from", "id", "type",
     "text", "body", "system", "errors", "field", "from_user_id", "user_id", "wa_id"]
)  # fmt: skip
shaped = st.recursive(
    json_values,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=40,
)


@given(shaped)
def test_any_json_is_read_without_an_exception(body: Any) -> None:
    read_delivery(body)
