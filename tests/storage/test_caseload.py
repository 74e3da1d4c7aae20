"""The caseload in storage, on both back ends: an import creates returnees once, a
re-import changes nothing, a newer export updates exactly what changed; special
categories, names and phone numbers never reach a dump in clear; follow-up flags are
raised once and closed by a caseworker's action; erasure takes all of it."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.caseload_file import Checker
from bot.core.rights import Rights
from bot.exports import ExportSpec, write_export
from bot.followup_rules import check_survey, check_unchecked, reasons_for
from bot.i18n import Translator
from bot.programme import load_programme
from bot.texts import data_kept_lines
from flows.state import ChoiceAnswer
from scoring import default_weight_table
from storage.caseload import Assistance, CaseRecord, Profile
from storage.followup import Reason
from storage.models import AssistanceItem, AuditEntry, FollowupFlag, Returnee, ReturneeProfile
from storage.reports import Selection, completed_batches
from storage.store import Store
from tests.backends import Backend
from tests.storage.helpers import (
    RSS,
    assert_absent,
    complete_and_score,
    consented_returnee,
    database_dump,
)
from tests.support.caseload import CANARY_CATEGORY, make_caseload

TODAY = date(2026, 12, 5)
PROGRAMME = load_programme()
PHONE_CANARY = "224620778899"
NAME_CANARY = "Zeynabou-Canary"


def _records(rows: int = 240) -> list[CaseRecord]:
    caseload = make_caseload(PROGRAMME, rows, today=TODAY)
    checked = Checker(PROGRAMME, ["en", "fr", "ar"], TODAY).check(
        caseload.header,
        ((n, [row.get(h, "") for h in caseload.header]) for n, row in enumerate(caseload.rows, 2)),
    )
    assert checked.ok, checked.errors[:5]
    return checked.records


async def _count(store: Store, model: type) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_import_enrols_once_and_a_newer_export_updates_what_changed(
    store: Store,
) -> None:
    records = _records()
    first = await store.caseload.import_records(records, actor="test", batch_size=50)
    assert len(first.created) == len(records) and not first.updated
    items = sum(len(r.assistance) for r in records)
    assert await _count(store, Returnee) == len(records)
    assert await _count(store, AssistanceItem) == items
    assert len({c.token for c in first.created}) == len(records)

    again = await store.caseload.import_records(records, actor="test")
    assert not again.created and not again.updated and again.unchanged == len(records)
    assert await _count(store, Returnee) == len(records)

    # a newer export: one item delivered, one dropped, one added, one returnee moved office
    with_items = [i for i, r in enumerate(records) if r.assistance]
    newer = list(records)
    a, b, c, d = with_items[:4]
    delivered = replace(newer[a].assistance[0], status="delivered", end=date(2026, 11, 30))
    newer[a] = replace(newer[a], assistance=(delivered, *newer[a].assistance[1:]))
    newer[b] = replace(newer[b], assistance=newer[b].assistance[1:])
    extra = Assistance("housing", "community", "planned", date(2026, 12, 1))
    newer[c] = replace(newer[c], assistance=(*newer[c].assistance, extra))
    newer[d] = replace(newer[d], profile=replace(newer[d].profile, office="Nzérékoré"))
    update = await store.caseload.import_records(newer, actor="test")
    assert not update.created and update.unchanged == len(records) - 4
    assert len(update.updated) == 4
    assert await _count(store, AssistanceItem) == items - 1 + 1
    by_ref = {c.record.case_ref: c.returnee for c in first.created}
    lines = await store.caseload.assistance(by_ref[records[a].case_ref].id)
    assert any(line.status == "delivered" and line.end == date(2026, 11, 30) for line in lines)
    added = await store.caseload.assistance(by_ref[records[c].case_ref].id)
    assert any(line.type == "housing" and line.level == "community" for line in added)
    profile = await store.caseload.profile(by_ref[records[d].case_ref].id, actor="test")
    assert profile is not None and profile.office == "Nzérékoré"
    assert profile.sealed == records[d].profile.sealed
    assert not profile.has_phone or records[d].profile.phone
    async with store.sessions() as session:
        actions = set(await session.scalars(select(AuditEntry.action).distinct()))
    assert {"enroll", "update_profile", "read_profile"} <= actions


async def test_special_categories_names_and_numbers_are_not_in_a_dump(
    store: Store, backend: Backend
) -> None:
    record = CaseRecord(
        case_ref="CASE-DUMP-1",
        return_date=date(2026, 6, 1),
        country="GN",
        language="fr",
        profile=Profile(
            attributes={"sex": "female", "age_band": "25-34"},
            sealed={"migrant_category": CANARY_CATEGORY, "vulnerabilities": ("mental_health",)},
            first_name=NAME_CANARY,
            phone=PHONE_CANARY,
            contact_whatsapp=True,
        ),
        assistance=(Assistance("psychosocial_support", "individual", "delivered"),),
    )
    outcome = await store.caseload.import_records([record], actor="test")
    returnee = outcome.created[0].returnee
    await store.followup.record_action(
        returnee.id, "referred", actor="test", note="referred to the CANARY-clinic"
    )
    answered = await consented_returnee(store)
    await complete_and_score(store, answered.id, "a comment")
    survey = await store.followup.response_of(answered.id, "initial")
    assert survey is not None
    await store.followup.record_check(survey, [Reason("frequent_distress", "psy_distress: often")])
    dump = database_dump(backend)
    for canary in (
        CANARY_CATEGORY,
        "mental_health",
        "psychosocial_support",
        NAME_CANARY,
        PHONE_CANARY,
        "CANARY-clinic",
        "frequent_distress",
    ):
        assert_absent(canary, dump)
    assert b"25-34" in dump  # (a plain attribute is readable: the README says why)
    contacts = await store.caseload.whatsapp_contacts([returnee.id])
    assert contacts == {returnee.id: PHONE_CANARY}
    await store.erase(returnee.id)
    assert await _count(store, ReturneeProfile) == 0
    assert await _count(store, AssistanceItem) == 0


def test_the_rules_say_which_they_met_and_what_they_saw() -> None:
    rules = PROGRAMME.followup.rules
    answers = {"psy_distress": ChoiceAnswer(option="often")}
    scores = {"economic": 0.2, "social": 0.5, "psychosocial": 0.6, "composite": 0.4}
    previous = {"economic": 0.5, "social": 0.6, "psychosocial": 0.7, "composite": 0.6}
    found = {r.rule: r.detail for r in reasons_for(rules, answers, scores, previous)}
    assert found == {
        "economic_low": "economic 0.20",
        "composite_drop": "composite 0.60 → 0.40",
        "frequent_distress": "psy_distress: often",
    }
    calm = {"psy_distress": ChoiceAnswer(option="rarely")}
    assert reasons_for(rules, calm, previous, None) == []


async def test_a_completed_survey_is_flagged_once_and_an_action_closes_it(store: Store) -> None:
    returnee = await consented_returnee(store)
    await complete_and_score(store, returnee.id, "a comment")
    survey = await store.followup.response_of(returnee.id, "initial")
    assert survey is not None
    assert await store.followup.record_check(survey, [Reason("frequent_distress", "x")])
    assert not await store.followup.record_check(survey, [Reason("economic_low", "y")])
    assert await store.followup.response_of(returnee.id, "initial") is None
    page = await store.followup.queue(actor="test")
    assert page.total == 1 and page.lines[0].reasons == (Reason("frequent_distress", "x"),)
    await store.followup.record_action(returnee.id, "referred", actor="cw", note="Clinic A")
    await store.followup.record_action(returnee.id, "closed", actor="cw", close=True)
    assert (await store.followup.queue(actor="test")).total == 0
    closed = await store.followup.queue(actor="test", state="closed")
    assert closed.lines[0].last_action is not None and closed.lines[0].last_action[0] == "closed"
    actions = await store.followup.actions_of(returnee.id)
    assert [(a.kind, a.note) for a in actions] == [("referred", "Clinic A"), ("closed", None)]
    await store.erase(returnee.id)
    assert await _count(store, FollowupFlag) == 0


async def test_the_rules_run_on_what_the_store_holds(store: Store) -> None:
    returnee = await consented_returnee(store)
    await complete_and_score(store, returnee.id, "a comment")  # (the second option each time)
    survey = await store.followup.response_of(returnee.id, "initial")
    assert survey is not None
    assert await check_survey(store, PROGRAMME, RSS, survey)
    assert not await check_survey(store, PROGRAMME, RSS, survey)
    (flag,) = await store.followup.flags_of(returnee.id)
    assert {r.rule: r.detail for r in flag.reasons} == {
        "not_able_to_stay": "psy_able_to_stay: no",
        "wants_support": "psy_support_wish: yes",
    }


async def test_exports_carry_the_profile_flags_actions_and_assistance(
    store: Store, tmp_path: Path
) -> None:
    returnee = await consented_returnee(store)  # (case CASE-001)
    await complete_and_score(store, returnee.id, "a comment")
    await check_unchecked(store, PROGRAMME, RSS)
    record = CaseRecord(
        case_ref="CASE-001",
        return_date=date(2026, 5, 1),
        country="GN",
        language="fr",
        profile=Profile(
            attributes={"sex": "female", "age_band": "25-34"},
            sealed={"migrant_category": CANARY_CATEGORY},
            office="Kankan",
        ),
        assistance=(
            Assistance("cash", "individual", "delivered", date(2026, 6, 1), None, "300", "EUR"),
            Assistance("counselling", "individual", "planned"),
        ),
    )
    await store.caseload.import_records([record], actor="test")
    await store.followup.record_action(returnee.id, "contacted", actor="test")
    table = default_weight_table()
    for include, fmt in ((True, "xlsx"), (False, "csv")):
        spec = ExportSpec(RSS, table, include_case_ref=include, programme=PROGRAMME)
        batches = completed_batches(
            store, Selection(flow_id=RSS.id), weights_version=table.version, actor="test",
            action="export", include_case_ref=include,
        )  # fmt: skip
        path = tmp_path / f"export.{fmt}"
        written = await write_export(spec, fmt, path, batches, store.caseload.assistance_of_many)
        if fmt == "xlsx":
            book = load_workbook(path, read_only=True)
            sheets = {
                name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames
            }
            surveys, items = sheets["surveys"], sheets["assistance"]
        else:
            assert written.assistance is not None
            surveys = list(csv.reader(written.path.open(encoding="utf-8-sig")))
            items = list(csv.reader(written.assistance.open(encoding="utf-8-sig")))
        row = dict(zip(surveys[0], surveys[1], strict=True))
        assert row["profile_sex"] == "female" and row["office"] == "Kankan"
        assert ("profile_migrant_category" in row) is include
        if include:
            assert row["profile_migrant_category"] == CANARY_CATEGORY
        assert "wants_support" in str(row["followup_flags"])
        assert str(row["followup_actions"]).startswith("contacted ")
        header = list(items[0])
        listed = [dict(zip(header, item, strict=True)) for item in items[1:]]
        assert sorted(str(i["type"]) for i in listed) == ["cash", "counselling"]
        cash = next(i for i in listed if i["type"] == "cash")
        assert float(cash["value"]) == 300 and cash["currency"] == "EUR"
        assert cash["dimension"] == "economic" and ("case_ref" in header) is include


async def test_a_returnee_sees_their_profile_and_assistance_in_their_language(
    store: Store,
) -> None:
    returnee = await consented_returnee(store)  # (case CASE-001, in French)
    record = CaseRecord(
        case_ref="CASE-001",
        return_date=date(2026, 5, 1),
        country="GN",
        language="fr",
        profile=Profile(
            attributes={"sex": "female"},
            sealed={"migrant_category": CANARY_CATEGORY},
            first_name="Aïssatou",
            phone=PHONE_CANARY,
            contact_whatsapp=True,
        ),
        assistance=(Assistance("medical_care", "individual", "delivered", date(2026, 6, 1)),),
    )
    await store.caseload.import_records([record], actor="test")
    rights = Rights(store, RSS, default_weight_table(), PROGRAMME)
    kept = await rights.data_kept(await store.get(returnee.id))
    lines = data_kept_lines(kept, default_weight_table(), Translator("fr"), bold=str)
    text = "\n".join(lines)
    assert "Prénom : Aïssatou" in text and "Sexe: Femme" in text
    assert "Catégorie de migrant: Victime de la traite" in text
    assert "se terminant par 899" in text and PHONE_CANARY not in text
    assert "Assistance enregistrée : Soins médicaux (Fournie)" in text
    assert "frequent_distress" not in text  # (flags are for caseworkers only)
