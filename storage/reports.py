"""What staff read: completed surveys with their answers and stored scores, streamed in
batches, and re-scoring.

A read goes through the selected surveys once, one batch of returnees at a time: the
returnees, their completed surveys, the data keys, the answers and the scores of a batch
are each fetched with one query, so memory does not grow with the programme. Filters are
applied in SQL. Every returnee read is written to the audit log in the batch's
transaction (one entry per survey read); a read for aggregates only writes one entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import orjson
from pydantic import TypeAdapter
from sqlalchemy import Select, func, select

from flows.engine import scored_answers
from flows.model import FlowDefinition
from flows.state import Answer as AnswerValue
from flows.state import ChoiceAnswer, MultiAnswer, SpecialAnswer, TextAnswer
from scoring import WeightTable, score
from storage import keys
from storage.models import (
    Answer,
    AssistanceItem,
    FollowupAction,
    FollowupFlag,
    Returnee,
    ReturneeProfile,
    Score,
    SurveyResponse,
)
from storage.scopes import EVERYONE, Scope
from storage.store import Store
from storage.waves import WAVES, Wave

_ANSWER: TypeAdapter[AnswerValue] = TypeAdapter(AnswerValue)
SCORE_KEYS = ("economic", "social", "psychosocial", "composite")
#: what a read for aggregates keeps of a stored score
SUMMARY_KEYS = (*SCORE_KEYS, "lowest_dimension")
#: returnees per batch (their surveys, answers and scores are read together)
BATCH = 400
#: returnees per batch of a read without answers (the programme report's)
SCORED_BATCH = 2000
S = TypeVar("S", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True)
class Selection:
    """Which completed surveys a read covers (every filter applied in SQL)."""

    wave: Wave | None = None
    country: str | None = None
    #: completed on or after / on or before these days (UTC)
    completed_from: date | None = None
    completed_to: date | None = None
    returnee_id: str | None = None
    #: only the surveys answered with this flow (a deployment may have run several)
    flow_id: str | None = None
    #: only returnees the reader may see
    scope: Scope = EVERYONE

    def describe(self) -> str:
        parts = [self.wave or "all waves", self.country.upper() if self.country else ""]
        if self.completed_from or self.completed_to:
            start = self.completed_from.isoformat() if self.completed_from else "..."
            end = self.completed_to.isoformat() if self.completed_to else "..."
            parts.append(f"completed {start} to {end}")
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class CompletedSurvey:
    response_id: str
    returnee_id: str
    public_id: str
    case_ref: str | None
    country: str | None
    wave: str
    language: str
    flow_id: str
    #: the chat app the returnee answers on (telegram, whatsapp...)
    channel: str | None
    started_at: datetime
    completed_at: datetime | None
    #: question id -> the answer as recorded
    answers: dict[str, AnswerValue]
    #: the stored scores under the requested weights version (None: not scored under it)
    scores: dict[str, Any] | None
    #: the returnee's profile: attribute id -> code(s), with ``office`` and ``caseworker``
    #: (special categories only in reads that include case references)
    profile: dict[str, Any] = field(default_factory=dict)
    #: the follow-up rules this survey met, and its flag's state (open / closed)
    flags: tuple[str, ...] = ()
    flag_state: str | None = None
    #: what caseworkers did for the returnee (kind, day), oldest first
    actions: tuple[tuple[str, date], ...] = ()

    def scored_answers(self, definition: FlowDefinition) -> dict[str, str | None]:
        """Coded answers of the shown choice questions (what scoring reads)."""
        if definition.id != self.flow_id:
            return {}
        return scored_answers(definition, self.answers)


def _surveys_where(query: S, selection: Selection) -> S:
    query = query.where(SurveyResponse.status == "completed")
    if selection.wave:
        query = query.where(SurveyResponse.wave == selection.wave)
    if selection.flow_id:
        query = query.where(SurveyResponse.flow_id == selection.flow_id)
    if selection.completed_from:
        start = datetime.combine(selection.completed_from, time.min, tzinfo=UTC)
        query = query.where(SurveyResponse.completed_at >= start)
    if selection.completed_to:
        end = datetime.combine(selection.completed_to + timedelta(days=1), time.min, tzinfo=UTC)
        query = query.where(SurveyResponse.completed_at < end)
    return query


def _returnees_where(query: S, selection: Selection) -> S:
    if selection.country:
        query = query.where(Returnee.country == selection.country.upper())
    if selection.returnee_id:
        query = query.where(Returnee.id == selection.returnee_id)
    if (in_scope := selection.scope.returnees()) is not None:
        query = query.where(in_scope)
    return query


async def count_completed(store: Store, selection: Selection) -> int:
    """How many completed surveys a selection covers (no personal data read)."""
    query = _surveys_where(
        select(func.count()).select_from(SurveyResponse).join(Returnee), selection
    )
    async with store.sessions() as session:
        return int(await session.scalar(_returnees_where(query, selection)) or 0)


def _people(selection: Selection, batch_size: int) -> Select[*tuple[Any, ...]]:
    """The returnees a read may cover, a page at a time by pseudonymous id (the caller
    adds ``public_id > last``); the batch's own queries keep those with a selected
    survey. (Not "those with a completed survey" here: without statistics, right after
    a bulk load, SQLite and PostgreSQL plan that condition as a scan of every completed
    survey for each returnee or each page; a range of the public id's index costs the
    same whatever the statistics say.)"""
    people: Select[*tuple[Any, ...]] = select(
        Returnee.id,
        Returnee.public_id,
        Returnee.country,
        Returnee.case_ref_enc,
        Returnee.channel,
        Returnee.return_date,
    )
    return _returnees_where(people.order_by(Returnee.public_id).limit(batch_size), selection)


async def completion_stamp(store: Store, selection: Selection) -> tuple[int, str]:
    """How many completed surveys a selection covers and when the latest was completed:
    a cache of figures over it is stale once this changes (no personal data read)."""
    query = _surveys_where(
        select(func.count(), func.max(SurveyResponse.completed_at))
        .select_from(SurveyResponse)
        .join(Returnee),
        selection,
    )
    async with store.sessions() as session:
        count, latest = (await session.execute(_returnees_where(query, selection))).one()
    return int(count or 0), str(latest or "")


async def completed_batches(
    store: Store,
    selection: Selection,
    *,
    weights_version: str | None,
    actor: str,
    action: str | None,
    include_case_ref: bool = False,
    batch_size: int = BATCH,
) -> AsyncIterator[list[CompletedSurvey]]:
    """The selected completed surveys, a batch of returnees at a time, ordered by
    pseudonymous id and wave. ``weights_version`` None reads the latest scores.

    Each batch is read and audited (under ``action``) in one transaction; with
    ``action=None`` (aggregates) one entry for the whole read is written at the end."""
    page = _people(selection, batch_size)
    last: str | None = None
    read = 0
    while True:
        async with store.sessions.begin() as session:
            query = page if last is None else page.where(Returnee.public_id > last)
            people = (await session.execute(query)).all()
            if not people:
                break
            last = people[-1].public_id
            surveys = await _read_batch(
                session, store, people, selection, weights_version, include_case_ref
            )
            if action is not None:
                detail = " +case_ref" if include_case_ref else ""
                await store.audit_many(
                    session, actor, action, [(s.returnee_id, f"{s.wave}{detail}") for s in surveys]
                )
        read += len(surveys)
        yield surveys
    if action is None:
        async with store.sessions.begin() as session:
            store.audit(session, actor, "aggregate", None, f"{read} surveys")


async def _profiles(
    connection: Any, deks: Mapping[str, bytes], returnee_ids: list[str], sealed: bool
) -> dict[str, dict[str, Any]]:
    """The profiles of a batch of returnees (special categories when ``sealed``)."""
    out: dict[str, dict[str, Any]] = {}
    rows = await connection.execute(
        select(
            ReturneeProfile.returnee_id,
            ReturneeProfile.attributes,
            ReturneeProfile.sealed_enc,
            ReturneeProfile.office,
            ReturneeProfile.caseworker,
        ).where(ReturneeProfile.returnee_id.in_(returnee_ids))
    )
    for returnee_id, attributes, sealed_enc, office, caseworker in rows:
        profile: dict[str, Any] = orjson.loads(attributes) if attributes else {}
        if sealed and sealed_enc is not None and returnee_id in deks:
            profile.update(
                orjson.loads(
                    keys.decrypt(
                        deks[returnee_id], "returnee_profiles", returnee_id, "sealed", sealed_enc
                    )
                )
            )
        profile["office"], profile["caseworker"] = office, caseworker
        out[returnee_id] = profile
    return out


_ANSWER_KINDS: dict[str, type[Any]] = {
    "choice": ChoiceAnswer,
    "multi": MultiAnswer,
    "text": TextAnswer,
    "special": SpecialAnswer,
}


def stored_answer(text: str) -> AnswerValue:
    """An answer as the store wrote it. It was validated when it was written, and its
    ciphertext is authenticated (AES-GCM), so it is rebuilt without validating again
    (a third of the cost of a staff read); anything else is validated."""
    data = orjson.loads(text)
    kind = _ANSWER_KINDS.get(str(data.get("kind"))) if isinstance(data, dict) else None
    if kind is None:
        return _ANSWER.validate_python(data)
    if kind is MultiAnswer:
        data["options"] = tuple(data["options"])
    answer: AnswerValue = kind.model_construct(**data)
    return answer


async def _read_batch(
    session: Any,
    store: Store,
    people: Sequence[Any],
    selection: Selection,
    weights_version: str | None,
    include_case_ref: bool,
) -> list[CompletedSurvey]:
    by_id = {p.id: p for p in people}
    connection = await session.connection()  # (rows as tuples: no ORM bookkeeping)
    responses = (
        await connection.execute(
            _surveys_where(
                select(
                    SurveyResponse.id,
                    SurveyResponse.returnee_id,
                    SurveyResponse.wave,
                    SurveyResponse.language,
                    SurveyResponse.flow_id,
                    SurveyResponse.started_at,
                    SurveyResponse.completed_at,
                ).where(SurveyResponse.returnee_id.in_(list(by_id))),
                selection,
            )
        )
    ).all()
    response_ids = [r.id for r in responses]
    deks = await keys.returnee_keys(session, store.keyring, by_id)
    owner = {r.id: r.returnee_id for r in responses}
    answers: dict[str, dict[str, AnswerValue]] = defaultdict(dict)
    rows = await connection.execute(
        select(Answer.id, Answer.response_id, Answer.question_id, Answer.value_enc).where(
            Answer.response_id.in_(response_ids)
        )
    )
    for answer_id, response_id, question_id, blob in rows:
        dek = deks[owner[response_id]]
        text = keys.decrypt(dek, "answers", answer_id, "value", blob)
        answers[response_id][question_id] = stored_answer(text)
    scores_query = select(Score.id, Score.response_id, Score.values_enc, Score.computed_at).where(
        Score.response_id.in_(response_ids)
    )
    if weights_version:
        scores_query = scores_query.where(Score.weights_version == weights_version)
    latest: dict[str, tuple[datetime, str, bytes]] = {}
    for score_id, response_id, blob, computed_at in await connection.execute(scores_query):
        if response_id not in latest or computed_at > latest[response_id][0]:
            latest[response_id] = (computed_at, score_id, blob)
    profiles = await _profiles(connection, deks, list(by_id), include_case_ref)
    flags: dict[str, tuple[tuple[str, ...], str]] = {}
    for flag_id, response_id, returnee_id, blob, state in await connection.execute(
        select(
            FollowupFlag.id,
            FollowupFlag.response_id,
            FollowupFlag.returnee_id,
            FollowupFlag.reasons_enc,
            FollowupFlag.state,
        ).where(FollowupFlag.response_id.in_(response_ids))
    ):
        reasons = orjson.loads(
            keys.decrypt(deks[returnee_id], "followup_flags", flag_id, "reasons", blob)
        )
        flags[response_id] = (tuple(rule for rule, _ in reasons), state)
    actions: dict[str, list[tuple[str, date]]] = defaultdict(list)
    for returnee_id, kind, at in await connection.execute(
        select(FollowupAction.returnee_id, FollowupAction.kind, FollowupAction.at)
        .where(FollowupAction.returnee_id.in_(list(by_id)))
        .order_by(FollowupAction.at)
    ):
        actions[returnee_id].append((kind, at.date()))
    out = []
    for response in responses:
        person = by_id[response.returnee_id]
        dek = deks[response.returnee_id]
        stored = latest.get(response.id)
        case_ref = None
        if include_case_ref and person.case_ref_enc is not None:
            case_ref = keys.decrypt(dek, "returnees", person.id, "case_ref", person.case_ref_enc)
        out.append(
            CompletedSurvey(
                response_id=response.id,
                returnee_id=person.id,
                public_id=person.public_id,
                case_ref=case_ref,
                country=person.country,
                wave=response.wave,
                language=response.language,
                flow_id=response.flow_id,
                channel=person.channel,
                started_at=response.started_at,
                completed_at=response.completed_at,
                answers=answers.get(response.id, {}),
                scores=orjson.loads(keys.decrypt(dek, "scores", stored[1], "values", stored[2]))
                if stored
                else None,
                profile=profiles.get(person.id, {}),
                flags=flags.get(response.id, ((), ""))[0],
                flag_state=flags[response.id][1] if response.id in flags else None,
                actions=tuple(actions.get(person.id, ())),
            )
        )
    out.sort(key=lambda s: (s.public_id, WAVES.index(s.wave) if s.wave in WAVES else 9))
    return out


@dataclass(frozen=True)
class ScoredReturnee:
    """What the programme report needs of one returnee: no answer, no case reference."""

    returnee_id: str
    country: str | None
    channel: str | None
    return_date: date | None
    #: attribute id -> code(s), special categories included (decrypted)
    profile: dict[str, Any]
    #: (type, level, status, start day) of each assistance item
    assistance: tuple[tuple[str, str, str, date | None], ...]
    #: wave -> (the stored scores under the requested weights: :data:`SUMMARY_KEYS`,
    #: completion time)
    surveys: dict[str, tuple[dict[str, Any], datetime]]


async def scored_batches(
    store: Store,
    selection: Selection,
    *,
    weights_version: str,
    actor: str,
    batch_size: int = SCORED_BATCH,
) -> AsyncIterator[list[ScoredReturnee]]:
    """The returnees with a selected completed survey scored under ``weights_version``,
    a batch at a time: their scores, profiles and assistance, decrypted for aggregates
    (one audit entry for the whole read, at the end). Answers are not read."""
    page = _people(selection, batch_size)
    last: str | None = None
    read = 0
    while True:
        async with store.sessions() as session:
            query = page if last is None else page.where(Returnee.public_id > last)
            people = (await session.execute(query)).all()
            if not people:
                break
            last = people[-1].public_id
            batch = await _read_scored(session, store, people, selection, weights_version)
        read += sum(len(r.surveys) for r in batch)
        yield batch
    async with store.sessions.begin() as session:
        store.audit(session, actor, "aggregate", None, f"{read} surveys")


async def _read_scored(
    session: Any,
    store: Store,
    people: Sequence[Any],
    selection: Selection,
    weights_version: str,
) -> list[ScoredReturnee]:
    ids = [p.id for p in people]
    connection = await session.connection()
    deks = await keys.returnee_keys(session, store.keyring, ids)
    surveys: dict[str, dict[str, tuple[dict[str, Any], datetime]]] = defaultdict(dict)
    rows = await connection.execute(
        _surveys_where(
            select(
                SurveyResponse.returnee_id,
                SurveyResponse.wave,
                SurveyResponse.completed_at,
                Score.id,
                Score.values_enc,
                Score.computed_at,
            )
            .join(Score, Score.response_id == SurveyResponse.id)
            .where(SurveyResponse.returnee_id.in_(ids), Score.weights_version == weights_version),
            selection,
        ).order_by(Score.computed_at)
    )
    for returnee_id, wave, completed_at, score_id, blob, _ in rows:
        if returnee_id in deks:  # (the latest score of a survey wins: ordered by time)
            values = orjson.loads(
                keys.decrypt(deks[returnee_id], "scores", score_id, "values", blob)
            )
            kept = {key: values.get(key) for key in SUMMARY_KEYS}  # (not every element's)
            surveys[returnee_id][wave] = (kept, completed_at)
    profiles = await _profiles(connection, deks, ids, True)
    assistance: dict[str, list[tuple[str, str, str, date | None]]] = defaultdict(list)
    for item_id, returnee_id, blob, level, status, start in await connection.execute(
        select(
            AssistanceItem.id,
            AssistanceItem.returnee_id,
            AssistanceItem.details_enc,
            AssistanceItem.level,
            AssistanceItem.status,
            AssistanceItem.start_date,
        ).where(AssistanceItem.returnee_id.in_(ids))
    ):
        if returnee_id in deks:
            details = orjson.loads(
                keys.decrypt(deks[returnee_id], "assistance_items", item_id, "details", blob)
            )
            assistance[returnee_id].append((details["type"], level, status, start))
    return [
        ScoredReturnee(
            returnee_id=p.id,
            country=p.country,
            channel=p.channel,
            return_date=p.return_date,
            profile=profiles.get(p.id, {}),
            assistance=tuple(assistance.get(p.id, ())),
            surveys=surveys[p.id],
        )
        for p in people
        if surveys.get(p.id)
    ]


async def completed_surveys(
    store: Store,
    selection: Selection,
    *,
    weights_version: str | None,
    actor: str,
    action: str | None,
    include_case_ref: bool = False,
) -> list[CompletedSurvey]:
    """All the selected surveys in one list: for small selections (one returnee)."""
    out: list[CompletedSurvey] = []
    async for batch in completed_batches(
        store,
        selection,
        weights_version=weights_version,
        actor=actor,
        action=action,
        include_case_ref=include_case_ref,
    ):
        out.extend(batch)
    return out


async def rescore(
    store: Store,
    definition: FlowDefinition,
    table: WeightTable,
    *,
    actor: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Recompute every completed survey's scores under ``table``, stored beside the
    others (one transaction per batch); returns how many."""
    done = 0
    async for batch in completed_batches(
        store,
        Selection(flow_id=definition.id),
        weights_version=None,
        actor=actor,
        action="rescore",
    ):
        results = []
        for s in batch:
            answers = {k: v for k, v in s.scored_answers(definition).items() if k in table.elements}
            if s.wave in WAVES and s.flow_id == definition.id:
                results.append((s.response_id, s.returnee_id, score(table, answers)))
        await store.store_scores_many(results)
        done += len(results)
        if progress is not None:
            progress(done)
    return done


