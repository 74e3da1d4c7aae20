"""The statements every survey update runs, on PostgreSQL, straight on asyncpg.

Through SQLAlchemy's async session each statement cost about 0.5-1 ms of CPU (session,
pool checkout and reset, greenlet switches, ORM loading), and a survey answer took about
ten of them: over half of a worker's CPU. Here each step is one prepared statement on
asyncpg connections of this module's own (prepared once per connection, no transaction
around single statements), and a button press runs three of them (1, 4 and 5):

1. whether this update was seen before, who is talking, and their open survey with its
   data key and all its answers;
2. (the open survey again, when a handler needs it afresh);
3. (the survey's consent, data key and response, when the step is not for the survey
   read in 1.);
4. the survey's progress, the answers and the update's "applied" mark, in one statement
   that also checks the consent again, so nothing is written for someone who withdrew
   or was erased meanwhile, and writes only if the survey is still at the sequence
   number the step was computed from (compare-and-set);
5. the update's "replied" mark, with the message now showing the next question.

Only plain values cross this module: encryption and the rules stay in :class:`Store`,
which falls back to its SQLAlchemy path (the one SQLite uses) for everything else and
for the rare cases (a survey's first answer, a returnee without a data key yet). The
test suite runs on both back ends, so both paths are held to the same behaviour.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

#: at DEBUG, statements and their parameters, as SQLAlchemy's echo logs its own (values
#: are ciphertexts, pseudonyms and ids, never answers: the privacy tests read this log)
log = logging.getLogger(__name__)

# $1 update id, $2 sender's pseudonym (or null), $3 the data key owners' prefix. The
# sender's survey in progress comes along (most updates are answers to it).
UPDATE_CONTEXT = """
SELECT (SELECT replied FROM processed_updates WHERE update_id = $1) AS replied,
       r.id AS returnee_id, r.public_id, r.status AS returnee_status,
       r.language AS returnee_language, r.country, r.return_date, r.consent_version,
       r.channel AS returnee_channel, r.audio_prompts,
       s.id, s.wave, s.flow_id, s.flow_version, s.language, s.current_question, s.seq,
       s.pending_enc, s.status, s.prompt_message_id, k.kek_id, k.wrapped, a.ids,
       a.questions, a.values
FROM (SELECT 1) AS one
LEFT JOIN returnees AS r ON r.telegram_pseudonym = $2
LEFT JOIN survey_responses AS s ON s.returnee_id = r.id AND s.status = 'in_progress'
LEFT JOIN data_keys AS k ON k.owner = $3 || r.id
LEFT JOIN LATERAL (
    SELECT array_agg(id) AS ids, array_agg(question_id) AS questions,
           array_agg(value_enc) AS values
    FROM answers WHERE response_id = s.id
) AS a ON true
LIMIT 1
"""

OPEN_SURVEY = """
SELECT s.id, s.returnee_id, s.wave, s.flow_id, s.flow_version, s.language,
       s.current_question, s.seq, s.pending_enc, s.status, s.prompt_message_id, k.kek_id,
       k.wrapped, a.ids, a.questions, a.values
FROM survey_responses AS s
JOIN data_keys AS k ON k.owner = $2
CROSS JOIN LATERAL (
    SELECT array_agg(id) AS ids, array_agg(question_id) AS questions,
           array_agg(value_enc) AS values
    FROM answers WHERE response_id = s.id
) AS a
WHERE s.returnee_id = $1 AND s.status = 'in_progress'
LIMIT 1
"""

SAVE_CONTEXT = """
SELECT r.status, r.consent_version, k.kek_id, k.wrapped, s.id AS response_id,
       s.status AS response_status
