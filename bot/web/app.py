"""The staff console as an aiohttp application, server-rendered with Jinja2 (autoescaped).

Security: every page but sign-in needs a session (cookie ``HttpOnly``, ``SameSite=Strict``,
``Secure`` behind HTTPS, ending when idle); roles are checked on the server for every page
and action (:mod:`bot.staff`); every state-changing request carries the session's CSRF
token; responses carry a strict Content-Security-Policy (no script at all), and are not
cached. Sign-in tokens never reach a log: requests are logged by path, without the query.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from importlib import resources
from typing import Any
from urllib.parse import urlparse

import aiohttp
from aiogram import Bot
from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.common import configured_definition
from bot.couriers import Courier
from bot.i18n import SOURCE_LANGUAGE, translations
from bot.languages import languages
from bot.programme import Programme, load_programme
from bot.rate_limits import RateLimiter
from bot.sign_in_mail import MailFailed, SignInMailer
from bot.staff import allowed
from bot.staff import rounds as staff_rounds
from bot.staff.oidc import PENDING_SECONDS, OidcClient, SignInRefused, seal, unseal
from bot.staff_words import N_, StaffWords
from bot.telegram.sender import RoundSender
from bot.web.links import console_url, sign_in_link
from flows import FlowDefinition
from scoring import WeightTable
from storage import console_auth, reports
from storage.caseload_list import STATUS_FILTERS, status_filter_of
from storage.console_auth import ConsoleUser
from storage.staff_audit import normal_email
from storage.store import Store
from storage.waves import WAVES, Wave, WaveWindows, today_utc

log = logging.getLogger(__name__)

COOKIE = "rssbot_console"
#: the console's language, chosen with the links in its header
LANGUAGE_COOKIE = "rssbot_console_language"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
#: how the console's server runs: no access log (its lines carry the query, where a
#: sign-in token is); requests are logged by path instead
SERVER_OPTIONS: dict[str, Any] = {"access_log": None}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
View = Callable[["Console", web.Request], Awaitable[web.StreamResponse]]
#: binds a page to the console it serves
Binder = Callable[[View], Handler]
#: the signed-in staff member of a request
USER = web.RequestKey("user", ConsoleUser)


@dataclass
class Console:
    store: Store
    table: WeightTable
    windows: WaveWindows = field(default_factory=WaveWindows)
    today: Callable[[], date] = today_utc
    #: sends the rounds started here (None: 'rssbot run' or 'rssbot round worker' sends
    #: them, which look for open rounds)
    bot: Bot | None = None
    limiter: RateLimiter = field(default_factory=RateLimiter)
    #: the other channels' reminder senders (WhatsApp)
    couriers: list[Courier] = field(default_factory=list)
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    #: where invitation links made here open: the Telegram bot's username, the WhatsApp
    #: business number (None: that channel is not offered)
    telegram_username: str | None = None
    whatsapp_number: str | None = None
    #: the survey in use (export labels, its completed surveys)
    definition: FlowDefinition = field(default_factory=configured_definition)
    #: profile attributes, assistance taxonomy and follow-up rules
    programme: Programme = field(default_factory=load_programme)
    #: sends sign-in links by email (None: no SMTP server set up)
    mailer: SignInMailer | None = None
    #: the organisation's identity provider staff sign in with (None: none set up)
    oidc: OidcClient | None = None
    #: cohort figures and charts kept a few minutes (aggregates only, no personal data)
    cache: dict[Any, Any] = field(default_factory=dict)
    #: the path the proxy serves the console under (``/console``; empty at the root),
    #: from ``RSSBOT_CONSOLE_URL``: links, forms and redirects start with it
    base: str = field(default_factory=lambda: urlparse(console_url()).path.rstrip("/"))
    templates: Environment = field(
        default_factory=lambda: Environment(
            loader=PackageLoader("bot.web", "templates"), autoescape=select_autoescape()
        )
    )

    def page(
        self, request: web.Request, template: str, status: int = 200, **values: Any
    ) -> web.Response:
        user = request.get(USER)
        token = request.cookies.get(COOKIE)
        lang = language_of(request)
        registry = languages()
        catalogue = translations(lang)
        _ = catalogue.gettext
        note = None
        if user is not None and self.table.provisional_weights:
            note = _(
                "These scores are indicative: {provisional} of the {total} weights are "
                "provisional until the official weight table is loaded."
            ).format(provisional=self.table.provisional_weights, total=len(self.table.elements))
        html = self.templates.get_template(template).render(
            user=user,
            csrf=console_auth.csrf_token(token) if user and token else "",
            may=lambda action: user is not None and allowed(user.role, action),
            weights_note=note,
            base=self.base,
            lang=lang,
            dir=registry.direction(lang),
            languages=[(code, registry.name(code)) for code in registry.interface],
            language_name=registry.name,
            words=StaffWords(_),
            _=_,
            ngettext=catalogue.ngettext,
            **values,
        )
        return web.Response(text=html, content_type="text/html", status=status)

    async def staff_names(self) -> dict[str, str]:
        """Each staff actor's name as the admin gave it (audit actors -> names)."""
        return {f"staff:{m.id}": m.name or m.id[:8] for m in await self.store.list_staff()}

    @staticmethod
    def may(user: ConsoleUser, action: str) -> bool:
        return allowed(user.role, action)

    def send_round(self, round_id: str) -> None:
        """Send a round started (or resumed) here in the background, if this console has
        a bot; otherwise the bot's workers send it."""
        if self.bot is None and not self.couriers:
            return
        sender = RoundSender(self.store, self.bot, self.limiter, couriers=self.couriers)

        async def run() -> None:
            try:
                await sender.run(round_id)
            except Exception:
                log.exception("round %s stopped; 'rssbot round resume' finishes it", round_id)

        task = asyncio.create_task(run())
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def close(self) -> None:
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        if self.oidc is not None:
            await self.oidc.close()

    def refuse(self, request: web.Request, status: int, message: str) -> web.Response:
        """An error page; ``message`` is an English msgid, shown translated."""
        _ = gettext_for(language_of(request))
        titles = {403: _("Not allowed"), 404: _("Not found")}
        title = titles.get(status, _("Not available"))
        return self.page(
            request, "error.html", status, title=title, message=_(message), code=status
        )


