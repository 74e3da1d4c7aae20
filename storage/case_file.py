"""One returnee's case file for staff: their surveys per wave, stored scores, consent
history and the reminders they were sent. Reading it is audited (``view_returnee``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from storage import keys
from storage.models import ConsentEvent, Reminder, ReminderRound, Score, SurveyResponse
from storage.returnees import ReturneeInfo
from storage.store import Store
from storage.waves import WAVES


@dataclass(frozen=True)
class SurveyLine:
    wave: str
    status: str
    started_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class ConsentLine:
    kind: str  # given, declined, withdrawn
    version: str
    language: str
    at: datetime


@dataclass(frozen=True)
class ReminderLine:
    wave: str
    status: str
    reason: str | None
    sent_at: datetime | None
    round_started: datetime
    scheduled: bool


@dataclass
class CaseFile:
    returnee: ReturneeInfo
    surveys: list[SurveyLine] = field(default_factory=list)
    consent: list[ConsentLine] = field(default_factory=list)
    reminders: list[ReminderLine] = field(default_factory=list)
    #: wave -> scores under the weight table asked for (completed and scored waves)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)


async def read_case_file(
    store: Store, returnee: ReturneeInfo, *, weights_version: str, actor: str
) -> CaseFile:
    """The case file of ``returnee`` (found beforehand, e.g. by case reference), with the
    scores stored under ``weights_version``; the read is audited under ``actor``."""
    out = CaseFile(returnee=returnee)
    rid = returnee.id
    async with store.sessions.begin() as session:
        for r in await session.scalars(
            select(SurveyResponse)
            .where(SurveyResponse.returnee_id == rid)
            .order_by(SurveyResponse.started_at)
        ):
            out.surveys.append(SurveyLine(r.wave, r.status, r.started_at, r.completed_at))
        for c in await session.scalars(
            select(ConsentEvent).where(ConsentEvent.returnee_id == rid).order_by(ConsentEvent.at)
        ):
            out.consent.append(ConsentLine(c.kind, c.consent_version, c.language, c.at))
        rows = await session.execute(
            select(Reminder, ReminderRound)
            .join(ReminderRound, Reminder.round_id == ReminderRound.id)
            .where(Reminder.returnee_id == rid)
            .order_by(ReminderRound.created_at)
        )
        for reminder, round_ in rows.all():
            out.reminders.append(
                ReminderLine(
                    round_.wave,
                    reminder.status,
                    reminder.reason,
                    reminder.sent_at,
                    round_.created_at,
                    round_.schedule_id is not None,
                )
            )
        scores = (
            await session.execute(
                select(Score, SurveyResponse.wave)
                .join(SurveyResponse, Score.response_id == SurveyResponse.id)
                .where(SurveyResponse.returnee_id == rid, Score.weights_version == weights_version)
            )
        ).all()
        if scores:
            dek = await store.keys.returnee(session, rid)
            for score, wave in scores:
                values = json.loads(
                    keys.decrypt(dek, "scores", score.id, "values", score.values_enc)
                )
                out.scores[wave] = values
        out.scores = {w: out.scores[w] for w in WAVES if w in out.scores}
        store.audit(session, actor, "view_returnee", rid)
    return out
