"""The staff side's use cases and rules: roles and what each may do (used by the bot, the
command line and the web console), and signing in with the organisation's identity
provider (:mod:`bot.staff.oidc`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from storage.scopes import EVERYONE, Scope

ROLES = ("admin", "caseworker", "feedback_officer", "viewer")

PERMISSIONS: dict[str, frozenset[str]] = {
    "due": frozenset({"admin", "caseworker", "viewer"}),
    "round": frozenset({"admin", "caseworker"}),
    "stats": frozenset({"admin", "caseworker", "viewer"}),
    "case": frozenset({"admin", "caseworker"}),
    #: row-level exports (one row per survey or answer): a viewer reads aggregates only
    "export": frozenset({"admin", "caseworker"}),
    #: case references appear in exports only for these roles
    "case_ref": frozenset({"admin", "caseworker"}),
    "feedback": frozenset({"feedback_officer"}),
    #: a new invitation link for an enrolled returnee
    "invite": frozenset({"admin", "caseworker"}),
    #: staff members and the audit log (web console)
    "admin": frozenset({"admin"}),
}


def allowed(role: str | None, action: str) -> bool:
    return role is not None and role in PERMISSIONS[action]


#: each action in words, for a refusal
ACTION_WORDS = {
    "due": "see who is due",
    "round": "start or change reminder rounds",
    "stats": "read programme figures",
    "case": "open case files",
    "export": "export surveys",
    "case_ref": "read case references",
    "feedback": "read feedback",
    "invite": "invite or import returnees",
    "admin": "manage staff",
    "scopes": "change what staff see (an admin who sees every returnee does)",
}


class NotAllowed(Exception):
    """The staff member's role does not allow the action."""

    def __init__(self, role: str, action: str) -> None:
        super().__init__(f"the role '{role}' may not {ACTION_WORDS.get(action, action)}")
        self.role, self.action = role, action


class Acting(Protocol):
    """Who acts on the staff side, whatever the host: their name in the audit log
    (``staff:ID``, or the operator's on the command line), their role and the returnees
    they may see (the console's signed-in user is one)."""

    @property
    def actor(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def scope(self) -> Scope: ...


@dataclass(frozen=True)
class Staff:
    """A staff member or the operator acting (the chat's staff commands, the command
    line); ``staff_id`` is None for the operator."""

    actor: str
    role: str
    scope: Scope = EVERYONE
    staff_id: str | None = None

    def may(self, action: str) -> bool:
        return allowed(self.role, action)


def require(who: Acting, action: str) -> None:
    """:class:`NotAllowed` unless ``who``'s role allows ``action``."""
    if not allowed(who.role, action):
        raise NotAllowed(who.role, action)


def invitation_link(username: str | None, token: str) -> str:
    """The Telegram link that opens the bot with a single-use invitation."""
    return f"https://t.me/{username or '<bot username>'}?start={token}"


def whatsapp_invitation_link(number: str, token: str) -> str:
    """The WhatsApp link that opens a chat with the business number, with ``START <token>``
    ready to send."""
    digits = "".join(c for c in number if c.isdigit())
    return f"https://wa.me/{digits}?text=START%20{token}"