def language_of(request: web.Request) -> str:
    """The language chosen in the console, else the browser's first UI language."""
    interface = languages().interface
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in interface:
        return chosen
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip()
        if tag and tag != "*" and (code := languages().proposed(tag)) != SOURCE_LANGUAGE:
            return code
        if tag.split("-")[0].lower() == SOURCE_LANGUAGE:
            return SOURCE_LANGUAGE
    return SOURCE_LANGUAGE


def wave_and_country(values: Mapping[str, Any]) -> tuple[Wave | None, str | None]:
    """The wave and country of a filter or form: an unknown wave is None (every wave), a
    country is its letters upper-cased, or None (every country)."""
    wave = values.get("wave")
    country = str(values.get("country") or "").strip().upper()
    return (
        wave if wave in WAVES else None,
        country if country.isalpha() and len(country) <= 8 else None,
    )


def page_number(query: Mapping[str, str]) -> int:
    """The page of a list asked for (``page``; the first for anything else)."""
    text = query.get("page", "")
    return int(text) if text.isdigit() and int(text) > 0 else 1


def day_of(text: str | None) -> date | None:
    """A day typed in a filter (YYYY-MM-DD, as a date field sends it); None otherwise."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def start_of(day: date | None) -> datetime | None:
    """The first moment of a day (UTC), where a filter by days starts or ends."""
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def gettext_for(language: str) -> Callable[[str], str]:
    return translations(language).gettext


def _secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto") == "https"


def _set_cookie(
    response: web.StreamResponse,
    console: Console,
    request: web.Request,
    name: str,
    value: str,
    max_age: int | None = None,
) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, Secure behind HTTPS, under its path
    (a session cookie when no ``max_age``)."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="Strict",
        secure=_secure(request),
        path=f"{console.base}/",
        max_age=max_age,
    )


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"


def _middlewares(console: Console) -> list[Any]:
    @web.middleware
    async def logged(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            log.info("%s %s %s", request.method, request.path, exc.status)  # (no query)
            raise
        log.info("%s %s %s", request.method, request.path, response.status)
        return response

    @web.middleware
    async def session(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(("/static/", "/language/")) or request.path in (
            "/login",
            "/login/email",
            "/login/oidc",
            "/login/oidc/callback",
        ):
            return await handler(request)
        token = request.cookies.get(COOKIE)
        user = await console_auth.session_user(console.store, token) if token else None
        if user is None or token is None:
            if request.method == "GET":
                raise web.HTTPSeeOther(f"{console.base}/login")
            return console.refuse(request, 403, N_("Your session has ended: sign in again."))
        request[USER] = user
        if request.method != "GET":
            form = await request.post()
            given = form.get("csrf")
            if not console_auth.csrf_valid(token, given if isinstance(given, str) else None):
                await console.store.staff.refused(user.actor, f"{request.method} {request.path}")
                return console.refuse(request, 403, N_("This form has expired: reload the page."))
        return await handler(request)

    return [logged, session]


def requires(action: str) -> Callable[[View], View]:
    """A page or action only for the roles allowed ``action`` (403 for the others)."""

    def wrap(view: View) -> View:
        async def checked(console: Console, request: web.Request) -> web.StreamResponse:
            user = request[USER]
            if not allowed(user.role, action):
                await console.store.staff.refused(user.actor, f"{request.method} {request.path}")
                return console.refuse(
                    request, 403, N_("Your role does not give access to this page.")
                )
            return await view(console, request)

        return checked

    return wrap


# -- pages ---------------------------------------------------------------------------------


async def sign_in_page(console: Console, request: web.Request) -> web.StreamResponse:
    # a link opened shows a button: link previews (GET) must not use the single-use token
    _ = gettext_for(language_of(request))
    return console.page(
        request,
        "sign_in.html",
        title=_("Sign in"),
        token=request.query.get("t"),
        by_email=console.mailer is not None,
        provider=console.oidc.settings.name if console.oidc else None,
    )


#: the cookie that carries a sign-in started with the identity provider (SameSite=Lax:
#: the provider sends the person back with a cross-site navigation)
OIDC_COOKIE = "rssbot_oidc"


def _oidc_key(console: Console) -> bytes:
    return hashlib.sha256(
        console.store.keyring.pseudonym("console", "oidc-cookie").encode()
    ).digest()


async def oidc_start(console: Console, request: web.Request) -> web.StreamResponse:
    """To the organisation's sign-in page, with a state, a nonce and a PKCE challenge."""
    if console.oidc is None:
        raise web.HTTPNotFound()
    try:
        url, pending = await console.oidc.start()
    except (SignInRefused, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("the identity provider cannot be reached: %s", exc)
        return _oidc_refused(console, request, 503)
    redirect = web.HTTPSeeOther(url)
    redirect.set_cookie(
        OIDC_COOKIE,
        seal(pending, _oidc_key(console)),
        httponly=True,
        samesite="Lax",
        secure=_secure(request),
        path=f"{console.base}/login/oidc/",
        max_age=PENDING_SECONDS,
    )
    raise redirect


def _oidc_refused(console: Console, request: web.Request, status: int = 403) -> web.Response:
    _ = gettext_for(language_of(request))
    problems = {
        403: _("This sign-in did not work: start again from the sign-in page."),
        503: _(
            "The sign-in service of your organisation cannot be reached; please try again later."
        ),
    }
    response = console.page(
        request,
        "sign_in.html",
        status,
        title=_("Sign in"),
        provider=console.oidc.settings.name if console.oidc else None,
        problem=problems[status],
    )
    response.del_cookie(OIDC_COOKIE, path=f"{console.base}/login/oidc/")
    return response


async def oidc_callback(console: Console, request: web.Request) -> web.StreamResponse:
    """Back from the provider: check its answer, find the staff member, open a session."""
    if console.oidc is None:
        raise web.HTTPNotFound()
    staff = console.store.staff
    pending = unseal(request.cookies.get(OIDC_COOKIE), _oidc_key(console), console.oidc.clock())
    state, code = request.query.get("state"), request.query.get("code")
    if pending is None or not state or not code:
        await staff.refused("unknown", "oidc: no sign-in started here, or it expired")
        return _oidc_refused(console, request)
    try:
        person = await console.oidc.finish(pending, state, code, request.query.get("iss"))
    except SignInRefused as exc:
        await staff.refused("unknown", f"oidc: {exc}")
        return _oidc_refused(console, request)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("the identity provider cannot be reached: %s", exc)
        return _oidc_refused(console, request, 503)
    member = await console.oidc.identify(staff, person)
    if member is None:
        await staff.refused("unknown", "oidc: not a staff account")
        _ = gettext_for(language_of(request))
        response = console.page(
            request,
            "sign_in.html",
            403,
            title=_("Sign in"),
            provider=console.oidc.settings.name,
            problem=_(
                "Your organisation knows you, but you have no account in this console: "
                "ask an administrator to add your address."
            ),
        )
        response.del_cookie(OIDC_COOKIE, path=f"{console.base}/login/oidc/")
        return response
    session_token = await console_auth.open_session(console.store, member.staff_id, how="oidc")
    # a page of this site moves on to the console: the session cookie is SameSite=Strict,
    # and a browser does not send it on the provider's cross-site redirect chain
    _ = gettext_for(language_of(request))
    response = console.page(
        request, "signed_in.html", title=_("Signed in"), go_to=f"{console.base}/"
    )
    _set_cookie(response, console, request, COOKIE, session_token)
    response.del_cookie(OIDC_COOKIE, path=f"{console.base}/login/oidc/")
    return response


async def email_link(console: Console, request: web.Request) -> web.StreamResponse:
    """A sign-in link sent to a staff account's address. The answer is the same whether
    or not the address is a staff member's, and comes before the email is sent (neither
    the words nor the time tell who has an account)."""
    _ = gettext_for(language_of(request))
    form = await request.post()
    email = str(form.get("email") or "").strip()[:254]
    if console.mailer is None or not email:
        raise web.HTTPSeeOther(f"{console.base}/login")
    member = await console.store.staff.member_by_email(email)
    if member is None:
        await console.store.staff.refused("unknown", "sign-in link for an unknown address")
    else:
        mailer, language = console.mailer, language_of(request)

        address = normal_email(email)  # (the account's own spelling of it)

        async def send(staff_id: str) -> None:
            try:
                token = await console_auth.issue_link(console.store, staff_id)
                minutes = int(console_auth.LINK_TTL.total_seconds() // 60)
                await mailer.send(address, sign_in_link(token), language=language, minutes=minutes)
            except console_auth.TooManyLinks:
                await console.store.staff.refused(f"staff:{staff_id}", "too many sign-in links")
            except MailFailed:
                pass  # (logged by the mailer, without the address)

        task = asyncio.create_task(send(member[0]))
        console.background.add(task)
        task.add_done_callback(console.background.discard)
    return console.page(
        request,
        "sign_in.html",
        title=_("Sign in"),
        by_email=True,
        sent=_(
            "If this address belongs to a staff member, a sign-in link is on its way to it. "
            "It works once, for a few minutes."
        ),
    )


async def sign_in(console: Console, request: web.Request) -> web.StreamResponse:
    form = await request.post()
    token = form.get("token")
    session_token = (
        await console_auth.redeem_link(console.store, token) if isinstance(token, str) else None
    )
    if session_token is None:
        await console.store.staff.refused("unknown", "sign-in link expired or used")
        _ = gettext_for(language_of(request))
        return console.page(
            request,
            "sign_in.html",
            403,
            title=_("Sign in"),
            problem=_("This sign-in link has expired or was used already: ask for a new one."),
        )
    redirect = web.HTTPSeeOther(f"{console.base}/")
    _set_cookie(redirect, console, request, COOKIE, session_token)
    raise redirect


async def sign_out(console: Console, request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(COOKIE)
    if token:
        await console_auth.end_session(console.store, token)
    redirect = web.HTTPSeeOther(f"{console.base}/login")
    redirect.del_cookie(COOKIE, path=f"{console.base}/")
    raise redirect


async def home(console: Console, request: web.Request) -> web.StreamResponse:
    """The overview, or the feedback inbox for a feedback officer (their only page)."""
    if not allowed(request[USER].role, "due") and allowed(request[USER].role, "feedback"):
        raise web.HTTPSeeOther(f"{console.base}/feedback")
    return await overview(console, request)


@requires("due")
async def overview(console: Console, request: web.Request) -> web.StreamResponse:
    scope = request[USER].scope
    counts: Counter[str] = Counter()
    for (status, bound), n in (
        await reports.returnees_by_status(console.store, scope=scope)
    ).items():
        counts[status_filter_of(status, bound)] += n
    statuses = [(code, counts[code]) for code in STATUS_FILTERS if counts[code]]
    due = await staff_rounds.who_is_due(
        console.store,
        request[USER],
        wave=None,
        country=None,
        windows=console.windows,
        today=console.today(),
        case_refs_for=0,  # (counts only)
    )
    due_counts = [
        (w, sum(d.wave == w for d in due), sum(d.wave == w and d.skip is None for d in due))
        for w in WAVES
    ]
    _ = gettext_for(language_of(request))
    provisional = console.table.provisional_weights
    status = (
        _("provisional ({provisional} of {total} weights)").format(
            provisional=provisional, total=len(console.table.elements)
        )
        if provisional
        else _("official")
    )
    return console.page(
        request,
        "overview.html",
        title=_("Overview"),
        statuses=statuses,
        due_counts=due_counts,
        completed=await reports.completed_by_wave_and_country(console.store, scope=scope),
        weights_status=status,
    )


async def choose_language(console: Console, request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    redirect = web.HTTPSeeOther(f"{console.base}/")
    if code in languages().interface:
        _set_cookie(redirect, console, request, LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600)
    raise redirect


#: the largest request body: a caseload upload (a 10,000-row XLSX is about 0.6 MB)
UPLOAD_MAX = 16 * 1024 * 1024


def build_console_app(console: Console) -> web.Application:
    # (the pages import this module's framework)
    from bot.web import analysis, enrolment, followup, programme, records, rounds

    # (a caseload upload is the largest request a page takes)
    app = web.Application(middlewares=_middlewares(console), client_max_size=UPLOAD_MAX)
    app.on_response_prepare.append(_security_headers)

    def bind(view: View) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await view(console, request)

        return handler

    app.router.add_get("/login", bind(sign_in_page))
    app.router.add_post("/login", bind(sign_in))
    app.router.add_post("/login/email", bind(email_link))
    app.router.add_get("/login/oidc", bind(oidc_start))
    app.router.add_get("/login/oidc/callback", bind(oidc_callback))
    app.router.add_post("/logout", bind(sign_out))
    app.router.add_get("/", bind(home))
    app.router.add_get("/language/{code}", bind(choose_language))
    for pages in (rounds, analysis, programme, records, enrolment, followup):
        pages.add_routes(app.router, bind)
    app.router.add_static("/static", str(resources.files("bot.web").joinpath("static")))
    return app
