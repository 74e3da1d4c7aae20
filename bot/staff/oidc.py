"""Signing staff in with their organisation's identity provider over OpenID Connect: the
authorization code flow with PKCE (S256), a state and a nonce; the ID token's signature
checked against the keys the provider publishes (its JWKS, fetched again once when a
token names a key it does not know), its issuer, audience, nonce and times checked with
a bounded clock skew (joserfc). Who the person is in this project comes from the staff
table, or from a group the configuration maps to a role and scope.

The pending sign-in (state, nonce, PKCE verifier) travels in a cookie the console signs;
nothing is kept on the server until the sign-in succeeds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

import aiohttp
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from bot.settings import OidcSettings
from bot.staff import ROLES
from storage.scopes import BadScope, Scope
from storage.staff_audit import StaffAudit, StaffIdentity

log = logging.getLogger(__name__)

#: how long a started sign-in may take at the provider
PENDING_SECONDS = 600
#: what ID tokens may be signed with (never "none", never a shared secret)
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")


class SignInRefused(Exception):
    """The provider's answer cannot sign anyone in; the message says why, for the log and
    the audit (never a token)."""


@dataclass(frozen=True)
class Pending:
    """A sign-in started here: what the provider's answer must match."""

    state: str
    nonce: str
    verifier: str
    started: int

    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def seal(pending: Pending, key: bytes) -> str:
    """The pending sign-in as a cookie value, signed (HMAC-SHA256) under ``key``."""
    body = base64.urlsafe_b64encode(json.dumps(pending.__dict__).encode()).decode()
    mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def unseal(value: str | None, key: bytes, now: float) -> Pending | None:
    """The pending sign-in a cookie holds, if its signature is right and it is recent."""
    if not value or "." not in value:
        return None
    body, _, mac = value.rpartition(".")
    if not hmac.compare_digest(hmac.new(key, body.encode(), hashlib.sha256).hexdigest(), mac):
        return None
    try:
        pending = Pending(**json.loads(base64.urlsafe_b64decode(body)))
    except (ValueError, TypeError):
        return None
    return pending if 0 <= now - pending.started <= PENDING_SECONDS else None


@dataclass(frozen=True)
class Person:
    """Who the provider says signed in."""

    subject: str
    email: str | None
    name: str | None
    groups: tuple[str, ...] = ()


def group_roles(text: str | None) -> dict[str, tuple[str, Scope]]:
    """``group=role[:scope]`` pairs separated by semicolons (``rss-admins=admin;
    rss-gn=caseworker:GN``): each group's role and scope (:class:`ValueError` if one does
    not fit)."""
    out: dict[str, tuple[str, Scope]] = {}
    for pair in (text or "").split(";"):
        if not pair.strip():
            continue
        group, _, given = pair.partition("=")
        role, _, scope = given.strip().partition(":")
        if not group.strip() or role not in ROLES:
            raise ValueError(f"RSSBOT_OIDC_GROUP_ROLES: '{pair.strip()}' is not group=role[:scope]")
        try:
            out[group.strip()] = (role, Scope.parse(scope or "all"))
        except BadScope as exc:
            raise ValueError(f"RSSBOT_OIDC_GROUP_ROLES: '{pair.strip()}': {exc}") from exc
    return out


