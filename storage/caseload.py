"""The caseload aggregate: who returnees are (profiles) and the assistance they received.

Plain profile attributes are coarse categories kept as JSON codes; special categories,
the first name and the phone number are encrypted with the returnee's data key, as are
each assistance item's type and value. A caseload file is imported in batches: rows are
matched by the case reference's blind index, unchanged rows (same keyed digest) are not
written again, and a returnee's imported assistance follows the newest file (items
entered by staff are kept). Every change is audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import keys
from storage.codes import short_code
from storage.crypto import Keyring, new_data_key
from storage.errors import NotFound
from storage.keys import DataKeys, returnee_keys, returnee_owner
from storage.models import AssistanceItem, DataKey, Invite, Returnee, ReturneeProfile
from storage.returnees import ReturneeInfo, Returnees
from storage.scopes import Scope
from storage.staff_audit import StaffAudit

AttributeValue = str | tuple[str, ...]


@dataclass(frozen=True)
class Profile:
    """Who a returnee is (``attributes``: plain codes, ``sealed``: special categories)
    and how they are reached."""

    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    sealed: Mapping[str, AttributeValue] = field(default_factory=dict)
    first_name: str | None = None
    phone: str | None = None
    contact_whatsapp: bool = False
    office: str | None = None
    caseworker: str | None = None


@dataclass(frozen=True)
class Assistance:
    type: str
    level: str
    status: str
    start: date | None = None
    end: date | None = None
    #: a decimal amount as written ("1500", "250.50")
    value: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class CaseRecord:
    """One returnee of a caseload file, with the assistance listed for them."""

    case_ref: str
    return_date: date | None
    country: str | None
    language: str
    profile: Profile
    assistance: tuple[Assistance, ...] = ()


@dataclass(frozen=True)
class AssistanceLine(Assistance):
    id: str = ""
    source: str = ""


@dataclass(frozen=True)
class ProfileView:
    """A returnee's profile as staff see it: never the phone number itself."""

    attributes: dict[str, AttributeValue]
    sealed: dict[str, AttributeValue]
    first_name: str | None
    has_phone: bool
    contact_whatsapp: bool
    office: str | None
    caseworker: str | None


@dataclass(frozen=True)
class Created:
    """A returnee an import enrolled, what the file said of them, and their invitation
    token (shown once: only its hash is kept)."""

    returnee: ReturneeInfo
    token: str
    record: CaseRecord


@dataclass
class ImportOutcome:
    created: list[Created] = field(default_factory=list)
    updated: list[ReturneeInfo] = field(default_factory=list)
    unchanged: int = 0


def _frozen(values: Mapping[str, AttributeValue]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(values.items())}


def _thawed(values: Mapping[str, Any]) -> dict[str, AttributeValue]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


def _details(item: Assistance) -> str:
    return json.dumps({"type": item.type, "value": item.value, "currency": item.currency})


