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

from bot.cli.staff import AsOption, acting, windows
from bot.common import configured_definition, configured_programme, fail, open_store
from bot.followup_rules import check_unchecked
from bot.languages import languages
from bot.settings import BotSettings, WhatsAppSettings, configured_secrets
from bot.sign_in_mail import mailer_from_settings
from bot.staff import NotAllowed, invitation_link, whatsapp_invitation_link
from bot.staff import records as staff_records
from bot.staff.oidc import oidc_from_settings
from bot.survey_scores import configured_weight_table, score_unscored_surveys
from flows.model import options_of
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


async def _serve(
    config: BotSettings,
    token: str | None,
    webhook: WebhookOptions | None,
    whatsapp: WhatsAppSettings,
    listen: tuple[str, int],
) -> None:
    """Telegram (polling, the embedded default, or webhook) and WhatsApp (its webhook, on
    ``listen``), whichever are configured; Redis-shared state when REDIS_URL is set."""
    # the clients are imported only by the commands that talk to a chat app
    from aiohttp import web

    from bot.access_log import PathOnlyAccessLogger
    from bot.feedback_drafts import RedisDrafts
    from bot.health import add_health_routes
    from bot.rate_limits import RedisRateLimiter
    from bot.telegram.app import (
        build_bot,
        build_dispatcher,
        redis_client,
        set_commands,
    )
    from bot.telegram.metrics import Metrics
    from bot.telegram.sender import scheduled_rounds_loop
    from bot.telegram.services import Services
    from bot.telegram.webhook import SHUTDOWN_TIMEOUT, build_webhook_app
    from bot.whatsapp.client import CloudError
    from bot.whatsapp.conversation import WhatsAppConversation
    from bot.whatsapp.reminders import courier_from_settings
    from bot.whatsapp.webhook import add_routes

    store = await open_store()
    metrics = Metrics()
    bot = build_bot(token, config.api_base, metrics=metrics) if token else None
    sender_bot = (
        build_bot(token, config.api_base, retries=False, metrics=metrics) if token else None
    )
    redis = redis_client(config.redis_url.get_secret_value()) if config.redis_url else None
    courier = courier_from_settings(whatsapp, store, redis=redis, prefix=config.redis_prefix)
    svc = Services(
        store=store,
        definition=configured_definition(),
        table=configured_weight_table(),
        show_scores=config.show_scores,
        windows=windows(),
        sender_bot=sender_bot,
        send_rate=config.send_rate,
        metrics=metrics,
        couriers=[courier] if courier else [],
        programme=configured_programme(),
    )
    questions = {q.id: {o.id for o in options_of(q)} for q in svc.definition.questions}
    for problem in svc.programme.check_against(questions):
        log.warning("programme file: %s (the rule never applies)", problem)
    if redis is not None:
        svc.drafts = RedisDrafts(redis, config.redis_prefix)
        svc.limiter_factory = lambda rate: RedisRateLimiter(redis, config.redis_prefix, rate=rate)
    dp = build_dispatcher(svc, webhook=webhook is not None)
    tasks: list[asyncio.Task[None]] = []
    runner: web.AppRunner | None = None
    try:
        if courier is not None:
            try:
                shown = await courier.client.check()
            except CloudError as exc:
                fail(f"the WhatsApp Cloud API refuses WHATSAPP_TOKEN / PHONE_NUMBER_ID: {exc}")
            log.info("WhatsApp number %s ready", shown)
        await score_unscored_surveys(store, svc.definition, svc.table)
        await check_unchecked(store, svc.programme, svc.definition)
        tasks.append(asyncio.create_task(_housekeeping(store, svc.policy.retention_months)))
        tasks.append(
            asyncio.create_task(
                scheduled_rounds_loop(
                    store,
                    sender_bot,
                    svc.limiter(),
                    svc.windows,
                    metrics=metrics,
                    couriers=svc.couriers,
                )
            )
        )
        app: web.Application | None = None
        if bot is not None:
            me = await bot.get_me()
            await set_commands(bot)
            if webhook is not None:
                if config.webhook_url:
                    await bot.set_webhook(
                        config.webhook_url.rstrip("/") + webhook.path,
                        secret_token=webhook.secret,
                        allowed_updates=dp.resolve_used_update_types(),
                    )
                app = build_webhook_app(
                    dp, bot, svc, path=webhook.path, secret=webhook.secret, redis=redis
                )
                log.info("bot @%s: Telegram webhook at %s", me.username, webhook.path)
        if courier is not None:
            if app is None:
                app = web.Application()
                add_health_routes(app, store, metrics.registry, redis)
            assert whatsapp.app_secret is not None and whatsapp.verify_token is not None
            add_routes(
                app,
                WhatsAppConversation(
                    svc,
                    courier.client,
                    drafts=svc.drafts,
                ),
                path=whatsapp.path,
                app_secret=whatsapp.app_secret.get_secret_value(),
                verify_token=whatsapp.verify_token.get_secret_value(),
            )
            log.info("WhatsApp webhook at %s", whatsapp.path)
        if app is not None:
            runner = web.AppRunner(
                app,
                handle_signals=True,
                access_log_class=PathOnlyAccessLogger,
                shutdown_timeout=SHUTDOWN_TIMEOUT,
            )
            await runner.setup()
            await web.TCPSite(runner, listen[0], listen[1], reuse_port=True).start()
            log.info("listening on %s:%s", *listen)
        if bot is not None and webhook is None:
            log.info("bot @%s starting: polling %s", me.username, config.api_base)
            await bot.delete_webhook(drop_pending_updates=False)
            await dp.start_polling(bot, polling_timeout=30)
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signame in ("SIGINT", "SIGTERM"):
            loop.add_signal_handler(getattr(signal, signame), stop.set)
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        if runner is not None:
            await runner.cleanup()
        for client in (bot, sender_bot):
            if client is not None:
                await client.session.close()
        if courier is not None:
            await courier.client.close()
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
        bool, typer.Option("--webhook", help="Serve a Telegram webhook instead of polling.")
    ] = False,
    host: Annotated[
        str, typer.Option(help="Webhooks (Telegram, WhatsApp): address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Webhooks: port.")] = 8080,
    path: Annotated[str, typer.Option(help="Telegram webhook: URL path.")] = "/telegram",
) -> None:
    """Run the bot: Telegram by long polling (or a webhook worker with --webhook) when
    TELEGRAM_BOT_TOKEN is set, and WhatsApp's webhook (WHATSAPP_WEBHOOK_PATH on the same
    address) when WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID are set."""
    config, whatsapp = BotSettings(), WhatsAppSettings()
    token = None
    if not whatsapp.enabled or (config.token and config.token.get_secret_value().strip()):
        token = _token(config)
    if whatsapp.enabled and not (whatsapp.app_secret and whatsapp.verify_token):
        fail(
            "WhatsApp needs WHATSAPP_APP_SECRET (deliveries are checked against it) and "
            "WHATSAPP_VERIFY_TOKEN (the webhook's verification handshake): see the README"
        )
    options = None
    if webhook:
        if token is None:
            fail("--webhook serves Telegram: set TELEGRAM_BOT_TOKEN")
        if config.webhook_secret is None or len(config.webhook_secret.get_secret_value()) < 16:
            fail(
                "webhook mode needs TELEGRAM_WEBHOOK_SECRET (16+ characters of A-Z, a-z, "
                "0-9, _ and -): Telegram sends it with every update"
            )
        options = WebhookOptions(host, port, path, config.webhook_secret.get_secret_value())
    configure_logging(log_level.upper(), configured_secrets())
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(_serve(config, token, options, whatsapp, (host, port)))


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
ChannelOption = Annotated[
    str | None,
    typer.Option(
        help="telegram or whatsapp: where the link opens (default: Telegram, or WhatsApp "
        "when only WhatsApp is set up)."
    ),
]


