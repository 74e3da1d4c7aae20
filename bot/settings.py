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
    #: seconds a worker's claim on an update lasts (a dead worker's update is retried after)
    claim_ttl: int = Field(60, validation_alias="RSSBOT_CLAIM_TTL", ge=1)
