"""The repository: every read and write of personal data goes through :class:`Store`.

It encrypts on the way in and decrypts on the way out, refuses to store survey answers
without consent, and erases completely. It knows nothing of Telegram.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import TypeAdapter
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from flows.engine import Step
from flows.model import FlowDefinition
from flows.state import Answer as AnswerValue
from flows.state import AnswerDiscarded, AnswerRecorded, SessionState
from scoring import ScoreResult
from storage import keys
from storage.config import Settings
from storage.crypto import (
    CryptoError,
    Keyring,
    MissingKeyError,
    WrongKeyError,
    new_data_key,
)
from storage.db import current_revision, head_revision, make_engine
from storage.models import (
    Answer,
    AuditEntry,
    Base,
    ConsentEvent,
    DataKey,
    Feedback,
    FeedbackQuota,
    Invite,
    KeyCheck,
    ProcessedUpdate,
    Reminder,
    Returnee,
    Score,
    StaffMember,
    SurveyResponse,
)
from storage.pg_hotpath import PgHotPath, UpdateSeenBefore, asyncpg_connect_args
from storage.waves import WAVES, Wave

if TYPE_CHECKING:
    from asyncpg import Record

log = logging.getLogger(__name__)

ReturneeStatus = Literal["invited", "active", "declined", "opted_out", "unreachable"]
UpdateState = Literal["new", "applied", "replied"]
STAFF_ROLES = ("admin", "caseworker", "feedback_officer", "viewer")
FEEDBACK_OWNER = "feedback"
#: feedback messages a returnee may send a day (the confidential inbox cannot be flooded)
FEEDBACK_PER_DAY = 3
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
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


class StorageError(Exception):
    """A message safe to show to an operator."""


class SchemaNotReady(StorageError):
    pass


class ConsentRequired(StorageError):
    pass


class NotFound(StorageError):
    pass


class AlreadyApplied(StorageError):
    """This Telegram update was already applied (by this or another worker)."""

    def __init__(self, update_id: int) -> None:
        self.update_id = update_id
        super().__init__(f"update {update_id} was already applied")


class FeedbackLimitReached(StorageError):
    """The returnee has sent as much feedback today as one may."""

    def __init__(self, per_day: int) -> None:
        self.per_day = per_day
        super().__init__(f"at most {per_day} feedback messages a day")


class CaseAlreadyEnrolled(StorageError):
    """A case reference that an enrolled returnee already holds."""

    def __init__(self, holder: ReturneeInfo) -> None:
        super().__init__(f"this case reference is already enrolled as {holder.public_id}")
        self.holder = holder


class InviteProblem(StorageError):
    """An invite that cannot be used: ``reason`` is unknown, expired, used or taken."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invite {reason}")


def _update_state(replied: bool | None) -> UpdateState:
    return "new" if replied is None else "replied" if replied else "applied"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


