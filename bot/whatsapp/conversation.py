"""The conversation on WhatsApp: the host that turns one incoming message (typed text, a
reply button, a list row) into the core's use cases and renders what they did, with the
same texts as on Telegram.

WhatsApp has no commands: the keywords of :mod:`bot.keywords` (STOP, DATA, DELETE,
FEEDBACK, LANGUAGE, HELP, and ``START <token>`` from the invitation link, with or without
a slash) stand for them. A returnee is known by their business-scoped user id (BSUID),
or by their phone number while the platform gives no BSUID; either is used only to find
them by pseudonym and to reply, never stored in clear, logged, or put in Redis. A
returnee enrolled by number is linked to their BSUID by the first message that carries
both; a number change (a ``system`` message) moves them to the new identifiers.

A message written in a group never reaches the survey: nothing is looked up or stored,
and the only reply is a neutral line pointing to a private chat, to a start keyword.

A message id is applied once: it is turned into an update id of its own (negative, never
a Telegram one) and goes through the same apply-once records as Telegram's updates, so a
message Meta delivers again days later is not answered twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from bot.consent import consent_text
from bot.core.audio import MediaGone, Prompt
from bot.core.feedback import MAX_FEEDBACK, MAX_VOICE_BYTES, PER_DAY, FeedbackDesk, Sent
from bot.core.services import Core
from bot.core.survey import (
    Applied,
    OpenWave,
    Read,
    asked_event,
    button_input,
    typed_refusal,
)
from bot.feedback_drafts import Drafts, FeedbackDraft
from bot.i18n import Translator
from bot.keywords import keyword, spelled_as_keywords
from bot.languages import languages
from bot.texts import (
    audio_switched,
    data_kept_lines,
    feedback_prompt,
    help_lines,
    invitation_problem,
    not_invited,
    note_text,
    private_only_line,
    rejection_message,
    thanks_lines,
    typed_refusal_text,
    voice_refused,
)
from bot.whatsapp.client import (
    MEDIA_UNKNOWN,
    UNDELIVERABLE,
    CloudClient,
    CloudError,
    MediaTooLarge,
    Outgoing,
    Undeliverable,
    WindowClosed,
)
from bot.whatsapp.payloads import Failure, Inbound, NumberChange
from bot.whatsapp.render import (
    choices,
    parse_survey_reply,
    question_messages,
    text_messages,
)
from bot.whatsapp.sender_order import SenderLocks
from flows.engine import Step
from flows.model import NotAsked, Question
from flows.state import (
    Input,
    InputRejected,
    NoteShown,
    QuestionAsked,
    Resume,
    SelectionChanged,
    SetLanguage,
    SurveyCompleted,
    Text,
)
from storage import outbox
from storage.store import InviteProblem, NotFound, ReturneeInfo, UpdateContext, Voice

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
#: how long an uploaded clip's media id is used (the Cloud API keeps media 30 days)
MEDIA_KEPT = timedelta(days=29)
#: seconds between two records of a returnee writing, from one process
HEARD_EVERY = 600.0
#: seconds during which a sender is told only once that photos, stickers... cannot be read
HINT_EVERY = 600.0
#: a reminder's messages carry this and its id back in their statuses
REMINDER_CALLBACK = "reminder:"
#: the reply id of "Start the survey" (under a reminder, or a template's quick reply)
RESUME = "go"
#: the invitation template's quick reply: this prefix and the invitation's token
INVITATION_REPLY = "start."


def update_id_of(message_id: str) -> int:
    """A WhatsApp message id as an update id of its own: negative, 63 bits, so it never
    meets a Telegram update id (positive) in the apply-once records."""
    digest = hashlib.sha256(b"whatsapp:" + message_id.encode("utf-8")).digest()
    return -(int.from_bytes(digest[:8], "big") >> 1) - 1


@dataclass
class WhatsAppConversation:
    """Handles incoming messages for one business number, one at a time per returnee."""

    core: Core
    client: CloudClient
    #: a returnee's messages in their order, in this process (see :class:`SenderLocks`)
    locks: SenderLocks = field(default_factory=SenderLocks)
    #: feedback being prepared (shared through Redis by several workers)
    drafts: Drafts = field(default_factory=Drafts)
    #: when this process last recorded that a returnee wrote (the record is kept to the
    #: half hour: no write for each message)
    _heard: Every = field(default_factory=lambda: Every(HEARD_EVERY))
    #: when this process last told a sender it can only read text and buttons
    _hinted: Every = field(default_factory=lambda: Every(HINT_EVERY))

    async def handle(self, inbound: Inbound) -> None:
        """Apply one message once; an error leaves it unmarked (Meta delivers it again)."""
        if inbound.group_id is not None:
            await self.in_group(inbound)
            return
        sender = self.core.store.keyring.pseudonym(CHANNEL, inbound.wa_id)
        async with self.locks.hold(sender):
            await self._handle(inbound, sender)

    async def in_group(self, inbound: Inbound) -> None:
        """A message written in a group: nobody is looked up and nothing is stored; a
        start keyword is answered, in the group, by a line pointing to a private chat."""
        assert inbound.group_id is not None
        found = keyword(inbound.text) if inbound.text else None
        if found is not None and found[0] in ("start", "help"):
            with contextlib.suppress(CloudError):
                await self.client.send_text(inbound.group_id, private_only_line(None), group=True)
        log.info("WhatsApp message in a group: not read")

    async def _context(self, update_id: int, inbound: Inbound) -> UpdateContext:
        """The message's state and its sender, linking a returnee known by their number
        to the BSUID this message carries (once: from then on the BSUID finds them)."""
        store, sender = self.core.store, inbound.sender
        context = await store.update_context(update_id, sender.key, channel=CHANNEL)
        if context.returnee is not None or sender.phone is None:
            return context
        linked = await store.link_whatsapp(user_id=sender.user_id, phone=sender.phone)
        if linked is None:
            return context
        if sender.user_id is not None:
            log.info("a WhatsApp returnee known by number is now known by their BSUID")
            return await store.update_context(update_id, sender.key, channel=CHANNEL)
        return UpdateContext(context.state, await store.get(linked), "unread")

    async def _handle(self, inbound: Inbound, sender: str) -> None:
        store = self.core.store
        update_id = update_id_of(inbound.message_id)
        context = await self._context(update_id, inbound)
        if context.state == "replied" or (
            context.state == "applied" and await store.replied_meanwhile(update_id)
        ):
            log.info("WhatsApp message already applied: skipped")
            return
        if inbound.kind == "unusable" and not self._hinted.due(sender):
            await store.mark_processed(update_id)  # (told a moment ago: once is enough)
            return
        returnee = context.returnee
        if returnee is not None:
            await self.heard_from(returnee.id)
        turn = Turn(
            self,
            inbound,
            returnee,
            update_id,
            redelivered=context.state == "applied",
            open_survey="unread" if context.survey == "unread" else context.survey,
        )
        try:
            await turn.dispatch()
        except Undeliverable:
            if returnee is not None:
                with contextlib.suppress(NotFound):  # (erased by this very message)
                    await store.set_status(returnee.id, "unreachable")
            log.info("a returnee's number cannot receive messages: marked unreachable")
        except WindowClosed:  # (a message Meta delivered again after a day)
            log.info("reply refused: the returnee's 24-hour window has closed")
        await store.mark_processed(update_id)

    async def heard_from(self, returnee_id: str) -> None:
        """Record that a returnee wrote (the 24-hour window), at most every ten minutes
        from this process."""
        if self._heard.due(returnee_id):
            await self.core.store.heard_from(returnee_id)

    async def number_changed(self, change: NumberChange) -> None:
        """A user changed their number (or BSUID): the returnee known by the old
        identifiers is known, and written to, by the new ones from now on."""
        moved = await self.core.store.renumber_whatsapp(
            old=change.old, user_id=change.user_id, phone=change.phone
        )
        if moved is not None:
            self._heard.forget(moved)
            log.info("a WhatsApp returnee changed number: their new identifiers are kept")

    async def status_failed(self, failure: Failure) -> None:
        """A message was not delivered (a status webhook, by phone number or BSUID): a
        reminder's failure reaches its round's report; an undeliverable number marks the
        returnee unreachable, as a blocked bot does on Telegram."""
        store = self.core.store
        reason = "undeliverable" if failure.code in UNDELIVERABLE else f"error_{failure.code}"
        if failure.callback is not None and failure.callback.startswith(REMINDER_CALLBACK):
            reminder = failure.callback.removeprefix(REMINDER_CALLBACK)
            await outbox.settle_failed(store, reminder, reason=f"status_{reason}")
        if failure.code not in UNDELIVERABLE:
            return
        recipient = failure.recipient
        returnee = await store.find_whatsapp(user_id=recipient.user_id, phone=recipient.phone)
        if returnee is not None and returnee.status == "active":
            await store.set_status(returnee.id, "unreachable")
            log.info("returnee %s is unreachable on WhatsApp", returnee.public_id)


class Every:
    """Whether something is due for a key, at most once per ``interval`` seconds, in
    this process (whoever has not come back within an interval is forgotten)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}

    def due(self, key: str) -> bool:
        now = time.monotonic()
        if now - self._last.get(key, -self.interval) < self.interval:
            return False
        if len(self._last) > 100_000:
            self._last = {k: t for k, t in self._last.items() if now - t < self.interval}
        self._last[key] = now
        return True

    def forget(self, key: str) -> None:
        self._last.pop(key, None)


