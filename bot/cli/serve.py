"""``rssbot run`` (the Telegram bot), ``rssbot enroll`` and ``rssbot invite`` (invitation
links)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.staff import windows
from bot.common import configured_definition, fail, open_store
from bot.i18n import UI_LANGUAGES
from bot.settings import BotSettings
from bot.staff import invitation_link
from bot.survey_scores import configured_weight_table, score_unscored_surveys
from storage.redaction import configure_logging
from storage.store import CaseAlreadyEnrolled, InviteProblem, Store

log = logging.getLogger("rssbot")


def _token(config: BotSettings) -> str:
    if config.token is None or not config.token.get_secret_value().strip():
        fail(
            "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather, then: "
            "export TELEGRAM_BOT_TOKEN=...  (see the README)"
        )
    return config.token.get_secret_value().strip()


async def _serve(config: BotSettings, token: str, webhook: WebhookOptions | None) -> None:
    """Polling (embedded default) or webhook; Redis-shared state when REDIS_URL is set."""
    # the Telegram client is imported only by the commands that talk to Telegram
    from aiohttp import web

    from bot.rate_limits import RedisRateLimiter
    from bot.telegram.app import (
        build_bot,
        build_dispatcher,
        redis_client,
        redis_state,
        set_commands,
    )
    from bot.telegram.metrics import Metrics
    from bot.telegram.sender import scheduled_rounds_loop
    from bot.telegram.services import Services
    from bot.telegram.webhook import build_webhook_app

    store = await open_store()
    metrics = Metrics()
    bot = build_bot(token, config.api_base, metrics=metrics)
    sender_bot = build_bot(token, config.api_base, retries=False, metrics=metrics)
    redis = redis_client(config.redis_url.get_secret_value()) if config.redis_url else None
    svc = Services(
        store=store,
        definition=configured_definition(),
        table=configured_weight_table(),
        show_scores=config.show_scores,
        windows=windows(),
        sender_bot=sender_bot,
        send_rate=config.send_rate,
        metrics=metrics,
    )
    storage = isolation = None
    if redis is not None:
        storage, isolation, svc.claims = redis_state(redis, config.redis_prefix, config.claim_ttl)
        svc.limiter_factory = lambda rate: RedisRateLimiter(redis, config.redis_prefix, rate=rate)
    dp = build_dispatcher(svc, storage=storage, isolation=isolation, webhook=webhook is not None)
    await score_unscored_surveys(store, svc.definition, svc.table)
    pruning = asyncio.create_task(_housekeeping(store, svc.policy.retention_months))
    scheduling = asyncio.create_task(
        scheduled_rounds_loop(store, sender_bot, svc.limiter(), svc.windows, metrics=metrics)
    )
    try:
        me = await bot.get_me()
        await set_commands(bot)
        if webhook is None:
            log.info("bot @%s starting: polling %s", me.username, config.api_base)
            await bot.delete_webhook(drop_pending_updates=False)
            await dp.start_polling(bot, polling_timeout=30)
            return
        if config.webhook_url:
            await bot.set_webhook(
                config.webhook_url.rstrip("/") + webhook.path,
                secret_token=webhook.secret,
                allowed_updates=dp.resolve_used_update_types(),
            )
        app = build_webhook_app(dp, bot, svc, path=webhook.path, secret=webhook.secret, redis=redis)
        runner = web.AppRunner(app, handle_signals=True)
        await runner.setup()
        site = web.TCPSite(runner, webhook.host, webhook.port, reuse_port=True)
        await site.start()
        log.info(
            "bot @%s starting: webhook on %s:%s%s",
            me.username,
            webhook.host,
            webhook.port,
            webhook.path,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signame in ("SIGINT", "SIGTERM"):
            loop.add_signal_handler(getattr(signal, signame), stop.set)
        await stop.wait()
        await runner.cleanup()
    finally:
        pruning.cancel()
        scheduling.cancel()
        await bot.session.close()
        await sender_bot.session.close()
        if redis is not None:
            await redis.aclose()
        await store.close()


async def _housekeeping(store: Store, retention_months: int, every: float = 3600.0) -> None:
    """Hourly: forget applied update ids after two days (Telegram stops redelivering long
    before), and erase returnees past the retention period the consent screen states."""
    while True:
        try:
            removed = await store.prune_processed()
            if removed:
                log.info("forgot %s applied update ids older than two days", removed)
            erased = await store.erase_past_retention(retention_months)
            if erased:
                log.info("erased %s returnees past the retention period", erased)
        except Exception as exc:  # a passing database hiccup must not stop the bot
            log.warning("housekeeping failed: %s", exc.__class__.__name__)
        await asyncio.sleep(every)


@dataclass(frozen=True)
class WebhookOptions:
    host: str
    port: int
    path: str
    secret: str


def run(
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING...")] = "INFO",
    webhook: Annotated[
        bool, typer.Option("--webhook", help="Serve a webhook instead of polling.")
    ] = False,
    host: Annotated[str, typer.Option(help="Webhook: address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Webhook: port.")] = 8080,
    path: Annotated[str, typer.Option(help="Webhook: URL path.")] = "/telegram",
) -> None:
    """Run the Telegram bot: long polling by default, or a webhook worker (--webhook)."""
    config = BotSettings()
    token = _token(config)
    options = None
    if webhook:
        if config.webhook_secret is None or len(config.webhook_secret.get_secret_value()) < 16:
            fail(
                "webhook mode needs TELEGRAM_WEBHOOK_SECRET (16+ characters of A-Z, a-z, "
                "0-9, _ and -): Telegram sends it with every update"
            )
        options = WebhookOptions(host, port, path, config.webhook_secret.get_secret_value())
    configure_logging(log_level.upper())
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(_serve(config, token, options))


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (Linux, macOS): the same asyncio API, a faster loop."""
    try:
        import uvloop
    except ImportError:  # e.g. Windows: the standard loop
        return None
    return uvloop.new_event_loop


