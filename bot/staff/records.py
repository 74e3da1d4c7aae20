"""Finding a returnee, the follow-up queue and the feedback inbox, as staff use them: each
use case checks the role's permission and keeps to the staff member's scope once, for
the command line, the chat's staff commands and the console alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.staff import Acting, require
from storage.feedback import FEEDBACK_STATES, FeedbackPage, Voice
from storage.followup import FlagPage
from storage.returnees import ReturneeInfo
from storage.store import Store


async def find_returnee(
    store: Store,
    who: Acting,
    *,
    case_ref: str | None = None,
    public_id: str | None = None,
    action: str = "case",
) -> ReturneeInfo | None:
    """The returnee in ``who``'s scope with this case reference (the look-up is audited)
    or pseudonym, for ``action`` (opening the case file, a new invitation...); None when
    there is none in the scope (one outside it is audited as refused)."""
    require(who, action)
    if case_ref:
        return await store.find_by_case_ref(case_ref, actor=who.actor, scope=who.scope)
    if public_id:
        return await store.find_by_public_id(public_id, scope=who.scope)
    return None


async def followup_queue(
    store: Store,
    who: Acting,
    *,
    state: str | None = "open",
    country: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> FlagPage:
    """The flags of returnees in ``who``'s scope, oldest open first (audited)."""
    require(who, "case")
    return await store.followup.queue(
        actor=who.actor,
        state=state,
        country=country,
        offset=offset,
        limit=limit,
        scope=who.scope,
    )


async def feedback_inbox(
    store: Store,
    who: Acting,
    *,
    states: Sequence[str] = FEEDBACK_STATES,
    kind: str | None = None,
    receipt: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> FeedbackPage:
    """A page of the feedback in ``who``'s scope (anonymous feedback only for staff who
    see every returnee); the read is audited."""
    require(who, "feedback")
    return await store.feedback.inbox(
        actor=who.actor,
        states=states,
        kind=kind,
        receipt=receipt,
        since=since,
        before=before,
        offset=offset,
        limit=limit,
        scope=who.scope,
    )


async def all_feedback(store: Store, who: Acting) -> list[dict[str, Any]]:
    """Every feedback in ``who``'s scope, decrypted (the chat's /inbox); audited."""
    require(who, "feedback")
    return await store.feedback.read(actor=who.actor, scope=who.scope)


async def feedback_voice(store: Store, who: Acting, feedback_id: str) -> Voice | None:
    """A voice note sent as feedback, to be played by ``who`` (a feedback officer; in
    their scope); each play is audited. None if there is none."""
    require(who, "feedback")
    return await store.feedback.voice(feedback_id, actor=who.actor, scope=who.scope)


async def mark_feedback(store: Store, who: Acting, feedback_id: str, state: str) -> bool:
    """A feedback of ``who``'s scope now new, read or handled; False if there is none."""
    require(who, "feedback")
    return await store.feedback.mark(feedback_id, state, actor=who.actor, scope=who.scope)
