"""Data keys and field ciphers: one data key per returnee, wrapped by the keyring's KEK.

Every encrypted column goes through :func:`encrypt` and :func:`decrypt`, whose associated
data binds the ciphertext to its table, row and column. :func:`returnee_keys` unwraps the
keys of many returnees with one query (staff reads go through the data in batches).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import Keyring, decrypt_field, encrypt_field, field_aad
from storage.models import DataKey


def returnee_owner(returnee_id: str) -> str:
    """The owner name of a returnee's data key (bound into its wrapping)."""
    return f"returnee:{returnee_id}"


def encrypt(dek: bytes, table: str, row_id: str, column: str, value: str) -> bytes:
    return encrypt_field(dek, value.encode("utf-8"), field_aad(table, row_id, column))


def decrypt(dek: bytes, table: str, row_id: str, column: str, blob: bytes) -> str:
    return decrypt_field(dek, blob, field_aad(table, row_id, column)).decode("utf-8")


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
