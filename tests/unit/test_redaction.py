"""What the log's redaction removes: bot tokens by their shape, every secret the
environment configures (also URL-encoded), and values marked sensitive while handled."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest

from bot.settings import configured_secrets
from storage.redaction import REDACTED, RedactingFilter, sensitive

KEYRING = {"format": 1, "active": "kek-1", "keks": {"kek-1": "K" * 44}, "pepper": "P" * 44}


def logged(filter_: RedactingFilter, message: str, *args: object) -> str:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, args, None)
    assert filter_.filter(record)
    return record.getMessage()


def test_every_configured_secret_is_found_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "123456:canary-telegram-token",
        "TELEGRAM_WEBHOOK_SECRET": "canary-webhook-secret",
        "WHATSAPP_TOKEN": "canary-wa-token",
        "WHATSAPP_APP_SECRET": "canary-app-secret",
        "WHATSAPP_VERIFY_TOKEN": "canary verify&token",
        "RSSBOT_MASTER_KEY": json.dumps(KEYRING),
        "RSSBOT_SMTP_PASSWORD": "canary-smtp-password",
        "DATABASE_URL": "postgresql+asyncpg://rss:canary-db-pass@db:5432/rss",
        "REDIS_URL": "redis://:canary-redis-pass@redis:6379/0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    found = configured_secrets()
    for value in [*list(env.values())[:7], "canary-db-pass", "canary-redis-pass", "K" * 44]:
        assert value in found, value
    assert quote("canary verify&token", safe="") in found
    line = logged(
        RedactingFilter(found),
        "GET /whatsapp?hub.verify_token=%s db=%s",
        quote("canary verify&token", safe=""),
        env["DATABASE_URL"],
    )
    assert "canary" not in line and line.count(REDACTED) == 2


def test_without_secrets_configured_nothing_short_or_empty_is_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "WHATSAPP_TOKEN", "RSSBOT_MASTER_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", "abc")  # (too short to search for)
    assert "abc" not in configured_secrets()
    assert logged(RedactingFilter(configured_secrets()), "abc def") == "abc def"


def test_tokens_by_shape_and_sensitive_values_are_redacted() -> None:
    filter_ = RedactingFilter()
    assert REDACTED in logged(filter_, "token 123456789:AAbbccddeeffgghhiijjkkllmmnnoopp_q")
    with sensitive("a returnee's words"):
        assert logged(filter_, "text: %s", "a returnee's words") == f"text: {REDACTED}"
    assert logged(filter_, "text: %s", "a returnee's words") == "text: a returnee's words"
