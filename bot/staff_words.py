"""The words staff read in place of the codes the database keeps: returnee and survey
statuses, waves, dimensions, roles, reasons a reminder was not sent, channels, audit
actions. Exports and the codebook keep the codes; the console, the chat's staff commands
and the command line's reports show these, in the staff member's language.

A returnee's status says what to do next: an invitation never opened ("invited, not
joined": send the link again) is told apart from one opened without consent yet, and
from a refusal ("declined").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from storage.caseload_list import filter_status
from storage.scopes import Scope

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


#: a returnee's stored status in words; an invited returnee's also says whether they
#: joined the chat (opened the link) or not
_RETURNEE_STATUS = {
    "active": N_("taking part"),
    "declined": N_("declined"),
    "opted_out": N_("stopped"),
    "unreachable": N_("unreachable"),
}
_INVITED = {False: N_("invited, not joined"), True: N_("joined, no consent yet")}
_WAVES = {
    "initial": N_("initial"),
    "intermediate": N_("intermediate (6-9 months)"),
    "final": N_("final (12-18 months)"),
}
_SURVEY_STATUS = {
    None: N_("not started"),
    "in_progress": N_("started, not finished"),
    "completed": N_("completed"),
}
_DIMENSIONS = {
    "economic": N_("economic"),
    "social": N_("social"),
    "psychosocial": N_("psychosocial"),
    "composite": N_("composite"),
}
_ROLES = {
    "admin": N_("administrator"),
    "caseworker": N_("caseworker"),
    "viewer": N_("viewer"),
    "feedback_officer": N_("feedback officer"),
}
#: why a reminder was not sent (``storage.outbox.SKIP_REASONS`` and the senders' codes)
_REASONS = {
    "opted_out": N_("stopped"),
    "unreachable": N_("unreachable"),
    "declined": N_("declined"),
    "no_consent": N_("joined, no consent yet"),
    "completed": N_("completed the wave"),
    "not_joined": N_("invited, not joined: send the link again"),
    "no_reminders_there": N_("answers in the terminal: no reminders"),
    "blocked": N_("blocked the bot"),
    "erased": N_("data erased"),
    "window_closed": N_("outside WhatsApp's 24-hour window"),
    "undeliverable": N_("the number cannot receive messages"),
    "throttled": N_("the chat service asked to slow down"),
    "network": N_("no connection to the chat service"),
    "channel_not_configured": N_("this channel is not set up"),
    "invalid_token": N_("the bot's token was refused"),
}
_REMINDER_STATUS = {
    "pending": N_("waiting"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "skipped": N_("not sent"),
    "failed": N_("failed"),
    "unconfirmed": N_("unconfirmed"),
}
_CHANNELS = {
    "telegram": N_("Telegram"),
    "whatsapp": N_("WhatsApp"),
    "console": N_("terminal"),
    "-": N_("data erased"),
}
_CONSENT = {
    "given": N_("given"),
    "declined": N_("declined"),
    "withdrawn": N_("withdrawn"),
}
_ACTIONS = {
    "add_schedule": N_("added a scheduled round"),
    "remove_schedule": N_("removed a scheduled round"),
    "pause_schedule": N_("paused a scheduled round"),
    "resume_schedule": N_("resumed a scheduled round"),
    "add_staff": N_("added a staff member"),
    "assign_caseworker": N_("assigned a returnee to a caseworker"),
    "change_staff_role": N_("changed a staff member's role"),
    "change_staff_scope": N_("changed which returnees a staff member sees"),
    "remove_staff": N_("removed a staff member"),
    "aggregate": N_("read programme figures"),
    "console_link": N_("asked for a sign-in link"),
    "console_sign_in": N_("signed in"),
    "console_sign_out": N_("signed out"),
    "end_console_sessions": N_("ended console sessions"),
    "export": N_("exported surveys"),
    "pause_round": N_("paused a round"),
    "resume_round": N_("resumed a round"),
    "start_round": N_("started a round"),
    "read_scores": N_("read scores"),
    "rescore": N_("scored surveys again"),
    "view_returnee": N_("opened a case file"),
    "read_feedback": N_("read feedback"),
    "play_feedback_voice": N_("played a voice note sent as feedback"),
    "enroll": N_("enrolled a returnee"),
    "reissue_invite": N_("made a new invitation link"),
    "find_case": N_("looked up a case reference"),
    "feedback_state": N_("marked feedback"),
    "refused": N_("was refused"),
    "update_profile": N_("updated a returnee from the caseload"),
    "read_profile": N_("read a profile"),
    "add_assistance": N_("recorded assistance"),
    "update_assistance": N_("changed an assistance item"),
    "read_followup": N_("read the follow-up queue"),
    "send_invitation": N_("sent an invitation on WhatsApp"),
    #: followup_<action>: the programme names its actions
    "followup": N_("recorded a follow-up action"),
}
_FEEDBACK_STATE = {
    "new": N_("new"),
    "read": N_("read"),
    "handled": N_("handled"),
}


class StaffWords:
    """The words of one language; each method falls back to the code it does not know
    (a code added later still shows, never an error)."""

    def __init__(self, gettext: Gettext) -> None:
        self._ = gettext

    def _word(self, table: Mapping[Any, str], code: Any) -> str:
        msgid = table.get(code)
        return self._(msgid) if msgid is not None else str(code if code is not None else "-")

    def returnee_status(self, status: str, bound: bool) -> str:
        if status == "invited":
            return self._(_INVITED[bound])
        return self._word(_RETURNEE_STATUS, status)

    def status_filter(self, code: str) -> str:
        """A status filter (``storage.caseload_list.STATUS_FILTERS``: "invited:no"...)."""
        return self.returnee_status(*filter_status(code))

    def wave(self, wave: str | None) -> str:
        return self._word(_WAVES, wave)

    def survey_status(self, status: str | None) -> str:
        return self._word(_SURVEY_STATUS, status)

    def dimension(self, dimension: str | None) -> str:
        return self._word(_DIMENSIONS, dimension)

    def scope(self, scope: Scope) -> str:
        """Which returnees a staff member sees, in words."""
        if scope.kind == "countries":
            return self._("countries: {names}").format(names=", ".join(scope.values))
        if scope.kind == "offices":
            return self._("offices: {names}").format(names=", ".join(scope.values))
        if scope.kind == "caseload":
            return self._("their own caseload")
        return self._("every returnee")

    def role(self, role: str) -> str:
        return self._word(_ROLES, role)

    def reason(self, reason: str | None) -> str:
        if reason and ":" in reason:  # a round report's "status:reason"
            status, _, why = reason.partition(":")
            return f"{self.reminder_status(status)}: {self.reason(why)}"
        if reason and reason.startswith(("http_", "error_")):
            code = reason.split("_", 1)[1]
            return self._("the chat service answered error {code}").format(code=code)
        return self._word(_REASONS, reason)

    def reminder_status(self, status: str) -> str:
        return self._word(_REMINDER_STATUS, status)

    def actor(self, actor: str | None, names: Mapping[str, str]) -> str:
        """Who started something: a staff member's name, the command line, a schedule."""
        if actor is None:
            return self._("schedule")
        if actor in names:
            return names[actor]
        if actor.startswith("cli"):
            return self._("command line")
        return self._("a former staff member") if actor.startswith("staff:") else actor

    def channel(self, channel: str | None) -> str:
        return self._word(_CHANNELS, channel) if channel else self._("not joined")

    @staticmethod
    def channel_msgid(channel: str) -> str:
        """A channel's name untranslated (to translate in another language than staff's)."""
        return _CHANNELS.get(channel, channel)

    def consent(self, kind: str) -> str:
        return self._word(_CONSENT, kind)

    def action(self, action: str) -> str:
        if action.startswith("followup_"):
            return self._word(_ACTIONS, "followup")
        return self._word(_ACTIONS, action)

    def by_channel(self, counts: Mapping[str, int]) -> str:
        """Reminders by "channel:status" key, as one line."""
        parts = []
        for key, n in sorted(counts.items()):
            channel, _, status = key.partition(":")
            parts.append(f"{self.channel(channel)} {self.reminder_status(status)} {n}")
        return ", ".join(parts)

    def feedback_state(self, state: str) -> str:
        return self._word(_FEEDBACK_STATE, state)


#: the words where staff read English (the command line, the chat's staff commands)
ENGLISH = StaffWords(lambda message: message)
