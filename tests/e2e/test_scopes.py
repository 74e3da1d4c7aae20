"""Scopes: two offices (Conakry in Guinea, Bamako in Mali), staff of every role scoped to
Guinea, to the Conakry office or to their own caseload. Every page, action, chat command
and command-line path tried on Mali's returnees (by URL, by form, by case reference, by
forged ids) is refused and changes nothing; within the scope everything still works.
On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app
from bot.staff import ROLES
from storage import console_auth, outbox, schedules
from storage.caseload import Assistance, CaseRecord, Profile
from storage.models import (
    AssistanceItem,
    AuditEntry,
    Feedback,
    FollowupAction,
    FollowupFlag,
    Invite,
    ReminderRound,
    RoundSchedule,
)
from storage.scopes import Scope
from storage.store import Store
from storage.waves import WaveWindows
from tests.e2e.conftest import Harness
from tests.e2e.test_console_web import console  # noqa: F401  (the console on loopback)
from tests.support.console import answer_with_distress

TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@dataclass
class Office:
    """One office's returnees and the records staff work on."""

    country: str
    office: str
    #: flagged after a distressed initial survey, with named feedback and assistance
    flagged: str
    flagged_id: str
    #: enrolled and consented, due for the initial survey
    due: str
    feedback_id: str
    feedback_receipt: str
    item_id: str
    round_id: str
    schedule_id: str


async def an_office(store: Store, country: str, office: str, chat: int) -> Office:
    records = [
        CaseRecord(
            f"{country}-CASE-1",
            date(2026, 10, 1),
            country,
            "fr",
            Profile(office=office, caseworker=f"awa@{office.lower()}.example"),
            (Assistance("cash", "individual", "delivered"),),
        ),
        CaseRecord(f"{country}-CASE-2", date(2026, 11, 1), country, "fr", Profile(office=office)),
    ]
    outcome = await store.caseload.import_records(records, actor="test")
    flagged, due = (c.returnee for c in outcome.created)
    for n, returnee in enumerate((flagged, due)):
        await store.bind_telegram(returnee.id, chat + n, chat + n)
        await store.give_consent(returnee.id, version="v1", language="fr")
    await answer_with_distress(store, flagged.id, date(2026, 10, 1))
    receipt = await store.feedback.add(
        flagged.id, f"feedback from {office}", rating=2, anonymous=False
    )
    async with store.sessions() as session:
        feedback_id = await session.scalar(
            select(Feedback.id).where(Feedback.receipt_code == receipt)
        )
    item = (await store.caseload.assistance(flagged.id))[0]
    scope = Scope.of("countries", [country])
    preview = await outbox.preview_round(
        store, wave="initial", country=None, windows=WaveWindows(), today=TODAY, scope=scope
    )
    round_id = await outbox.create_round(store, preview, actor="test")
    schedule = await schedules.add_schedule(
        store, wave="initial", country=None, hour=9, repeat_days=None, actor="test", scope=scope
    )
    assert feedback_id is not None
    return Office(
        country,
        office,
        flagged.public_id,
        flagged.id,
        due.public_id,
        feedback_id,
        receipt,
        item.id,
        round_id,
        schedule.id,
    )


@dataclass
class Offices:
    gn: Office
    ml: Office
    #: Guinea's staff: role -> staff id (scope: countries GN)
    staff: dict[str, str]


async def two_offices(store: Store) -> Offices:
    gn = await an_office(store, "GN", "Conakry", 610000)
    ml = await an_office(store, "ML", "Bamako", 620000)
    staff = {
        role: await store.add_staff(
            None, role, f"{role} in Guinea", email=f"{role}@gn.example", scope=Scope.parse("GN")
        )
        for role in ROLES
    }
    staff["office"] = await store.add_staff(
        None, "caseworker", email="office@gn.example", scope=Scope.parse("offices:Conakry")
    )
    # (her own caseload: returnees whose caseworker in the import is her address)
    staff["caseload"] = await store.add_staff(
        None, "caseworker", "Awa", email="awa@conakry.example", scope=Scope.parse("caseload")
    )
    return Offices(gn, ml, staff)


@pytest.fixture
async def offices(store: Store) -> Offices:
    store.clock = lambda: NOW
    return await two_offices(store)


