"""A real OpenID provider for the sign-in tests: panva's ``oidc-provider`` (from npm, run
with the machine's node), behind a loopback proxy that can tamper with the ID token the
token endpoint returns (signed by another key, for another audience, expired), as an
attacker between the console and the provider would. The test holds the provider's
signing key, so a tampered token is otherwise exactly what the provider would sign."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

HERE = Path(__file__).parent / "oidc_provider"
CLIENT_ID = "rssbot-console"
CLIENT_SECRET = "a-client-secret-for-loopback-tests-only"
HOP_BY_HOP = {"connection", "transfer-encoding", "content-length", "content-encoding", "host"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def provider_available() -> None:
    """Skip (or, where services are required, fail) when node or the package is missing."""
    missing = None
    if shutil.which("node") is None:
        missing = "node is not installed"
    elif not (HERE / "node_modules" / "oidc-provider").is_dir():
        missing = f"oidc-provider is not installed (cd {HERE} && npm ci)"
    if missing:
        if os.environ.get("RSSBOT_REQUIRE_SERVICES"):
            pytest.fail(missing)
        pytest.skip(missing)


@dataclass
class LoopbackProvider:
    issuer: str
    key: RSAKey
    #: a key the provider does not publish
    other_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048))
    #: how the proxy changes the next ID tokens: None, "other_key", "audience", "expired"
    tamper: str | None = None

    def forged(self, id_token: str) -> str:
        payload = id_token.split(".")[1]
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
        key, kid = self.key, self.key.kid
        if self.tamper == "other_key":
            key, kid = self.other_key, self.key.kid  # (the same key id: a forged signature)
        elif self.tamper == "audience":
            claims["aud"] = "another-application"
        elif self.tamper == "expired":
            claims["iat"], claims["exp"] = int(time.time()) - 7200, int(time.time()) - 3600
        return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)


async def _proxy(provider: LoopbackProvider, upstream: str) -> web.Application:
    session = aiohttp.ClientSession(auto_decompress=True)

    async def forward(request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = request.host
        headers["X-Forwarded-Proto"] = "http"
        async with session.request(
            request.method,
            upstream + request.path_qs,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
            out_headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP]
        if request.path.endswith("/token") and answer.status == 200 and provider.tamper:
            tokens = json.loads(body)
            tokens["id_token"] = provider.forged(tokens["id_token"])
            body = json.dumps(tokens).encode()
        response = web.Response(status=answer.status, body=body)
        for k, v in out_headers:
            response.headers.add(k, v)
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)

    async def close(_: web.Application) -> None:
        await session.close()

    app.on_cleanup.append(close)
    return app


@asynccontextmanager
async def running_provider(
    redirect_uri: str, accounts: dict[str, dict[str, Any]]
) -> AsyncIterator[LoopbackProvider]:
    """The provider (its client: the console at ``redirect_uri``; its accounts: login ->
    claims) behind the tampering proxy, for the duration of the block."""
    provider_available()
    proxy_port, provider_port = _free_port(), _free_port()
    issuer = f"http://127.0.0.1:{proxy_port}"
    key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
    provider = LoopbackProvider(issuer, key)
    env = {
        **os.environ,
        "ISSUER": issuer,
        "PORT": str(provider_port),
        "CLIENT": json.dumps(
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [redirect_uri],
            }
        ),
        "JWKS": json.dumps(KeySet([key]).as_dict(private=True)),
        "ACCOUNTS": json.dumps(accounts),
        "NODE_ENV": "development",
    }
    node = await asyncio.create_subprocess_exec(
        "node",
        str(HERE / "provider.mjs"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert node.stdout is not None
    runner = web.AppRunner(await _proxy(provider, f"http://127.0.0.1:{provider_port}"))
    said: list[bytes] = []

    async def listening() -> None:
        assert node.stdout is not None
        while not (line := await node.stdout.readline()).startswith(b"listening"):
            said.append(line)  # (warnings: a Node.js it was not tested on, dev mode)
            assert line, b"".join(said)

    async def drain() -> None:  # (its later lines, so that it never blocks on a full pipe)
        assert node.stdout is not None
        while line := await node.stdout.readline():
            said.append(line)

    drained = None
    try:
        await asyncio.wait_for(listening(), 30)
        drained = asyncio.create_task(drain())
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", proxy_port).start()
        yield provider
    except BaseException:
        print(b"".join(said).decode(errors="replace"))  # (what the provider said, on failure)
        raise
    finally:
        await runner.cleanup()
        node.terminate()
        await node.wait()
        if drained is not None:
            await drained


class _FirstForm(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.inputs: dict[str, str] = {}
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = found.get("action") or ""
        elif tag == "input" and self.action is not None and not self.done and found.get("name"):
            self.inputs[found["name"] or ""] = found.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        self.done = self.done or (tag == "form" and self.action is not None)


def _form(page: str) -> tuple[str, dict[str, str]]:
    """The first form of a page: its action and its inputs' values."""
    parser = _FirstForm()
    parser.feed(page)
    assert parser.action is not None, page[:2000]
    return parser.action, parser.inputs


async def sign_in_at_provider(
    session: aiohttp.ClientSession, start: str, login: str, *, stop_at: str
) -> str:
    """Follow a sign-in from the console's start URL through the provider's login and
    consent pages as ``login``; the URL the provider sends the browser back to (at
    ``stop_at``), not opened."""
    url, method, data = start, "GET", None
    for _ in range(20):
        async with session.request(method, url, data=data, allow_redirects=False) as response:
            if response.status in (302, 303):
                url = str(response.url.join(aiohttp.client.URL(response.headers["Location"])))
                method, data = "GET", None
                if url.startswith(stop_at):
                    return url
                continue
            page = await response.text()
            assert response.status == 200, (response.status, page[:2000])
        action, inputs = _form(page)
        if "login" in inputs or 'name="login"' in page:
            inputs.update(login=login, password="any")
        url, method, data = str(response.url.join(aiohttp.client.URL(action))), "POST", inputs
    raise AssertionError("the provider did not send the browser back")
