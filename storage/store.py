"""The repository: every read and write of personal data goes through :class:`Store`.

It encrypts on the way in and decrypts on the way out, refuses to store survey answers
without consent, and erases completely. It knows nothing of Telegram.

:class:`Store` is a facade over one module per aggregate, composed over the same
sessions, keyring, clock and id generator: data keys (:mod:`storage.keys`), returnees and
invitations (:mod:`storage.returnees`), consent and surveys (:mod:`storage.surveys`),
feedback (:mod:`storage.feedback`), staff and the audit log (:mod:`storage.staff_audit`),
profiles and assistance (:mod:`storage.caseload`), follow-up flags and actions
(:mod:`storage.followup`).
It keeps what spans them: opening and verifying the database, the processed updates
(read together with the returnee and their survey on every update) and the returnee's
own rights (see everything kept, erase everything).
"""

from __future__ import annotations

import asyncio
import calendar
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from storage import keys
from storage.caseload import Caseload
from storage.codes import short_code
from storage.config import Settings
from storage.crypto import (
    CryptoError,
    Keyring,
    MissingKeyError,
    WrongKeyError,
)
from storage.db import current_revision, head_revision, make_engine
from storage.errors import (
    AlreadyApplied,
    CaseAlreadyEnrolled,
    ConsentRequired,
    FeedbackLimitReached,
    InviteProblem,
    NotFound,
    SchemaNotReady,
    StaleProgress,
    StorageError,
)
from storage.feedback import FEEDBACK_OWNER, FEEDBACK_PER_DAY, FeedbackBox, Voice
from storage.followup import FollowUp
from storage.keys import DataKeys
from storage.media_uploads import MediaUploads
from storage.models import (
    Answer,
    AssistanceItem,
    AuditEntry,
    Base,
    ConsentEvent,
    DataKey,
    Feedback,
    Invite,
    KeyCheck,
    ProcessedUpdate,
    Reminder,
    Returnee,
    ReturneeProfile,
    Score,
    SurveyResponse,
)
from storage.pg_hotpath import PgHotPath, asyncpg_connect_args
from storage.returnees import ReturneeInfo, Returnees
from storage.staff_audit import StaffAudit
from storage.surveys import OpenSurvey, StoredScores, Surveys
from storage.waves import WAVES, Wave

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

UpdateState = Literal["new", "applied", "replied"]