def short_code(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


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


@dataclass(frozen=True)
class ReturneeInfo:
    id: str
    public_id: str
    status: str
    language: str
    country: str | None
    return_date: date | None
    consent_version: str | None
    bound: bool

    @classmethod
    def of(cls, row: Returnee) -> ReturneeInfo:
        return cls(
            id=row.id,
            public_id=row.public_id,
            status=row.status,
            language=row.language,
            country=row.country,
            return_date=row.return_date,
            consent_version=row.consent_version,
            bound=row.telegram_pseudonym is not None,
        )


@dataclass(frozen=True)
class StaffListing:
    id: str
    name: str | None
    role: str
    added: datetime
    #: their last audited action (None: none yet)
    last_action: datetime | None


@dataclass(frozen=True)
class OpenSurvey:
    """A survey in progress as read for one update: the engine's state, and what saving
    the update's step needs, so that it is not read a second time."""

    wave: Wave
    state: SessionState
    response_id: str
    key: bytes = field(repr=False)
    #: the chat message showing the current question, if known
    prompt: int | None = None


class UpdateContext(NamedTuple):
    """What every update starts with (see :meth:`Store.update_context`)."""

    state: UpdateState
    returnee: ReturneeInfo | None
    #: the returnee's survey in progress (None: none is open, or nobody is talking), or
    #: "unread" where the back end did not read it with the rest (SQLite)
    survey: OpenSurvey | Literal["unread"] | None = "unread"


@dataclass(frozen=True)
class StoredScores:
    wave: str
    weights_version: str
    values: dict[str, Any]
    computed_at: datetime


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

    async def _dek(self, session: AsyncSession, owner: str, *, create: bool) -> bytes | None:
        row = await session.get(DataKey, owner)
        if row is not None:
            return self.keyring.unwrap(row.kek_id, row.wrapped, owner)
        if not create:
            return None
        dek = new_data_key()
        kek_id, wrapped = self.keyring.wrap(dek, owner)
        session.add(DataKey(owner=owner, kek_id=kek_id, wrapped=wrapped, created_at=self.clock()))
        return dek

    async def returnee_dek(self, session: AsyncSession, returnee_id: str) -> bytes:
        return await self._returnee_dek(session, returnee_id)

    @staticmethod
    def _dek_owner(returnee_id: str) -> str:
        return keys.returnee_owner(returnee_id)

    async def _returnee_dek(self, session: AsyncSession, returnee_id: str) -> bytes:
        dek = await self._dek(session, self._dek_owner(returnee_id), create=True)
        assert dek is not None
        return dek

    enc = staticmethod(keys.encrypt)
    dec = staticmethod(keys.decrypt)

    async def rewrap_data_keys(
        self, *, batch_size: int = 500, after_batch: Callable[[int], None] | None = None
    ) -> int:
        """Re-wrap every data key not under the active KEK; resumable, batch by batch.

        Answers are not touched: only the small wrapped keys change.
        """
        done = 0
        while True:
            async with self.sessions.begin() as session:
                rows = (
                    await session.scalars(
                        select(DataKey)
                        .where(DataKey.kek_id != self.keyring.active)
                        .order_by(DataKey.owner)
                        .limit(batch_size)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                for row in rows:
                    dek = self.keyring.unwrap(row.kek_id, row.wrapped, row.owner)
                    row.kek_id, row.wrapped = self.keyring.wrap(dek, row.owner)
            if not rows:
                return done
            done += len(rows)
            if after_batch is not None:
                after_batch(done)

    async def keys_in_use(self) -> dict[str, int]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(DataKey.kek_id, func.count()).group_by(DataKey.kek_id)
            )
            return {row[0]: int(row[1]) for row in rows.all()}

    # -- returnees -----------------------------------------------------------------------

    async def enroll(
        self,
        *,
        case_ref: str,
        return_date: date | None,
        country: str | None,
        language: str,
        actor: str = "system",
    ) -> ReturneeInfo:
        now = self.clock()
        returnee_id = self.new_id()
        async with self.sessions.begin() as session:
            holder = await session.scalar(
                select(Returnee).where(Returnee.case_ref_index == self.case_ref_index(case_ref))
            )
            if holder is not None:
                raise CaseAlreadyEnrolled(ReturneeInfo.of(holder))
            dek = await self._returnee_dek(session, returnee_id)
            row = Returnee(
                id=returnee_id,
                public_id=short_code("R-"),
                telegram_pseudonym=None,
                case_ref_enc=self.enc(dek, "returnees", returnee_id, "case_ref", case_ref),
                case_ref_index=self.case_ref_index(case_ref),
                country=country.upper() if country else None,
                return_date=return_date,
                language=language,
                status="invited",
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            self._audit(session, actor, "enroll", returnee_id)
            return ReturneeInfo.of(row)

    def case_ref_index(self, case_ref: str) -> str:
        """Blind index of a case reference (HMAC under the pepper), for exact look-ups."""
        return self.keyring.pseudonym("case", " ".join(case_ref.split()).casefold())

    async def find_by_case_ref(self, case_ref: str, *, actor: str) -> ReturneeInfo | None:
        """Find a returnee by case reference; the look-up is audited."""
        async with self.sessions.begin() as session:
            row = await session.scalar(
                select(Returnee).where(Returnee.case_ref_index == self.case_ref_index(case_ref))
            )
            self._audit(session, actor, "find_case", row.id if row else None)
            return ReturneeInfo.of(row) if row else None

    async def find_by_public_id(self, public_id: str) -> ReturneeInfo | None:
        async with self.sessions() as session:
            row = await session.scalar(
                select(Returnee).where(Returnee.public_id == public_id.strip().upper())
            )
            return ReturneeInfo.of(row) if row else None

    async def bind_telegram(
        self, returnee_id: str, user_id: int | str, chat_id: int, *, channel: str = "telegram"
    ) -> None:
        """Link a chat to a returnee: only an HMAC pseudonym of the user id is kept."""
        async with self.sessions.begin() as session:
            row = await self._returnee(session, returnee_id)
            dek = await self._returnee_dek(session, returnee_id)
            row.telegram_pseudonym = self.keyring.pseudonym(channel, user_id)
            row.chat_id_enc = self.enc(dek, "returnees", returnee_id, "chat_id", str(chat_id))
            row.updated_at = self.clock()

    async def find_by_telegram(
        self, user_id: int | str, *, channel: str = "telegram"
    ) -> ReturneeInfo | None:
        pseudonym = self.keyring.pseudonym(channel, user_id)
        async with self.autocommit() as session:
            row = await session.scalar(
                select(Returnee).where(Returnee.telegram_pseudonym == pseudonym)
            )
            return ReturneeInfo.of(row) if row else None

    async def get(self, returnee_id: str) -> ReturneeInfo:
        async with self.sessions() as session:
            return ReturneeInfo.of(await self._returnee(session, returnee_id))

    async def _returnee(self, session: AsyncSession, returnee_id: str) -> Returnee:
        row = await session.get(Returnee, returnee_id)
        if row is None:
            raise NotFound("no such returnee")
        return row

    async def chat_id(self, returnee_id: str) -> int | None:
        async with self.sessions.begin() as session:
            row = await self._returnee(session, returnee_id)
            if row.chat_id_enc is None:
                return None
            dek = await self._returnee_dek(session, returnee_id)
            return int(self.dec(dek, "returnees", returnee_id, "chat_id", row.chat_id_enc))

    async def case_ref(self, returnee_id: str, *, actor: str) -> str | None:
        """The case reference (personal data): every read is audited."""
        async with self.sessions.begin() as session:
            row = await self._returnee(session, returnee_id)
            self._audit(session, actor, "read_case_ref", returnee_id)
            if row.case_ref_enc is None:
                return None
            dek = await self._returnee_dek(session, returnee_id)
            return self.dec(dek, "returnees", returnee_id, "case_ref", row.case_ref_enc)

    async def set_language(self, returnee_id: str, language: str) -> None:
        async with self.sessions.begin() as session:
            row = await self._returnee(session, returnee_id)
            row.language, row.updated_at = language, self.clock()

    async def set_status(self, returnee_id: str, status: ReturneeStatus) -> None:
        async with self.sessions.begin() as session:
            row = await self._returnee(session, returnee_id)
            row.status, row.updated_at = status, self.clock()
            if status != "active":
                await self._cancel_reminders(session, returnee_id, status)

    @staticmethod
    async def _cancel_reminders(session: AsyncSession, returnee_id: str, reason: str) -> None:
        """Pending reminders of someone who stopped, blocked or left are never sent."""
        await session.execute(
            update(Reminder)
            .where(Reminder.returnee_id == returnee_id, Reminder.status == "pending")
            .values(status="skipped", reason=reason)
        )

    # -- invites -------------------------------------------------------------------------

    @staticmethod
    def _token_hash(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    async def create_invite(self, returnee_id: str, *, valid_days: int = 30) -> str:
        """A random single-use token for a ``/start`` link; only its hash is stored."""
        async with self.sessions.begin() as session:
            await self._returnee(session, returnee_id)
            return self._new_invite(session, returnee_id, valid_days)

    def _new_invite(self, session: AsyncSession, returnee_id: str, valid_days: int) -> str:
        token = secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-]
        now = self.clock()
        session.add(
            Invite(
                id=self.new_id(),
                returnee_id=returnee_id,
                token_hash=self._token_hash(token),
                expires_at=now + timedelta(days=valid_days),
                created_at=now,
            )
        )
        return token

    async def reissue_invite(
        self, returnee_id: str, *, valid_days: int = 30, actor: str = "system"
    ) -> str:
        """A new invitation for an enrolled returnee (a lost or expired link): every
        unused invitation of theirs stops working, and the re-issue is audited."""
        now = self.clock()
        async with self.sessions.begin() as session:
            row = await self._returnee(session, returnee_id)
            if row.status == "declined":
                raise InviteProblem("declined")
            await session.execute(
                update(Invite)
                .where(Invite.returnee_id == returnee_id, Invite.used_at.is_(None))
                .values(expires_at=now)
            )
            self._audit(session, actor, "reissue_invite", returnee_id)
            return self._new_invite(session, returnee_id, valid_days)

    async def redeem_invite(self, token: str, user_id: int, chat_id: int) -> ReturneeInfo:
        """Bind this Telegram user to the invited returnee, once; or raise InviteProblem."""
        now = self.clock()
        pseudonym = self.keyring.pseudonym("telegram", user_id)
        async with self.sessions.begin() as session:
            invite = await session.scalar(
                select(Invite).where(Invite.token_hash == self._token_hash(token))
            )
            if invite is None:
                raise InviteProblem("unknown")
            if invite.used_at is not None:
                raise InviteProblem("used")
            if invite.expires_at < now:
                raise InviteProblem("expired")
            taken = await session.scalar(
                select(Returnee.id).where(Returnee.telegram_pseudonym == pseudonym)
            )
            if taken is not None and taken != invite.returnee_id:
                raise InviteProblem("taken")
            row = await self._returnee(session, invite.returnee_id)
            dek = await self._returnee_dek(session, row.id)
            row.telegram_pseudonym = pseudonym
            row.chat_id_enc = self.enc(dek, "returnees", row.id, "chat_id", str(chat_id))
            row.updated_at = now
            invite.used_at = now
            return ReturneeInfo.of(row)

    # -- updates ---------------------------------------------------------------------------

    async def update_state(self, update_id: int) -> UpdateState:
        """``new``; ``applied`` (its answer is stored, the reply may not have been seen:
        ``save_step`` recorded it, the handler did not finish); or ``replied``."""
        return (await self.update_context(update_id, None)).state

    async def update_context(
        self, update_id: int, user_id: int | None, *, channel: str = "telegram"
    ) -> UpdateContext:
        """The update's state (see :meth:`update_state`) and the returnee who sent it, in
        one statement: this runs before every update. On PostgreSQL the same statement
        reads the returnee's survey in progress."""
        pseudonym = None if user_id is None else self.keyring.pseudonym(channel, user_id)
        if self.hot is not None:
            row = await self.hot.update_context(update_id, pseudonym, self._dek_owner(""))
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
                bound=True,
            )
            return UpdateContext(state, returnee, self._open_survey_of(returnee.id, row))
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

    # -- consent ---------------------------------------------------------------------------

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
            row = await self._returnee(session, returnee_id)
            row.status, row.consent_version = "active", version
            row.language, row.updated_at = language, self.clock()
            self._consent_event(session, returnee_id, "given", version, language)

    async def decline_consent(self, returnee_id: str, *, version: str, language: str) -> None:
        """Keep only a pseudonymous 'declined' mark: personal fields and the data key go."""
        async with self.sessions.begin() as session:
            row = await self._returnee(session, returnee_id)
            await self._delete_survey_data(session, returnee_id)
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
            row = await self._returnee(session, returnee_id)
            version = row.consent_version or "-"
            row.status, row.consent_version, row.updated_at = "opted_out", None, self.clock()
            self._consent_event(session, returnee_id, "withdrawn", version, language)
            await self._cancel_reminders(session, returnee_id, "opted_out")

    # -- surveys ---------------------------------------------------------------------------

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
            dek = await self._returnee_dek(session, returnee_id)
            return await self._state_of(session, response, dek)

    async def open_survey(self, returnee_id: str) -> OpenSurvey | None:
        """The survey in progress, if any, with its state. On PostgreSQL one statement (the
        survey, its data key and its answers); elsewhere two. No transaction: under READ
        COMMITTED each statement has its own snapshot anyway, and the chat's lock orders
        its updates."""
        owner = self._dek_owner(returnee_id)
        if self.hot is not None:
            row = await self.hot.open_survey(returnee_id, owner)
            return None if row is None else self._open_survey_of(returnee_id, row)
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
            return OpenSurvey(response.wave, state, response.id, dek, response.prompt_message_id)

    def _open_survey_of(self, returnee_id: str, row: Record) -> OpenSurvey | None:
        """The open survey in a row of the hot path's statements (None if there is none)."""
        if row["id"] is None or row["wrapped"] is None or row["wave"] not in WAVES:
            return None
        owner = self._dek_owner(returnee_id)
        dek = self.keyring.unwrap(row["kek_id"], row["wrapped"], owner)
        answers = zip(row["ids"] or (), row["questions"] or (), row["values"] or (), strict=True)
        state = self._session_state(dek, dict(row.items()), answers)
        return OpenSurvey(row["wave"], state, row["id"], dek, row["prompt_message_id"])

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
                self.dec(dek, "answers", answer_id, "value", value_enc)
            )
            for answer_id, question_id, value_enc in answer_rows
        }
        pending: list[str] = []
        if (blob := response["pending_enc"]) is not None:
            pending = json.loads(self.dec(dek, "survey_responses", response["id"], "pending", blob))
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
    ) -> None:
        """Persist what an engine step changed, in one transaction; consent required.

        With ``update_id``, the Telegram update is recorded as applied in the same
        transaction: if a worker dies after this commit, the redelivered update is
        recognised and not applied a second time (raises :class:`AlreadyApplied`).
        A step that completes the survey carries its ``scores``: the last answer, the
        completed status, the scores and the update's mark commit together.
        """
        if step.state.completed and scores is None:
            raise StorageError("a completed survey is saved with its scores")
        if (
            self.hot is not None
            and not step.state.completed
            and await self._save_step_hot(self.hot, returnee_id, wave, step, update_id, opened)
        ):
            return
        try:
            await self._save_step(returnee_id, wave, step, update_id, scores)
        except IntegrityError as exc:
            if update_id is not None and await self.is_processed(update_id):
                raise AlreadyApplied(update_id) from exc
            raise

    @staticmethod
    def _require_consent(status: str, consent_version: str | None) -> None:
        if status != "active" or consent_version is None:
            raise ConsentRequired("no consent: nothing of this survey can be stored")

    def _answer_enc(self, dek: bytes, answer_id: str, event: AnswerRecorded) -> bytes:
        return self.enc(dek, "answers", answer_id, "value", event.answer.model_dump_json())

    def _pending_enc(self, dek: bytes, response_id: str, state: SessionState) -> bytes | None:
        """A multi-select's selection in progress (None when there is none)."""
        if not state.pending:
            return None
        return self.enc(dek, "survey_responses", response_id, "pending", json.dumps(state.pending))

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
        recorded = [e for e in step.events if isinstance(e, AnswerRecorded)]
        discarded = [e.question for e in step.events if isinstance(e, AnswerDiscarded)]
        questions = {e.question for e in recorded}
        if len(questions) != len(recorded) or questions & set(discarded):
            return False  # (the same answer changed twice in one step: in order, below)
        if opened is not None and opened.wave == wave:
            # (the consent is checked by the write itself)
            dek, response_id = opened.key, opened.response_id
        else:
            owner = self._dek_owner(returnee_id)
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
        owner = self._dek_owner(returnee_id)
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
                dek = await self._returnee_dek(session, returnee_id)
            if response_id is None:
                response_id, response_status = self.new_id(), "in_progress"
                await session.execute(
                    insert(SurveyResponse).values(
                        id=response_id,
                        returnee_id=returnee_id,
                        wave=wave,
                        flow_id=state.flow_id,
                        flow_version=state.flow_version,
                        language=state.language,
                        status=response_status,
                        seq=0,
                        started_at=now,
                        updated_at=now,
                    )
                )
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
            changes: dict[str, Any] = {
                "flow_version": state.flow_version,
                "language": state.language,
                "current_question": state.current,
                "seq": state.seq,
                "pending_enc": self._pending_enc(dek, response_id, state),
                "updated_at": now,
            }
            if state.completed and response_status != "completed":
                changes.update(status="completed", completed_at=now)
            await session.execute(
                update(SurveyResponse).where(SurveyResponse.id == response_id).values(**changes)
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
            dek = await self._returnee_dek(session, returnee_id)
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
                        "values_enc": self.enc(
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
                values_enc=self.enc(dek, "scores", score_id, "values", values),
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
            dek = await self._returnee_dek(session, returnee_id)
            return [
                StoredScores(
                    wave=wave,
                    weights_version=s.weights_version,
                    values=json.loads(self.dec(dek, "scores", s.id, "values", s.values_enc)),
                    computed_at=s.computed_at,
                )
                for s, wave in rows
            ]

    # -- feedback --------------------------------------------------------------------------

    async def add_feedback(
        self,
        returnee_id: str,
        text: str,
        *,
        rating: int | None,
        anonymous: bool,
        per_day: int = FEEDBACK_PER_DAY,
    ) -> str:
        """Store feedback from a returnee who consented, and return its receipt code.

        Anonymous feedback is linked to no one (its date is the day only). At most
        ``per_day`` messages a day per returnee (:class:`FeedbackLimitReached`), counted
        under a pseudonym of the returnee and the day, unlinked to the feedback rows.
        """
        if rating is not None and not 1 <= rating <= 5:
            raise StorageError("a rating is between 1 and 5")
        feedback_id = self.new_id()
        receipt = short_code("FB-")
        now = self.clock()
        today = now.date()
        async with self.sessions.begin() as session:
            row = await self._returnee(session, returnee_id)
            self._require_consent(row.status, row.consent_version)
            await session.execute(delete(FeedbackQuota).where(FeedbackQuota.day < today))
            key = self._feedback_quota_key(returnee_id, today)
            quota = await session.get(FeedbackQuota, key, with_for_update=True)
            if quota is None:
                session.add(FeedbackQuota(key=key, day=today, count=1))
            elif quota.count >= per_day:
                raise FeedbackLimitReached(per_day)
            else:
                quota.count += 1
            if anonymous:
                dek = await self._dek(session, FEEDBACK_OWNER, create=True)
                owner_id, created = None, now.replace(hour=0, minute=0, second=0, microsecond=0)
            else:
                dek = await self._returnee_dek(session, returnee_id)
                owner_id, created = returnee_id, now
            assert dek is not None
            session.add(
                Feedback(
                    id=feedback_id,
                    returnee_id=owner_id,
                    anonymous=owner_id is None,
                    text_enc=self.enc(dek, "feedback", feedback_id, "text", text),
                    rating=rating,
                    receipt_code=receipt,
                    created_at=created,
                )
            )
        return receipt

    def _feedback_quota_key(self, returnee_id: str, day: date) -> str:
        return self.keyring.pseudonym("feedback-quota", f"{returnee_id}:{day.isoformat()}")

    async def feedback_left_today(self, returnee_id: str, per_day: int = FEEDBACK_PER_DAY) -> int:
        """How many more feedback messages the returnee may send today."""
        key = self._feedback_quota_key(returnee_id, self.clock().date())
        async with self.sessions() as session:
            quota = await session.get(FeedbackQuota, key)
        return max(0, per_day - (quota.count if quota is not None else 0))

    async def read_feedback(self, *, actor: str) -> list[dict[str, Any]]:
        """All feedback, decrypted, for a feedback officer; the read is audited."""
        async with self.sessions.begin() as session:
            rows = (await session.scalars(select(Feedback).order_by(Feedback.created_at))).all()
            self._audit(session, actor, "read_feedback", None, f"{len(rows)} items")
            out = []
            for row in rows:
                owner = keys.returnee_owner(row.returnee_id) if row.returnee_id else FEEDBACK_OWNER
                dek = await self._dek(session, owner, create=False)
                if dek is None:
                    continue
                out.append(
                    {
                        "receipt": row.receipt_code,
                        "anonymous": row.anonymous,
                        "rating": row.rating,
                        "text": self.dec(dek, "feedback", row.id, "text", row.text_enc),
                        "date": row.created_at.date().isoformat(),
                    }
                )
            return out

    # -- the returnee's own rights ---------------------------------------------------------

    async def my_data(self, returnee_id: str) -> dict[str, Any]:
        """Everything kept about a returnee, decrypted, for the returnee themselves."""
        async with self.sessions.begin() as session:
            row = await self._returnee(session, returnee_id)
            dek = await self._returnee_dek(session, returnee_id)
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
                    }
                    for f in feedback
                ],
            }

    async def _delete_survey_data(self, session: AsyncSession, returnee_id: str) -> None:
        responses = select(SurveyResponse.id).where(SurveyResponse.returnee_id == returnee_id)
        await session.execute(delete(Answer).where(Answer.response_id.in_(responses)))
        await session.execute(delete(Score).where(Score.response_id.in_(responses)))
        await session.execute(
            delete(SurveyResponse).where(SurveyResponse.returnee_id == returnee_id)
        )

    async def erase(self, returnee_id: str, *, actor: str = "returnee") -> None:
        """Delete every row about the returnee and destroy their data key (crypto-shredding).

        Anonymous feedback is linked to no one and stays. The audit log keeps its entries
        without the identity, and records that an erasure happened.
        """
        async with self.sessions.begin() as session:
            await self._returnee(session, returnee_id)
            await self._delete_survey_data(session, returnee_id)
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
            self._audit(session, actor, "erasure", None)

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

    # -- staff and audit -------------------------------------------------------------------

    def audit(
        self,
        session: AsyncSession,
        actor: str,
        action: str,
        returnee_id: str | None,
        detail: str | None = None,
    ) -> None:
        """Record a staff read or change of personal data (in the caller's transaction)."""
        self._audit(session, actor, action, returnee_id, detail)

    async def audit_many(
        self,
        session: AsyncSession,
        actor: str,
        action: str,
        entries: Sequence[tuple[str | None, str | None]],
    ) -> None:
        """Record many reads at once, (returnee id, detail) each, in the caller's
        transaction (staff reads that go through the data in batches)."""
        at = self.clock()
        rows = [
            {"id": self.new_id(), "at": at, "actor": actor, "action": action,
             "returnee_id": r, "detail": d}
            for r, d in entries
        ]  # fmt: skip
        if rows:
            await session.execute(insert(AuditEntry), rows)

    def _audit(
        self,
        session: AsyncSession,
        actor: str,
        action: str,
        returnee_id: str | None,
        detail: str | None = None,
    ) -> None:
        session.add(
            AuditEntry(
                id=self.new_id(),
                at=self.clock(),
                actor=actor,
                action=action,
                returnee_id=returnee_id,
                detail=detail,
            )
        )

    async def audit_entries(self) -> Sequence[AuditEntry]:
        async with self.sessions() as session:
            return (await session.scalars(select(AuditEntry).order_by(AuditEntry.at))).all()

    async def staff_member(self, telegram_user_id: int) -> tuple[str, str] | None:
        """(staff id, role) of a registered staff member, found by pseudonym."""
        pseudonym = self.keyring.pseudonym("telegram", telegram_user_id)
        async with self.sessions() as session:
            row = await session.scalar(
                select(StaffMember).where(StaffMember.telegram_pseudonym == pseudonym)
            )
            return (row.id, row.role) if row else None

    async def remove_staff(self, telegram_user_id: int) -> bool:
        pseudonym = self.keyring.pseudonym("telegram", telegram_user_id)
        async with self.sessions.begin() as session:
            result = await session.execute(
                delete(StaffMember).where(StaffMember.telegram_pseudonym == pseudonym)
            )
            return bool(getattr(result, "rowcount", 0))

    async def list_staff(self) -> list[StaffListing]:
        """Every staff member with their name, role, when they were added and their last
        audited action (Telegram ids are not kept)."""
        last = (
            select(AuditEntry.actor, func.max(AuditEntry.at).label("at"))
            .where(AuditEntry.actor.like("staff:%"))
            .group_by(AuditEntry.actor)
            .subquery()
        )
        query = (
            select(StaffMember, last.c.at)
            .outerjoin(last, last.c.actor == "staff:" + StaffMember.id)
            .order_by(StaffMember.created_at)
        )
        async with self.sessions() as session:
            return [
                StaffListing(r.id, r.name, r.role, r.created_at, at)
                for r, at in (await session.execute(query)).all()
            ]

    async def add_staff(self, telegram_user_id: int, role: str, name: str | None = None) -> str:
        """Register a staff member, or change their role (and name, when given)."""
        if role not in STAFF_ROLES:
            raise StorageError(f"unknown role '{role}': one of {', '.join(STAFF_ROLES)}")
        name = " ".join(name.split())[:80] or None if name else None
        staff_id = self.new_id()
        pseudonym = self.keyring.pseudonym("telegram", telegram_user_id)
        async with self.sessions.begin() as session:
            existing = await session.scalar(
                select(StaffMember).where(StaffMember.telegram_pseudonym == pseudonym)
            )
            if existing is not None:
                existing.role = role
                existing.name = name or existing.name
                return existing.id
            session.add(
                StaffMember(
                    id=staff_id,
                    telegram_pseudonym=pseudonym,
                    role=role,
                    name=name,
                    created_at=self.clock(),
                )
            )
        return staff_id


__all__ = [
    "WAVES",
    "Base",
    "ConsentRequired",
    "CryptoError",
    "MissingKeyError",
    "NotFound",
    "ReturneeInfo",
    "SchemaNotReady",
    "StorageError",
    "Store",
    "StoredScores",
    "Wave",
    "WrongKeyError",
    "load_keyring",
]
