"""Caseload invitations on WhatsApp through the fake Cloud API: the approved template
reaches exactly the new returnees whose row has a number and their agreement to be
contacted there, carries nothing personal, and its quick reply opens the invitation."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.rate_limits import RateLimiter
from bot.whatsapp.invitations import send_invitations
from bot.whatsapp.reminders import WhatsAppCourier
from storage.caseload import CaseRecord, Profile
from storage.models import AuditEntry, Returnee
from tests.e2e.conftest import WaHarness
from tests.support.fake_whatsapp import WaUser

NUMBERS = {"agreed": "22177100001", "refused": "22177100002", "unknown": "22177100003"}


def _record(case_ref: str, phone: str | None, agreed: bool) -> CaseRecord:
    return CaseRecord(
        case_ref=case_ref,
        return_date=date(2026, 10, 1),
        country="SN",
        language="fr",
        profile=Profile(first_name="Awa", phone=phone, contact_whatsapp=agreed),
    )


async def test_the_invitation_template_reaches_exactly_who_agreed(wa_harness: WaHarness) -> None:
    h = wa_harness
    assert h.store is not None and h.client is not None
    h.server.undeliverable.add(NUMBERS["unknown"])
    records = [
        _record("WA-1", NUMBERS["agreed"], True),
        _record("WA-2", NUMBERS["refused"], False),
        _record("WA-3", None, False),
        _record("WA-4", NUMBERS["unknown"], True),
    ]
    outcome = await h.store.caseload.import_records(records, actor="test")
    courier = WhatsAppCourier(
        h.client, RateLimiter(rate=None), template="rss_reminder", clock=h.store.clock
    )
    report = await send_invitations(courier, h.store, outcome.created, actor="cli:test")
    assert (report.sent, report.not_asked, dict(report.not_sent)) == (1, 2, {"undeliverable": 1})
    assert set(h.server.messages) == {NUMBERS["agreed"]}
    (invitation,) = h.server.messages[NUMBERS["agreed"]]
    assert invitation.kind == "template" and invitation.template == "rss_invitation"
    assert invitation.language == "fr" and invitation.parameters == []  # (no name to Meta)
    assert invitation.quick_reply is not None and invitation.quick_reply.startswith("start.")

    user = WaUser(h.server, NUMBERS["agreed"])
    user.tap_template_button(invitation, "Commencer")
    await user.expect("Bienvenue")
    async with h.store.sessions() as session:
        joined = await session.scalar(
            select(Returnee.channel).where(Returnee.id == outcome.created[0].returnee.id)
        )
        audited = (
            await session.scalars(
                select(AuditEntry.returnee_id).where(AuditEntry.action == "send_invitation")
            )
        ).all()
    assert joined == "whatsapp"
    assert audited == [outcome.created[0].returnee.id]