async def sign_in(client: TestClient, store: Store, staff_id: str) -> str:  # type: ignore[type-arg]
    """Signed in (a fresh session); the CSRF token of its forms."""
    client.session.cookie_jar.clear()
    token = await console_auth.issue_link(store, staff_id, limited=False)
    signed = await client.post("/login", data={"token": token}, allow_redirects=False)
    assert signed.status == 303
    page = await client.get("/")
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', await page.text())
    assert found is not None
    return found.group(1)


async def state_of(store: Store, office: Office) -> dict[str, object]:
    """What a refused attempt must leave as it was."""
    async with store.sessions() as session:

        async def count(model: type, *where: object) -> int:
            query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
            return int(await session.scalar(query) or 0)

        rid = office.flagged_id
        return {
            "actions": await count(FollowupAction, FollowupAction.returnee_id == rid),
            "open flags": await count(
                FollowupFlag, FollowupFlag.returnee_id == rid, FollowupFlag.state == "open"
            ),
            "assistance": await count(AssistanceItem, AssistanceItem.returnee_id == rid),
            "item status": await session.scalar(
                select(AssistanceItem.status).where(AssistanceItem.id == office.item_id)
            ),
            "feedback": await session.scalar(
                select(Feedback.state).where(Feedback.id == office.feedback_id)
            ),
            "round paused": await session.scalar(
                select(ReminderRound.paused_at).where(ReminderRound.id == office.round_id)
            ),
            "schedule active": await session.scalar(
                select(RoundSchedule.active).where(RoundSchedule.id == office.schedule_id)
            ),
            "invites": await count(Invite),
            "rounds": await count(ReminderRound),
        }