def _channel(channel: str | None) -> str:
    if channel is None:
        whatsapp_only = WhatsAppSettings().enabled and BotSettings().token is None
        return "whatsapp" if whatsapp_only else "telegram"
    if channel not in ("telegram", "whatsapp"):
        fail(f"--channel must be telegram or whatsapp, not {channel!r}")
    if channel == "whatsapp" and not WhatsAppSettings().number:
        fail("a WhatsApp link needs the business number: set WHATSAPP_NUMBER (e.g. 15550100)")
    return channel


def enroll(
    case: Annotated[str, typer.Option("--case", help="The case reference in your system.")],
    return_date: Annotated[str, typer.Option(help="Date of return, YYYY-MM-DD.")],
    language: Annotated[
        str, typer.Option(help="Proposed language: any language installed.")
    ] = "en",
    country: Annotated[str | None, typer.Option(help="Country of return (ISO code).")] = None,
    valid_days: Annotated[int, typer.Option(min=1, max=365, help="Link validity.")] = 30,
    qr: QrOption = None,
    channel: ChannelOption = None,
) -> None:
    """Enrol a returnee and print their single-use invitation link."""
    interface = languages().interface
    if language not in interface:
        fail(f"unknown language '{language}': choose one of {', '.join(interface)}")
    if not case.strip():
        fail("--case must not be empty")
    when = _parse_date(return_date)
    if when > date.today():
        fail("--return-date is in the future")
    config, channel = BotSettings(), _channel(channel)

    async def _enroll() -> tuple[str, str, str | None]:
        username = await _username_for(config, qr) if channel == "telegram" else None
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
    _print_link(channel, username, token, qr)