@dataclass
class OidcClient:
    """The console's client of one identity provider."""

    settings: OidcSettings
    #: the console's address the provider sends people back to
    redirect_uri: str
    clock: Callable[[], float] = time.time
    _metadata: dict[str, Any] | None = None
    _keys: KeySet | None = None
    _http: aiohttp.ClientSession | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.groups = group_roles(self.settings.group_roles)

    @property
    def issuer(self) -> str:
        assert self.settings.issuer is not None
        return self.settings.issuer.rstrip("/")

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def _json(self, response: aiohttp.ClientResponse, what: str) -> dict[str, Any]:
        if response.status != 200:
            raise SignInRefused(f"the provider's {what} answered {response.status}")
        try:
            data = await response.json(content_type=None)
        except (ValueError, aiohttp.ContentTypeError) as exc:
            raise SignInRefused(f"the provider's {what} did not answer JSON") from exc
        if not isinstance(data, dict):
            raise SignInRefused(f"the provider's {what} did not answer an object")
        return data

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (its issuer must be the one configured)."""
        if self._metadata is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            async with self._session().get(url) as response:
                found = await self._json(response, "discovery document")
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise SignInRefused("the discovery document names another issuer")
            for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(needed), str):
                    raise SignInRefused(f"the discovery document has no {needed}")
            self._metadata = found
        return self._metadata

    async def _key_set(self, *, fresh: bool = False) -> KeySet:
        if self._keys is None or fresh:
            async with self._session().get((await self.metadata())["jwks_uri"]) as response:
                self._keys = KeySet.import_key_set(await self._json(response, "key set"))  # type: ignore[arg-type]
        return self._keys

    async def start(self) -> tuple[str, Pending]:
        """Where to send the person (the provider's sign-in page), and what to keep."""
        pending = Pending(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            started=int(self.clock()),
        )
        query = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.settings.scopes,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": pending.challenge(),
            "code_challenge_method": "S256",
        }
        endpoint = (await self.metadata())["authorization_endpoint"]
        return f"{endpoint}?{urlencode(query)}", pending

    async def finish(
        self, pending: Pending, state: str, code: str, issuer: str | None = None
    ) -> Person:
        """Who signed in, from the provider's answer (:class:`SignInRefused` otherwise);
        ``issuer``: the ``iss`` the answer carries, when the provider sends one (RFC 9207)."""
        if not hmac.compare_digest(pending.state, state):
            raise SignInRefused("the state does not match the sign-in started here")
        if issuer is not None and issuer.rstrip("/") != self.issuer:
            raise SignInRefused("the answer comes from another issuer")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": pending.verifier,
            "client_id": self.settings.client_id or "",
        }
        headers = {}
        secret = self.settings.client_secret
        if secret is not None:  # client_secret_basic (RFC 6749 2.3.1: each part form-encoded)
            user = quote_plus(self.settings.client_id or "")
            pair = f"{user}:{quote_plus(secret.get_secret_value())}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        endpoint = (await self.metadata())["token_endpoint"]
        async with self._session().post(endpoint, data=form, headers=headers) as response:
            tokens = await self._json(response, "token endpoint")
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("the token endpoint gave no ID token")
        claims = await self._verified(id_token, pending)
        email = claims.get(self.settings.email_claim)
        if claims.get("email_verified") is False:
            email = None  # (an address the provider has not checked names nobody)
        groups = claims.get(self.settings.groups_claim) or []
        return Person(
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) else None,
            name=claims.get("name") if isinstance(claims.get("name"), str) else None,
            groups=tuple(g for g in groups if isinstance(g, str)),
        )

    async def _verified(self, id_token: str, pending: Pending) -> dict[str, Any]:
        try:
            token = jwt.decode(id_token, await self._key_set(), algorithms=list(ALGORITHMS))
        except InvalidKeyIdError:
            try:  # (the provider may have rotated its keys since they were fetched)
                token = jwt.decode(
                    id_token, await self._key_set(fresh=True), algorithms=list(ALGORITHMS)
                )
            except JoseError as again:
                raise SignInRefused(f"the ID token's signature: {again.error}") from again
        except JoseError as exc:
            raise SignInRefused(f"the ID token is not valid: {exc.error}") from exc
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self.clock()),
            leeway=self.settings.leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.settings.client_id or ""},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": pending.nonce},
        )
        try:
            registry.validate(token.claims)
        except JoseError as exc:
            raise SignInRefused(f"the ID token's claims: {exc.error} {exc.description}") from exc
        audience = token.claims.get("aud")
        if (
            isinstance(audience, list)
            and len(audience) > 1
            and token.claims.get("azp") != self.settings.client_id
        ):
            raise SignInRefused("the ID token is for several audiences, not authorised here")
        return dict(token.claims)

    async def identify(self, staff: StaffAudit, person: Person) -> StaffIdentity | None:
        """The staff member this person is: the staff table's account with their address,
        with the role and scope of a mapped group of theirs when the configuration maps
        one (creating the account on their first sign-in); None: not staff."""
        mapped = [self.groups[g] for g in person.groups if g in self.groups]
        if person.email is None:
            return None
        if mapped:
            role, scope = _widest(mapped)
            await staff.add(
                None, role, person.name, email=person.email, scope=scope, actor="oidc-groups"
            )
        return await staff.identity(person.email)


def _widest(mapped: list[tuple[str, Scope]]) -> tuple[str, Scope]:
    """Of several mapped groups, the one with the role listed first in :data:`ROLES`
    (admin before caseworker...), and among those one seeing everyone, if any."""
    return min(mapped, key=lambda m: (ROLES.index(m[0]), not m[1].is_everyone))


def oidc_from_settings(settings: OidcSettings | None = None) -> OidcClient | None:
    """The console's client of the provider the environment sets up (None: none); the
    provider sends people back to ``RSSBOT_CONSOLE_URL``/login/oidc/callback, the
    address to register with it. A group mapping that cannot be read stops the start."""
    settings = settings or OidcSettings()
    if not settings.enabled:
        return None
    from bot.web.links import console_url

    try:
        return OidcClient(settings, f"{console_url()}/login/oidc/callback")
    except ValueError as exc:
        raise SystemExit(f"rssbot: {exc}") from exc
