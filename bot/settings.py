"""The bot's settings from the environment (pydantic-settings): Telegram, Redis, rounds.
Importing them does not import the Telegram client, so commands that do not talk to
Telegram start quickly."""

from __future__ import annotations

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
