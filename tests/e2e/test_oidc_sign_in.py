"""Signing in to the console with the organisation's identity provider: a real OpenID
provider (node-oidc-provider) on loopback, the console over real HTTP. A good login, a
wrong state, a replayed code, a token signed by another key, a token for another
audience, an expired token and an account not in the staff table: only the first signs
in, and every refusal is audited. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.settings import OidcSettings
from bot.staff.oidc import OidcClient
from bot.web.app import OIDC_COOKIE, SERVER_OPTIONS, Console, build_console_app
from scoring import default_weight_table
from storage.models import AuditEntry
from storage.store import Store
from tests.support.oidc import (
    CLIENT_ID,
    CLIENT_SECRET,
    LoopbackProvider,
    running_provider,
    sign_in_at_provider,
)

ACCOUNTS = {
    "awa": {"email": "Awa@Org.example", "email_verified": True, "name": "Awa"},
    "stranger": {"email": "stranger@org.example", "email_verified": True, "name": "Who"},
    "unverified": {"email": "awa@org.example", "email_verified": False, "name": "Not Awa"},
    "ibrahim": {
        "email": "ibrahim@org.example",
        "email_verified": True,
        "name": "Ibrahim",
        "groups": ["rss-caseworkers-gn"],
    },
}


@dataclass
class Setup:
    base: str
    provider: LoopbackProvider
    store: Store

    @property
    def callback(self) -> str:
        return f"{self.base}/login/oidc/callback"


@pytest.fixture
async def setup(store: Store) -> AsyncIterator[Setup]:
    console = Console(store, default_weight_table(), base="")
    server = TestServer(build_console_app(console), host="127.0.0.1")
    await server.start_server(**SERVER_OPTIONS)
    base = str(server.make_url("")).rstrip("/")
    try:
        async with running_provider(f"{base}/login/oidc/callback", ACCOUNTS) as provider:
            settings = OidcSettings.model_validate(
                {
                    "RSSBOT_OIDC_ISSUER": provider.issuer,
                    "RSSBOT_OIDC_CLIENT_ID": CLIENT_ID,
                    "RSSBOT_OIDC_CLIENT_SECRET": CLIENT_SECRET,
                    "RSSBOT_OIDC_NAME": "Test Org",
                    "RSSBOT_OIDC_SCOPES": "openid email profile groups",
                    "RSSBOT_OIDC_GROUP_ROLES": "rss-caseworkers-gn=caseworker:GN",
                }
            )
            console.oidc = OidcClient(settings, f"{base}/login/oidc/callback")
            await store.add_staff(None, "viewer", "Awa", email="awa@org.example")
            yield Setup(base, provider, store)
    finally:
        await console.close()
        await server.close()


def browser() -> aiohttp.ClientSession:
    """A browser of its own: cookies of loopback addresses kept."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def back_from_provider(setup: Setup, session: aiohttp.ClientSession, login: str) -> str:
    """Start at the console's sign-in button; the URL the provider sends the browser back
    to after ``login`` signed in and consented."""
    signin = await (await session.get(f"{setup.base}/login")).text()
    assert "Sign in with Test Org" in signin
    return await sign_in_at_provider(
        session, f"{setup.base}/login/oidc", login, stop_at=setup.callback
    )


async def signed_in(setup: Setup, session: aiohttp.ClientSession) -> bool:
    async with session.get(f"{setup.base}/", allow_redirects=False) as home:
        return home.status == 200


async def test_only_a_good_login_through_the_provider_signs_in(setup: Setup) -> None:
    # a good login: the staff member with this address, whatever its case
    async with browser() as good:
        url = await back_from_provider(setup, good, "awa")
        pending = next(c.value for c in good.cookie_jar if c.key == OIDC_COOKIE)
        back = await good.get(url)
        assert back.status == 200 and "Open the console" in await back.text()
        assert await signed_in(setup, good)
    # the same answer again (the code, the state and the pending sign-in, as an attacker
    # who copied them would send): the provider has used the code up
    async with browser() as replay:
        replay.cookie_jar.update_cookies(
            {OIDC_COOKIE: pending}, response_url=aiohttp.client.URL(setup.callback)
        )
        again = await replay.get(url)
        assert again.status == 403 and not await signed_in(setup, replay)
    # a wrong state
    async with browser() as forged:
        url = await back_from_provider(setup, forged, "awa")
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query)) | {"state": "not-the-state"}
        wrong = await forged.get(f"{setup.callback}?{urlencode(query)}")
        assert wrong.status == 403 and not await signed_in(setup, forged)
    # ID tokens an attacker between the console and the provider changed
    for tamper in ("other_key", "audience", "expired"):
        setup.provider.tamper = tamper
        async with browser() as session:
            refused = await session.get(await back_from_provider(setup, session, "awa"))
            assert refused.status == 403, tamper
            assert not await signed_in(setup, session), tamper
    setup.provider.tamper = None
    # someone the organisation knows who has no account here, or an address the provider
    # has not verified
    for login in ("stranger", "unverified"):
        async with browser() as session:
            refused = await session.get(await back_from_provider(setup, session, login))
            assert refused.status == 403 and "ask an administrator" in await refused.text()
            assert not await signed_in(setup, session)
    async with setup.store.sessions() as db:
        details = [
            e.detail
            for e in await db.scalars(select(AuditEntry).where(AuditEntry.action == "refused"))
        ]
    assert sum("oidc" in (d or "") for d in details) == 7, details
    assert any("signature" in (d or "") for d in details)
    assert any("aud" in (d or "") for d in details)
    assert any("exp" in (d or "") for d in details)


async def test_a_group_the_configuration_maps_gives_its_role_and_scope(setup: Setup) -> None:
    async with browser() as session:
        back = await session.get(await back_from_provider(setup, session, "ibrahim"))
        assert back.status == 200 and await signed_in(setup, session)
    member = await setup.store.staff.identity("ibrahim@org.example")
    assert member is not None and member.role == "caseworker"
    assert member.scope.kind == "countries" and member.scope.values == ("GN",)
