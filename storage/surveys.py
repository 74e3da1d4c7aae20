"""Consent and surveys: consent given, declined or withdrawn (an event each); the
survey of each wave, its answers saved step by step (encrypted, only with consent, each
Telegram update applied once), its scores under every weight table it was scored with.
On PostgreSQL the statements of every update run on asyncpg directly (``pg_hotpath``)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.engine import Step
from flows.model import FlowDefinition
from flows.state import Answer as AnswerValue
from flows.state import AnswerDiscarded, AnswerRecorded, SessionState
from scoring import ScoreResult
from storage import keys
from storage.crypto import Keyring
from storage.errors import AlreadyApplied, ConsentRequired, NotFound, StaleProgress, StorageError
from storage.keys import DataKeys
from storage.models import (
    Answer,
    ConsentEvent,
    DataKey,
    ProcessedUpdate,
    Returnee,
    Score,
    SurveyResponse,
)
from storage.pg_hotpath import PgHotPath, UpdateSeenBefore
from storage.returnees import Returnees, cancel_reminders
from storage.waves import WAVES, Wave

if TYPE_CHECKING:
    from asyncpg import Record

_ANSWER: TypeAdapter[AnswerValue] = TypeAdapter(AnswerValue)
_RESPONSE_STATE_COLUMNS = (
    "id",
    "flow_id",
    "flow_version",
    "language",
    "current_question",
    "pending_enc",
    "status",
    "seq",
)


@dataclass(frozen=True)
class OpenSurvey:
    """A survey in progress as read for one update: the engine's state, and (opaque to
    everything outside :mod:`storage`) what saving the update's step needs, so that the
    survey is not read a second time."""

    wave: Wave
    state: SessionState
    #: what saving a step needs (the response and its data key): for storage only
    handle: SavingHandle = field(repr=False, compare=False)
    #: the chat message showing the current question, if known
    prompt: int | None = None


class SavingHandle:
    """The response a step is saved to and the returnee's data key, out of reach of the
    hosts: no public attribute, no repr."""

    __slots__ = ("_key", "_response_id")

    def __init__(self, response_id: str, key: bytes) -> None:
        self._response_id, self._key = response_id, key

    def __repr__(self) -> str:
        return "SavingHandle(...)"


@dataclass(frozen=True)
class StoredScores:
    wave: str
    weights_version: str
    values: dict[str, Any]
    computed_at: datetime


class Surveys:
    """The consent-and-surveys aggregate. ``is_processed`` says whether a Telegram
    update was applied already; ``insert`` is the dialect's INSERT (ON CONFLICT)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        autocommit: async_sessionmaker[AsyncSession],
        hot: PgHotPath | None,
        keyring: Keyring,
        data_keys: DataKeys,
        returnees: Returnees,
        is_processed: Callable[[int], Awaitable[bool]],
        insert: Callable[[Any], Any],
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self.sessions, self.autocommit, self.hot, self.keyring = sessions, autocommit, hot, keyring
        self.keys, self.returnees, self.is_processed = data_keys, returnees, is_processed
        self.insert, self.clock, self.new_id = insert, clock, new_id

    async def completed_waves(self, returnee_id: str) -> set[str]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(SurveyResponse.wave).where(
                    SurveyResponse.returnee_id == returnee_id,
                    SurveyResponse.status == "completed",
                )
            )
            return set(rows)

    async def wave_in_progress(self, returnee_id: str) -> Wave | None:
        async with self.sessions() as session:
            wave = await session.scalar(
                select(SurveyResponse.wave).where(
                    SurveyResponse.returnee_id == returnee_id,
                    SurveyResponse.status == "in_progress",
                )
            )
            return wave if wave in WAVES else None

    def _consent_event(
        self, session: AsyncSession, returnee_id: str, kind: str, version: str, language: str
    ) -> None:
        session.add(
            ConsentEvent(
                id=self.new_id(),
                returnee_id=returnee_id,
                kind=kind,
                consent_version=version,
                language=language,
                at=self.clock(),
            )
        )

    async def give_consent(self, returnee_id: str, *, version: str, language: str) -> None:
        async with self.sessions.begin() as session:
            row = await self.returnees.row(session, returnee_id)
            row.status, row.consent_version = "active", version
            row.language, row.updated_at = language, self.clock()
            self._consent_event(session, returnee_id, "given", version, language)

    async def decline_consent(self, returnee_id: str, *, version: str, language: str) -> None:
        """Keep only a pseudonymous 'declined' mark: personal fields and the data key go."""
        async with self.sessions.begin() as session:
            row = await self.returnees.row(session, returnee_id)
            await self.delete_survey_data(session, returnee_id)
            row.case_ref_enc = row.chat_id_enc = row.case_ref_index = None
            row.country = row.return_date = None
            row.status, row.consent_version, row.updated_at = "declined", None, self.clock()
            await session.execute(
                delete(DataKey).where(DataKey.owner == keys.returnee_owner(returnee_id))
            )
            self._consent_event(session, returnee_id, "declined", version, language)

    async def withdraw_consent(self, returnee_id: str, *, language: str) -> None:
        """Opt out: everything stops (no reminders, no storing) until consent is given again."""
        async with self.sessions.begin() as session:
            row = await self.returnees.row(session, returnee_id)
            version = row.consent_version or "-"
            row.status, row.consent_version, row.updated_at = "opted_out", None, self.clock()
            self._consent_event(session, returnee_id, "withdrawn", version, language)
            await cancel_reminders(session, returnee_id, "opted_out")

    async def _response(
        self, session: AsyncSession, returnee_id: str, wave: str
    ) -> SurveyResponse | None:
        return await session.scalar(
            select(SurveyResponse).where(
                SurveyResponse.returnee_id == returnee_id, SurveyResponse.wave == wave
            )
        )

    async def load_state(
        self, returnee_id: str, wave: Wave, definition: FlowDefinition
    ) -> SessionState | None:
        """The stored survey of this wave as an engine state (None if never started)."""
        async with self.sessions.begin() as session:
            response = await self._response(session, returnee_id, wave)
            if response is None:
                return None
            dek = await self.keys.returnee(session, returnee_id)
            return await self._state_of(session, response, dek)

    async def open_survey(self, returnee_id: str) -> OpenSurvey | None:
        """The survey in progress, if any, with its state. On PostgreSQL one statement (the
        survey, its data key and its answers); elsewhere two. No transaction: a step
        computed from what is read is stored only if the survey is still at the ``seq``
        read (:meth:`save_step`), so a read between two commits is merely stale."""
        owner = keys.returnee_owner(returnee_id)
        if self.hot is not None:
            row = await self.hot.open_survey(returnee_id, owner)
            return None if row is None else self.open_survey_of(returnee_id, row)
        async with self.autocommit() as session:
            found = (
                await session.execute(
                    select(SurveyResponse, DataKey)
                    .select_from(SurveyResponse)
                    .join(DataKey, DataKey.owner == owner)
                    .where(
                        SurveyResponse.returnee_id == returnee_id,
                        SurveyResponse.status == "in_progress",
                    )
                )
            ).first()
            if found is None:
                return None
            response, data_key = found
            if response.wave not in WAVES:
                return None
            dek = self.keyring.unwrap(data_key.kek_id, data_key.wrapped, owner)
            state = await self._state_of(session, response, dek)
            return OpenSurvey(
                response.wave, state, SavingHandle(response.id, dek), response.prompt_message_id
            )

    def open_survey_of(self, returnee_id: str, row: Record) -> OpenSurvey | None:
        """The open survey in a row of the hot path's statements (None if there is none)."""
        if row["id"] is None or row["wrapped"] is None or row["wave"] not in WAVES:
            return None
        owner = keys.returnee_owner(returnee_id)
        dek = self.keyring.unwrap(row["kek_id"], row["wrapped"], owner)
        answers = zip(row["ids"] or (), row["questions"] or (), row["values"] or (), strict=True)
        state = self._session_state(dek, dict(row.items()), answers)
        return OpenSurvey(
            row["wave"], state, SavingHandle(row["id"], dek), row["prompt_message_id"]
        )

    async def _state_of(
        self, session: AsyncSession, response: SurveyResponse, dek: bytes
    ) -> SessionState:
        # plain columns, not ORM objects: this runs for every update of a survey
        rows = await session.execute(
            select(Answer.id, Answer.question_id, Answer.value_enc).where(
                Answer.response_id == response.id
            )
        )
        fields = {c: getattr(response, c) for c in _RESPONSE_STATE_COLUMNS}
        return self._session_state(dek, fields, ((i, q, v) for i, q, v in rows))

    def _session_state(
        self,
        dek: bytes,
        response: Mapping[str, Any],
        answer_rows: Iterable[tuple[str, str, bytes]],
    ) -> SessionState:
        """The engine state of a stored survey: its columns (``_RESPONSE_STATE_COLUMNS``)
        and its answers (id, question id, ciphertext), decrypted."""
        answers = {
            question_id: _ANSWER.validate_json(
                keys.decrypt(dek, "answers", answer_id, "value", value_enc)
            )
            for answer_id, question_id, value_enc in answer_rows
        }
        pending: list[str] = []
        if (blob := response["pending_enc"]) is not None:
            pending = json.loads(
                keys.decrypt(dek, "survey_responses", response["id"], "pending", blob)
            )
        return SessionState(
            flow_id=response["flow_id"],
            flow_version=response["flow_version"],
            language=response["language"],
            answers=answers,
            current=response["current_question"],
            pending=pending,
            completed=response["status"] == "completed",
            seq=response["seq"],
        )

    async def save_step(
        self,
        returnee_id: str,
        wave: Wave,
        step: Step,
        *,
        update_id: int | None = None,
        opened: OpenSurvey | None = None,
        scores: ScoreResult | None = None,
        scored: bool = True,
    ) -> None:
        """Persist what an engine step changed, in one transaction; consent required.

        Compare-and-set: the step is stored only if the survey is still at the ``seq``
        the step was computed from (:attr:`Step.base_seq`; a new survey only if there is
        none yet). Otherwise nothing is stored and :class:`StaleProgress` is raised: two
        inputs computed from the same state are never both stored, whatever runs them.

        With ``update_id``, the transport's update is recorded as applied in the same
        transaction: if a worker dies after this commit, the redelivered update is
        recognised and not applied a second time (raises :class:`AlreadyApplied`, also
        when a copy of the update handled at the same time was stored first).
        A step that completes the survey carries its ``scores``: the last answer, the
        completed status, the scores and the update's mark commit together. ``scored``:
        False for a plain survey (a flow the weight table does not score), which
        completes without scores.
        """
        if step.state.completed and scored and scores is None:
            raise StorageError("a completed survey is saved with its scores")
        try:
            if (
                self.hot is not None
                and not step.state.completed
                and await self._save_step_hot(self.hot, returnee_id, wave, step, update_id, opened)
            ):
                return
            await self._save_step(returnee_id, wave, step, update_id, scores)
        except IntegrityError as exc:
            if update_id is not None and await self.is_processed(update_id):
                raise AlreadyApplied(update_id) from exc
            if step.base_seq is None:  # (the same survey started by another input)
                raise StaleProgress from exc
            raise
        except StaleProgress:
            if update_id is not None and await self.is_processed(update_id):
                raise AlreadyApplied(update_id) from None
            raise

    async def require_active(self, session: AsyncSession, returnee_id: str) -> None:
        """Raise unless the returnee has given consent (read in the caller's transaction)."""
        row = await self.returnees.row(session, returnee_id)
        self._require_consent(row.status, row.consent_version)

    @staticmethod
    def _require_consent(status: str, consent_version: str | None) -> None:
        if status != "active" or consent_version is None:
            raise ConsentRequired("no consent: nothing of this survey can be stored")

    def _answer_enc(self, dek: bytes, answer_id: str, event: AnswerRecorded) -> bytes:
        return keys.encrypt(dek, "answers", answer_id, "value", event.answer.model_dump_json())

    def _pending_enc(self, dek: bytes, response_id: str, state: SessionState) -> bytes | None:
        """A multi-select's selection in progress (None when there is none)."""
        if not state.pending:
            return None
        return keys.encrypt(
            dek, "survey_responses", response_id, "pending", json.dumps(state.pending)
        )

    async def _save_step_hot(
        self,
        hot: PgHotPath,
        returnee_id: str,
        wave: Wave,
        step: Step,
        update_id: int | None,
        opened: OpenSurvey | None,
    ) -> bool:
        """The usual step on PostgreSQL (a survey started, a data key made): one write,
        after one read unless the survey was read for this update (``opened``). False when
        the general path must decide (nothing was written then)."""
        if step.base_seq is None:
            return False  # (a new survey: inserted below)
        recorded = [e for e in step.events if isinstance(e, AnswerRecorded)]
        discarded = [e.question for e in step.events if isinstance(e, AnswerDiscarded)]
        questions = {e.question for e in recorded}
        if len(questions) != len(recorded) or questions & set(discarded):
            return False  # (the same answer changed twice in one step: in order, below)
        if opened is not None and opened.wave == wave:
            # (the consent is checked by the write itself)
            dek, response_id = opened.handle._key, opened.handle._response_id
        else:
            owner = keys.returnee_owner(returnee_id)
            found = await hot.save_context(returnee_id, owner, wave)
            if found is None or found["wrapped"] is None or found["response_id"] is None:
                return False
            self._require_consent(found["status"], found["consent_version"])
            dek = self.keyring.unwrap(found["kek_id"], found["wrapped"], owner)
            response_id = found["response_id"]
        state = step.state
        answers = []
        for event in recorded:
            answer_id = self.new_id()
            answers.append((answer_id, event.question, self._answer_enc(dek, answer_id, event)))
        pending = self._pending_enc(dek, response_id, state)
        try:
            return await hot.save_step(
                returnee_id=returnee_id,
                response_id=response_id,
                update_id=update_id,
                now=self.clock(),
                answers=answers,
                discarded=discarded,
                progress=(state.flow_version, state.language, state.current, state.seq, pending),
                completed=state.completed,
                base_seq=step.base_seq,
            )
        except UpdateSeenBefore as exc:
            assert update_id is not None  # (only an update's mark can be there before)
            raise AlreadyApplied(update_id) from exc

    async def _save_step(
        self,
        returnee_id: str,
        wave: Wave,
        step: Step,
        update_id: int | None,
        scores: ScoreResult | None,
    ) -> None:
        # Core statements, not the ORM's unit of work: this runs for every answer
        now = self.clock()
        state = step.state
        owner = keys.returnee_owner(returnee_id)
        async with self.sessions.begin() as session:
            if update_id is not None:  # replied: once the next question is sent
                await session.execute(
                    insert(ProcessedUpdate).values(update_id=update_id, at=now, replied=False)
                )
            # the returnee's consent, their data key and this wave's survey in one statement
            found = (
                await session.execute(
                    select(
                        Returnee.status,
                        Returnee.consent_version,
                        DataKey.kek_id,
                        DataKey.wrapped,
                        SurveyResponse.id,
                        SurveyResponse.status,
                    )
                    .select_from(Returnee)
                    .outerjoin(DataKey, DataKey.owner == owner)
                    .outerjoin(
                        SurveyResponse,
                        (SurveyResponse.returnee_id == Returnee.id) & (SurveyResponse.wave == wave),
                    )
                    .where(Returnee.id == returnee_id)
                )
            ).first()
            if found is None:
                raise NotFound("no such returnee")
            status, consent_version, kek_id, wrapped, response_id, response_status = found
            self._require_consent(status, consent_version)
            if wrapped is not None:
                dek = self.keyring.unwrap(kek_id, wrapped, owner)
            else:
                dek = await self.keys.returnee(session, returnee_id)
            if (response_id is None) != (step.base_seq is None):
                raise StaleProgress  # (started meanwhile, or erased and started again)
            if response_id is None:
                response_id = self.new_id()
            progress: dict[str, Any] = {
                "flow_version": state.flow_version,
                "language": state.language,
                "current_question": state.current,
                "seq": state.seq,
                "pending_enc": self._pending_enc(dek, response_id, state),
                "updated_at": now,
            }
            if state.completed and response_status != "completed":
                progress.update(status="completed", completed_at=now)
            if step.base_seq is None:  # (a unique key: a survey started meanwhile fails here)
                await session.execute(
                    insert(SurveyResponse).values(
                        id=response_id,
                        returnee_id=returnee_id,
                        wave=wave,
                        flow_id=state.flow_id,
                        started_at=now,
                        **{"status": "in_progress", **progress},
                    )
                )
            else:
                # first, before any answer: a concurrent step of this survey waits here
                # (the row's lock) and then finds the sequence number moved on
                moved = await session.execute(
                    update(SurveyResponse)
                    .where(SurveyResponse.id == response_id, SurveyResponse.seq == step.base_seq)
                    .values(**progress)
                    # (no ORM object to keep in step: the session holds none)
                    .execution_options(synchronize_session=False)
                )
                if moved.rowcount != 1:  # type: ignore[attr-defined]
                    raise StaleProgress
            for event in step.events:
                if isinstance(event, AnswerRecorded):
                    await self._upsert_answer(session, dek, response_id, event, now)
                elif isinstance(event, AnswerDiscarded):
                    await session.execute(
                        delete(Answer).where(
                            Answer.response_id == response_id,
                            Answer.question_id == event.question,
                        )
                    )
            if scores is not None:
                await self._replace_scores(session, dek, response_id, scores)

    async def _upsert_answer(
        self,
        session: AsyncSession,
        dek: bytes,
        response_id: str,
        event: AnswerRecorded,
        now: datetime,
    ) -> None:
        answer_id = await session.scalar(
            select(Answer.id).where(
                Answer.response_id == response_id, Answer.question_id == event.question
            )
        )
        if answer_id is None:
            answer_id = self.new_id()
            await session.execute(
                insert(Answer).values(
                    id=answer_id,
                    response_id=response_id,
                    question_id=event.question,
                    value_enc=self._answer_enc(dek, answer_id, event),
                    answered_at=now,
                )
            )
        else:
            await session.execute(
                update(Answer)
                .where(Answer.id == answer_id)
                .values(value_enc=self._answer_enc(dek, answer_id, event), answered_at=now)
            )

    async def set_prompt(self, returnee_id: str, message_id: int) -> None:
        """Remember the chat message showing the current question of the survey in
        progress (a message id: no content)."""
        if self.hot is not None:
            await self.hot.set_prompt(returnee_id, message_id)
            return
        async with self.autocommit() as session:
            await session.execute(
                update(SurveyResponse)
                .where(
                    SurveyResponse.returnee_id == returnee_id,
                    SurveyResponse.status == "in_progress",
                )
                .values(prompt_message_id=message_id)
            )

    async def response_status(self, returnee_id: str, wave: Wave) -> str | None:
        async with self.sessions() as session:
            response = await self._response(session, returnee_id, wave)
            return response.status if response else None

    async def store_scores(self, returnee_id: str, wave: Wave, result: ScoreResult) -> None:
        """Store a completed survey's scores under ``result``'s weight table (re-scoring;
        a survey's first scores are written with its last answer by :meth:`save_step`)."""
        async with self.sessions.begin() as session:
            response = await self._response(session, returnee_id, wave)
            if response is None or response.status != "completed":
                raise StorageError("only a completed survey is scored")
            dek = await self.keys.returnee(session, returnee_id)
            await self._replace_scores(session, dek, response.id, result)

    async def store_scores_many(self, results: Sequence[tuple[str, str, ScoreResult]]) -> None:
        """Store the scores of many completed surveys, (response id, returnee id, result)
        each, in one transaction (re-scoring a batch)."""
        if not results:
            return
        async with self.sessions.begin() as session:
            deks = await keys.returnee_keys(session, self.keyring, {r for _, r, _ in results})
            for version in {result.weights_version for _, _, result in results}:
                await session.execute(
                    delete(Score).where(
                        Score.response_id.in_(
                            [i for i, _, r in results if r.weights_version == version]
                        ),
                        Score.weights_version == version,
                    )
                )
            now, rows = self.clock(), []
            for response_id, returnee_id, result in results:
                score_id = self.new_id()
                values = json.dumps(result.as_dict())
                rows.append(
                    {
                        "id": score_id,
                        "response_id": response_id,
                        "weights_version": result.weights_version,
                        "values_enc": keys.encrypt(
                            deks[returnee_id], "scores", score_id, "values", values
                        ),
                        "computed_at": now,
                    }
                )
            await session.execute(insert(Score), rows)

    async def _replace_scores(
        self, session: AsyncSession, dek: bytes, response_id: str, result: ScoreResult
    ) -> None:
        await session.execute(
            delete(Score).where(
                Score.response_id == response_id, Score.weights_version == result.weights_version
            )
        )
        score_id = self.new_id()
        values = json.dumps(result.as_dict())
        await session.execute(
            insert(Score).values(
                id=score_id,
                response_id=response_id,
                weights_version=result.weights_version,
                values_enc=keys.encrypt(dek, "scores", score_id, "values", values),
                computed_at=self.clock(),
            )
        )

    async def unscored_surveys(
        self, definition: FlowDefinition
    ) -> list[tuple[str, Wave, SessionState]]:
        """Completed surveys without any scores: (returnee, wave, state), for the repair
        that scores them."""
        scored = select(Score.response_id)
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(SurveyResponse.returnee_id, SurveyResponse.wave).where(
                        SurveyResponse.status == "completed", SurveyResponse.id.not_in(scored)
                    )
                )
            ).all()
        found: list[tuple[str, Wave, SessionState]] = []
        for returnee_id, wave in rows:
            if wave not in WAVES:
                continue
            state = await self.load_state(returnee_id, wave, definition)
            if state is not None:
                found.append((returnee_id, wave, state))
        return found

    async def scores(self, returnee_id: str) -> list[StoredScores]:
        async with self.sessions.begin() as session:
            result = await session.execute(
                select(Score, SurveyResponse.wave)
                .join(SurveyResponse, Score.response_id == SurveyResponse.id)
                .where(SurveyResponse.returnee_id == returnee_id)
                .order_by(Score.computed_at)
            )
            rows = [(row[0], row[1]) for row in result.all()]
            if not rows:
                return []
            dek = await self.keys.returnee(session, returnee_id)
            return [
                StoredScores(
                    wave=wave,
                    weights_version=s.weights_version,
                    values=json.loads(keys.decrypt(dek, "scores", s.id, "values", s.values_enc)),
                    computed_at=s.computed_at,
                )
                for s, wave in rows
            ]

    async def delete_survey_data(self, session: AsyncSession, returnee_id: str) -> None:
        responses = select(SurveyResponse.id).where(SurveyResponse.returnee_id == returnee_id)
        await session.execute(delete(Answer).where(Answer.response_id.in_(responses)))
        await session.execute(delete(Score).where(Score.response_id.in_(responses)))
        await session.execute(
            delete(SurveyResponse).where(SurveyResponse.returnee_id == returnee_id)
        )
