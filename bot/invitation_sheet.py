"""Invitations in bulk, after a caseload import: a CSV of every new link, and a printable
sheet (HTML, for the browser's print) with one card per returnee (QR code, case reference,
first name, the words handed over in the returnee's language), grouped by office and
caseworker. Links are shown only here: only a hash of each token is stored."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from pathlib import Path
from typing import TextIO

import segno
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.i18n import translations
from bot.languages import languages
from bot.staff import invitation_link, whatsapp_invitation_link
from bot.staff_words import N_, StaffWords
from storage.caseload import Created


@dataclass(frozen=True)
class Invitation:
    public_id: str
    case_ref: str
    first_name: str | None
    office: str | None
    caseworker: str | None
    language: str
    channel: str
    link: str
    valid_until: date


def link_for(channel: str, token: str, telegram_username: str | None, number: str | None) -> str:
    if channel == "whatsapp":
        return whatsapp_invitation_link(number or "", token)
    return invitation_link(telegram_username, token)


def channel_for(wanted: str | None, telegram_username: str | None, number: str | None) -> str:
    """The channel a returnee is invited to: the file's where this deployment has an
    address for it, else the one it has (Telegram first)."""
    has = {"telegram": bool(telegram_username), "whatsapp": bool(number)}
    if wanted in has and (has[wanted] or not any(has.values())):
        return wanted
    return "telegram" if has["telegram"] or not has["whatsapp"] else "whatsapp"


def handed_over(language: str, channel: str, public_id: str, days: int) -> dict[str, str]:
    """The words handed to the returnee with the link, in the returnee's language."""
    r_ = translations(language).gettext
    return {
        "open": r_(
            N_(
                "Open this link on your phone, or scan the code with its camera, to start "
                "the survey on {channel}:"
            )
        ).format(channel=r_(StaffWords.channel_msgid(channel))),
        "qr": r_(N_("QR code of the invitation link")),
        "valid": r_(N_("Single use, valid {days} days. Returnee: {returnee}.")).format(
            days=days, returnee=public_id
        ),
    }


def write_links(invitations: Sequence[Invitation], path: Path) -> None:
    """Every new link as CSV (one row per returnee), to merge into letters or messages."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        write_links_to(invitations, out)


def write_links_to(invitations: Sequence[Invitation], out: TextIO) -> None:
    """The links' CSV, written to ``out``."""
    writer = csv.writer(out)
    writer.writerow(
        ["case_ref", "first_name", "public_id", "office", "caseworker", "language", "channel",
         "link", "valid_until"]
    )  # fmt: skip
    for i in invitations:
        writer.writerow(
            [i.case_ref, i.first_name or "", i.public_id, i.office or "", i.caseworker or "",
             i.language, i.channel, i.link, i.valid_until.isoformat()]
        )  # fmt: skip


def _group(invitation: Invitation) -> tuple[str, str]:
    return (invitation.office or "", invitation.caseworker or "")


def render_sheet(invitations: Sequence[Invitation], *, language: str, days: int) -> str:
    """The printable sheet: staff words in ``language``, each card in its returnee's."""
    _ = translations(language).gettext
    ordered = sorted(invitations, key=lambda i: (*_group(i), i.case_ref))
    groups = []
    for (office, caseworker), members in groupby(ordered, key=_group):
        cards = []
        for i in members:
            cards.append(
                {
                    "invitation": i,
                    "qr": segno.make(i.link, error="m").svg_inline(scale=3, border=4),
                    "words": handed_over(i.language, i.channel, i.public_id, days),
                    "dir": languages().direction(i.language),
                }
            )
        groups.append({"office": office, "caseworker": caseworker, "cards": cards})
    environment = Environment(
        loader=PackageLoader("bot.web", "templates"), autoescape=select_autoescape()
    )
    return environment.get_template("invitation_sheet.html").render(
        lang=language,
        dir=languages().direction(language),
        groups=groups,
        total=len(invitations),
        _=_,
    )


def invitations_for(
    created: Sequence[Created],
    channels: Mapping[str, str | None],
    *,
    telegram_username: str | None,
    whatsapp_number: str | None,
    valid_until: date,
) -> list[Invitation]:
    """The invitations of the returnees an import created (``channels``: the channel the
    file names for each case reference)."""
    out = []
    for new in created:
        record, returnee = new.record, new.returnee
        channel = channel_for(channels.get(record.case_ref), telegram_username, whatsapp_number)
        out.append(
            Invitation(
                public_id=returnee.public_id,
                case_ref=record.case_ref,
                first_name=record.profile.first_name,
                office=record.profile.office,
                caseworker=record.profile.caseworker,
                language=returnee.language,
                channel=channel,
                link=link_for(channel, new.token, telegram_username, whatsapp_number),
                valid_until=valid_until,
            )
        )
    return out