class Turn:
    """One incoming message: who sent it, in what language, and the replies to it."""

    def __init__(
        self,
        conversation: WhatsAppConversation,
        inbound: Inbound,
        returnee: ReturneeInfo | None,
        update_id: int,
        *,
        redelivered: bool,
        open_survey: Read,
    ) -> None:
        self.conversation, self.core = conversation, conversation.core
        self.client, self.inbound, self.to = conversation.client, inbound, inbound.wa_id
        self.returnee, self.update_id = returnee, update_id
        self.redelivered, self._read_with_update = redelivered, open_survey
        self._set_language(returnee.language if returnee else "en")
        self.scores: Mapping[str, Any] | None = None

    def _set_language(self, language: str) -> None:
        self.lang = self.core.survey.language_for(language)
        self._ = Translator(language, commands=spelled_as_keywords)

    def _read(self) -> Read:
        found, self._read_with_update = self._read_with_update, "unread"
        return found

    # -- sending -------------------------------------------------------------------------

    async def send(self, messages: Sequence[Outgoing]) -> None:
        await self.client.send_messages(self.to, messages)

    async def say(self, text: str) -> None:
        await self.send(text_messages(text))

    # -- dispatch ------------------------------------------------------------------------

    async def dispatch(self) -> None:
        inbound, _ = self.inbound, self._
        if inbound.reply is not None:
            await self.on_reply(inbound.reply)
            return
        if inbound.audio is not None and self.returnee is not None:
            draft = await self.conversation.drafts.get(self.returnee.id)
            if draft is not None and draft.awaiting_text:
                await self.feedback_voice(draft, *inbound.audio)
                return
        if inbound.kind == "welcome":  # (the chat opened for the first time)
            if self.returnee is None:
                await self.say(not_invited(_))
            else:
                await self.on_start("")
            return
        if inbound.text is None or inbound.kind == "unusable":
            await self.say(_("I can only read text messages and button presses."))
            if self.returnee is not None and self.returnee.status == "active":
                await self.survey(Resume())
            return
        found = keyword(inbound.text)
        if found is not None:
            await self.on_keyword(*found)
            return
        draft = await self.conversation.drafts.get(self.returnee.id) if self.returnee else None
        if draft is not None and draft.awaiting_text:
            await self.feedback_text(draft, inbound.text)
            return
        await self.on_text(inbound.text)

    async def on_keyword(self, command: str, argument: str) -> None:
        returnee, _ = self.returnee, self._
        if returnee is not None:
            await self.conversation.drafts.drop(returnee.id)
        if command == "start":
            await self.on_start(argument)
        elif command == "stop":
            await self.on_stop()
        elif command == "mydata":
            await self.on_mydata()
        elif command == "delete":
            if returnee is None:
                await self.say(_("Nothing is kept about you."))
                return
            await self.send(
                choices(
                    _("Do you want to erase everything kept about you? This cannot be undone."),
                    # TRANSLATORS: a button: at most 20 characters (or WhatsApp shows a list)
                    [("delete.1", _("Yes, erase everything")), ("delete.0", _("No, keep it"))],
                    _,
                )
            )
        elif command == "feedback":
            await self.on_feedback()
        elif command == "language":
            if returnee is None:
                await self.say(_("Please open the invitation link you received first."))
                return
            await self.language_menu(_("Choose your language."), "switch")
        elif command == "audio":
            if returnee is None:
                await self.say(not_invited(_))
                return
            await self.say(audio_switched(_, await self.core.prompts.switch(returnee)))
        elif command == "cancel":
            await self.say(_("Cancelled."))
        else:
            await self.say("\n".join(help_lines(_)))

    async def on_reply(self, reply: str) -> None:
        _, returnee = self._, self.returnee
        survey_button = parse_survey_reply(reply)
        if survey_button is not None:
            await self.on_survey_button(*survey_button)
        elif reply.startswith(INVITATION_REPLY):  # (the invitation sent as a template)
            await self.on_start(reply.removeprefix(INVITATION_REPLY))
        elif reply == RESUME:
            if returnee is None or returnee.status != "active":
                await self.say(_("Send /start to take part."))
                return
            await self.survey(Resume())
        elif reply.startswith("lang."):
            await self.on_language(reply)
        elif reply in ("consent.1", "consent.0"):
            await self.on_consent(reply == "consent.1")
        elif reply in ("delete.1", "delete.0") and returnee is not None:
            if reply == "delete.1":
                await self.core.rights.erase(returnee)
                await self.say(
                    _("Everything kept about you has been erased. Goodbye, and good luck.")
                )
            else:
                await self.say(_("Nothing was erased."))
        elif reply.startswith("fb.") and returnee is not None:
            await self.on_feedback_choice(reply)
        else:
            await self.say(_("This button is no longer active."))

    # -- entry ---------------------------------------------------------------------------

    async def language_menu(self, text: str, then: str) -> None:
        offered = self.core.definition.languages
        order = [self.lang] + [code for code in offered if code != self.lang]
        options = [(f"lang.{code}.{then}", languages().name(code)) for code in order]
        await self.send(choices(text, options, self._))

    async def ask_consent(self) -> None:
        _ = self._
        text = "\n\n".join(consent_text(_, self.core.policy))
        await self.send(
            # TRANSLATORS: a button: at most 20 characters (or WhatsApp shows a list)
            choices(text, [("consent.1", _("I agree")), ("consent.0", _("No thanks"))], _)
        )

    async def on_start(self, token: str) -> None:
        _, returnee = self._, self.returnee
        if returnee is None:
            if not token:
                await self.say(not_invited(_))
                return
            try:
                returnee = await self.core.entry.open_invitation(
                    token, self.to, self.to, channel=CHANNEL, phone=self.inbound.sender.phone
                )
            except InviteProblem as problem:
                await self.say(invitation_problem(_, problem.reason))
                return
            self.returnee = returnee
            await self.conversation.heard_from(returnee.id)
            self._set_language(returnee.language)
            await self.language_menu(self._("Welcome! Please choose your language."), "start")
            return
        returnee = self.returnee = await self.core.entry.come_back(returnee)
        if returnee.status != "active":
            await self.ask_consent()
            return
        await self.survey(Resume())

    async def on_language(self, reply: str) -> None:
        parts = reply.split(".")
        returnee = self.returnee
        if returnee is None or len(parts) != 3 or parts[1] not in self.core.definition.languages:
            await self.say(self._("This button is no longer active."))
            return
        returnee = self.returnee = await self.core.entry.choose_language(returnee, parts[1])
        self._set_language(returnee.language)
        if returnee.status != "active":
            await self.ask_consent()
            return
        if parts[2] == "switch":
            await self.say(self._("Language changed."))
            if await self.core.store.wave_in_progress(returnee.id) is not None:
                await self.survey(SetLanguage(language=returnee.language))
            return
        await self.survey(Resume())

    async def on_consent(self, agree: bool) -> None:
        _, returnee = self._, self.returnee
        answered = (
            "not_asked"
            if returnee is None
            else await self.core.entry.answer_consent(returnee, agree)
        )
        if returnee is None or answered == "not_asked":
            await self.say(_("This button is no longer active."))
            return
        if answered == "given":
            await self.say(_("Thank you. Let's begin. You can stop at any time."))
            self.returnee = await self.core.store.get(returnee.id)
            await self.survey(Resume())
        else:
            await self.say(
                _(
                    "No problem. Nothing of your answers is kept. "
                    "If you change your mind, send /start."
                )
            )

    # -- rights --------------------------------------------------------------------------

    async def on_stop(self) -> None:
        _ = self._
        if await self.core.rights.stop(self.returnee) == "not_registered":
            await self.say(_("You are not registered. Nothing is kept about you."))
            return
        await self.say(
            _(
                "You will not receive any more messages from us. What you answered is kept until "
                "you erase it with /delete. To take part again, send /start."
            )
        )

    async def on_mydata(self) -> None:
        _, returnee = self._, self.returnee
        if returnee is None:
            await self.say(_("Nothing is kept about you."))
            return
        kept = await self.core.rights.data_kept(returnee)
        await self.say("\n".join(data_kept_lines(kept, self.core.table, _, bold="*{}*".format)))

    # -- feedback ------------------------------------------------------------------------

    async def _refused(self, refused: str) -> None:
        _ = self._
        if refused == "limit_reached":
            await self.say(
                _(
                    "You have sent as much feedback as one can in a day ({limit} messages). "
                    "Please write again tomorrow.",
                    limit=PER_DAY,
                )
            )
        elif self.returnee is None:
            await self.say(_("Please open the invitation link you received first."))
        else:
            await self.say(
                _("You can send feedback once you have agreed to take part: send /start.")
            )

    async def on_feedback(self) -> None:
        _ = self._
        refused = await self.core.feedback.may_start(self.returnee)
        if refused is not None or self.returnee is None:
            await self._refused(refused or "not_registered")
            return
        await self.conversation.drafts.put(self.returnee.id, FeedbackDraft())
        await self.send(
            choices(
                _(
                    "Your feedback on the help you received is confidential. Do you want to send "
                    "it with your name, or anonymously (nobody can link it to you)?"
                ),
                # TRANSLATORS: a button: at most 20 characters (or WhatsApp shows a list)
                [("fb.anon.0", _("With my name on it")), ("fb.anon.1", _("Anonymously"))],
                _,
            )
        )

    async def on_feedback_choice(self, reply: str) -> None:
        _, returnee = self._, self.returnee
        assert returnee is not None
        draft = await self.conversation.drafts.get(returnee.id)
        parts = reply.split(".")
        if (
            draft is None
            or FeedbackDesk.may_send(returnee) is not None
            or len(parts) != 3
            or not parts[2].isdigit()
        ):
            await self.say(_("This button is no longer active."))
            return
        value = int(parts[2])
        if parts[1] == "anon":
            draft.anonymous = bool(value)
            await self.conversation.drafts.put(returnee.id, draft)
            stars = [(f"fb.rating.{n}", str(n)) for n in range(1, 6)]
            await self.send(
                choices(
                    _(
                        "How would you rate the help you received, "
                        "from 1 (very bad) to 5 (very good)?"
                    ),
                    # TRANSLATORS: a button: at most 20 characters (or WhatsApp shows a list)
                    [*stars, ("fb.rating.0", _("Skip"))],
                    _,
                )
            )
        elif parts[1] == "rating" and draft.anonymous is not None and 0 <= value <= 5:
            draft.rating, draft.awaiting_text = value or None, True
            await self.conversation.drafts.put(returnee.id, draft)
            await self.say(feedback_prompt(_, bool(draft.anonymous)))
        else:
            await self.say(_("This button is no longer active."))

    async def feedback_text(self, draft: FeedbackDraft, text: str) -> None:
        _, returnee = self._, self.returnee
        assert returnee is not None
        problem = FeedbackDesk.check_text(text)
        if problem == "empty":
            await self.say(_("Please write your feedback as a text message, or send /cancel."))
            return
        if problem == "too_long":
            await self.say(
                _(
                    "Your message is too long: at most {limit} characters, please.",
                    limit=MAX_FEEDBACK,
                )
            )
            return
        await self.conversation.drafts.drop(returnee.id)
        sent = await self.core.feedback.send(
            returnee, text, rating=draft.rating, anonymous=bool(draft.anonymous)
        )
        await self.feedback_sent(sent)

    async def feedback_voice(self, draft: FeedbackDraft, media_id: str, mime: str) -> None:
        """A voice note as the feedback: checked (named feedback only, format, size)
        before and while it is fetched from the Cloud API, then kept encrypted."""
        _, returnee = self._, self.returnee
        assert returnee is not None
        problem = FeedbackDesk.check_voice(mime, 0, None, anonymous=bool(draft.anonymous))
        if problem is not None:
            await self.say(voice_refused(_, problem))
            return
        try:
            data, mime = await self.client.download_media(media_id, MAX_VOICE_BYTES)
        except MediaTooLarge:
            await self.say(voice_refused(_, "voice_too_large"))
            return
        await self.conversation.drafts.drop(returnee.id)
        sent = await self.core.feedback.send_voice(
            returnee,
            Voice(data, mime or "audio/ogg", 0),
            rating=draft.rating,
            anonymous=bool(draft.anonymous),
        )
        if sent.refused is not None and sent.refused.startswith("voice_"):
            await self.conversation.drafts.put(returnee.id, draft)
            await self.say(voice_refused(_, sent.refused))
            return
        await self.feedback_sent(sent)

    async def feedback_sent(self, sent: Sent) -> None:
        """Thanks and the receipt code (then the survey where it was), or why not."""
        _, returnee = self._, self.returnee
        assert returnee is not None
        if sent.receipt is None:
            await self._refused(sent.refused or "no_consent")
            return
        await self.say(
            _(
                "Thank you. Your feedback was received. Your receipt code is {code}.",
                code=sent.receipt,
            )
        )
        if await self.core.store.wave_in_progress(returnee.id):
            await self.survey(Resume())

    # -- the survey ----------------------------------------------------------------------

    async def on_text(self, text: str) -> None:
        refusal = typed_refusal(self.returnee, text)
        if refusal is not None:
            await self.say(typed_refusal_text(self._, refusal))
            if refusal == "unknown_command":
                await self.survey(Resume())
            return
        await self.survey(Text(text=text))

    async def on_survey_button(self, action: str, question: int, option: int, seq: int) -> None:
        _, returnee = self._, self.returnee
        inp = button_input(self.core.definition, action, question, option, seq)
        if returnee is None or returnee.status != "active" or inp is None:
            await self.say(_("This button is no longer active."))
            return
        if self.redelivered:
            await self.resend_current()
            return
        applied = await self.core.survey.press(
            returnee.id,
            await self.current(),
            inp,
            language=returnee.language,
            update_id=self.update_id,
        )
        if applied.expired_button:
            await self.say(
                _("This button is no longer active. Please answer the latest question.")
                if applied.rejected is not None
                else _("This button is no longer active.")
            )
            if applied.outcome != "no_survey":
                await self.resend_current()
            return
        await self.show(applied)

    async def current(self) -> OpenWave | None:
        assert self.returnee is not None
        return await self.core.survey.open_wave(
            self.returnee.id, self.returnee.return_date, self._read()
        )

    async def survey(self, inp: Input) -> None:
        """Feed one input to the survey that is open and show what follows."""
        returnee = self.returnee
        assert returnee is not None
        if self.redelivered:
            await self.resend_current()
            return
        applied = await self.core.survey.apply(
            returnee.id,
            await self.current(),
            inp,
            language=returnee.language,
            update_id=self.update_id,
        )
        await self.show(applied)

    async def show(self, applied: Applied) -> None:
        _ = self._
        if applied.outcome == "no_survey":
            await self.say(
                _(
                    "There is no survey for you right now. We will send you a message when it "
                    "is time. Thank you!"
                )
            )
        elif applied.outcome == "consent_required":
            await self.say(_("Send /start to take part."))
        elif applied.outcome == "applied_before":
            # a copy of this message handled at the same time stored it: that copy replies
            # (if it dies first, Meta delivers the message again: the current question)
            return
        elif applied.step is not None:
            self.scores = None if applied.scores is None else applied.scores.as_dict()
            await self.render(applied.step)

    async def resend_current(self) -> None:
        assert self.returnee is not None
        standing = await self.core.survey.standing(
            self.returnee.id, self.returnee.return_date, self._read()
        )
        if standing.step is not None:
            await self.render(standing.step)
        else:
            await self.thank(standing.scores)

    async def render(self, step: Step) -> None:
        definition, _ = self.core.definition, self._
        asked = False
        for event in step.events:
            if isinstance(event, InputRejected):
                refused = definition.question(event.question) if event.question else None
                await self.say(
                    rejection_message(
                        _,
                        event,
                        buttons=True,
                        question=refused,
                        language=self.lang,
                        definition=definition,
                        answers=step.state.answers,
                    )
                )
                if event.question is not None and not asked:
                    asked = True
                    await self.ask(step, definition.question(event.question), None)
            elif isinstance(event, SelectionChanged) and not asked:
                asked = True  # (a list cannot be redrawn: the question comes again, ticked)
                await self.ask(step, definition.question(event.question), None)
            elif isinstance(event, NoteShown):
                note = definition.question(event.question)
                await self.play(note)
                await self.say(
                    note_text(definition, note, self.lang, step.state.answers, italic="_{}_".format)
                )
            elif isinstance(event, QuestionAsked):
                asked = True
                await self.ask(step, definition.question(event.question), event)
            elif isinstance(event, SurveyCompleted):
                await self.thank(self.scores)

    async def ask(self, step: Step, question: Question, event: QuestionAsked | None) -> None:
        definition = self.core.definition
        assert not isinstance(question, NotAsked)  # (notes and calculations are never asked)
        if event is None:
            event = asked_event(definition, step, question)
        else:  # (asked now, not again after a refused answer)
            await self.play(question)
        await self.send(question_messages(definition, question, event, step, self.lang, self._))

    async def play(self, question: Question) -> None:
        """``question``'s clips as voice notes, each uploaded once (the Cloud API keeps
        an upload 30 days) and sent by its media id. WhatsApp shows no caption under a
        voice note: a choice's clip is preceded by the choice's label. A clip the Cloud
        API refuses is logged and skipped: the question itself still comes."""
        prompts = self.core.prompts
        for prompt in prompts.of(question, self.lang, self.returnee):
            if prompt.caption:
                await self.say(prompt.caption)
            try:
                await prompts.send(
                    CHANNEL,
                    prompt,
                    self._audio_by_id,
                    partial(self._audio_by_upload, prompt),
                    max_age=MEDIA_KEPT,
                )
            except (WindowClosed, Undeliverable):
                raise
            except CloudError as exc:
                log.warning("voice note %s not sent: %s", prompt.clip.filename, exc.title)

    async def _audio_by_id(self, media_id: str) -> None:
        try:
            await self.client.send_audio(self.to, media_id)
        except CloudError as exc:
            if exc.code in MEDIA_UNKNOWN:
                raise MediaGone(exc.title) from exc
            raise

    async def _audio_by_upload(self, prompt: Prompt) -> str:
        media_id = await self.client.upload_media(prompt.clip.path, prompt.clip.mime_type)
        await self.client.send_audio(self.to, media_id)
        return media_id

    async def thank(self, scores: Mapping[str, Any] | None) -> None:
        shown = scores if self.core.show_scores else None
        await self.say("\n".join(thanks_lines(self._, shown)))


__all__ = ["CHANNEL", "CloudError", "Inbound", "WhatsAppConversation", "update_id_of"]