def _update_state(replied: bool | None) -> UpdateState:
    return "new" if replied is None else "replied" if replied else "applied"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (the month's last day where it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def load_keyring(settings: Settings) -> Keyring:
    """The keyring from ``RSSBOT_MASTER_KEY`` or the key file; a clear error otherwise."""
    if settings.master_key is not None:
        return Keyring.from_json(settings.master_key.get_secret_value(), "RSSBOT_MASTER_KEY")
    return Keyring.read_file(settings.resolved_key_file)


class UpdateContext(NamedTuple):
    """What every update starts with (see :meth:`Store.update_context`)."""

    state: UpdateState
    returnee: ReturneeInfo | None
    #: the returnee's survey in progress (None: none is open, or nobody is talking), or
    #: "unread" where the back end did not read it with the rest (SQLite)
    survey: OpenSurvey | Literal["unread"] | None = "unread"


class Store:
    def __init__(
        self,
        engine: AsyncEngine,
        keyring: Keyring,
        *,
        clock: Callable[[], datetime] = utcnow,
        new_id: Callable[[], str] = new_uuid,
        hot_pool_size: int = 10,
    ) -> None:
        self.engine = engine
        self.keyring = keyring
        self.clock = clock
        self.new_id = new_id
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        #: single statements on the hot path of every update (reads, the processed mark):
        #: autocommit, no BEGIN / COMMIT round trips
        self.autocommit = async_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
        #: PostgreSQL: the statements of every survey update on asyncpg directly
        self.hot: PgHotPath | None = None
        if engine.url.drivername == "postgresql+asyncpg":
            self.hot = PgHotPath(asyncpg_connect_args(engine), max_size=hot_pool_size)
        #: data keys (created on first use, re-wrapped when the KEK rotates)
        self.keys = DataKeys(self.sessions, keyring, lambda: self.clock())
        self.rewrap_data_keys = self.keys.rewrap
        self.keys_in_use = self.keys.in_use
        #: staff members and the audit log
        self.staff = StaffAudit(self.sessions, keyring, lambda: self.clock(), lambda: self.new_id())
        self.audit = self.staff.record
        self.audit_many = self.staff.record_many
        self.audit_entries = self.staff.entries
        self.staff_member = self.staff.member
        self.add_staff = self.staff.add
        self.remove_staff = self.staff.remove
        self.list_staff = self.staff.listing
        #: returnees and their invitations
        self.returnees = Returnees(
            self.sessions,
            self.autocommit,
            keyring,
            self.keys,
            self.staff,
            lambda: self.clock(),
            lambda: self.new_id(),
        )
        r = self.returnees
        self.enroll, self.case_ref_index = r.enroll, r.case_ref_index
        self.find_by_case_ref, self.find_by_public_id = r.find_by_case_ref, r.find_by_public_id
        self.bind_telegram, self.find_by_telegram, self.get = r.bind, r.find_by_telegram, r.get
        self.chat_id, self.case_ref = r.chat_id, r.case_ref
        self.set_language, self.set_status = r.set_language, r.set_status
        self.create_invite, self.reissue_invite = r.create_invite, r.reissue_invite
        self.redeem_invite, self.heard_from = r.redeem_invite, r.heard_from
        self.set_audio = r.set_audio
        self.find_whatsapp, self.link_whatsapp = r.find_whatsapp, r.link_whatsapp
        self.renumber_whatsapp = r.renumber_whatsapp
        #: consent, surveys and their scores
        self.surveys = Surveys(
            self.sessions,
            self.autocommit,
            self.hot,
            keyring,
            self.keys,
            self.returnees,
            lambda update_id: self.is_processed(update_id),
            self._insert,
            lambda: self.clock(),
            lambda: self.new_id(),
        )
        v = self.surveys
        self.completed_waves, self.wave_in_progress = v.completed_waves, v.wave_in_progress
        self.give_consent, self.decline_consent = v.give_consent, v.decline_consent
        self.withdraw_consent = v.withdraw_consent
        self.load_state, self.open_survey, self.save_step = v.load_state, v.open_survey, v.save_step
        self.set_prompt, self.response_status = v.set_prompt, v.response_status
        self.store_scores, self.store_scores_many = v.store_scores, v.store_scores_many
        self.unscored_surveys, self.scores = v.unscored_surveys, v.scores
        #: confidential feedback (an aggregate of its own)
        self.feedback = FeedbackBox(
            self.sessions,
            keyring,
            self.keys,
            self.staff,
            self.surveys.require_active,
            lambda: self.clock(),
            lambda: self.new_id(),
        )
        #: who returnees are and the assistance they received
        self.caseload = Caseload(
            self.sessions,
            keyring,
            self.keys,
            self.returnees,
            self.staff,
            lambda: self.clock(),
            lambda: self.new_id(),
        )
        #: flags on completed surveys and what caseworkers did about them
        self.followup = FollowUp(
            self.sessions,
            keyring,
            self.keys,
            self.staff,
            lambda: self.clock(),
            lambda: self.new_id(),
        )
        #: the audio prompts each channel already holds
        self.media = MediaUploads(self.sessions, lambda: self.clock())
        self.add_feedback = self.feedback.add
        self.feedback_left_today = self.feedback.left_today
        self.read_feedback = self.feedback.read

    @classmethod
    async def open(
        cls, settings: Settings, *, keyring: Keyring | None = None, **kwargs: Any
    ) -> Store:
        """Open the configured database with the configured (or given) keys; fail closed."""
        keyring = keyring or load_keyring(settings)
        url = settings.resolved_database_url
        options: dict[str, Any] = {}
        if not settings.is_sqlite:
            # the updates' statements use the hot path's pool (db_pool_size connections);
            # SQLAlchemy's serves the rest (first answers, consent, staff, rounds)
            quarter = max(2, settings.db_pool_size // 4)
            options = {"pool_size": quarter, "max_overflow": quarter}
            kwargs.setdefault("hot_pool_size", settings.db_pool_size)
        store = cls(make_engine(url, **options), keyring, **kwargs)
        try:
            await store.verify()
        except BaseException:
            await store.close()
            raise
        return store

    async def ping(self) -> None:
        """Raises if the database cannot be reached, by either pool (health checks)."""
        async with self.engine.connect() as connection:
            await connection.execute(select(1))
        if self.hot is not None:
            await self.hot.ping()

    async def close(self) -> None:
        if self.hot is not None:
            await self.hot.close()
        await self.engine.dispose()

    # -- keys ----------------------------------------------------------------------------

    async def verify(self) -> None:
        """Schema at head, and the keyring is the one this database was written with."""
        if await current_revision(self.engine) != head_revision():
            raise SchemaNotReady("the database schema is not up to date: run 'rssbot db upgrade'")
        async with self.sessions.begin() as session:
            checks = {k.key_id: k.fingerprint for k in await session.scalars(select(KeyCheck))}
            expected = {k: self.keyring.fingerprint(k) for k in self.keyring.keks}
            expected["pepper"] = self.keyring.pepper_fingerprint()
            for key_id, fingerprint in expected.items():
                if key_id in checks and checks[key_id] != fingerprint:
                    raise WrongKeyError(
                        f"key '{key_id}' of {self.keyring.source} does not match this database"
                    )
            used = set(await session.scalars(select(DataKey.kek_id).distinct()))
            missing = sorted(used - set(self.keyring.keks))
            if missing:
                raise WrongKeyError(
                    f"this database has data keys wrapped by {', '.join(missing)}, which "
                    f"{self.keyring.source} does not hold: wrong key file?"
                )
            missing_checks = [k for k in expected if k not in checks]
            if not missing_checks:
                return
            # several processes may start together on a new database: whoever writes a
            # key's fingerprint first wins, and everyone checks against what was written
            await session.execute(
                self._insert(KeyCheck)
                .values(
                    [
                        {"key_id": k, "fingerprint": expected[k], "created_at": self.clock()}
                        for k in missing_checks
                    ]
                )
                .on_conflict_do_nothing(index_elements=["key_id"])
            )
        async with self.sessions() as session:
            written = await session.scalars(
                select(KeyCheck).where(KeyCheck.key_id.in_(missing_checks))
            )
            for check in written:
                if check.fingerprint != expected[check.key_id]:
                    raise WrongKeyError(
                        f"key '{check.key_id}' of {self.keyring.source} does not match this "
                        "database"
                    )

    def _insert(self, model: type[Base]) -> Any:
        """The dialect's INSERT, which has ON CONFLICT (PostgreSQL and SQLite)."""
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(model)

    enc = staticmethod(keys.encrypt)
    dec = staticmethod(keys.decrypt)

    # -- updates ---------------------------------------------------------------------------

    async def update_state(self, update_id: int) -> UpdateState:
        """``new``; ``applied`` (its answer is stored, the reply may not have been seen:
        ``save_step`` recorded it, the handler did not finish); or ``replied``."""
        return (await self.update_context(update_id, None)).state

    async def update_context(
        self, update_id: int, user_id: int | str | None, *, channel: str = "telegram"
    ) -> UpdateContext:
        """The update's state (see :meth:`update_state`) and the returnee who sent it, in
        one statement: this runs before every update. On PostgreSQL the same statement
        reads the returnee's survey in progress."""
        pseudonym = None if user_id is None else self.keyring.pseudonym(channel, user_id)
        if self.hot is not None:
            row = await self.hot.update_context(update_id, pseudonym, keys.returnee_owner(""))
            assert row is not None  # (one row, whether or not anyone matched)
            state = _update_state(row["replied"])
            if row["returnee_id"] is None:
                return UpdateContext(state, None, None)
            returnee = ReturneeInfo(
                id=row["returnee_id"],
                public_id=row["public_id"],
                status=row["returnee_status"],
                language=row["returnee_language"],
                country=row["country"],
                return_date=row["return_date"],
                consent_version=row["consent_version"],
                channel=row["returnee_channel"],
                audio=row["audio_prompts"],
                bound=True,
            )
            return UpdateContext(state, returnee, self.surveys.open_survey_of(returnee.id, row))
        replied = (
            select(ProcessedUpdate.replied)
            .where(ProcessedUpdate.update_id == update_id)
            .scalar_subquery()
        )
        async with self.autocommit() as session:
            if pseudonym is not None:
                found = (
                    await session.execute(
                        select(Returnee, replied).where(Returnee.telegram_pseudonym == pseudonym)
                    )
                ).first()
                if found is not None:
                    return UpdateContext(_update_state(found[1]), ReturneeInfo.of(found[0]))
            return UpdateContext(_update_state(await session.scalar(select(replied))), None, None)

    async def replied_meanwhile(self, update_id: int, *, within: float = 3.0) -> bool:
        """For an update found applied but not replied: whether it is replied within
        ``within`` seconds of being applied. Another copy of the update, handled at the
        same time by another worker, is then still replying (true as soon as it has); a
        copy whose worker died never does (false once ``within`` has passed since the
        update was applied, at once for an older one)."""
        deadline = asyncio.get_running_loop().time() + within  # (whatever the store's clock)
        while True:
            async with self.autocommit() as session:
                found = (
                    await session.execute(
                        select(ProcessedUpdate.replied, ProcessedUpdate.at).where(
                            ProcessedUpdate.update_id == update_id
                        )
                    )
                ).first()
            if found is None or found.replied:
                return found is not None
            at = found.at if found.at.tzinfo else found.at.replace(tzinfo=UTC)
            age = (self.clock() - at).total_seconds()
            if age >= within or asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.05)

    async def is_processed(self, update_id: int) -> bool:
        return await self.update_state(update_id) != "new"

    async def mark_processed(self, update_id: int, prompt: tuple[str, int] | None = None) -> None:
        """Record an update as handled and replied to, in one statement whether or not
        ``save_step`` recorded it already (upsert); with ``prompt`` (returnee, message id),
        also the message now showing the returnee's current question (:meth:`set_prompt`)."""
        if self.hot is not None:
            await self.hot.mark_replied(update_id, self.clock(), prompt)
            return
        if prompt is not None:
            await self.set_prompt(*prompt)
        statement = (
            self._insert(ProcessedUpdate)
            .values(update_id=update_id, at=self.clock(), replied=True)
            .on_conflict_do_update(index_elements=["update_id"], set_={"replied": True})
        )
        async with self.autocommit() as session:  # one statement: atomic without BEGIN/COMMIT
            await session.execute(statement)

    async def prune_processed(self, older_than: timedelta = timedelta(days=2)) -> int:
        async with self.sessions.begin() as session:
            result = await session.execute(
                delete(ProcessedUpdate).where(ProcessedUpdate.at < self.clock() - older_than)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # -- the returnee's own rights ---------------------------------------------------------

    async def my_data(self, returnee_id: str) -> dict[str, Any]:
        """Everything kept about a returnee, decrypted, for the returnee themselves."""
        async with self.sessions.begin() as session:
            row = await self.returnees.row(session, returnee_id)
            dek = await self.keys.returnee(session, returnee_id)
            events = await session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.returnee_id == returnee_id)
                .order_by(ConsentEvent.at)
            )
            responses = (
                await session.scalars(
                    select(SurveyResponse).where(SurveyResponse.returnee_id == returnee_id)
                )
            ).all()
            surveys = []
            for response in responses:
                answers = await session.scalars(
                    select(Answer)
                    .where(Answer.response_id == response.id)
                    .order_by(Answer.answered_at, Answer.question_id)
                )
                scores = await session.scalars(
                    select(Score)
                    .where(Score.response_id == response.id)
                    .order_by(Score.computed_at)
                )
                surveys.append(
                    {
                        "wave": response.wave,
                        "status": response.status,
                        "started": response.started_at.date().isoformat(),
                        "answers": {
                            a.question_id: json.loads(
                                self.dec(dek, "answers", a.id, "value", a.value_enc)
                            )
                            for a in answers
                        },
                        "scores": [
                            json.loads(self.dec(dek, "scores", sc.id, "values", sc.values_enc))
                            for sc in scores
                        ],
                    }
                )
            feedback = await session.scalars(
                select(Feedback).where(Feedback.returnee_id == returnee_id)
            )
            profile = await session.get(ReturneeProfile, returnee_id)
            items = await session.scalars(
                select(AssistanceItem)
                .where(AssistanceItem.returnee_id == returnee_id)
                .order_by(AssistanceItem.start_date, AssistanceItem.created_at)
            )
            return {
                "public_id": row.public_id,
                "status": row.status,
                "language": row.language,
                "country": row.country,
                "return_date": row.return_date.isoformat() if row.return_date else None,
                "case_ref": (
                    self.dec(dek, "returnees", row.id, "case_ref", row.case_ref_enc)
                    if row.case_ref_enc
                    else None
                ),
                "telegram_linked": row.telegram_pseudonym is not None,
                "consent": [
                    {"kind": e.kind, "version": e.consent_version, "at": e.at.isoformat()}
                    for e in events
                ],
                "surveys": surveys,
                "feedback": [
                    {
                        "receipt": f.receipt_code,
                        "rating": f.rating,
                        "text": self.dec(dek, "feedback", f.id, "text", f.text_enc),
                        **({"voice_seconds": f.voice_seconds} if f.voice_enc else {}),
                    }
                    for f in feedback
                ],
                "profile": self.caseload.own_view(dek, profile) if profile else None,
                "assistance": [
                    {
                        "type": line.type,
                        "status": line.status,
                        "start": line.start.isoformat() if line.start else None,
                    }
                    for line in (self.caseload.line(dek, item) for item in items)
                ],
            }

    async def erase(self, returnee_id: str, *, actor: str = "returnee") -> None:
        """Delete every row about the returnee and destroy their data key (crypto-shredding).

        Anonymous feedback is linked to no one and stays. The audit log keeps its entries
        without the identity, and records that an erasure happened.
        """
        async with self.sessions.begin() as session:
            await self.returnees.row(session, returnee_id)
            await self.followup.delete_for(session, returnee_id)
            await self.caseload.delete_for(session, returnee_id)
            await self.surveys.delete_survey_data(session, returnee_id)
            await session.execute(
                delete(ConsentEvent).where(ConsentEvent.returnee_id == returnee_id)
            )
            await session.execute(delete(Feedback).where(Feedback.returnee_id == returnee_id))
            await session.execute(delete(Invite).where(Invite.returnee_id == returnee_id))
            await session.execute(delete(Reminder).where(Reminder.returnee_id == returnee_id))
            await session.execute(
                update(AuditEntry)
                .where(AuditEntry.returnee_id == returnee_id)
                .values(returnee_id=None)
            )
            await session.execute(
                delete(DataKey).where(DataKey.owner == keys.returnee_owner(returnee_id))
            )
            await session.execute(delete(Returnee).where(Returnee.id == returnee_id))
            self.staff.record(session, actor, "erasure", None)

    async def erase_past_retention(self, months: int) -> int:
        """Erase every returnee whose return (or, without a return date, enrolment) is
        more than ``months`` ago: the retention period the consent screen states."""
        cutoff = months_before(self.clock().date(), months)
        cutoff_at = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC)
        async with self.sessions() as session:
            expired = list(
                await session.scalars(
                    select(Returnee.id).where(
                        (Returnee.return_date < cutoff)
                        | (Returnee.return_date.is_(None) & (Returnee.created_at < cutoff_at))
                    )
                )
            )
        for returnee_id in expired:
            await self.erase(returnee_id, actor="retention")
        return len(expired)


__all__ = [
    "FEEDBACK_OWNER",
    "FEEDBACK_PER_DAY",
    "WAVES",
    "AlreadyApplied",
    "Base",
    "CaseAlreadyEnrolled",
    "ConsentRequired",
    "CryptoError",
    "FeedbackLimitReached",
    "InviteProblem",
    "MissingKeyError",
    "NotFound",
    "OpenSurvey",
    "ReturneeInfo",
    "SchemaNotReady",
    "StaleProgress",
    "StorageError",
    "Store",
    "StoredScores",
    "Voice",
    "Wave",
    "WrongKeyError",
    "load_keyring",
    "short_code",
]