async def _username_for(config: BotSettings, qr: Path | None) -> str | None:
    """The bot's username; a QR code needs it, so without it nothing is done."""
    username = await _username(config)
    if qr is not None and not username:
        fail(
            "no QR code without the bot's username (it would not open the bot): "
            "set TELEGRAM_BOT_USERNAME or TELEGRAM_BOT_TOKEN"
        )
    return username


def _print_link(channel: str, username: str | None, token: str, qr: Path | None = None) -> None:
    if channel == "whatsapp":
        link = whatsapp_invitation_link(WhatsAppSettings().number or "", token)
    else:
        link = invitation_link(username, token)
    typer.echo(link)
    if channel == "telegram" and not username:
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
    channel: ChannelOption = None,
    who: AsOption = None,
) -> None:
    """A new invitation link for an enrolled returnee (lost or expired link): their
    earlier unused links stop working."""
    if (case is None) == (returnee is None):
        fail("give --case or --returnee")
    config, channel = BotSettings(), _channel(channel)

    async def _invite() -> tuple[str, str, str | None]:
        username = await _username_for(config, qr) if channel == "telegram" else None
        store = await open_store()
        try:
            me = await acting(store, who, "caseworker")
            try:
                info = await staff_records.find_returnee(
                    store, me, case_ref=case, public_id=returnee, action="invite"
                )
            except NotAllowed as exc:
                fail(str(exc))
            if info is None:
                fail("no enrolled returnee with this reference; enrol them with 'rssbot enroll'", 1)
            try:
                token = await store.reissue_invite(info.id, valid_days=valid_days, actor=me.actor)
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
    _print_link(channel, username, token, qr)


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

    configure_logging(log_level.upper(), configured_secrets())
    config = BotSettings()

    async def serve() -> web.Application:
        from bot.rate_limits import RateLimiter
        from bot.telegram.app import build_bot
        from bot.whatsapp.reminders import courier_from_settings

        store = await open_store()
        bot = courier = None
        if send_rounds:
            if config.token is not None:
                bot = build_bot(config.token.get_secret_value(), config.api_base, retries=False)
            courier = courier_from_settings(WhatsAppSettings(), store)
            if bot is None and courier is None:
                log.warning(
                    "neither TELEGRAM_BOT_TOKEN nor WHATSAPP_TOKEN is set: rounds started in "
                    "the console wait for 'rssbot round worker' (or 'rssbot round resume')"
                )
        console = Console(
            store,
            configured_weight_table(),
            telegram_username=await _username(config),
            whatsapp_number=WhatsAppSettings().number,
            windows=windows(),
            bot=bot,
            limiter=RateLimiter(config.send_rate or None),
            couriers=[courier] if courier else [],
            programme=configured_programme(),
            mailer=mailer_from_settings(),
            oidc=oidc_from_settings(),
        )

        async def close(_: web.Application) -> None:
            await console.close()
            if bot is not None:
                await bot.session.close()
            if courier is not None:
                await courier.client.close()
            await store.close()

        app = build_console_app(console)
        app.on_cleanup.append(close)
        return app

    log.info("staff console on http://%s:%s", host, port)
    web.run_app(serve(), host=host, port=port, print=None, **SERVER_OPTIONS)