async def test_every_page_and_action_on_another_offices_returnees_is_refused(
    console: TestClient,  # type: ignore[type-arg]  # noqa: F811
    store: Store,
    offices: Offices,
) -> None:
    gn, ml = offices.gn, offices.ml
    before = await state_of(store, ml)
    for who, staff_id in offices.staff.items():
        csrf = await sign_in(console, store, staff_id)

        async def get(path: str) -> tuple[int, str]:
            response = await console.get(path)
            return response.status, await response.text()

        async def post(path: str, csrf: str = csrf, **data: str) -> int:
            response = await console.post(path, data={"csrf": csrf, **data})
            return response.status

        # lists and figures: Mali's returnees are not in them
        for path in (
            "/",
            "/returnees",
            f"/returnees?q={ml.flagged}",
            "/returnees?q=ML-CASE-1",
            f"/due?wave=initial&q={ml.due}",
            "/due?wave=initial",
            "/followup?state=all",
            "/feedback?view=all",
            "/rounds",
            "/schedules",
            "/cohort?wave=initial",
            "/export?format=csv&layout=wide",
            "/audit",
            "/staff",
        ):
            status, page = await get(path)
            if "q=" in path:  # (what was searched for shows in the box and the links)
                page = page.replace(path.split("q=")[1], "")
            for secret in (ml.flagged, ml.due, ml.feedback_receipt, ml.round_id, "ML-CASE"):
                assert secret not in page, (who, path, secret)
            assert "feedback from Bamako" not in page
            assert status in (200, 403), (who, path, status)
        # one returnee, one record: not found (or not allowed for the role)
        for path, data in (
            ("/returnee", {"public_id": ml.flagged}),
            ("/returnee", {"case_ref": "ML-CASE-1"}),
            (f"/returnee/{ml.flagged}/action", {"kind": "contacted", "note": "forged"}),
            (f"/returnee/{ml.flagged}/assistance", {"type": "housing", "status": "planned"}),
            (f"/returnee/{ml.flagged}/assistance/{ml.item_id}/status", {"status": "cancelled"}),
            # a forged item id of Mali's under a Guinean returnee
            (f"/returnee/{gn.flagged}/assistance/{ml.item_id}/status", {"status": "cancelled"}),
            (f"/returnee/{ml.flagged}/caseworker", {"staff": offices.staff["caseload"]}),
            (f"/feedback/{ml.feedback_id}/handled", {}),
            (f"/rounds/{ml.round_id}/pause", {}),
            (f"/schedules/{ml.schedule_id}/pause", {}),
            ("/invite", {"public_id": ml.flagged, "channel": "telegram"}),
        ):
            status = await post(path, **data)
            assert status in (403, 404), (who, path, status)
        assert (await get(f"/rounds/{ml.round_id}"))[0] in (403, 404)
        assert await state_of(store, ml) == before, who

    # within the scope, everything still works
    csrf = await sign_in(console, store, offices.staff["caseworker"])
    queue = await (await console.get("/followup")).text()
    assert gn.flagged in queue
    case = await console.post("/returnee", data={"csrf": csrf, "public_id": gn.flagged})
    assert case.status == 200 and gn.flagged in await case.text()
    acted = await console.post(
        f"/returnee/{gn.flagged}/action", data={"csrf": csrf, "kind": "contacted", "note": "ok"}
    )
    assert acted.status == 200
    assert (await state_of(store, gn))["actions"] == 1
    export = await (await console.get("/export?format=csv&layout=wide")).text()
    assert gn.flagged in export and ml.flagged not in export
    csrf = await sign_in(console, store, offices.staff["caseload"])
    assert gn.flagged in await (await console.get("/followup")).text()  # Awa's own returnee
    assert gn.due not in await (await console.get("/returnees")).text()  # (not hers)
    # an admin who sees everyone assigns a returnee to Awa: now in her caseload
    boss = await store.add_staff(None, "admin", "Boss", email="boss@hq.example")
    csrf = await sign_in(console, store, boss)
    assigned = await console.post(
        f"/returnee/{gn.due}/caseworker", data={"csrf": csrf, "staff": offices.staff["caseload"]}
    )
    assert assigned.status == 200 and "awa@conakry.example" in await assigned.text()
    csrf = await sign_in(console, store, offices.staff["caseload"])
    assert gn.due in await (await console.get("/returnees")).text()
    csrf = await sign_in(console, store, offices.staff["feedback_officer"])
    marked = await console.post(f"/feedback/{gn.feedback_id}/handled", data={"csrf": csrf})
    assert marked.status == 200
    # a caseload import reaches only the scope: another country's row, or a returnee
    # enrolled in another country, is refused at its row and nothing is imported
    csrf = await sign_in(console, store, offices.staff["caseworker"])
    for rows, column in (
        (["GN-NEW-1,GN", "ML-NEW-1,ML"], "country"),
        (["ML-CASE-2,GN"], "case_ref"),
    ):
        upload = FormData({"csrf": csrf})
        upload.add_field("file", caseload_csv(rows), filename="caseload.csv")
        imported = await console.post("/caseload/import", data=upload)
        page = await imported.text()
        assert imported.status == 400 and "what you may see" in page, page
        assert column in page
    assert await store.caseload.enrolled(["GN-NEW-1", "ML-NEW-1"]) == 0
    # a round started in the scope reaches only its returnees
    csrf = await sign_in(console, store, offices.staff["office"])
    due_page = await (await console.get("/due?wave=initial")).text()
    digest = re.search(r'name="digest" value="([^"]+)"', due_page)
    assert digest is not None
    started = await console.post(
        "/rounds",
        data={"csrf": csrf, "wave": "initial", "digest": digest.group(1)},
        allow_redirects=False,
    )
    assert started.status == 303
    round_id = started.headers["Location"].split("/rounds/")[1].split("?")[0]
    reached, _ = await outbox.recipients(store, round_id)
    assert {r.public_id for r in reached} == {gn.due}
    async with store.sessions() as session:
        refused = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "refused")
        )
    assert refused  # the case reference of another office was looked up: audited


def caseload_csv(rows: list[str]) -> bytes:
    """A caseload file of returnees given as 'CASE-REF,COUNTRY'."""
    lines = ["case_ref,return_date,country,language"]
    lines += [f"{row.split(',')[0]},2026-11-01,{row.split(',')[1]},fr" for row in rows]
    return ("\n".join(lines) + "\n").encode()


