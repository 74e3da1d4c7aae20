"""Caseload invitations sent on WhatsApp: to each new returnee whose caseload row has a
number and says they agreed to be contacted there, the approved invitation template,
whose quick reply opens their single-use invitation. Nobody else is written to; the
number is read only for sending, never shown or logged."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.whatsapp.reminders import WhatsAppCourier
from storage.caseload import Created
from storage.store import Store

log = logging.getLogger(__name__)

#: tries per invitation when WhatsApp fails (a throttled send waits and does not count)
ATTEMPTS = 3


@dataclass
class InvitationReport:
    sent: int = 0
    #: no number, or no agreement to be contacted on WhatsApp: not written to
    not_asked: int = 0
    #: not a WhatsApp user, or failed after every try (reason -> how many)
    not_sent: Counter[str] = field(default_factory=Counter)


async def send_invitations(
    courier: WhatsAppCourier, store: Store, created: Sequence[Created], *, actor: str
) -> InvitationReport:
    """Send the invitation template to the new returnees who may be contacted on
    WhatsApp; every invitation sent is audited."""
    report = InvitationReport()
    contacts = await store.caseload.whatsapp_contacts([c.returnee.id for c in created])
    sent: list[tuple[str | None, str | None]] = []
    for new in created:
        number = contacts.get(new.returnee.id)
        if number is None:
            report.not_asked += 1
            continue
        tries = 0
        while True:
            delivery = await courier.invite(number, new.returnee.language, new.token)
            if delivery.outcome == "throttled":
                await courier.limiter.pause(delivery.retry_after)
                continue
            tries += 1
            if delivery.outcome == "failed" and tries < ATTEMPTS:
                await asyncio.sleep(0.5 * tries)
                continue
            break
        if delivery.outcome == "sent":
            report.sent += 1
            sent.append((new.returnee.id, "whatsapp"))
        else:
            report.not_sent[delivery.reason or delivery.outcome] += 1
            log.info("invitation to %s not sent: %s", new.returnee.public_id, delivery.reason)
    if sent:
        async with store.sessions.begin() as session:
            await store.audit_many(session, actor, "send_invitation", sent)
    return report
