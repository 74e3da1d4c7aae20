"""The bot's settings from the environment (pydantic-settings): Telegram, Redis, rounds.
Importing them does not import the Telegram client, so commands that do not talk to
Telegram start quickly."""

from __future__ import annotations

import contextlib
import json
from urllib.parse import quote, urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

TELEGRAM_API = "https://api.telegram.org"


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    api_base: str = Field(TELEGRAM_API, validation_alias="TELEGRAM_API_BASE")
    username: str | None = Field(None, validation_alias="TELEGRAM_BOT_USERNAME")
    show_scores: bool = Field(False, validation_alias="RSSBOT_SHOW_SCORES")
    webhook_secret: SecretStr | None = Field(None, validation_alias="TELEGRAM_WEBHOOK_SECRET")
    #: the public HTTPS address Telegram posts to (setWebhook); unset: set it yourself
    webhook_url: str | None = Field(None, validation_alias="TELEGRAM_WEBHOOK_URL")
    redis_url: SecretStr | None = Field(None, validation_alias="REDIS_URL")
    redis_prefix: str = Field("rssbot", validation_alias="RSSBOT_REDIS_PREFIX")
    send_rate: float = Field(25.0, validation_alias="RSSBOT_SEND_RATE")


class DisclosureSettings(BaseSettings):
    """The smallest number of returnees any aggregate figure may be built on."""

    model_config = SettingsConfigDict(extra="ignore")

    min_cell_size: int = Field(5, ge=2, le=100, validation_alias="RSSBOT_MIN_CELL_SIZE")


GRAPH_API = "https://graph.facebook.com"


class WhatsAppSettings(BaseSettings):
    """The WhatsApp Cloud API channel: on when the token and phone number id are set."""

    model_config = SettingsConfigDict(extra="ignore")

    token: SecretStr | None = Field(None, validation_alias="WHATSAPP_TOKEN")
    phone_number_id: str | None = Field(None, validation_alias="WHATSAPP_PHONE_NUMBER_ID")
    #: the app secret Meta signs webhook deliveries with (X-Hub-Signature-256)
    app_secret: SecretStr | None = Field(None, validation_alias="WHATSAPP_APP_SECRET")
    #: what Meta sends back in the webhook's verification handshake
    verify_token: SecretStr | None = Field(None, validation_alias="WHATSAPP_VERIFY_TOKEN")
    api_base: str = Field(GRAPH_API, validation_alias="WHATSAPP_API_BASE")
    api_version: str = Field("v21.0", validation_alias="WHATSAPP_API_VERSION")
    #: the business number in international form, digits only (for wa.me invitation links)
    number: str | None = Field(None, validation_alias="WHATSAPP_NUMBER")
    #: the approved template reminders are sent with outside the 24-hour window (one body
    #: parameter: the follow-up's name; one quick-reply button)
    reminder_template: str = Field("rss_reminder", validation_alias="WHATSAPP_REMINDER_TEMPLATE")
    #: the approved template caseload invitations are sent with (no parameter: nothing
    #: personal goes to Meta in it; one quick-reply button that opens the invitation)
    invitation_template: str = Field(
        "rss_invitation", validation_alias="WHATSAPP_INVITATION_TEMPLATE"
    )
    #: the template's language code for each bot language, e.g. "en=en_US,fr=fr,ar=ar"
    template_languages: str = Field("", validation_alias="WHATSAPP_TEMPLATE_LANGUAGES")
    send_rate: float = Field(20.0, validation_alias="WHATSAPP_SEND_RATE")
    #: the webhook's path (served by `rssbot run`, polling or webhook mode)
    path: str = Field("/whatsapp", validation_alias="WHATSAPP_WEBHOOK_PATH")

    @property
    def enabled(self) -> bool:
        return bool(self.token and self.token.get_secret_value().strip() and self.phone_number_id)

    def template_language(self, language: str) -> str:
        """The reminder template's language code for a bot language (itself by default)."""
        pairs = (item.split("=", 1) for item in self.template_languages.split(",") if "=" in item)
        return {k.strip(): v.strip() for k, v in pairs}.get(language, language)


