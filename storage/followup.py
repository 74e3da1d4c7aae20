"""The follow-up aggregate: flags raised on completed surveys that need a caseworker's
attention, and what caseworkers did about them.

A completed survey is checked once (``survey_responses.flags_checked_at``): the check and
its flag commit together, so a survey checked twice (a retry, two workers) raises one
flag at most. Reasons and notes are encrypted with the returnee's data key; the queue
reads and decrypts one page at a time, and every read of it is audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import keys
from storage.crypto import Keyring
from storage.errors import NotFound
from storage.keys import DataKeys, returnee_keys
from storage.models import (
    FollowupAction,
    FollowupFlag,
    Returnee,
    ReturneeProfile,
    SurveyResponse,
)
from storage.scopes import EVERYONE, Scope
from storage.staff_audit import StaffAudit
from storage.waves import Wave

FLAG_STATES = ("open", "closed")


@dataclass(frozen=True)
class Reason:
    """A rule a survey met, and what it saw (``economic 0.21``, ``psy_distress: often``)."""

    rule: str
    detail: str


@dataclass(frozen=True)
class FlagLine:
    id: str
    returnee_id: str
    public_id: str
    country: str | None
    office: str | None
    caseworker: str | None
    wave: str
    reasons: tuple[Reason, ...]
    raised_at: datetime
    state: str
    closed_at: datetime | None
    #: the latest action on the returnee's flags (kind, when), if any
    last_action: tuple[str, datetime] | None = None


@dataclass(frozen=True)
class ActionLine:
    id: str
    flag_id: str | None
    kind: str
    note: str | None
    actor: str
    at: datetime


@dataclass(frozen=True)
class FlagPage:
    lines: list[FlagLine]
    total: int


@dataclass(frozen=True)
class SurveyToCheck:
    response_id: str
    returnee_id: str
    wave: Wave


class FollowUp:
    """Flags and actions."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keyring: Keyring,
        data_keys: DataKeys,
        staff: StaffAudit,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self.sessions, self.keyring, self.keys = sessions, keyring, data_keys
        self.staff, self.clock, self.new_id = staff, clock, new_id

    async def unchecked(self, *, limit: int = 500) -> list[SurveyToCheck]:
        """Completed surveys the rules have not been applied to yet, oldest first."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(SurveyResponse.id, SurveyResponse.returnee_id, SurveyResponse.wave)
                .where(
                    SurveyResponse.status == "completed",
                    SurveyResponse.flags_checked_at.is_(None),
                )
                .order_by(SurveyResponse.completed_at)
                .limit(limit)
            )
            return [SurveyToCheck(rid, returnee, cast(Wave, wave)) for rid, returnee, wave in rows]

    async def response_of(self, returnee_id: str, wave: Wave) -> SurveyToCheck | None:
        """The completed survey of a returnee's wave, if not yet checked."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(SurveyResponse.id).where(
                        SurveyResponse.returnee_id == returnee_id,
                        SurveyResponse.wave == wave,
                        SurveyResponse.status == "completed",
                        SurveyResponse.flags_checked_at.is_(None),
                    )
                )
            ).first()
            return None if row is None else SurveyToCheck(row[0], returnee_id, wave)

    async def record_check(self, survey: SurveyToCheck, reasons: Sequence[Reason]) -> bool:
        """Mark the survey checked and, if it met any rule, raise its flag, together.
        False when it was checked already (nothing is written)."""
        now = self.clock()
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(SurveyResponse)
                .where(
                    SurveyResponse.id == survey.response_id,
                    SurveyResponse.flags_checked_at.is_(None),
                )
                .values(flags_checked_at=now)
                .execution_options(synchronize_session=False)
            )
            if int(getattr(result, "rowcount", 0) or 0) != 1:
                return False
            if reasons:
                dek = await self.keys.returnee(session, survey.returnee_id)
                flag_id = self.new_id()
                payload = json.dumps([[r.rule, r.detail] for r in reasons])
                await session.execute(
                    insert(FollowupFlag),
                    [
                        {
                            "id": flag_id,
                            "returnee_id": survey.returnee_id,
                            "response_id": survey.response_id,
                            "wave": survey.wave,
                            "reasons_enc": keys.encrypt(
                                dek, "followup_flags", flag_id, "reasons", payload
                            ),
                            "raised_at": now,
                            "state": "open",
                        }
                    ],
                )
            return True

    async def queue(
        self,
        *,
        actor: str,
        state: str | None = "open",
        country: str | None = None,
        offset: int = 0,
        limit: int = 50,
        scope: Scope = EVERYONE,
    ) -> FlagPage:
        """One page of flags of returnees in ``scope``, oldest open first; reading it is
        audited per returnee."""
        conditions: list[Any] = []
        if state is not None:
            conditions.append(FollowupFlag.state == state)
        if country is not None:
            conditions.append(Returnee.country == country)
        if (in_scope := scope.returnees()) is not None:
            conditions.append(in_scope)
        base = (
            select(FollowupFlag, Returnee.public_id, Returnee.country, ReturneeProfile)
            .join(Returnee, Returnee.id == FollowupFlag.returnee_id)
            .outerjoin(ReturneeProfile, ReturneeProfile.returnee_id == Returnee.id)
            .where(*conditions)
        )
        async with self.sessions.begin() as session:
            total = await session.scalar(
                select(func.count())
                .select_from(FollowupFlag)
                .join(Returnee, Returnee.id == FollowupFlag.returnee_id)
                .where(*conditions)
            )
            rows = (
                await session.execute(
                    base.order_by(FollowupFlag.raised_at, FollowupFlag.id)
                    .offset(offset)
                    .limit(limit)
                )
            ).all()
            lines = await self._lines(session, rows)
            await self.staff.record_many(
                session, actor, "read_followup", [(line.returnee_id, None) for line in lines]
            )
        return FlagPage(lines, int(total or 0))

    async def _lines(self, session: AsyncSession, rows: Sequence[Any]) -> list[FlagLine]:
        deks = await returnee_keys(session, self.keyring, {r[0].returnee_id for r in rows})
        latest: dict[str, tuple[str, datetime]] = {}
        ids = [r[0].returnee_id for r in rows]
        if ids:
            for rid, kind, at in await session.execute(
                select(FollowupAction.returnee_id, FollowupAction.kind, FollowupAction.at)
                .where(FollowupAction.returnee_id.in_(ids))
                .order_by(FollowupAction.at)
            ):
                latest[rid] = (kind, at)
        lines = []
        for flag, public_id, country, profile in rows:
            reasons = json.loads(
                keys.decrypt(
                    deks[flag.returnee_id],
                    "followup_flags",
                    flag.id,
                    "reasons",
                    flag.reasons_enc,
                )
            )
            lines.append(
                FlagLine(
                    id=flag.id,
                    returnee_id=flag.returnee_id,
                    public_id=public_id,
                    country=country,
                    office=profile.office if profile else None,
                    caseworker=profile.caseworker if profile else None,
                    wave=flag.wave,
                    reasons=tuple(Reason(rule, detail) for rule, detail in reasons),
                    raised_at=flag.raised_at,
                    state=flag.state,
                    closed_at=flag.closed_at,
                    last_action=latest.get(flag.returnee_id),
                )
            )
        return lines

    async def flags_of(self, returnee_id: str) -> list[FlagLine]:
        """A returnee's flags, newest first (read with the case file, which audits)."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(FollowupFlag, Returnee.public_id, Returnee.country, ReturneeProfile)
                    .join(Returnee, Returnee.id == FollowupFlag.returnee_id)
                    .outerjoin(ReturneeProfile, ReturneeProfile.returnee_id == Returnee.id)
                    .where(FollowupFlag.returnee_id == returnee_id)
                    .order_by(FollowupFlag.raised_at.desc())
                )
            ).all()
            return await self._lines(session, rows)

    async def actions_of(self, returnee_id: str) -> list[ActionLine]:
        """What caseworkers did for a returnee, oldest first (notes decrypted)."""
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(FollowupAction)
                    .where(FollowupAction.returnee_id == returnee_id)
                    .order_by(FollowupAction.at)
                )
            ).all()
            deks = await returnee_keys(session, self.keyring, [returnee_id]) if rows else {}
        return [
            ActionLine(
                id=a.id,
                flag_id=a.flag_id,
                kind=a.kind,
                note=(
                    keys.decrypt(deks[returnee_id], "followup_actions", a.id, "note", a.note_enc)
                    if a.note_enc
                    else None
                ),
                actor=a.actor,
                at=a.at,
            )
            for a in rows
            if returnee_id in deks or a.note_enc is None
        ]

    async def record_action(
        self,
        returnee_id: str,
        kind: str,
        *,
        actor: str,
        note: str | None = None,
        close: bool = False,
    ) -> str:
        """Record what was done for a returnee (attached to their latest open flag);
        ``close`` closes every open flag of theirs. Audited."""
        now = self.clock()
        async with self.sessions.begin() as session:
            if await session.get(Returnee, returnee_id) is None:
                raise NotFound("no such returnee")
            flag_id = await session.scalar(
                select(FollowupFlag.id)
                .where(FollowupFlag.returnee_id == returnee_id, FollowupFlag.state == "open")
                .order_by(FollowupFlag.raised_at.desc())
                .limit(1)
            )
            action_id = self.new_id()
            note = (note or "").strip() or None
            dek = await self.keys.returnee(session, returnee_id) if note else None
            await session.execute(
                insert(FollowupAction),
                [
                    {
                        "id": action_id,
                        "returnee_id": returnee_id,
                        "flag_id": flag_id,
                        "kind": kind,
                        "note_enc": (
                            keys.encrypt(dek, "followup_actions", action_id, "note", note)
                            if dek is not None and note
                            else None
                        ),
                        "actor": actor,
                        "at": now,
                    }
                ],
            )
            if close:
                await session.execute(
                    update(FollowupFlag)
                    .where(FollowupFlag.returnee_id == returnee_id, FollowupFlag.state == "open")
                    .values(state="closed", closed_at=now)
                    .execution_options(synchronize_session=False)
                )
            self.staff.record(session, actor, "followup_" + kind, returnee_id)
            return action_id

    async def delete_for(self, session: AsyncSession, returnee_id: str) -> None:
        """Every flag and action about a returnee (erasure)."""
        await session.execute(
            delete(FollowupAction).where(FollowupAction.returnee_id == returnee_id)
        )
        await session.execute(delete(FollowupFlag).where(FollowupFlag.returnee_id == returnee_id))