async def _username(config: BotSettings) -> str | None:
    if config.username:
        return config.username.lstrip("@")
    if config.token is None:
        return None
    from bot.telegram.app import build_bot

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


QrOption = Annotated[
    Path | None,
    typer.Option(help="Also write the link as a QR code to this PNG file (to print or show)."),
]


def enroll(
    case: Annotated[str, typer.Option("--case", help="The case reference in your system.")],
    return_date: Annotated[str, typer.Option(help="Date of return, YYYY-MM-DD.")],
    language: Annotated[str, typer.Option(help="Proposed language: en, fr or ar.")] = "en",
    country: Annotated[str | None, typer.Option(help="Country of return (ISO code).")] = None,
    valid_days: Annotated[int, typer.Option(min=1, max=365, help="Link validity.")] = 30,
    qr: QrOption = None,
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
        username = await _username_for(config, qr)
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
        except CaseAlreadyEnrolled as exc:
            fail(
                f"case '{case.strip()}' is already enrolled as {exc.holder.public_id} "
                f"({exc.holder.status}); nothing was changed. For a new invitation link: "
                f"rssbot invite --case '{case.strip()}'",
                code=1,
            )
        finally:
            await store.close()
        return returnee.public_id, token, username

    public_id, token, username = asyncio.run(_enroll())
    typer.echo(f"Enrolled {public_id}. Invitation link (single use, valid {valid_days} days):")
    _print_link(username, token, qr)


async def _username_for(config: BotSettings, qr: Path | None) -> str | None:
    """The bot's username; a QR code needs it, so without it nothing is done."""
    username = await _username(config)
    if qr is not None and not username:
        fail(
            "no QR code without the bot's username (it would not open the bot): "
            "set TELEGRAM_BOT_USERNAME or TELEGRAM_BOT_TOKEN"
        )
    return username


def _print_link(username: str | None, token: str, qr: Path | None = None) -> None:
    link = invitation_link(username, token)
    typer.echo(link)
    if not username:
        typer.echo(
            "rssbot: set TELEGRAM_BOT_USERNAME (or TELEGRAM_BOT_TOKEN) to print the full link",
            err=True,
        )
    elif qr is not None:
        from bot.invitation_codes import qr_png

        qr.write_bytes(qr_png(link))
        typer.echo(f"QR code: {qr}")


def invite(
    case: Annotated[str | None, typer.Option("--case", help="The case reference.")] = None,
    returnee: Annotated[str | None, typer.Option(help="Pseudonymous id (R-...).")] = None,
    valid_days: Annotated[int, typer.Option(min=1, max=365, help="Link validity.")] = 30,
    qr: QrOption = None,
) -> None:
    """A new invitation link for an enrolled returnee (lost or expired link): their
    earlier unused links stop working."""
    if (case is None) == (returnee is None):
        fail("give --case or --returnee")
    config = BotSettings()

    async def _invite() -> tuple[str, str, str | None]:
        username = await _username_for(config, qr)
        store = await open_store()
        try:
            info = (
                await store.find_by_case_ref(case, actor="cli")
                if case
                else await store.find_by_public_id(returnee or "")
            )
            if info is None:
                fail("no enrolled returnee with this reference; enrol them with 'rssbot enroll'", 1)
            try:
                token = await store.reissue_invite(info.id, valid_days=valid_days, actor="cli")
            except InviteProblem:
                fail(f"{info.public_id} declined to take part: enrol them again if they agree", 1)
        finally:
            await store.close()
        return info.public_id, token, username

    public_id, token, username = asyncio.run(_invite())
    typer.echo(
        f"New invitation for {public_id} (single use, valid {valid_days} days; "
        "earlier links no longer work):"
    )
    _print_link(username, token, qr)


def console_web(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8090,
    send_rounds: Annotated[
        bool,
        typer.Option(
            help="Send the rounds started in the console from this process (needs "
            "TELEGRAM_BOT_TOKEN); --no-send-rounds leaves them to 'rssbot round worker'."
        ),
    ] = True,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING...")] = "INFO",
) -> None:
    """Serve the staff web console (sign in with a link from /console in the chat or
    'rssbot staff login-link'); put it behind the HTTPS proxy."""
    from aiohttp import web

    from bot.web.app import SERVER_OPTIONS, Console, build_console_app

    configure_logging(log_level.upper())
    config = BotSettings()

    async def serve() -> web.Application:
        from bot.rate_limits import RateLimiter
        from bot.telegram.app import build_bot

        store = await open_store()
        bot = None
        if send_rounds and config.token is not None:
            bot = build_bot(config.token.get_secret_value(), config.api_base, retries=False)
        elif send_rounds:
            log.warning(
                "TELEGRAM_BOT_TOKEN is not set: rounds started in the console wait for "
                "'rssbot round worker' (or 'rssbot round resume')"
            )
        console = Console(
            store,
            configured_weight_table(),
            windows=windows(),
            bot=bot,
            limiter=RateLimiter(config.send_rate or None),
        )

        async def close(_: web.Application) -> None:
            await console.close()
            if bot is not None:
                await bot.session.close()
            await store.close()

        app = build_console_app(console)
        app.on_cleanup.append(close)
        return app

    log.info("staff console on http://%s:%s", host, port)
    web.run_app(serve(), host=host, port=port, print=None, **SERVER_OPTIONS)