FROM returnees AS r
LEFT JOIN data_keys AS k ON k.owner = $2
LEFT JOIN survey_responses AS s ON s.returnee_id = r.id AND s.wave = $3
WHERE r.id = $1
"""

# $1 returnee, $2 response, $3 update id or null, $4 now, $5-$7 answers (ids, question
# ids, ciphertexts), $8 question ids whose answers are discarded, $9-$13 progress,
# $14 completed, $15 the survey's seq the step was computed from. The progress is
# written first, only if the consent holds and the survey is still at $15
# (compare-and-set: a concurrent step of the same survey waits for this row's lock, then
# finds seq moved on); the update's mark and the answers only if it was. An answer
# stored before takes the new row id its ciphertext is bound to (the id is part of the
# ciphertext's associated data).
SAVE_STEP = """
WITH ok AS (
    SELECT id FROM returnees
    WHERE id = $1 AND status = 'active' AND consent_version IS NOT NULL
), progressed AS (
    UPDATE survey_responses
    SET flow_version = $9, language = $10, current_question = $11, seq = $12,
        pending_enc = $13, updated_at = $4,
        completed_at = CASE WHEN $14 AND status <> 'completed' THEN $4 ELSE completed_at END,
        status = CASE WHEN $14 THEN 'completed' ELSE status END
    WHERE id = $2 AND seq = $15 AND EXISTS (SELECT 1 FROM ok)
    RETURNING id
), applied AS (
    INSERT INTO processed_updates (update_id, at, replied)
    SELECT $3, $4, false FROM progressed WHERE $3::bigint IS NOT NULL
), discarded AS (
    DELETE FROM answers
    WHERE response_id = $2 AND question_id = ANY($8::text[])
      AND EXISTS (SELECT 1 FROM progressed)
), recorded AS (
    INSERT INTO answers (id, response_id, question_id, value_enc, answered_at)
    SELECT a.id, $2, a.question_id, a.value_enc, $4
    FROM progressed, unnest($5::text[], $6::text[], $7::bytea[]) AS a(id, question_id, value_enc)
    ON CONFLICT (response_id, question_id) DO UPDATE
    SET id = excluded.id, value_enc = excluded.value_enc, answered_at = excluded.answered_at
)
SELECT id FROM progressed
"""

SET_PROMPT = """
UPDATE survey_responses SET prompt_message_id = $2
WHERE returnee_id = $1 AND status = 'in_progress'
"""

# $1 update id, $2 now, $3 returnee, $4 the message now showing their current question
MARK_REPLIED_AND_PROMPT = """
WITH replied AS (
    INSERT INTO processed_updates (update_id, at, replied) VALUES ($1, $2, true)
    ON CONFLICT (update_id) DO UPDATE SET replied = true
)
UPDATE survey_responses SET prompt_message_id = $4
WHERE returnee_id = $3 AND status = 'in_progress'
"""

MARK_REPLIED = """
INSERT INTO processed_updates (update_id, at, replied) VALUES ($1, $2, true)
ON CONFLICT (update_id) DO UPDATE SET replied = true
"""


class UpdateSeenBefore(Exception):
    """The update's "applied" mark exists already: nothing of the step was written."""


#: URL options SQLAlchemy's asyncpg dialect keeps for itself (not asyncpg's)
_SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func")


def asyncpg_connect_args(engine: AsyncEngine) -> dict[str, Any]:
    """asyncpg's connection arguments for the engine's database, as SQLAlchemy's own
    asyncpg dialect derives them from the URL (host, port, user, password, ``ssl``...);
    its statement cache follows ``prepared_statement_cache_size``."""
    _, options = engine.dialect.create_connect_args(engine.url)
    args = {k: v for k, v in options.items() if k not in _SQLALCHEMY_ONLY}
    if "prepared_statement_cache_size" in options:  # e.g. 0 behind PgBouncer (transactions)
        args["statement_cache_size"] = int(options["prepared_statement_cache_size"])
    return args


