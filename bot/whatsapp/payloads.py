"""What one WhatsApp Cloud API webhook delivery says, read into the few things the bot acts
on: messages from people (who sent them, by BSUID and phone number when shown, and what
they sent), number changes, failed statuses, and everything else counted and let go.

Every shape the Cloud API documents is read without an exception: several entries and
changes in one delivery; text, reply buttons, list rows, template quick replies, voice
notes; images, documents, stickers, locations, contacts, reactions, orders and
``unsupported`` messages (something the survey cannot use); replies with a ``context``
and messages from ads with a ``referral`` (read as the message they carry); messages in
a group (``group_id``); ``request_welcome``; ``system`` messages (a number or BSUID
change); statuses of sent messages, by ``recipient_id`` or ``recipient_user_id``; and
fields other than ``messages`` (template status and quality updates, account updates).
Unknown fields and types are ignored, a malformed part is skipped alone.

Since 2026 every user has a business-scoped user id (BSUID: a country code, a dot, up to
128 letters and digits, e.g. ``US.13491208655302741918``; ``US.ENT.…`` for a parent
BSUID) in ``user_id`` / ``from_user_id`` / ``recipient_user_id``; a user who adopted a
username may show no phone number, or the BSUID where the number was.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")

#: message types the survey can read (any other a person sends gets a short hint)
READABLE = frozenset({"text", "interactive", "button", "audio"})
#: message types that are not something the person sent now: ignored without a reply
SILENT = frozenset({"edit", "revoke", "ephemeral"})


def is_bsuid(value: str | None) -> bool:
    """Whether ``value`` is a business-scoped user id (not a phone number)."""
    return bool(value) and _BSUID.fullmatch(str(value)) is not None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


@dataclass(frozen=True)
class Sender:
    """Who wrote: their BSUID and phone number, each when the platform gave it."""

    user_id: str | None
    phone: str | None

    @property
    def key(self) -> str | None:
        """The identifier a returnee is known and written to by: the BSUID, else the
        phone number."""
        return self.user_id or self.phone

    def __repr__(self) -> str:  # (never the identifiers)
        shown = [name for name, v in (("user_id", self.user_id), ("phone", self.phone)) if v]
        return f"Sender({', '.join(shown)})"


@dataclass(frozen=True)
class Inbound:
    """One message from a person: typed ``text``, or the id of the ``reply`` button or
    list row pressed (with its title as ``text``), or a voice note (``audio``: media id
    and MIME type); ``unusable`` for something the survey cannot read (a photo, a
    sticker, a reaction...); ``welcome`` for a first opening of the chat."""

    sender: Sender
    message_id: str
    text: str | None = None
    reply: str | None = None
    audio: tuple[str, str] | None = None
    #: the group the message was written in (never answered with personal data)
    group_id: str | None = None
    #: ``message``, ``unusable`` or ``welcome``
    kind: str = "message"

    @property
    def wa_id(self) -> str:
        """Where replies go (the BSUID, else the phone number)."""
        return self.sender.key or ""

    def __repr__(self) -> str:  # (never the sender or the text)
        return f"Inbound(message_id={self.message_id!r}, kind={self.kind!r}, reply={self.reply!r})"


@dataclass(frozen=True)
class NumberChange:
    """A user changed their phone number, or their BSUID changed (a ``system`` message):
    the ``old`` identifiers, and the new BSUID and number (each when given)."""

    message_id: str
    old: tuple[str, ...]
    user_id: str | None
    phone: str | None

    def __repr__(self) -> str:  # (never the identifiers)
        return f"NumberChange(message_id={self.message_id!r})"


@dataclass(frozen=True)
class Failure:
    """A sent message that was not delivered: to whom, the Cloud API's error code, and
    the ``biz_opaque_callback_data`` it was sent with (a reminder's id)."""

    recipient: Sender
    code: int
    callback: str | None = None


@dataclass
class Delivery:
    messages: list[Inbound] = field(default_factory=list)
    changes: list[NumberChange] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: what else came, by kind (``status:read``, ``message_template_status_update``...)
    other: Counter[str] = field(default_factory=Counter)


def _sender(message: dict[str, Any], contacts: list[Any]) -> Sender:
    """The BSUID and phone number of a message's sender, from the message and its
    ``contacts`` entry (a number that is in fact a BSUID counts as the BSUID)."""
    user_id = _text(message.get("from_user_id"))
    sent_from = _text(message.get("from"))
    contact: dict[str, Any] = {}
    for candidate in contacts:
        if not isinstance(candidate, dict):
            continue
        if (user_id and candidate.get("user_id") == user_id) or (
            sent_from and sent_from in (candidate.get("wa_id"), candidate.get("user_id"))
        ):
            contact = candidate
            break
    else:
        if len(contacts) == 1 and isinstance(contacts[0], dict):
            contact = contacts[0]
    user_id = user_id or _text(contact.get("user_id"))
    phone = None
    for value in (sent_from, _text(contact.get("wa_id"))):
        if value is None:
            continue
        if is_bsuid(value):
            user_id = user_id or value
        elif phone is None:
            phone = value
    return Sender(user_id if is_bsuid(user_id) else None, phone)


def _message(m: dict[str, Any], contacts: list[Any], out: Delivery) -> None:
    message_id, kind = _text(m.get("id")), _text(m.get("type")) or "unknown"
    if message_id is None:
        out.other["message without id"] += 1
        return
    if kind == "system":
        found = m.get("system")
        system: dict[str, Any] = found if isinstance(found, dict) else {}
        old = tuple(
            v
            for v in (
                _text(m.get("from_user_id")),
                _text(m.get("from")),
                _text(system.get("customer")),
                _text(system.get("previous_user_id")),
            )
            if v
        )
        new_user = _text(system.get("user_id"))
        new_phone = _text(system.get("wa_id")) or _text(system.get("new_wa_id"))
        if new_phone is not None and is_bsuid(new_phone):
            new_user, new_phone = new_user or new_phone, None
        if old and (new_user or new_phone):
            out.changes.append(NumberChange(message_id, old, new_user, new_phone))
        else:
            out.other[f"system:{system.get('type')}"] += 1
        return
    sender = _sender(m, contacts)
    if sender.key is None:
        out.other["message without sender"] += 1
        return
    group = _text(m.get("group_id"))
    text = reply = None
    audio: tuple[str, str] | None = None
    if kind in SILENT:
        out.other[f"message:{kind}"] += 1
        return
    if kind == "request_welcome":
        out.messages.append(Inbound(sender, message_id, group_id=group, kind="welcome"))
        return
    if kind == "text":
        text = _text((m.get("text") or {}).get("body"))
    elif kind == "interactive":
        interactive = m.get("interactive") or {}
        chosen = interactive.get(interactive.get("type", "")) or {}
        if isinstance(chosen, dict):
            reply, text = _text(chosen.get("id")), _text(chosen.get("title"))
    elif kind == "button":  # a template's quick-reply button
        button = m.get("button") or {}
        reply, text = _text(button.get("payload")), _text(button.get("text"))
    elif kind == "audio":  # a voice note (or an audio file)
        media = m.get("audio") or {}
        if _text(media.get("id")):
            audio = (str(media["id"]), str(media.get("mime_type") or ""))
    readable = kind in READABLE and (text is not None or reply is not None or audio is not None)
    out.messages.append(
        Inbound(
            sender,
            message_id,
            text,
            reply,
            audio,
            group_id=group,
            kind="message" if readable else "unusable",
        )
    )


def _status(status: dict[str, Any], out: Delivery) -> None:
    state = _text(status.get("status")) or "unknown"
    if state != "failed" or status.get("recipient_type") == "group":
        out.other[f"status:{state}"] += 1
        return
    phone = _text(status.get("recipient_id"))
    user_id = _text(status.get("recipient_user_id"))
    if phone is not None and is_bsuid(phone):
        user_id, phone = user_id or phone, None
    recipient = Sender(user_id, phone)
    errors = [e for e in status.get("errors") or [] if isinstance(e, dict)] or [{}]
    code = errors[0].get("code", 0)
    callback = _text(status.get("biz_opaque_callback_data"))
    if recipient.key is None and callback is None:
        out.other["status:failed without recipient"] += 1
        return
    out.failures.append(Failure(recipient, int(code) if str(code).isdigit() else 0, callback))


def read_delivery(body: Any) -> Delivery:
    """Everything a delivery says that the bot acts on (see the module's docstring)."""
    out = Delivery()
    if not isinstance(body, dict):
        out.other["not an object"] += 1
        return out
    for entry in body.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        for change in entry.get("changes") or []:
            if not isinstance(change, dict):
                continue
            value = change.get("value")
            name = change.get("field") or "messages"
            if name != "messages" or not isinstance(value, dict):
                out.other[str(name)] += 1
                continue
            listed = value.get("contacts")
            contacts: list[Any] = listed if isinstance(listed, list) else []
            for m in value.get("messages") or []:
                try:
                    if isinstance(m, dict):
                        _message(m, contacts, out)
                except (AttributeError, TypeError, ValueError):  # (one malformed message)
                    out.other["malformed message"] += 1
            for status in value.get("statuses") or []:
                try:
                    if isinstance(status, dict):
                        _status(status, out)
                except (AttributeError, TypeError, ValueError):
                    out.other["malformed status"] += 1
            for error in value.get("errors") or []:
                if isinstance(error, dict):
                    out.other[f"error:{error.get('code')}"] += 1
    return out