async def returnees_by_status(
    store: Store, *, scope: Scope = EVERYONE
) -> dict[tuple[str, bool], int]:
    """How many returnees (in ``scope``) have each (status, joined the chat) (no personal
    data read)."""
    joined = Returnee.telegram_pseudonym.is_not(None)
    query = select(Returnee.status, joined, func.count()).group_by(Returnee.status, joined)
    if (in_scope := scope.returnees()) is not None:
        query = query.where(in_scope)
    async with store.sessions() as session:
        rows = await session.execute(query)
        return {(status, bool(bound)): int(n) for status, bound, n in rows.all()}


async def completed_by_wave_and_country(
    store: Store, *, scope: Scope = EVERYONE
) -> list[tuple[str, str | None, int]]:
    """Completed surveys per (wave, country) of returnees in ``scope``, in wave order (no
    personal data read)."""
    query = (
        select(SurveyResponse.wave, Returnee.country, func.count())
        .join(Returnee, Returnee.id == SurveyResponse.returnee_id)
        .where(SurveyResponse.status == "completed")
        .group_by(SurveyResponse.wave, Returnee.country)
    )
    if (in_scope := scope.returnees()) is not None:
        query = query.where(in_scope)
    async with store.sessions() as session:
        rows = await session.execute(query)
        found = [(wave, country, int(n)) for wave, country, n in rows.all()]
    return sorted(found, key=lambda r: (WAVES.index(r[0]) if r[0] in WAVES else 9, r[1] or ""))
