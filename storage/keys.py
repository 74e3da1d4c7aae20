"""Data keys and field ciphers: one data key per returnee (and one for anonymous
feedback), wrapped by the keyring's KEK.

Every encrypted column goes through :func:`encrypt` and :func:`decrypt`, whose associated
data binds the ciphertext to its table, row and column. :func:`returnee_keys` unwraps the
keys of many returnees with one query (staff reads go through the data in batches).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.crypto import Keyring, decrypt_field, encrypt_field, field_aad, new_data_key
from storage.models import DataKey


def returnee_owner(returnee_id: str) -> str:
    """The owner name of a returnee's data key (bound into its wrapping)."""
    return f"returnee:{returnee_id}"


def encrypt(dek: bytes, table: str, row_id: str, column: str, value: str) -> bytes:
    return encrypt_field(dek, value.encode("utf-8"), field_aad(table, row_id, column))


def decrypt(dek: bytes, table: str, row_id: str, column: str, blob: bytes) -> str:
    return decrypt_field(dek, blob, field_aad(table, row_id, column)).decode("utf-8")


def encrypt_bytes(dek: bytes, table: str, row_id: str, column: str, value: bytes) -> bytes:
    """:func:`encrypt` for a file (a voice note) rather than a text."""
    return encrypt_field(dek, value, field_aad(table, row_id, column))


def decrypt_bytes(dek: bytes, table: str, row_id: str, column: str, blob: bytes) -> bytes:
    return decrypt_field(dek, blob, field_aad(table, row_id, column))


async def returnee_keys(
    session: AsyncSession, keyring: Keyring, returnee_ids: Iterable[str]
) -> dict[str, bytes]:
    """The data keys of these returnees (returnee id -> key), fetched in one query; an
    erased returnee has none."""
    owners = {returnee_owner(r): r for r in returnee_ids}
    if not owners:
        return {}
    rows = await session.execute(
        select(DataKey.owner, DataKey.kek_id, DataKey.wrapped).where(
            DataKey.owner.in_(list(owners))
        )
    )
    return {
        owners[owner]: keyring.unwrap(kek_id, wrapped, owner) for owner, kek_id, wrapped in rows
    }


class DataKeys:
    """The data-key aggregate: one wrapped key per owner (a returnee, or the anonymous
    feedback box), created on first use, re-wrapped when the KEK rotates."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keyring: Keyring,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions, self.keyring, self.clock = sessions, keyring, clock

    async def get(self, session: AsyncSession, owner: str, *, create: bool) -> bytes | None:
        """The owner's data key (created when ``create`` and there is none yet)."""
        row = await session.get(DataKey, owner)
        if row is not None:
            return self.keyring.unwrap(row.kek_id, row.wrapped, owner)
        if not create:
            return None
        dek = new_data_key()
        kek_id, wrapped = self.keyring.wrap(dek, owner)
        session.add(DataKey(owner=owner, kek_id=kek_id, wrapped=wrapped, created_at=self.clock()))
        return dek

    async def returnee(self, session: AsyncSession, returnee_id: str) -> bytes:
        """A returnee's data key (created on first use)."""
        dek = await self.get(session, returnee_owner(returnee_id), create=True)
        assert dek is not None
        return dek

    async def rewrap(
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

    async def in_use(self) -> dict[str, int]:
        """How many data keys each KEK wraps."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(DataKey.kek_id, func.count()).group_by(DataKey.kek_id)
            )
            return {row[0]: int(row[1]) for row in rows.all()}