class MailSettings(BaseSettings):
    """The SMTP server sign-in links are sent through: on when a host and a sender are
    set."""

    model_config = SettingsConfigDict(extra="ignore")

    host: str | None = Field(None, validation_alias="RSSBOT_SMTP_HOST")
    port: int = Field(587, validation_alias="RSSBOT_SMTP_PORT")
    #: starttls (port 587), tls (port 465) or none (a relay on the same machine)
    security: str = Field("starttls", validation_alias="RSSBOT_SMTP_SECURITY")
    username: str | None = Field(None, validation_alias="RSSBOT_SMTP_USERNAME")
    password: SecretStr | None = Field(None, validation_alias="RSSBOT_SMTP_PASSWORD")
    #: the sender, e.g. "RSS console <no-reply@example.org>"
    sender: str | None = Field(None, validation_alias="RSSBOT_SMTP_FROM")

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.sender)


class OidcSettings(BaseSettings):
    """The organisation's identity provider (OpenID Connect) staff sign in with: on when
    an issuer and a client id are set. Microsoft Entra ID, Google and Keycloak are set up
    the same way (README)."""

    model_config = SettingsConfigDict(extra="ignore")

    #: e.g. https://login.microsoftonline.com/TENANT/v2.0, https://accounts.google.com,
    #: https://keycloak.example.org/realms/iom
    issuer: str | None = Field(None, validation_alias="RSSBOT_OIDC_ISSUER")
    client_id: str | None = Field(None, validation_alias="RSSBOT_OIDC_CLIENT_ID")
    client_secret: SecretStr | None = Field(None, validation_alias="RSSBOT_OIDC_CLIENT_SECRET")
    #: what the sign-in button says ("Sign in with {name}")
    name: str = Field("your organisation", validation_alias="RSSBOT_OIDC_NAME")
    scopes: str = Field("openid email profile", validation_alias="RSSBOT_OIDC_SCOPES")
    #: the claim holding the staff member's address (Entra ID: preferred_username)
    email_claim: str = Field("email", validation_alias="RSSBOT_OIDC_EMAIL_CLAIM")
    #: optional: the claim listing the user's groups, and group=role[:scope] pairs
    #: ("rss-admins=admin; rss-gn=caseworker:GN"); a mapped group signs in even an
    #: address not in the staff table, and sets its role and scope
    groups_claim: str = Field("groups", validation_alias="RSSBOT_OIDC_GROUPS_CLAIM")
    group_roles: str | None = Field(None, validation_alias="RSSBOT_OIDC_GROUP_ROLES")
    #: seconds of clock difference allowed when checking a token's times
    leeway: int = Field(60, ge=0, le=300, validation_alias="RSSBOT_OIDC_LEEWAY")

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id)


def configured_secrets() -> tuple[str, ...]:
    """Every secret value the environment configures (bot and WhatsApp tokens, the
    webhook and app secrets, the verify token, the SMTP password, the master keyring and
    the keys in it, passwords in service URLs), also as they look URL-encoded: the log's redaction
    removes them wherever they would appear (a query string, an error message...)."""
    from storage.config import Settings

    bot, whatsapp, storage = BotSettings(), WhatsAppSettings(), Settings()
    values: list[str] = [
        s.get_secret_value()
        for s in (
            bot.token,
            bot.webhook_secret,
            whatsapp.token,
            whatsapp.app_secret,
            whatsapp.verify_token,
            storage.master_key,
            MailSettings().password,
            OidcSettings().client_secret,
        )
        if s is not None
    ]
    if storage.master_key is not None:
        with contextlib.suppress(ValueError):
            values += _strings_in(json.loads(storage.master_key.get_secret_value()))
    for url in (storage.database_url, bot.redis_url and bot.redis_url.get_secret_value()):
        if url:
            with contextlib.suppress(ValueError):
                password = urlsplit(url).password
                values += [password] if password else []
    values += [quote(v, safe="") for v in values]
    return tuple(v for v in dict.fromkeys(values) if len(v) >= 4)


def _strings_in(value: object) -> list[str]:
    """The long strings in a parsed JSON value (a keyring's key material)."""
    if isinstance(value, str):
        return [value] if len(value) >= 16 else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings_in(v)]
    return []