class Connections:
    """At most ``size`` asyncpg connections, opened when first needed, each used by one
    statement at a time, the most recently used first.

    asyncpg's own pool guards against what these statements never do (open a transaction,
    set session state, take a lock): its checkout, reset and idle timers cost as much CPU
    as the statement itself. Here a connection goes back as it is after a statement the
    server answered, even with an error (no transaction is left open); after anything else
    (lost connection, cancelled while running) it is closed and a new one opened next
    time."""

    def __init__(self, connect_args: dict[str, Any], size: int) -> None:
        self._connect_args = connect_args
        # None: a connection not opened yet (or closed after a failure)
        self._free: asyncio.LifoQueue[asyncpg.Connection | None] = asyncio.LifoQueue()
        for _ in range(size):
            self._free.put_nowait(None)
        self._size = size

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        free = self._free
        connection = free.get_nowait() if free.qsize() else await free.get()
        try:
            if connection is None or connection.is_closed():
                connection = await asyncpg.connect(**self._connect_args)
            return await connection.fetchrow(query, *args)
        except asyncpg.PostgresError:
            raise  # (answered by the server: the connection is fine)
        except BaseException:
            if connection is not None:
                connection.terminate()
            connection = None
            raise
        finally:
            free.put_nowait(connection)

    async def close(self) -> None:
        """Close every connection, waiting for those in use to come back (a later
        statement opens a new one)."""
        taken = [await self._free.get() for _ in range(self._size)]
        for connection in taken:
            self._free.put_nowait(None)
            if connection is not None:
                await connection.close()


class PgHotPath:
    """A few asyncpg connections of its own for the hot statements, opened when needed."""

    def __init__(self, connect_args: dict[str, Any], *, max_size: int) -> None:
        self._connections = Connections(connect_args, max_size)

    async def close(self) -> None:
        await self._connections.close()

    async def _fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s\n%r", query.strip(), args)
        return await self._connections.fetchrow(query, *args)

    async def update_context(
        self, update_id: int, pseudonym: str | None, key_owner_prefix: str
    ) -> asyncpg.Record | None:
        return await self._fetchrow(UPDATE_CONTEXT, update_id, pseudonym, key_owner_prefix)

    async def open_survey(self, returnee_id: str, key_owner: str) -> asyncpg.Record | None:
        return await self._fetchrow(OPEN_SURVEY, returnee_id, key_owner)

    async def save_context(
        self, returnee_id: str, key_owner: str, wave: str
    ) -> asyncpg.Record | None:
        return await self._fetchrow(SAVE_CONTEXT, returnee_id, key_owner, wave)

    async def save_step(
        self,
        *,
        returnee_id: str,
        response_id: str,
        update_id: int | None,
        now: datetime,
        answers: Sequence[tuple[str, str, bytes]],
        discarded: Sequence[str],
        progress: tuple[str, str, str | None, int, bytes | None],
        completed: bool,
        base_seq: int,
    ) -> bool:
        """Write one step; False if nothing was written (no consent, no such survey, or
        the survey is no longer at ``base_seq``: the general path tells which).

        Raises :class:`UpdateSeenBefore` if the update was applied before (atomic: then
        nothing of this step was written either).
        """
        try:
            row = await self._fetchrow(
                SAVE_STEP,
                returnee_id,
                response_id,
                update_id,
                now,
                [a[0] for a in answers],
                [a[1] for a in answers],
                [a[2] for a in answers],
                list(discarded),
                *progress,
                completed,
                base_seq,
            )
        except asyncpg.UniqueViolationError as exc:
            if exc.table_name == "processed_updates":
                raise UpdateSeenBefore(update_id) from exc
            raise
        return row is not None

    async def ping(self) -> None:
        """Raises if these connections cannot reach the database (the health check)."""
        await self._fetchrow("SELECT 1")

    async def set_prompt(self, returnee_id: str, message_id: int) -> None:
        await self._fetchrow(SET_PROMPT, returnee_id, message_id)

    async def mark_replied(
        self, update_id: int, now: datetime, prompt: tuple[str, int] | None = None
    ) -> None:
        """The update's "replied" mark, and (``prompt``: returnee, message id) the message
        now showing the returnee's current question, in one statement."""
        if prompt is None:
            await self._fetchrow(MARK_REPLIED, update_id, now)
        else:
            await self._fetchrow(MARK_REPLIED_AND_PROMPT, update_id, now, *prompt)
