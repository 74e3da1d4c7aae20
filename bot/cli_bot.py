"""``rssbot run`` (the Telegram bot) and ``rssbot enroll`` (an invite link)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from typing import Annotated

import typer

from bot.app import BotSettings, build_bot, build_dispatcher, set_commands
from bot.cli_staff import windows
from bot.common import fail, open_store
from bot.i18n import UI_LANGUAGES
from bot.services import Services
from flows import builtin_definition
from scoring import default_weight_table
from storage.redaction import configure_logging

log = logging.getLogger("rssbot")


def _token(config: BotSettings) -> str:
    if config.token is None or not config.token.get_secret_value().strip():
        fail(
            "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather, then: "
            "export TELEGRAM_BOT_TOKEN=...  (see the README)"
        )
    return config.token.get_secret_value().strip()


async def _run_polling(config: BotSettings, token: str) -> None:
    store = await open_store()
    bot = build_bot(token, config.api_base)
    sender_bot = build_bot(token, config.api_base, retries=False)
    svc = Services(
        store=store,
        definition=builtin_definition(),
        table=default_weight_table(),
        show_scores=config.show_scores,
        windows=windows(),
        sender_bot=sender_bot,
    )
    dp = build_dispatcher(svc)
    try:
        me = await bot.get_me()
        log.info("bot @%s starting (polling, %s)", me.username, config.api_base)
        await set_commands(bot)
        await bot.delete_webhook(drop_pending_updates=False)
        await dp.start_polling(bot, polling_timeout=30)
    finally:
        await bot.session.close()
        await sender_bot.session.close()
        await store.close()


def run(
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING...")] = "INFO",
) -> None:
    """Run the Telegram bot (long polling) on the configured storage."""
    config = BotSettings()
    token = _token(config)
    configure_logging(log_level.upper())
    asyncio.run(_run_polling(config, token))


async def _username(config: BotSettings) -> str | None:
    if config.username:
        return config.username.lstrip("@")
    if config.token is None:
        return None
    bot = build_bot(config.token.get_secret_value(), config.api_base)
    try:
        me = await bot.get_me()
        return me.username
    except Exception as exc:  # offline, wrong token: the link can still be completed
        log.warning("cannot ask Telegram for the bot's username: %s", exc.__class__.__name__)
        return None
    finally:
        await bot.session.close()


def _parse_date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        fail(f"--return-date must look like 2026-05-31, not {text!r}")


def enroll(
    case: Annotated[str, typer.Option("--case", help="The case reference in your system.")],
    return_date: Annotated[str, typer.Option(help="Date of return, YYYY-MM-DD.")],
    language: Annotated[str, typer.Option(help="Proposed language: en, fr or ar.")] = "en",
    country: Annotated[str | None, typer.Option(help="Country of return (ISO code).")] = None,
    valid_days: Annotated[int, typer.Option(min=1, max=365, help="Link validity.")] = 30,
) -> None:
    """Enrol a returnee and print their single-use invitation link."""
    if language not in UI_LANGUAGES:
        fail(f"unknown language '{language}': choose one of {', '.join(UI_LANGUAGES)}")
    if not case.strip():
        fail("--case must not be empty")
    when = _parse_date(return_date)
    if when > date.today():
        fail("--return-date is in the future")
    config = BotSettings()

    async def _enroll() -> tuple[str, str, str | None]:
        store = await open_store()
        try:
            returnee = await store.enroll(
                case_ref=case.strip(),
                return_date=when,
                country=country,
                language=language,
                actor="cli",
            )
            token = await store.create_invite(returnee.id, valid_days=valid_days)
        finally:
            await store.close()
        return returnee.public_id, token, await _username(config)

    public_id, token, username = asyncio.run(_enroll())
    typer.echo(f"Enrolled {public_id}. Invitation link (single use, valid {valid_days} days):")
    if username:
        typer.echo(f"https://t.me/{username}?start={token}")
    else:
        typer.echo(f"https://t.me/<bot username>?start={token}")
        typer.echo(
            "rssbot: set TELEGRAM_BOT_USERNAME (or TELEGRAM_BOT_TOKEN) to print the full link",
            err=True,
        )