class Caseload:
    """Profiles and assistance of returnees."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keyring: Keyring,
        data_keys: DataKeys,
        returnees: Returnees,
        staff: StaffAudit,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self.sessions, self.keyring, self.keys, self.returnees = (
            sessions,
            keyring,
            data_keys,
            returnees,
        )
        self.staff, self.clock, self.new_id = staff, clock, new_id

    # -- digests -------------------------------------------------------------------------

    def _digest(self, purpose: str, value: Any) -> str:
        return self.keyring.pseudonym(purpose, json.dumps(value, sort_keys=True, default=str))

    def _profile_digest(self, record: CaseRecord) -> str:
        p = record.profile
        return self._digest(
            "caseload-row",
            [
                record.return_date,
                record.country,
                record.language,
                _frozen(p.attributes),
                _frozen(p.sealed),
                p.first_name,
                p.phone,
                p.contact_whatsapp,
                p.office,
                p.caseworker,
            ],
        )

    def _item_key(self, returnee_id: str, item: Assistance) -> str:
        return self._digest("assistance-key", [returnee_id, item.type, item.start, item.level])

    def _item_digest(self, item: Assistance) -> str:
        return self._digest(
            "assistance-row",
            [item.type, item.level, item.status, item.start, item.end, item.value, item.currency],
        )

    # -- writing -------------------------------------------------------------------------

    def _profile_values(
        self, dek: bytes, returnee_id: str, record: CaseRecord, now: datetime
    ) -> dict[str, Any]:
        p = record.profile
        table = "returnee_profiles"

        def enc(column: str, value: str | None) -> bytes | None:
            return None if value is None else keys.encrypt(dek, table, returnee_id, column, value)

        return {
            "returnee_id": returnee_id,
            "attributes": json.dumps(_frozen(p.attributes)) if p.attributes else None,
            "sealed_enc": enc("sealed", json.dumps(_frozen(p.sealed))) if p.sealed else None,
            "first_name_enc": enc("first_name", p.first_name),
            "phone_enc": enc("phone", p.phone),
            "contact_whatsapp": bool(p.contact_whatsapp and p.phone),
            "office": p.office,
            "caseworker": p.caseworker,
            "digest": self._profile_digest(record),
            "updated_at": now,
        }

    def _item_values(
        self,
        dek: bytes,
        returnee_id: str,
        item: Assistance,
        source: str,
        now: datetime,
        item_id: str | None = None,
    ) -> dict[str, Any]:
        item_id = item_id or self.new_id()
        return {
            "id": item_id,
            "returnee_id": returnee_id,
            "item_key": self._item_key(returnee_id, item),
            "details_enc": keys.encrypt(
                dek, "assistance_items", item_id, "details", _details(item)
            ),
            "level": item.level,
            "status": item.status,
            "start_date": item.start,
            "end_date": item.end,
            "source": source,
            "digest": self._item_digest(item),
            "created_at": now,
            "updated_at": now,
        }

    async def import_records(
        self,
        records: Sequence[CaseRecord],
        *,
        actor: str,
        valid_days: int = 30,
        batch_size: int = 500,
        after_batch: Callable[[int], None] | None = None,
    ) -> ImportOutcome:
        """Create or update the returnees of a caseload file (checked beforehand), batch
        by batch, each batch one transaction. New returnees get an invitation."""
        outcome = ImportOutcome()
        for start in range(0, len(records), batch_size):
            batch = records[start : start + batch_size]
            async with self.sessions.begin() as session:
                await self._import_batch(session, batch, actor, valid_days, outcome)
            if after_batch is not None:
                after_batch(start + len(batch))
        return outcome

    async def _import_batch(
        self,
        session: AsyncSession,
        batch: Sequence[CaseRecord],
        actor: str,
        valid_days: int,
        outcome: ImportOutcome,
    ) -> None:
        now = self.clock()
        by_index = {self.returnees.case_ref_index(r.case_ref): r for r in batch}
        found = {
            row.case_ref_index: row
            for row in await session.scalars(
                select(Returnee).where(Returnee.case_ref_index.in_(list(by_index)))
            )
        }
        ids = [row.id for row in found.values()]
        digests = dict(
            (
                await session.execute(
                    select(ReturneeProfile.returnee_id, ReturneeProfile.digest).where(
                        ReturneeProfile.returnee_id.in_(ids)
                    )
                )
            ).all()
        )
        items: dict[str, dict[str, tuple[str, str | None]]] = {}
        for rid, item_id, item_key, digest in await session.execute(
            select(
                AssistanceItem.returnee_id,
                AssistanceItem.id,
                AssistanceItem.item_key,
                AssistanceItem.digest,
            ).where(AssistanceItem.returnee_id.in_(ids), AssistanceItem.source == "import")
        ):
            items.setdefault(rid, {})[item_key] = (item_id, digest)
        deks = await returnee_keys(session, self.keyring, ids)
        new_returnees, new_keys, new_invites, profiles_new, items_new = [], [], [], [], []
        audit_new, audit_changed = [], []
        for index, record in by_index.items():
            row = found.get(index)
            if row is None:
                rid = self.new_id()
                dek = new_data_key()
                kek_id, wrapped = self.keyring.wrap(dek, returnee_owner(rid))
                new_keys.append(
                    {
                        "owner": returnee_owner(rid),
                        "kek_id": kek_id,
                        "wrapped": wrapped,
                        "created_at": now,
                    }
                )
                values: dict[str, Any] = {
                    "id": rid,
                    "public_id": short_code("R-"),
                    "case_ref_enc": keys.encrypt(
                        dek, "returnees", rid, "case_ref", record.case_ref
                    ),
                    "case_ref_index": index,
                    "country": record.country,
                    "return_date": record.return_date,
                    "language": record.language,
                    "status": "invited",
                    "created_at": now,
                    "updated_at": now,
                }
                new_returnees.append(values)
                profiles_new.append(self._profile_values(dek, rid, record, now))
                items_new += [
                    self._item_values(dek, rid, a, "import", now) for a in record.assistance
                ]
                token, invite = self.returnees.new_invite_row(rid, valid_days)
                new_invites.append(invite)
                info = ReturneeInfo(
                    id=rid,
                    public_id=values["public_id"],
                    status="invited",
                    language=record.language,
                    country=record.country,
                    return_date=record.return_date,
                    consent_version=None,
                    bound=False,
                )
                outcome.created.append(Created(info, token, record))
                audit_new.append((rid, "caseload import"))
                continue
            rid = row.id
            dek = deks.get(rid) or await self.keys.returnee(session, rid)
            changed = await self._update_existing(
                session, dek, row, record, digests, items.get(rid, {}), now
            )
            if changed:
                outcome.updated.append(ReturneeInfo.of(row))
                audit_changed.append((rid, "caseload import"))
            else:
                outcome.unchanged += 1
        if new_returnees:
            await session.execute(insert(DataKey), new_keys)
            await session.execute(insert(Returnee), new_returnees)
            await session.execute(insert(Invite), new_invites)
            await session.execute(insert(ReturneeProfile), profiles_new)
        if items_new:
            await session.execute(insert(AssistanceItem), items_new)
        if audit_new:
            await self.staff.record_many(session, actor, "enroll", audit_new)
        if audit_changed:
            await self.staff.record_many(session, actor, "update_profile", audit_changed)

    async def _update_existing(
        self,
        session: AsyncSession,
        dek: bytes,
        row: Returnee,
        record: CaseRecord,
        digests: Mapping[str, str | None],
        stored: Mapping[str, tuple[str, str | None]],
        now: datetime,
    ) -> bool:
        """Bring one enrolled returnee up to the file; whether anything changed."""
        rid, changed = row.id, False
        if digests.get(rid) != self._profile_digest(record):
            changed = True
            row.country, row.return_date, row.updated_at = record.country, record.return_date, now
            if row.telegram_pseudonym is None:  # (once joined, they chose their language)
                row.language = record.language
            values = self._profile_values(dek, rid, record, now)
            if rid in digests:
                await session.execute(
                    update(ReturneeProfile)
                    .where(ReturneeProfile.returnee_id == rid)
                    .values({k: v for k, v in values.items() if k != "returnee_id"})
                )
            else:
                await session.execute(insert(ReturneeProfile), [values])
        wanted = {self._item_key(rid, a): a for a in record.assistance}
        for key, item in wanted.items():
            if key not in stored:
                await session.execute(
                    insert(AssistanceItem), [self._item_values(dek, rid, item, "import", now)]
                )
                changed = True
            elif stored[key][1] != self._item_digest(item):
                item_id = stored[key][0]
                values = self._item_values(dek, rid, item, "import", now, item_id)
                del values["created_at"]
                await session.execute(
                    update(AssistanceItem).where(AssistanceItem.id == item_id).values(values)
                )
                changed = True
        gone = [item_id for key, (item_id, _) in stored.items() if key not in wanted]
        if gone:
            await session.execute(delete(AssistanceItem).where(AssistanceItem.id.in_(gone)))
            changed = True
        return changed

    async def enrolled(self, case_refs: Sequence[str]) -> int:
        """How many of ``case_refs`` are enrolled already (a dry run's preview)."""
        indexes = list({self.returnees.case_ref_index(c) for c in case_refs})
        found = 0
        async with self.sessions() as session:
            for start in range(0, len(indexes), 500):
                found += len(
                    (
                        await session.scalars(
                            select(Returnee.id).where(
                                Returnee.case_ref_index.in_(indexes[start : start + 500])
                            )
                        )
                    ).all()
                )
        return found

    async def out_of_scope(self, case_refs: Sequence[str], scope: Scope) -> set[str]:
        """The case references of ``case_refs`` that are enrolled already outside
        ``scope`` (an import in that scope may not change them)."""
        condition = scope.returnees()
        if condition is None or not case_refs:
            return set()
        by_index = {self.returnees.case_ref_index(c): c for c in case_refs}
        indexes = list(by_index)
        found: set[str] = set()
        async with self.sessions() as session:
            for start in range(0, len(indexes), 500):
                batch = Returnee.case_ref_index.in_(indexes[start : start + 500])
                known = set(await session.scalars(select(Returnee.case_ref_index).where(batch)))
                inside = await session.scalars(
                    select(Returnee.case_ref_index).where(batch, condition)
                )
                found |= {by_index[i] for i in known - set(inside) if i is not None}
        return found

    async def add_assistance(
        self, returnee_id: str, item: Assistance, *, actor: str, source: str = "console"
    ) -> str:
        """Record one item of assistance for a returnee; audited."""
        now = self.clock()
        async with self.sessions.begin() as session:
            await self.returnees.row(session, returnee_id)
            dek = await self.keys.returnee(session, returnee_id)
            values = self._item_values(dek, returnee_id, item, source, now)
            await session.execute(insert(AssistanceItem), [values])
            self.staff.record(session, actor, "add_assistance", returnee_id)
            return str(values["id"])

    async def set_assistance_status(
        self, returnee_id: str, item_id: str, status: str, *, actor: str
    ) -> None:
        """Mark a returnee's item planned, delivered or cancelled; audited."""
        async with self.sessions.begin() as session:
            row = await session.get(AssistanceItem, item_id)
            if row is None or row.returnee_id != returnee_id:
                raise NotFound("no such assistance item")
            row.status, row.updated_at = status, self.clock()
            self.staff.record(session, actor, "update_assistance", row.returnee_id, status)

    async def assign(self, returnee_id: str, caseworker: str | None, *, actor: str) -> None:
        """Make ``caseworker`` (a staff member's address or name; None: nobody) the one
        who follows a returnee; audited. A later import changes it only if the file's row
        for the returnee changes."""
        caseworker = " ".join((caseworker or "").split())[:80] or None
        async with self.sessions.begin() as session:
            if await session.get(Returnee, returnee_id) is None:
                raise NotFound("no such returnee")
            row = await session.get(ReturneeProfile, returnee_id)
            if row is None:
                session.add(
                    ReturneeProfile(
                        returnee_id=returnee_id,
                        caseworker=caseworker,
                        contact_whatsapp=False,
                        updated_at=self.clock(),
                    )
                )
            else:
                row.caseworker, row.updated_at = caseworker, self.clock()
            self.staff.record(session, actor, "assign_caseworker", returnee_id)

    # -- reading -------------------------------------------------------------------------

    async def profile(self, returnee_id: str, *, actor: str) -> ProfileView | None:
        """A returnee's profile (special categories decrypted); the read is audited."""
        async with self.sessions.begin() as session:
            row = await session.get(ReturneeProfile, returnee_id)
            if row is None:
                return None
            dek = await self.keys.returnee(session, returnee_id)
            self.staff.record(session, actor, "read_profile", returnee_id)
            return self._view(dek, row)

    @staticmethod
    def _view(dek: bytes, row: ReturneeProfile) -> ProfileView:
        table, rid = "returnee_profiles", row.returnee_id
        sealed = (
            json.loads(keys.decrypt(dek, table, rid, "sealed", row.sealed_enc))
            if row.sealed_enc
            else {}
        )
        first_name = (
            keys.decrypt(dek, table, rid, "first_name", row.first_name_enc)
            if row.first_name_enc
            else None
        )
        return ProfileView(
            attributes=_thawed(json.loads(row.attributes)) if row.attributes else {},
            sealed=_thawed(sealed),
            first_name=first_name,
            has_phone=row.phone_enc is not None,
            contact_whatsapp=row.contact_whatsapp,
            office=row.office,
            caseworker=row.caseworker,
        )

    @classmethod
    def own_view(cls, dek: bytes, row: ReturneeProfile) -> dict[str, Any]:
        """A profile as the returnee reads it (their own phone number shown by its last
        digits only: the screen may be seen by others)."""
        view = cls._view(dek, row)
        phone = (
            keys.decrypt(dek, "returnee_profiles", row.returnee_id, "phone", row.phone_enc)
            if row.phone_enc
            else None
        )
        return {
            "attributes": {**view.attributes, **view.sealed},
            "first_name": view.first_name,
            "phone_ending": phone[-3:] if phone else None,
            "contact_whatsapp": view.contact_whatsapp,
        }

    async def assistance(self, returnee_id: str) -> list[AssistanceLine]:
        """A returnee's assistance, oldest first (read with the case file, which audits)."""
        async with self.sessions.begin() as session:
            rows = (
                await session.scalars(
                    select(AssistanceItem)
                    .where(AssistanceItem.returnee_id == returnee_id)
                    .order_by(AssistanceItem.start_date, AssistanceItem.created_at)
                )
            ).all()
            if not rows:
                return []
            dek = await self.keys.returnee(session, returnee_id)
            return [self.line(dek, row) for row in rows]

    async def assistance_of_many(
        self, returnee_ids: Sequence[str]
    ) -> dict[str, list[AssistanceLine]]:
        """The assistance of many returnees (exports: their read is audited there), in
        batches of 500, each returnee's oldest first."""
        out: dict[str, list[AssistanceLine]] = {}
        ids = list(returnee_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            async with self.sessions() as session:
                rows = (
                    await session.scalars(
                        select(AssistanceItem)
                        .where(AssistanceItem.returnee_id.in_(chunk))
                        .order_by(AssistanceItem.start_date, AssistanceItem.created_at)
                    )
                ).all()
                deks = await returnee_keys(session, self.keyring, {r.returnee_id for r in rows})
            for row in rows:
                if row.returnee_id in deks:
                    out.setdefault(row.returnee_id, []).append(
                        self.line(deks[row.returnee_id], row)
                    )
        return out

    @staticmethod
    def line(dek: bytes, row: AssistanceItem) -> AssistanceLine:
        details = json.loads(
            keys.decrypt(dek, "assistance_items", row.id, "details", row.details_enc)
        )
        return AssistanceLine(
            type=details["type"],
            level=row.level,
            status=row.status,
            start=row.start_date,
            end=row.end_date,
            value=details.get("value"),
            currency=details.get("currency"),
            id=row.id,
            source=row.source,
        )

    async def whatsapp_contacts(self, returnee_ids: Sequence[str]) -> dict[str, str]:
        """The WhatsApp numbers of those of ``returnee_ids`` who agreed to be contacted
        there (returnee id -> number): for sending, never for showing."""
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(ReturneeProfile).where(
                        ReturneeProfile.returnee_id.in_(list(returnee_ids)),
                        ReturneeProfile.contact_whatsapp.is_(True),
                        ReturneeProfile.phone_enc.is_not(None),
                    )
                )
            ).all()
            deks = await returnee_keys(session, self.keyring, [r.returnee_id for r in rows])
        return {
            r.returnee_id: keys.decrypt(
                deks[r.returnee_id], "returnee_profiles", r.returnee_id, "phone", r.phone_enc
            )
            for r in rows
            if r.phone_enc is not None and r.returnee_id in deks
        }

    async def delete_for(self, session: AsyncSession, returnee_id: str) -> None:
        """Everything of the caseload about a returnee (erasure)."""
        await session.execute(
            delete(AssistanceItem).where(AssistanceItem.returnee_id == returnee_id)
        )
        await session.execute(
            delete(ReturneeProfile).where(ReturneeProfile.returnee_id == returnee_id)
        )


__all__ = [
    "Assistance",
    "AssistanceLine",
    "CaseRecord",
    "Caseload",
    "Created",
    "ImportOutcome",
    "Profile",
    "ProfileView",
]