def test_the_command_line_acts_within_the_scope_of_the_staff_member_it_names(
    initialised: Path, tmp_path: Path
) -> None:
    import asyncio

    from bot.common import open_store

    async def setup() -> Offices:
        store = await open_store()
        try:
            return await two_offices(store)
        finally:
            await store.close()

    found = asyncio.run(setup())
    runner = CliRunner()
    me = ["--as", "caseworker@gn.example"]
    out = tmp_path / "gn.csv"
    exported = runner.invoke(app, ["export", "--output", str(out), *me])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r[rows[0].index("returnee")] for r in rows[1:]] == [found.gn.flagged]
    due = runner.invoke(app, ["due", "--wave", "initial", *me])
    assert found.gn.due in due.output and found.ml.due not in due.output
    for command in (
        ["assistance", "list", "--case", "ML-CASE-1"],
        ["assistance", "add", "--case", "ML-CASE-1", "--type", "housing"],
        ["chart", "returnee", "--case", "ML-CASE-1", "--output", str(tmp_path / "x.png")],
        ["invite", "--case", "ML-CASE-1"],
    ):
        refused = runner.invoke(app, [*command, *me])
        assert refused.exit_code != 0 and "no" in refused.output.lower(), command
    listed = runner.invoke(app, ["assistance", "list", "--case", "GN-CASE-1", *me])
    assert listed.exit_code == 0 and "Cash" in listed.output
    paused = runner.invoke(app, ["round", "schedule", "pause", found.ml.schedule_id[:8], *me])
    assert paused.exit_code == 1
    viewer = runner.invoke(app, ["export", "--output", str(out), "--as", "viewer@gn.example"])
    assert viewer.exit_code != 0 and "may not export surveys row by row" in viewer.output
    file = tmp_path / "caseload.csv"
    file.write_bytes(caseload_csv(["GN-NEW-1,GN", "ML-NEW-1,ML"]))
    imported = runner.invoke(app, ["caseload", "import", str(file), *me])
    assert imported.exit_code == 1 and "outside what you may see" in imported.output
    links = ["--links", str(tmp_path / "links.csv"), "--sheet", str(tmp_path / "sheet.html")]
    skipped = runner.invoke(app, ["caseload", "import", str(file), "--skip-invalid", *links, *me])
    assert skipped.exit_code == 0 and "1 enrolled" in skipped.output, skipped.output
    nobody = runner.invoke(app, ["export", "--as", "nobody@gn.example"])
    assert nobody.exit_code != 0 and "no staff member" in nobody.output


async def test_chat_commands_keep_to_the_scope(harness: Harness, user_factory) -> None:  # type: ignore[no-untyped-def]
    store = harness.store
    assert store is not None
    harness.today = TODAY
    found = await two_offices(store)
    caseworker, officer = user_factory("en"), user_factory("en")
    await store.add_staff(caseworker.user_id, "caseworker", scope=Scope.parse("GN"))
    await store.add_staff(officer.user_id, "feedback_officer", scope=Scope.parse("GN"))
    for command in ("/case ML-CASE-1", "/invite ML-CASE-1"):
        caseworker.send(command)
        await caseworker.expect("No returnee with this case reference")
    caseworker.send("/due initial")
    due = await caseworker.expect("Due today:")
    assert found.gn.due in due.text and found.ml.due not in due.text
    caseworker.send("/export")
    await caseworker.expect("Preparing the export of 1 completed surveys")
    exported = await caseworker.expect("1 completed surveys")
    assert exported.file is not None and found.ml.flagged.encode() not in exported.file
    officer.send("/inbox")
    inbox = await officer.expect("feedback from")
    assert "Conakry" in inbox.text and "Bamako" not in inbox.text


async def test_an_admin_of_one_country_manages_only_the_members_of_that_country(
    console: TestClient,  # type: ignore[type-arg]  # noqa: F811
    store: Store,
) -> None:
    store.clock = lambda: NOW
    guinea = await store.add_staff(
        None, "admin", "GN admin", email="a@gn.example", scope=Scope.parse("GN")
    )
    colleague = await store.add_staff(
        None, "viewer", "GN viewer", email="v@gn.example", scope=Scope.parse("GN")
    )
    head = await store.add_staff(None, "viewer", "HQ viewer", email="v@hq.example")
    csrf = await sign_in(console, store, guinea)
    page = await (await console.get("/staff")).text()
    assert "GN viewer" in page and "HQ viewer" not in page
    for path, data in (
        (f"/staff/{head}/role", {"role": "admin"}),
        (f"/staff/{head}/remove", {}),
        (f"/staff/{head}/sessions/end", {}),
        (f"/staff/{colleague}/scope", {"scope": "all"}),
    ):
        response = await console.post(path, data={"csrf": csrf, **data})
        assert response.status in (403, 404), path
    head_now = await store.staff.identity("v@hq.example")
    assert head_now is not None and head_now.role == "viewer"
    promoted = await console.post(
        f"/staff/{colleague}/role", data={"csrf": csrf, "role": "caseworker"}
    )
    assert promoted.status == 200
    added = await console.post(
        "/staff",
        data={"csrf": csrf, "email": "new@gn.example", "role": "viewer", "scope": "all"},
    )
    assert added.status == 200
    new = await store.staff.identity("new@gn.example")
    assert new is not None and new.scope.values == ("GN",)  # (their admin's own scope)
