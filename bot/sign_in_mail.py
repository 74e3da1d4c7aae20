"""Console sign-in links by email, for staff without Telegram and organisations without
an identity provider: sent over SMTP (aiosmtplib) to the address of the staff account.
The link is single use and short-lived, and only its hash is kept
(:mod:`storage.console_auth`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from bot.i18n import translations
from bot.settings import MailSettings

log = logging.getLogger(__name__)

#: how long sending may take before the page answers without it
TIMEOUT = 15.0


class MailFailed(Exception):
    """The SMTP server could not be reached or refused the message."""


@dataclass(frozen=True)
class SignInMailer:
    settings: MailSettings

    async def send(self, to: str, link: str, *, language: str, minutes: int) -> None:
        """The sign-in email, in ``language`` (:class:`MailFailed` when it cannot go)."""
        _ = translations(language).gettext
        message = EmailMessage()
        message["From"] = self.settings.sender or ""
        message["To"] = to
        message["Subject"] = _("Your sign-in link to the staff console")
        message.set_content(
            "\n\n".join(
                [
                    _("Open this link to sign in to the staff console:"),
                    link,
                    _(
                        "It works once, for {minutes} minutes. If you did not ask for it, "
                        "ignore this message: nobody can sign in without opening it."
                    ).format(minutes=minutes),
                ]
            )
        )
        security = self.settings.security
        try:
            await aiosmtplib.send(
                message,
                hostname=self.settings.host,
                port=self.settings.port,
                username=self.settings.username,
                password=(
                    self.settings.password.get_secret_value() if self.settings.password else None
                ),
                use_tls=security == "tls",
                start_tls=security == "starttls",
                timeout=TIMEOUT,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            log.warning("sign-in email not sent: %s", exc.__class__.__name__)
            raise MailFailed from exc


def mailer_from_settings(settings: MailSettings | None = None) -> SignInMailer | None:
    """The mailer the settings describe (None: no SMTP server set up)."""
    settings = settings or MailSettings()
    return SignInMailer(settings) if settings.enabled else None
